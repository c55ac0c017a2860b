// `git:URL#REF[:SUBDIR]` references: a connector in a git repository, fetched into the
// cache and checked out once per commit.
//
//   git:https://github.com/acme/connectors.git#v1.2.0:source-foo
//   git:git@github.com:acme/connectors.git#main:source-foo
//   git:file:///srv/repos/connectors#4f1c2e0:source-foo      (a commit, full or abbreviated)
//   git:../connectors#main                                   (a local path; SUBDIR: the root)
//
// REF is a branch, a tag, a commit, or HEAD (the default when `#REF` is left out). SUBDIR is the
// connector's folder inside the repository (default: the root), or a file in it.
//
// Cache layout (root: see cache.ts):
//   <root>/git/<name>-<hash>/                 one folder per repository URL (credentials stripped)
//     repo.git/                               bare repository; every fetch lands here (shallow)
//     repo.git.lock                           held while fetching (cache.ts lock)
//     refs.json                               REF -> last resolved commit (offline fallback, `info`)
//     <commit>/                               one entry per commit (cache.ts: tmp + rename, marker)
//       src/                                  the files of that commit (no .git)
//       provenance.json                       see GitProvenance
//       .connector-host.json                  cache.ts marker (the entry is complete)
//
// The entry point inside SUBDIR, first match wins:
//   1. SUBDIR names a file: that file;
//   2. pyproject.toml or setup.py (a Python package) or package.json with "bin" (a Node
//      package): refused with a clear error for now (pypi.ts / npm.ts install by name only);
//   3. the first of `connector`, `main`, `main.py`, `main.mjs`, `index.mjs`, `main.js`,
//      `index.js`, `main.sh` that exists;
//   4. the only executable file at SUBDIR's top.
// A file that is not executable runs with the interpreter its extension names (.py python3,
// .mjs/.js node, .sh sh), as for a path.
//
// Security: the URL and REF come from the user and end up on git's command line, so anything
// that could be read as an option or select a transport that runs commands (`-...`, `ext::`,
// `fd::`, `--upload-pack`, ...) is refused before git runs; only https://, ssh://, scp-like
// [user@]host:path, file:// and local paths are accepted, and GIT_ALLOW_PROTOCOL restricts git
// itself to those (also for redirects). Positional arguments follow `--`. No shell. Git never
// waits for a password: GIT_TERMINAL_PROMPT=0, no askpass program, ssh in BatchMode (unless
// you configured your own ssh command).

import { parsePypiSpec, installPypi, pypiConnectorRef } from './pypi.js';
import { parseNpmSpec, installNpm, npmConnectorRef } from './npm.js';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, extname, join, relative, resolve as resolvePath, sep } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { cacheRoot, ensureEntry, lockEntry, readMarker, safeSegment, type CacheMarker } from './cache.js';
import { fileConnector, isExecutableFile, pickObjectName, INTERPRETERS, type ConnectorRef, type ResolveOptions } from './resolve.js';
import { checkObjectName, isKitFile, kitConnector, isDir } from './kit-ref.js';
import { isLicenceFileName, spdxFromText } from './spdx.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log/logger.js';

export interface GitReference {
  /** The URL or path as git gets it (local paths made absolute). */
  url: string;
  /** The same with any credentials removed: for messages, logs, provenance, the cache key. */
  displayUrl: string;
  kind: 'https' | 'ssh' | 'scp' | 'file' | 'path';
  /** Branch, tag, commit or HEAD. */
  ref: string;
  /** Folder (or file) inside the repository, '' for the root; normalised, no `..`. */
  subdir: string;
  /** A kit object in SUBDIR (`#main:sources.py:MySource`, `#main:pkgdir:MySource`), see kit-ref.ts. */
  object?: string | undefined;
}

export interface GitProvenance {
  kind: 'git';
  /** The repository URL, credentials stripped. */
  url: string;
  /** The REF as given (HEAD when left out). */
  ref: string;
  /** The full ref it resolved to (refs/heads/main, refs/tags/v1, ...), when known. */
  resolved_ref: string | undefined;
  commit: string;
  subdir: string;
  /** When this commit was fetched and checked out (ISO 8601). */
  fetched_at: string;
  /** When a reference last resolved to this checkout. */
  resolved_at: string;
  /** The licence file found (in SUBDIR, else at the repository root), relative to the repository root. */
  license: { file: string; spdx: string | undefined } | undefined;
  /** The entry point, relative to the repository root. */
  entry_point: string | undefined;
  /** The checkout (absolute path). */
  path: string;
}

const REFUSED_TOKENS = ['--upload-pack', '--receive-pack', '--config', '--exec', '--template', 'ext::', 'fd::'];

function refuse(what: string, value: string, why: string): never {
  throw new ConfigError(`git reference refused: ${what} ${JSON.stringify(value)} ${why}`, { reference: value }, 'CONFIG_INVALID');
}

function checkNoSmuggling(what: string, value: string): void {
  if (value.startsWith('-')) refuse(what, value, 'starts with "-" (it would be read as a git option)');
  const lower = value.toLowerCase();
  for (const t of REFUSED_TOKENS) if (lower.includes(t)) refuse(what, value, `contains "${t}"`);
  // <transport>::<address> selects a remote helper (ext:: runs a command); IPv6 literals aside.
  const m = /([A-Za-z0-9+.-]+)::/.exec(value.replace(/\[[0-9A-Fa-f:.%]*\]/g, '[]'));
  if (m) refuse(what, value, `uses the "${m[1]}::" transport (only https://, ssh://, user@host:path, file:// and local paths are allowed)`);
  // white space could split into a second option (e.g. " -c ...") wherever the value is re-parsed
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(value)) refuse(what, value, 'contains white space or a control character');
}

/** Parse `URL#REF[:SUBDIR]`, refusing anything that could smuggle a git option or transport. */
export function parseGitReference(rest: string): GitReference {
  if (!rest) throw new ConfigError('git reference refused: empty; use git:URL#REF[:SUBDIR]');
  const hash = rest.indexOf('#');
  const rawUrl = hash < 0 ? rest : rest.slice(0, hash);
  const after = hash < 0 ? '' : rest.slice(hash + 1);
  const colon = after.indexOf(':');
  const ref = (colon < 0 ? after : after.slice(0, colon)) || 'HEAD';
  let rawSub = colon < 0 ? '' : after.slice(colon + 1);
  // SUBDIR:NAME names a kit object in a file or folder (a NAME has no '/')
  let object: string | undefined;
  const last = rawSub.lastIndexOf(':');
  if (last >= 0) {
    object = checkObjectName(rawSub.slice(last + 1), `git:${rest}`);
    rawSub = rawSub.slice(0, last);
  }

  if (!rawUrl) throw new ConfigError(`git reference refused: no URL in "git:${rest}"; use git:URL#REF[:SUBDIR]`);
  checkNoSmuggling('URL', rawUrl);
  checkNoSmuggling('ref', ref);
  if (!/^[A-Za-z0-9_][A-Za-z0-9._/+-]*$/.test(ref) || ref.includes('..') || ref.includes('//') || ref.endsWith('/') || ref.endsWith('.lock') || /(^|\/)\./.test(ref)) {
    refuse('ref', ref, 'is not a valid branch, tag or commit name');
  }
  const { url, displayUrl, kind } = classifyUrl(rawUrl);
  return { url, displayUrl, kind, ref, subdir: normaliseSubdir(rawSub), object };
}

function normaliseSubdir(s: string): string {
  if (!s) return '';
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(s)) refuse('subdir', s, 'contains a control character');
  if (s.startsWith('/') || s.includes('\\')) refuse('subdir', s, 'must be a relative path inside the repository');
  const parts = s.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) refuse('subdir', s, 'must not leave the repository ("..")');
  return parts.join('/');
}

function classifyUrl(raw: string): { url: string; displayUrl: string; kind: GitReference['kind'] } {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(raw)?.[1]?.toLowerCase();
  if (scheme !== undefined) {
    if (scheme !== 'https' && scheme !== 'ssh' && scheme !== 'file') {
      refuse('URL', raw, `uses ${scheme}:// (only https://, ssh://, user@host:path, file:// and local paths are allowed)`);
    }
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      refuse('URL', raw, 'is not a valid URL');
    }
    if (scheme !== 'file') {
      if (!u.hostname || u.hostname.startsWith('-')) refuse('URL', raw, 'has no valid host');
      if (decodeURIComponent(u.username).startsWith('-')) refuse('URL', raw, 'has a user name starting with "-"');
    }
    const clean = new URL(u.href);
    if (scheme === 'https') clean.username = '';
    clean.password = '';
    return { url: raw, displayUrl: clean.href, kind: scheme as 'https' | 'ssh' | 'file' };
  }
  // scp-like: [user@]host:path, with no '/' before the ':'
  const scp = /^(?:([^@/:]+)@)?([^@/:[\]]+|\[[0-9A-Fa-f:.%]+\]):(.*)$/.exec(raw);
  if (scp) {
    const [, user, hostPart, path] = scp;
    if (user !== undefined && !/^[A-Za-z0-9._~+-]+$/.test(user)) refuse('URL', raw, 'has an invalid user name');
    if (user?.startsWith('-') || hostPart!.startsWith('-')) refuse('URL', raw, 'has a user or host starting with "-"');
    if (!/^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.%]+\])$/.test(hostPart!)) refuse('URL', raw, 'has an invalid host name');
    if (!path || path.startsWith('-')) refuse('URL', raw, 'has an empty path or one starting with "-"');
    return { url: raw, displayUrl: raw, kind: 'scp' };
  }
  // a local path
  const abs = resolvePath(raw);
  return { url: abs, displayUrl: abs, kind: 'path' };
}

/** The reference as shown to the user: credentials stripped. */
export function displayGitReference(g: GitReference): string {
  return `git:${g.displayUrl}#${g.ref}${g.subdir || g.object !== undefined ? `:${g.subdir}` : ''}${g.object !== undefined ? `:${g.object}` : ''}`;
}

/** The cache folder of one repository URL. */
export function gitRepoCacheDir(g: Pick<GitReference, 'displayUrl'>, opts: { cacheDir?: string | undefined } = {}): string {
  const name = basename(g.displayUrl.replace(/[/:]+$/, '').replace(/^.*[:/]/, '')).replace(/\.git$/, '') || 'repo';
  const hash = createHash('sha256').update(g.displayUrl).digest('hex').slice(0, 12);
  return join(cacheRoot(opts), 'git', `${safeSegment(name).slice(0, 60)}-${hash}`);
}

const FULL_SHA = /^([0-9a-f]{40}|[0-9a-f]{64})$/i;

function gitEnv(kind: GitReference['kind']): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    // what fetching never needs, and simple-git would (rightly) refuse to pass on
    if (v === undefined || /^(EDITOR|VISUAL|PAGER|GIT_EDITOR|GIT_PAGER|GIT_SEQUENCE_EDITOR|GIT_TEMPLATE_DIR|GIT_EXTERNAL_DIFF|PREFIX)$/i.test(k)) continue;
    env[k] = v;
  }
  env['GIT_TERMINAL_PROMPT'] = '0';
  env['GIT_ASKPASS'] = '';
  env['SSH_ASKPASS'] = '';
  env['GCM_INTERACTIVE'] = 'never';
  env['GIT_ALLOW_PROTOCOL'] = 'https:ssh:file';
  if ((kind === 'ssh' || kind === 'scp') && !env['GIT_SSH_COMMAND'] && !env['GIT_SSH']) env['GIT_SSH_COMMAND'] = 'ssh -o BatchMode=yes';
  return env;
}

function gitFor(baseDir: string, kind: GitReference['kind'], extraEnv: Record<string, string> = {}): SimpleGit {
  return simpleGit({
    baseDir,
    timeout: { block: 10 * 60_000 },
    // The environment is the user's own (askpass, ssh command, config paths); the arguments,
    // which carry the reference, stay under simple-git's checks (no --upload-pack, no ext::).
    unsafe: { allowUnsafeAskPass: true, allowUnsafeSshCommand: true, allowUnsafeConfigPaths: true, allowUnsafeConfigEnvCount: true, allowUnsafeGitProxy: true },
  }).env({ ...gitEnv(kind), ...extraEnv });
}

function gitMessage(e: unknown): string {
  return String((e as Error)?.message ?? e)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(0, 4)
    .join('; ');
}

interface RefsIndex {
  [ref: string]: { commit: string; resolved_ref: string | undefined; resolved_at: string };
}

function readRefs(repoCache: string): RefsIndex {
  try {
    return JSON.parse(readFileSync(join(repoCache, 'refs.json'), 'utf8')) as RefsIndex;
  } catch {
    return {};
  }
}

function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(16).slice(2)}`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  renameSync(tmp, file);
}

/** REF -> commit with `git ls-remote` (no objects fetched). Undefined: no ref of that name. */
async function lsRemote(git: SimpleGit, g: GitReference): Promise<{ commit: string; resolvedRef: string } | undefined> {
  const patterns = g.ref === 'HEAD' ? ['HEAD'] : [g.ref, `${g.ref}^{}`];
  const out = await git.raw(['ls-remote', '--', g.url, ...patterns]);
  const refs = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [sha, name] = line.split('\t');
    if (sha && name && /^[0-9a-f]{40,64}$/.test(sha)) refs.set(name, sha);
  }
  const candidates =
    g.ref === 'HEAD'
      ? ['HEAD']
      : g.ref.startsWith('refs/')
        ? [`${g.ref}^{}`, g.ref]
        : [`refs/heads/${g.ref}`, `refs/tags/${g.ref}^{}`, `refs/tags/${g.ref}`];
  for (const c of candidates) {
    const sha = refs.get(c);
    if (sha) return { commit: sha, resolvedRef: c.replace(/\^\{\}$/, '') };
  }
  return undefined;
}

async function ensureBareRepo(repoDir: string): Promise<void> {
  if (existsSync(join(repoDir, 'HEAD'))) return;
  mkdirSync(repoDir, { recursive: true });
  await gitFor(repoDir, 'file').raw(['init', '--bare', '--quiet']);
}

async function hasCommit(git: SimpleGit, commit: string): Promise<boolean> {
  try {
    const out = await git.raw(['rev-parse', '--verify', '--quiet', '--end-of-options', `${commit}^{commit}`]);
    return out.trim().length > 0;
  } catch {
    return false;
  }
}

/** Fetch what is needed into the bare repository; returns the full commit. */
async function fetchCommit(g: GitReference, repoDir: string, want: { commit: string | undefined; resolvedRef: string | undefined }, log: Logger | undefined): Promise<string> {
  await ensureBareRepo(repoDir);
  const git = gitFor(repoDir, g.kind);
  if (want.commit && (await hasCommit(git, want.commit))) return want.commit;
  log?.info({ url: g.displayUrl, ref: g.ref }, `fetching ${g.displayUrl} ${g.ref}`);
  const keep = (c: string) => `refs/connector-host/commits/${c}`;
  try {
    if (want.resolvedRef && want.commit) {
      await git.raw(['fetch', '--quiet', '--no-tags', '--depth=1', '--', g.url, `+${want.resolvedRef}:${keep(want.commit)}`]);
      if (await hasCommit(git, want.commit)) return want.commit;
    }
    if (want.commit) {
      // a commit named by its full id: servers allow fetching it directly (protocol v2 and GitHub do)
      try {
        await git.raw(['fetch', '--quiet', '--no-tags', '--depth=1', '--', g.url, `+${want.commit}:${keep(want.commit)}`]);
        if (await hasCommit(git, want.commit)) return want.commit;
      } catch (e) {
        log?.debug({ err: gitMessage(e) }, 'fetching the commit by id failed; fetching every branch and tag');
      }
    }
    // an abbreviated commit (or a server that refuses a bare id): every branch and tag, full history
    const args = ['fetch', '--quiet', '--no-tags'];
    if (existsSync(join(repoDir, 'shallow'))) args.push('--unshallow');
    await git.raw([...args, '--', g.url, '+refs/heads/*:refs/connector-host/heads/*', '+refs/tags/*:refs/connector-host/tags/*']);
  } catch (e) {
    throw new ConfigError(`cannot fetch ${g.displayUrl} (${g.ref}): ${gitMessage(e)}`, { reference: displayGitReference(g) }, 'CONNECTOR_NOT_FOUND');
  }
  const target = want.commit ?? g.ref;
  try {
    const full = (await git.raw(['rev-parse', '--verify', '--quiet', '--end-of-options', `${target}^{commit}`])).trim();
    if (FULL_SHA.test(full)) {
      await git.raw(['update-ref', '--', keep(full), full]);
      return full;
    }
  } catch {
    /* below */
  }
  throw new ConfigError(`git reference ${displayGitReference(g)}: no branch, tag or commit "${g.ref}" in ${g.displayUrl}`, { reference: displayGitReference(g) }, 'CONNECTOR_NOT_FOUND');
}

async function checkoutInto(repoDir: string, commit: string, dest: string): Promise<void> {
  const src = join(dest, 'src');
  mkdirSync(src, { recursive: true });
  const index = join(dest, '.index');
  const git = gitFor(repoDir, 'file', { GIT_INDEX_FILE: index });
  await git.raw(['--work-tree', src, 'read-tree', '--end-of-options', commit]);
  await git.raw(['--work-tree', src, 'checkout-index', '--all', '--force']);
  rmSync(index, { force: true });
}

function findLicence(srcRoot: string, subdir: string): GitProvenance['license'] {
  const dirs = [];
  const sub = subdir && isDir(join(srcRoot, subdir)) ? subdir : subdir.includes('/') ? subdir.slice(0, subdir.lastIndexOf('/')) : '';
  if (sub) dirs.push(sub);
  dirs.push('');
  for (const d of dirs) {
    let names: string[];
    try {
      names = readdirSync(join(srcRoot, d)).filter(isLicenceFileName).sort((a, b) => a.length - b.length || a.localeCompare(b));
    } catch {
      continue;
    }
    for (const n of names) {
      const p = join(srcRoot, d, n);
      try {
        if (!lstatSync(p).isFile()) continue;
        const text = readFileSync(p, 'utf8');
        return { file: d ? `${d}/${n}` : n, spdx: spdxFromText(text) };
      } catch {
        continue;
      }
    }
  }
  return undefined;
}


const CONVENTION = ['connector', 'main', 'main.py', 'main.mjs', 'index.mjs', 'main.js', 'index.js', 'main.sh'];

type EntryPoint = { kind: 'file'; path: string } | { kind: 'python-package' | 'node-package'; dir: string } | { kind: 'kit-package'; dir: string };

function findEntryPoint(srcRoot: string, g: GitReference): EntryPoint {
  const target = g.subdir ? join(srcRoot, g.subdir) : srcRoot;
  const where = g.subdir ? `${g.subdir}/ in ${g.displayUrl}` : `the root of ${g.displayUrl}`;
  if (!existsSync(target)) throw new ConfigError(`git reference ${displayGitReference(g)}: no "${g.subdir}" in ${g.displayUrl} at ${g.ref}`, {}, 'CONNECTOR_NOT_FOUND');
  if (!isDir(target)) return { kind: 'file', path: target };
  // a folder with a kit object named in it: a Python package the kit imports (not installed)
  if (g.object !== undefined) return { kind: 'kit-package', dir: target };
  if (existsSync(join(target, 'pyproject.toml')) || existsSync(join(target, 'setup.py'))) return { kind: 'python-package', dir: target };
  if (existsSync(join(target, 'package.json'))) {
    try {
      const pkg = JSON.parse(readFileSync(join(target, 'package.json'), 'utf8')) as { bin?: unknown };
      if (pkg.bin) return { kind: 'node-package', dir: target };
    } catch {
      /* not a usable package.json: go on with the conventions */
    }
  }
  for (const c of CONVENTION) {
    const p = join(target, c);
    if (existsSync(p) && statSync(p).isFile() && (isExecutableFile(p) || INTERPRETERS[extname(p)])) return { kind: 'file', path: p };
  }
  const execs = readdirSync(target)
    .filter((n) => !n.startsWith('.'))
    .map((n) => join(target, n))
    .filter(isExecutableFile);
  if (execs.length === 1) return { kind: 'file', path: execs[0]! };
  throw new ConfigError(
    `git reference ${displayGitReference(g)}: no entry point in ${where}: expected one of ${CONVENTION.join(', ')}, a Python or Node package, or a single executable file` +
      (execs.length > 1 ? ` (found ${execs.length} executables: ${execs.map((p) => basename(p)).join(', ')}; name one with :${g.subdir ? `${g.subdir}/` : ''}FILE)` : ''),
    {},
    'CONNECTOR_NOT_FOUND',
  );
}

function insideOrRefuse(root: string, p: string, g: GitReference): string {
  const real = realpathSync(p);
  const realRoot = realpathSync(root);
  if (real !== realRoot && !real.startsWith(realRoot + sep)) {
    throw new ConfigError(`git reference ${displayGitReference(g)}: the entry point ${relative(root, p)} is a link that leaves the repository`, {}, 'CONNECTOR_NOT_FOUND');
  }
  return real;
}


// A Python or Node package in the checkout is installed like a pypi:/npm: package, from the
// checkout's folder, cached under the commit (the checkout never changes for a commit).
async function packageRef(ep: { kind: 'python-package' | 'node-package'; dir: string }, g: GitReference, commit: string, display: string, opts: ResolveOptions): Promise<ConnectorRef> {
  const cacheKey = `git-${commit.slice(0, 12)}${g.subdir ? `-${g.subdir.replace(/[^A-Za-z0-9._-]/g, '_')}` : ''}`;
  if (ep.kind === 'python-package') {
    const pyproject = join(ep.dir, 'pyproject.toml');
    const text = existsSync(pyproject) ? readFileSync(pyproject, 'utf8') : '';
    const m = /^\[project\][^[]*?^name\s*=\s*["']([^"']+)["']/ms.exec(text) ?? /^\[tool\.poetry\][^[]*?^name\s*=\s*["']([^"']+)["']/ms.exec(text);
    if (!m) throw new ConfigError(`git reference ${display}: the Python package in ${g.subdir || 'the repository root'} has no name in pyproject.toml ([project] or [tool.poetry])`, { path: ep.dir }, 'CONNECTOR_NOT_FOUND');
    const spec = parsePypiSpec(m[1]!, display);
    return pypiConnectorRef(spec, await installPypi(spec, { ...opts, raw: display, from: ep.dir, cacheKey }), display);
  }
  const pkg = JSON.parse(readFileSync(join(ep.dir, 'package.json'), 'utf8')) as { name?: string };
  if (!pkg.name) throw new ConfigError(`git reference ${display}: the Node package in ${g.subdir || 'the repository root'} has no name in package.json`, { path: ep.dir }, 'CONNECTOR_NOT_FOUND');
  const spec = parseNpmSpec(pkg.name, display);
  return npmConnectorRef(spec, await installNpm(spec, { ...opts, raw: display, from: ep.dir, cacheKey }), display);
}

export interface GitResolveResult {
  ref: ConnectorRef;
  provenance: GitProvenance;
  /** False when the checkout was already in the cache. */
  fetched: boolean;
}

/** Resolve a git reference: fetch (or reuse) the checkout, write the provenance, find the entry point. */
export async function resolveGit(rest: string, opts: ResolveOptions = {}): Promise<GitResolveResult> {
  const g = parseGitReference(rest);
  const log = opts.logger;
  const repoCache = gitRepoCacheDir(g, opts);
  mkdirSync(repoCache, { recursive: true });
  const repoDir = join(repoCache, 'repo.git');
  const refs = readRefs(repoCache);

  // 1. REF -> commit
  let commit: string | undefined;
  let resolvedRef: string | undefined;
  if (FULL_SHA.test(g.ref)) {
    commit = g.ref.toLowerCase();
  } else {
    try {
      const hit = await lsRemote(gitFor(repoCache, g.kind), g);
      if (hit) ({ commit, resolvedRef } = hit);
      else if (!/^[0-9a-f]{7,}$/i.test(g.ref)) {
        throw new ConfigError(`git reference ${displayGitReference(g)}: no branch or tag "${g.ref}" in ${g.displayUrl}`, { reference: displayGitReference(g) }, 'CONNECTOR_NOT_FOUND');
      }
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      const known = refs[g.ref];
      if (known && readMarker(join(repoCache, known.commit))) {
        log?.warn({ url: g.displayUrl, ref: g.ref, commit: known.commit }, `cannot reach ${g.displayUrl} (${gitMessage(e)}); using the cached ${g.ref} = ${known.commit}`);
        commit = known.commit;
        resolvedRef = known.resolved_ref;
      } else {
        throw new ConfigError(`cannot reach ${g.displayUrl} to resolve ${g.ref}: ${gitMessage(e)}`, { reference: displayGitReference(g) }, 'CONNECTOR_NOT_FOUND');
      }
    }
  }

  // 2. the checkout of that commit (reused when present)
  let fetched = false;
  if (!commit || !readMarker(join(repoCache, commit))) {
    const lock = await lockEntry(repoDir, { logger: log, what: g.displayUrl });
    try {
      commit = await fetchCommit(g, repoDir, { commit, resolvedRef }, log);
    } finally {
      lock.release();
    }
  }
  const entryDir = join(repoCache, safeSegment(commit));
  const now = new Date().toISOString();
  const ensured = await ensureEntry<CacheMarker>(entryDir, {
    logger: log,
    what: `${g.displayUrl} ${commit}`,
    install: async (tmp) => {
      await checkoutInto(repoDir, commit!, tmp);
      return { kind: 'git', name: g.displayUrl, requested: g.ref, version: commit!, installed_at: now };
    },
  });
  fetched = ensured.installed;
  const srcRoot = join(entryDir, 'src');

  // 3. the entry point, the provenance
  const ep = findEntryPoint(srcRoot, g);
  const epPath = ep.kind === 'file' || ep.kind === 'kit-package' ? insideOrRefuse(srcRoot, ep.kind === 'file' ? ep.path : ep.dir, g) : ep.dir;
  const old = readProvenanceFile(entryDir);
  const provenance: GitProvenance = {
    kind: 'git',
    url: g.displayUrl,
    ref: g.ref,
    resolved_ref: resolvedRef,
    commit,
    subdir: g.subdir,
    fetched_at: old?.fetched_at ?? ensured.marker.installed_at ?? now,
    resolved_at: now,
    license: findLicence(srcRoot, g.subdir),
    entry_point: relative(realpathSync(srcRoot), epPath).split(sep).join('/'),
    path: srcRoot,
  };
  writeJsonAtomic(join(entryDir, 'provenance.json'), provenance);
  refs[g.ref] = { commit, resolved_ref: resolvedRef, resolved_at: now };
  // re-read just before writing, so a concurrent resolve of another ref is not lost
  writeJsonAtomic(join(repoCache, 'refs.json'), { ...readRefs(repoCache), [g.ref]: refs[g.ref] });

  const display = displayGitReference(g);
  const name = basename(g.subdir || g.displayUrl.replace(/\.git$/, '')).replace(/\.[a-z]+$/, '') || 'connector';
  // a NAME from --config-uri picks an object in a kit file; one in the reference must agree with it
  const object = pickObjectName(g.object, ep.kind === 'kit-package' || g.object !== undefined || (ep.kind === 'file' && isKitFile(epPath)) ? opts.objectName : undefined, display);
  const ref =
    ep.kind === 'kit-package'
      ? kitConnector(epPath, display, { name: object, executable: false })!
      : ep.kind === 'file'
        ? fileConnector(epPath, display, name, object)
        : await packageRef(ep, g, commit, display, opts);
  log?.debug({ url: g.displayUrl, ref: g.ref, commit, fetched, entry_point: provenance.entry_point }, `git connector ${display} at ${commit}`);
  return { ref, provenance, fetched };
}

/** The ReferenceResolver registered for `git:`. */
export async function gitResolver(rest: string, _raw: string, opts: ResolveOptions): Promise<ConnectorRef> {
  return (await resolveGit(rest, opts)).ref;
}

/** The provenance record of a checkout folder (<repo cache>/<commit>), or undefined. */
export function readProvenanceFile(entryDir: string): GitProvenance | undefined {
  try {
    return JSON.parse(readFileSync(join(entryDir, 'provenance.json'), 'utf8')) as GitProvenance;
  } catch {
    return undefined;
  }
}

/**
 * For `host connectors info git:...`: the provenance of a reference from the cache alone (no
 * network): REF is looked up in the commits it last resolved to (or is a full commit id).
 * The licence is looked up for the SUBDIR asked. Undefined when it was never fetched.
 */
export function readGitProvenance(reference: string, opts: { cacheDir?: string | undefined } = {}): GitProvenance | undefined {
  const rest = reference.replace(/^git:/i, '');
  const g = parseGitReference(rest);
  const repoCache = gitRepoCacheDir(g, opts);
  let commit: string | undefined;
  if (FULL_SHA.test(g.ref)) commit = g.ref.toLowerCase();
  else commit = readRefs(repoCache)[g.ref]?.commit;
  if (!commit) {
    if (!/^[0-9a-f]{7,}$/i.test(g.ref)) return undefined;
    try {
      commit = readdirSync(repoCache).find((n) => FULL_SHA.test(n) && n.startsWith(g.ref.toLowerCase()));
    } catch {
      return undefined;
    }
    if (!commit) return undefined;
  }
  const entryDir = join(repoCache, commit);
  if (!readMarker(entryDir)) return undefined;
  const p = readProvenanceFile(entryDir);
  if (!p) return undefined;
  if (p.subdir === g.subdir && p.ref === g.ref) return p;
  return { ...p, ref: g.ref, subdir: g.subdir, license: findLicence(join(entryDir, 'src'), g.subdir) };
}

/** Every cached git checkout's provenance (for `host connectors list`). */
export function listGitProvenance(opts: { cacheDir?: string | undefined } = {}): GitProvenance[] {
  const root = join(cacheRoot(opts), 'git');
  const out: GitProvenance[] = [];
  let repos: string[] = [];
  try {
    repos = readdirSync(root);
  } catch {
    return out;
  }
  for (const r of repos) {
    let entries: string[] = [];
    try {
      entries = readdirSync(join(root, r));
    } catch {
      continue;
    }
    for (const e of entries) {
      if (!FULL_SHA.test(e) || !readMarker(join(root, r, e))) continue;
      const p = readProvenanceFile(join(root, r, e));
      if (p) out.push(p);
    }
  }
  return out;
}
