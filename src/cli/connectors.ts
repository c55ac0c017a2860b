// `host connectors list|info|install|remove|which|exec`: what the registry names, what the
// cache holds, and running an installed connector's own program by hand.
//
// `which NAME|REF` prints the command line that runs the connector's program as ONE line, each
// word shell-quoted when it needs it (POSIX sh single quotes), so that
//   $(host connectors which pypi:tap-x) --about          works when no word needs quoting, and
//   eval "$(host connectors which pypi:tap-x) --about"   always.
// For a pypi: connector it is the console script itself (<venv>/bin/tap-x), which runs from
// anywhere; for others what the host runs (e.g. `node …/bin.js`, `python3 /abs/source.py`).
//
// `exec NAME|REF -- ARGS` (Meltano's `invoke`) resolves the connector (installing it into the
// cache when needed; the install's log lines go to stderr), then runs that command line with
// ARGS appended: stdin, stdout and stderr inherited, the connector's environment (a venv's
// VIRTUAL_ENV and PATH) added, its exit code passed through (128 + the signal number when a
// signal ended it). SIGTERM, SIGHUP and SIGUSR2 are forwarded to it; so are SIGINT and SIGQUIT
// unless stdin, stdout or stderr is a terminal: then the terminal has sent them to the
// connector already (Ctrl-C reaches the whole foreground process group), and the host only
// waits for it to exit. Both name the connector's own program: a registry entry's `protocol:
// singer` shim is not applied (the tap is run as a tap).

import { existsSync, readdirSync, rmSync, statSync, rmdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { join, basename } from 'node:path';
import { loadRegistry, type RegistryEntry } from '../connector/registry.js';
import { resolveConnector, type ResolveOptions, type ConnectorRef } from '../connector/resolve.js';
import { cacheRoot, readMarker, readPointer, safeSegment, type CacheMarker } from '../connector/cache.js';
import { parsePypiSpec, scriptArgv, uvToolDir } from '../connector/pypi.js';
import { parseNpmSpec } from '../connector/npm.js';
import { readGitProvenance, parseGitReference, gitRepoCacheDir } from '../connector/git.js';
import { ConfigError, UsageError } from '../errors.js';
import { splitObjectReference } from '../connector/kit-ref.js';

export const CONNECTOR_ACTIONS = ['list', 'info', 'install', 'remove', 'which', 'exec'] as const;

export interface CacheEntry {
  kind: string;
  name: string;
  version: string;
  dir: string;
  marker: CacheMarker;
  /** The latest-* pointers that name this entry (pypi: without a version). */
  latest: string[];
}

export interface StalePointer {
  kind: string;
  name: string;
  pointer: string;
  target: string;
}

const isPart = (n: string) => /\.(tmp|old)-|\.lock$|\.tmp$|\.ptr-tmp$/.test(n);

/** Every complete entry of the cache (pypi/<name>/<version>, npm/<name>/<version>, git/<repo>/<commit>), and the pointers whose entry is gone. */
export function cacheContents(opts: ResolveOptions): { entries: CacheEntry[]; stale: StalePointer[] } {
  const root = cacheRoot(opts);
  const entries: CacheEntry[] = [];
  const stale: StalePointer[] = [];
  for (const kind of ['pypi', 'npm', 'git']) {
    const top = join(root, kind);
    if (!existsSync(top)) continue;
    for (const a of readdirSync(top)) {
      const dirA = join(top, a);
      let subs: string[] = [];
      try {
        subs = readdirSync(dirA);
      } catch {
        continue;
      }
      const here: CacheEntry[] = [];
      const pointers: [string, string][] = [];
      for (const b of subs) {
        if (isPart(b)) continue;
        const dir = join(dirA, b);
        const marker = readMarker(dir);
        if (marker) here.push({ kind, name: String(marker.name ?? a), version: String(marker.version ?? b), dir, marker, latest: [] });
        else if (kind === 'pypi') {
          const p = readPointer(dir);
          if (p) pointers.push([b, p.target]);
        }
      }
      for (const [pointer, target] of pointers) {
        const e = here.find((x) => basename(x.dir) === target);
        if (e) e.latest.push(pointer);
        else stale.push({ kind, name: a, pointer: join(dirA, pointer), target });
      }
      entries.push(...here);
    }
  }
  return { entries, stale };
}

/** Every complete entry of the cache. */
export function cacheEntries(opts: ResolveOptions): CacheEntry[] {
  return cacheContents(opts).entries;
}

function entryOrRef(what: string, opts: ResolveOptions): { entry: RegistryEntry | undefined; ref: string; refOrArgv: string | string[]; registryFile: string | undefined; names: string[] } {
  const reg = loadRegistry(opts.registry);
  const entry = reg.entries.get(what);
  const refOrArgv = entry ? entry.ref : what;
  const ref = Array.isArray(refOrArgv) ? refOrArgv.join(' ') : refOrArgv;
  return { entry, ref, refOrArgv, registryFile: reg.file, names: [...reg.entries.keys()] };
}

/** The cache folders a reference occupies. */
function cacheDirsOf(ref: string, opts: ResolveOptions): string[] {
  const root = cacheRoot(opts);
  const m = /^([a-z]+):(.*)$/.exec(ref);
  if (!m) return [];
  const [, kind, rest] = m;
  const dirsIn = (dir: string, keep: (n: string) => boolean) => {
    try {
      return readdirSync(dir)
        .filter((n) => !isPart(n) && keep(n))
        .map((n) => join(dir, n))
        .filter((p) => statSync(p).isDirectory());
    } catch {
      return [];
    }
  };
  if (kind === 'pypi') {
    const s = parsePypiSpec(rest!);
    const dir = join(root, 'pypi', safeSegment(s.normalized));
    if (!s.version) return existsSync(dir) ? [dir] : [];
    return dirsIn(dir, (d) => d.startsWith(`${safeSegment(s.version!)}-`));
  }
  if (kind === 'npm') {
    const s = parseNpmSpec(rest!);
    const dir = join(root, 'npm', safeSegment(s.name.replace('/', '+')));
    if (!s.version) return existsSync(dir) ? [dir] : [];
    const v = join(dir, safeSegment(s.version));
    return existsSync(v) ? [v] : [];
  }
  if (kind === 'git') {
    const dir = gitRepoCacheDir(parseGitReference(rest!), opts);
    return existsSync(dir) ? [dir] : [];
  }
  return [];
}

/** POSIX sh quoting of one word: as it is when it is safe, else in single quotes. */
export function shellQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The connector's own program (a registry entry's ref, without the Singer shim), resolved and installed if needed. */
async function resolveProgram(what: string, opts: ResolveOptions, action: string): Promise<{ ref: ConnectorRef; argv: string[] }> {
  const { entry, refOrArgv, registryFile, names } = entryOrRef(what, opts);
  if (!entry && !/^[a-z][a-z0-9+.-]+:/i.test(what) && !existsSync(what) && !splitObjectReference(what)) {
    const where = registryFile ? `the registry ${registryFile} (it has: ${names.join(', ') || 'none'})` : 'a registry (there is no registry file: see --registry)';
    throw new ConfigError(
      `host connectors ${action}: unknown connector "${what}": not a connector in ${where}, nor a file; name a registry connector, a path, or a reference (pypi:NAME[==VERSION], npm:NAME[@VERSION], git:URL#REF[:SUBDIR], docker:IMAGE, manifest:PATH)`,
      {},
      'CONNECTOR_NOT_FOUND',
    );
  }
  const ref = await resolveConnector(refOrArgv, { ...opts, python: entry?.python ?? opts.python, protocol: undefined });
  const argv = scriptArgv(ref);
  const [command, ...args] = argv;
  return { ref, argv: [command!, ...(ref.prepareArgs ? ref.prepareArgs(args, undefined) : args)] };
}

const FORWARDED: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGUSR2', 'SIGINT', 'SIGQUIT'];
const FROM_TERMINAL = new Set<NodeJS.Signals>(['SIGINT', 'SIGQUIT']);

/** Run argv with stdio inherited; resolves to its exit code (128 + signal number when a signal ended it). */
export function runInherited(argv: string[], env: Record<string, string> | undefined, display: string): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit', env: { ...process.env, ...(env ?? {}) } });
    const onTerminal = Boolean(process.stdin.isTTY || process.stdout.isTTY || process.stderr.isTTY);
    const handlers = new Map<NodeJS.Signals, () => void>();
    for (const sig of FORWARDED) {
      const h = () => {
        if (onTerminal && FROM_TERMINAL.has(sig)) return; // the terminal sent it to the connector too
        try {
          child.kill(sig);
        } catch {
          /* gone */
        }
      };
      handlers.set(sig, h);
      process.on(sig, h);
    }
    const done = () => {
      for (const [sig, h] of handlers) process.off(sig, h);
    };
    child.once('error', (e: NodeJS.ErrnoException) => {
      done();
      const why = e.code === 'ENOENT' ? 'not found' : e.code === 'EACCES' ? 'not executable' : e.message;
      reject(new ConfigError(`cannot run ${display}: ${argv[0]}: ${why}`, { file: argv[0] }, 'CONNECTOR_NOT_FOUND'));
    });
    child.once('exit', (code, signal) => {
      done();
      if (code !== null) resolvePromise(code);
      else resolvePromise(128 + ((signal && osConstants.signals[signal]) || 0));
    });
  });
}

/** Runs an action; returns the exit code (exec: the connector's). */
export async function connectorsCommand(action: string, what: string | undefined, opts: ResolveOptions, print: (s: string) => void, args: string[] = []): Promise<number> {
  if (args.length && action !== 'exec') throw new UsageError(`host connectors ${action} takes no arguments after --; did you mean host connectors exec?`);
  if (action === 'list') {
    const reg = loadRegistry(opts.registry);
    print(reg.file ? `registry ${reg.file}` : 'no registry file (see --registry)');
    for (const e of reg.entries.values()) print(`  ${e.name.padEnd(24)} ${Array.isArray(e.ref) ? e.ref.join(' ') : e.ref}  [${e.protocol}]${e.description ? `  ${e.description}` : ''}`);
    const { entries, stale } = cacheContents(opts);
    print(`cache ${cacheRoot(opts)}: ${entries.length} installed`);
    for (const c of entries) print(`  ${c.kind}:${c.name} ${c.version}${c.latest.length ? ' (latest)' : ''}  ${c.dir}`);
    for (const s of stale) print(`  ${s.kind}:${s.name} latest -> ${s.target}, which is gone (installed again when next used)`);
    const uv = readMarker(uvToolDir(opts));
    if (uv) print(`installer uv ${uv.version}  ${uvToolDir(opts)} (installed by the host)`);
    return 0;
  }
  if (!what) throw new UsageError(`host connectors ${action} needs a connector name or reference`);
  if (action === 'which') {
    const { ref, argv } = await resolveProgram(what, opts, action);
    // a kit object needs the kit on PYTHONPATH: `env VAR=… cmd` stays one command line that also works from $(…)
    const vars = ['PYTHONPATH', 'PYTHONSAFEPATH', 'CONNECTOR_HOST_SAFEPATH'].filter((k) => ref.env?.[k] !== undefined).map((k) => `${k}=${ref.env![k]}`);
    print([...(vars.length ? ['env', ...vars] : []), ...argv].map(shellQuote).join(' '));
    return 0;
  }
  if (action === 'exec') {
    const { ref, argv } = await resolveProgram(what, opts, action);
    // a signal that reached the host while it resolved or installed the connector: do not start it
    const early = (opts as { beforeSpawn?: () => NodeJS.Signals | undefined }).beforeSpawn?.();
    if (early) return 128 + (osConstants.signals[early] ?? 0);
    return runInherited([...argv, ...args], ref.env, what);
  }
  const { entry, ref } = entryOrRef(what, opts);
  if (action === 'info') {
    const info: Record<string, unknown> = { reference: ref };
    if (entry) {
      info['registry'] = {
        name: entry.name,
        protocol: entry.protocol,
        version: entry.version,
        python: entry.python,
        // field names only: default values may hold secrets
        default_config_fields: Object.keys(entry.config ?? {}),
        // names of variables only: their values may be secrets
        fields_from_environment: entry.env ?? {},
        description: entry.description,
      };
    }
    info['installed'] = cacheDirsOf(ref, opts).flatMap((d) => {
      const m = readMarker(d);
      if (m) return [{ dir: d, marker: m }];
      return existsSync(d)
        ? readdirSync(d)
            .filter((x) => !isPart(x))
            .map((x) => join(d, x))
            .filter((x) => readMarker(x))
            .map((x) => ({ dir: x, marker: readMarker(x) }))
        : [];
    });
    if (ref.startsWith('pypi:')) {
      const s = parsePypiSpec(ref.slice(5));
      const dir = join(cacheRoot(opts), 'pypi', safeSegment(s.normalized));
      const latest: Record<string, unknown> = {};
      for (const n of existsSync(dir) ? readdirSync(dir) : []) {
        const p = n.startsWith('latest-') && !isPart(n) ? readPointer(join(dir, n)) : undefined;
        if (p) latest[n] = { ...p, dir: join(dir, p.target), present: Boolean(readMarker(join(dir, p.target))) };
      }
      if (Object.keys(latest).length) info['latest'] = latest;
    }
    if (ref.startsWith('git:')) info['provenance'] = readGitProvenance(ref, opts) ?? 'never fetched';
    print(JSON.stringify(info, null, 2));
    return 0;
  }
  if (action === 'install') {
    // refresh: a pypi: reference without a version resolves the latest again (the old one stays, pinned by its version)
    const r = await resolveConnector(entry ? entry.ref : ref, { ...opts, python: entry?.python ?? opts.python, refresh: true } as ResolveOptions);
    print(`installed ${ref}: ${[r.command, ...r.args].join(' ')}`); // what the host runs; `which` prints what runs by hand
    return 0;
  }
  if (action === 'remove') {
    const dirs = cacheDirsOf(ref, opts);
    if (dirs.length === 0) {
      print(`${ref}: nothing installed in ${cacheRoot(opts)}`);
      return 0;
    }
    for (const d of dirs) {
      rmSync(d, { recursive: true, force: true });
      print(`removed ${d}`);
    }
    // a pypi: version removed: the latest-* pointers that named it go too, and the name's folder when nothing is left
    if (ref.startsWith('pypi:')) {
      const nameDir = join(cacheRoot(opts), 'pypi', safeSegment(parsePypiSpec(ref.slice(5)).normalized));
      for (const n of existsSync(nameDir) ? readdirSync(nameDir) : []) {
        const p = n.startsWith('latest-') && !isPart(n) ? readPointer(join(nameDir, n)) : undefined;
        if (p && !existsSync(join(nameDir, p.target))) {
          rmSync(join(nameDir, n), { force: true });
          print(`removed the pointer ${join(nameDir, n)} (it named ${p.target})`);
        }
      }
      try {
        if (readdirSync(nameDir).length === 0) rmdirSync(nameDir);
      } catch {
        /* not empty, or gone */
      }
    }
    return 0;
  }
  throw new UsageError(`unknown action "${action}": ${CONNECTOR_ACTIONS.join(', ')}`);
}
