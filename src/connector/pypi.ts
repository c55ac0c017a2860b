// `pypi:NAME[==VERSION]`: a Python connector installed from PyPI into its own virtualenv
// in the cache (src/connector/cache.ts), once, and reused.
//
//   <cache>/pypi/<normalised name>/<version>-<python cache tag>/
//       bin/python, bin/<console scripts>, lib/..., .connector-host.json (the marker, written last)
//   <cache>/pypi/<normalised name>/latest-<python cache tag>      a pointer file: {"target": "<version>-<tag>", ...}
//   <cache>/tools/uv/bin/uv                                         uv, when the host installed it
//
// - Without a version the latest is resolved to a concrete one: the venv is built in a temp
//   folder, the installed version read, and the folder placed at <version>-<tag>; the pointer
//   `latest-<tag>` names it. So a later `pypi:NAME==<that version>` finds it and installs
//   nothing, and the latest is reused as it is until `host connectors install` (installPypi's
//   `refresh`) resolves it again. When other versions of the package are there already, the
//   latest version is looked up first (uv pip compile, or pip install --dry-run; nothing is
//   installed) so that one already there is only pointed at. A pointer whose folder was
//   removed is stale: the latest is installed again. A pinned version gets its own folder, and
//   so does another interpreter (`--python`, ResolveOptions.python): the folder name carries
//   its cache tag (cpython-311).
// - The installer is uv when it can be had: $CONNECTOR_HOST_UV (a path), else `uv` on PATH,
//   else a uv the host installs once into <cache>/tools/uv with the interpreter's pip
//   (`pip install --target`, under the cache's entry lock); pip (`python -m venv` + pip) when
//   that fails, or when CONNECTOR_HOST_NO_UV is set. uv reads its own settings (uv.toml, UV_*);
//   PIP_INDEX_URL, PIP_EXTRA_INDEX_URL and PIP_CERT are passed on as their uv equivalents when
//   those are unset. uv venvs are seeded with pip (`--seed`), as `python -m venv` ones are, and
//   compiled to bytecode at install (`--compile-bytecode`), as pip does: without it every start
//   of a connector compiles what it imports (each time, under PYTHONDONTWRITEBYTECODE; measured
//   for airbyte-source-faker: 4.9 s per spec instead of 3.1 s).
// - Venvs work where they end up: uv makes them `--relocatable` (a script finds the python
//   beside itself); for pip, the temp folder's path in bin/ (shebangs, activate's
//   VIRTUAL_ENV) and pyvenv.cfg is rewritten to the final path before the rename. So
//   `<venv>/bin/tap-x` runs by itself (`host connectors which|exec`). An entry made by an older
//   host (a marker without `scripts`) is repaired the same way when next used. The host itself
//   starts a connector as `<venv>/bin/python <venv>/bin/<script>`, which needs no shebang.
// - An install logs at info on stderr: a line when it starts, one every 5 s while it runs
//   ($CONNECTOR_HOST_PROGRESS_INTERVAL ms) with the installer's latest line, and one at the end.
// - The entry point is a console script of the package (importlib.metadata, read with the
//   venv's python): source-*, destination-*, tap-*, target-* first, else the only one.

import { existsSync, lstatSync, readFileSync, readdirSync, renameSync, rmSync, rmdirSync, writeFileSync, chmodSync } from 'node:fs';
import { join, delimiter, dirname, basename } from 'node:path';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { ConfigError } from '../errors.js';
import { silentLogger, type Logger } from '../log/logger.js';
import type { ConnectorRef, ResolveOptions } from './resolve.js';
import { isExecutableFile } from './resolve.js';
import {
  cacheRoot,
  ensureEntry,
  lockEntry,
  placeEntry,
  completeEntry,
  readMarker,
  readPointer,
  writePointer,
  rewriteMarker,
  removeLeftovers,
  tempSibling,
  safeSegment,
  type CacheMarker,
} from './cache.js';

export interface PypiSpec {
  /** As written (validated). */
  name: string;
  /** PEP 503 normalised: lower case, runs of -_. as one -. */
  normalized: string;
  /** undefined: the latest. */
  version: string | undefined;
}

export interface PypiMarker extends CacheMarker {
  kind: 'pypi';
  python: string;
  python_executable: string;
  python_tag: string;
  installer: 'pip' | 'uv';
  /** console script name -> "module:attr". */
  console_scripts: Record<string, string>;
  /**
   * How the bin/ scripts find the venv's python: `relocatable` (uv: relative to the script),
   * `fixed` (absolute, rewritten to this folder). Absent: made by an older host, whose scripts
   * named the temp folder (repaired when next used).
   */
  scripts?: 'relocatable' | 'fixed' | undefined;
}

export interface PypiInstall {
  /** The venv folder. */
  dir: string;
  marker: PypiMarker;
  /** False when the venv was already there. */
  installed: boolean;
  python: string;
}

export interface PypiInstallOptions extends ResolveOptions {
  /** How the user named it, for messages. */
  raw?: string | undefined;
  /** A package folder (a git checkout) to install instead of the PyPI package, cached under cacheKey. */
  from?: string | undefined;
  cacheKey?: string | undefined;
  /** Without a version: resolve the latest again even when a pointer names one (`host connectors install`). */
  refresh?: boolean | undefined;
}

const NAME_RE = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
// PEP 440 versions (public and local), loosely: starts with a digit, then the version alphabet.
const VERSION_RE = /^[0-9][0-9A-Za-z.!+_-]*$/;

/** Parse and validate `NAME[==VERSION]` so nothing odd reaches pip. */
export function parsePypiSpec(rest: string, raw = `pypi:${rest}`): PypiSpec {
  const s = rest.trim();
  const m = /^([^=<>!~@\s;[\]]+)(?:==([^=\s]+))?$/.exec(s);
  if (!m) {
    if (/[<>!~]=?|@|\[|;/.test(s)) {
      throw new ConfigError(`${raw}: only NAME or NAME==VERSION is supported (no ranges, extras, markers or URLs)`, {}, 'CONNECTOR_NOT_FOUND');
    }
    throw new ConfigError(`${raw}: expected pypi:NAME or pypi:NAME==VERSION`, {}, 'CONNECTOR_NOT_FOUND');
  }
  const name = m[1]!;
  const version = m[2];
  if (!NAME_RE.test(name) || name.length > 200) {
    throw new ConfigError(`${raw}: "${name}" is not a valid Python package name (letters, digits, ".", "_", "-"; starting and ending with a letter or digit)`, {}, 'CONNECTOR_NOT_FOUND');
  }
  if (version !== undefined && (!VERSION_RE.test(version) || version.length > 100)) {
    throw new ConfigError(`${raw}: "${version}" is not a valid version (e.g. 1.2.3)`, {}, 'CONNECTOR_NOT_FOUND');
  }
  return { name, normalized: name.toLowerCase().replace(/[-_.]+/g, '-'), version };
}

export interface PythonInfo {
  version: string;
  tag: string;
  executable: string;
}

const pythonInfos = new Map<string, Promise<PythonInfo>>();

/** The interpreter's version and cache tag (cached per process). */
export function probePython(python: string): Promise<PythonInfo> {
  let p = pythonInfos.get(python);
  if (!p) {
    p = (async () => {
      const r = await execa(python, ['-c', 'import sys, json; print(json.dumps({"version": sys.version.split()[0], "tag": sys.implementation.cache_tag or sys.implementation.name, "executable": sys.executable}))'], {
        reject: false,
        stdin: 'ignore',
        timeout: 30_000,
      });
      if (r.exitCode !== 0) {
        const why = r.exitCode === undefined ? ((r as unknown as { code?: string }).code === 'ENOENT' ? 'not found' : String(r.originalMessage ?? r.message)) : `exited with ${r.exitCode}: ${String(r.stderr).split('\n').slice(-3).join(' ')}`;
        throw new ConfigError(`cannot run the Python interpreter "${python}" (${why}); name another with --python`, {}, 'CONNECTOR_NOT_FOUND');
      }
      return JSON.parse(String(r.stdout).trim().split('\n').pop()!) as PythonInfo;
    })();
    pythonInfos.set(python, p);
    p.catch(() => pythonInfos.delete(python));
  }
  return p;
}

/** Run a tool, its output (stdout and stderr) to the logger at debug; returns its last lines. */
export async function runLogged(
  command: string,
  args: string[],
  o: { logger: Logger; tool: string; env?: Record<string, string>; cwd?: string; onLine?: (line: string) => void },
): Promise<{ ok: boolean; tail: string[]; why: string }> {
  const sub = execa(command, args, { all: true, buffer: false, reject: false, stdin: 'ignore', env: o.env, extendEnv: true, cwd: o.cwd });
  const tail: string[] = [];
  if (sub.all) {
    const rl = createInterface({ input: sub.all, crlfDelay: Infinity });
    for await (const line of rl) {
      o.logger.debug({ tool: o.tool }, line);
      o.onLine?.(line);
      tail.push(line);
      if (tail.length > 200) tail.shift();
    }
  }
  const r = await sub;
  const anyR = r as unknown as { exitCode?: number; signal?: string; code?: string; cause?: { code?: string } };
  const ok = r.exitCode === 0;
  const why = ok
    ? ''
    : anyR.exitCode !== undefined
      ? `exit code ${anyR.exitCode}`
      : anyR.signal
        ? `killed by ${anyR.signal}`
        : (anyR.cause?.code ?? anyR.code) === 'ENOENT'
          ? `${command}: command not found`
          : String(r.message);
  return { ok, tail, why };
}

/** The lines of an installer's output that explain a failure: its ERROR lines, else the last few. */
export function failureSummary(tail: string[], errorLine: RegExp, fromStart = false): string {
  const useful = (l: string) => l.trim() !== '' && !/complete log of this run|^npm (error|ERR!)\s*$/.test(l);
  const errs = tail.filter((l) => errorLine.test(l) && useful(l)).map((l) => l.trim());
  // pip says what went wrong last; npm first (then advice)
  const pick = errs.length ? (fromStart ? errs.slice(0, 3) : errs.slice(-4)) : tail.filter(useful).slice(-4).map((l) => l.trim());
  return pick.join('\n');
}


// ---------------------------------------------------------------------------------------------
// the installer: uv when it can be had, else pip

export type Installer = { kind: 'uv'; uv: string } | { kind: 'pip' };

/** What the host asks pip for when it installs uv into its cache (`uv venv --relocatable` is needed). */
export const UV_REQUIREMENT = 'uv>=0.5';

const envFlag = (v: string | undefined) => v !== undefined && !['', '0', 'false', 'no'].includes(v.toLowerCase());

/** `uv --version` of a uv recent enough (0.5 or later), else undefined. */
async function uvVersion(uv: string): Promise<string | undefined> {
  const r = await execa(uv, ['--version'], { reject: false, stdin: 'ignore', timeout: 15_000 });
  const m = r.exitCode === 0 ? /\buv (\d+)\.(\d+)\.(\d+)/.exec(String(r.stdout)) : null;
  if (!m) return undefined;
  if (Number(m[1]) === 0 && Number(m[2]) < 5) return undefined;
  return `${m[1]}.${m[2]}.${m[3]}`;
}

let uvOnPath: Promise<string | undefined> | undefined;
const uvInCache = new Map<string, Promise<string | undefined>>();

/** The directory of the uv the host installs into its cache. */
export function uvToolDir(opts: { cacheDir?: string | undefined } = {}): string {
  return join(cacheRoot(opts), 'tools', 'uv');
}

/**
 * The installer for the next install: none of uv when CONNECTOR_HOST_NO_UV is set; else
 * $CONNECTOR_HOST_UV, `uv` on PATH, or the cache's own uv (installed now, once, with pip);
 * pip when none of these can be had.
 */
export async function chooseInstaller(opts: ResolveOptions, python: PythonInfo, logger: Logger): Promise<Installer> {
  if (envFlag(process.env['CONNECTOR_HOST_NO_UV'])) return { kind: 'pip' };
  const explicit = process.env['CONNECTOR_HOST_UV'];
  if (explicit) {
    if (await uvVersion(explicit)) return { kind: 'uv', uv: explicit };
    logger.warn({ uv: explicit }, `CONNECTOR_HOST_UV=${explicit} is not a uv (0.5 or later) that runs; looking for another`);
  }
  uvOnPath ??= uvVersion('uv').then((v) => (v ? 'uv' : undefined));
  if (await uvOnPath) return { kind: 'uv', uv: 'uv' };
  const dir = uvToolDir(opts);
  let p = uvInCache.get(dir);
  if (!p) {
    p = installUvTool(dir, python, logger);
    uvInCache.set(dir, p);
  }
  const uv = await p;
  return uv ? { kind: 'uv', uv } : { kind: 'pip' };
}

// uv into <cache>/tools/uv (a pip --target folder: bin/uv is a self-contained binary), once.
async function installUvTool(dir: string, python: PythonInfo, logger: Logger): Promise<string | undefined> {
  const bin = join(dir, 'bin', 'uv');
  try {
    await ensureEntry<CacheMarker>(dir, {
      logger,
      what: 'uv',
      accept: (m) => m.kind === 'tool' && isExecutableFile(bin),
      install: async (tmp) => {
        const started = Date.now();
        logger.info({ dir }, `installing uv (the fast installer) into ${dir} with pip; this happens once ...`);
        const r = await runLogged(
          python.executable,
          ['-m', 'pip', 'install', '--target', tmp, '--no-deps', '--no-input', '--disable-pip-version-check', '--no-warn-script-location', '--', UV_REQUIREMENT],
          { logger, tool: 'pip', env: { ...PIP_ENV, PIP_USER: '0', PIP_REQUIRE_VIRTUALENV: '0' } },
        );
        if (!r.ok) throw new Error(`${r.why}: ${failureSummary(r.tail, /^\s*ERROR\b|No module named/)}`);
        const v = await uvVersion(join(tmp, 'bin', 'uv'));
        if (!v) throw new Error('the uv it installed does not run');
        logger.info({ dir, version: v }, `installed uv ${v} in ${secondsSince(started)} s`);
        return { kind: 'tool', name: 'uv', requested: UV_REQUIREMENT, version: v, installed_at: new Date().toISOString() };
      },
    });
    return bin;
  } catch (e) {
    logger.warn({ err: (e as Error).message }, `cannot install uv (${(e as Error).message.split('\n')[0]}); installing with pip instead`);
    return undefined;
  }
}

const PIP_ENV = { PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1', PIP_PROGRESS_BAR: 'off' };

/** uv's environment: no Python downloads, no progress bars, and pip's index and certificate settings when uv has none. */
export function uvEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = { UV_NO_PROGRESS: '1' };
  if (env['UV_PYTHON_DOWNLOADS'] === undefined) out['UV_PYTHON_DOWNLOADS'] = 'never';
  if (env['PIP_INDEX_URL'] && !env['UV_INDEX_URL'] && !env['UV_DEFAULT_INDEX']) out['UV_INDEX_URL'] = env['PIP_INDEX_URL'];
  if (env['PIP_EXTRA_INDEX_URL'] && !env['UV_EXTRA_INDEX_URL'] && !env['UV_INDEX']) out['UV_EXTRA_INDEX_URL'] = env['PIP_EXTRA_INDEX_URL'];
  if (env['PIP_CERT'] && !env['SSL_CERT_FILE']) out['SSL_CERT_FILE'] = env['PIP_CERT'];
  return out;
}

const secondsSince = (t: number) => ((Date.now() - t) / 1000).toFixed(1);

// ---------------------------------------------------------------------------------------------
// progress on stderr (the logger, at info)

interface Progress {
  note(line: string): void;
  done(name: string, version: string, installer: string): void;
  stop(): void;
}

/** A secret in an installer's line (an index URL's password or token) is not repeated at info. */
function maskUrlCredentials(line: string): string {
  return line.replace(/(\/\/)[^/\s@]+@/g, '$1****@');
}

function startProgress(logger: Logger, raw: string, label: string, installer: string, python: string): Progress {
  const started = Date.now();
  let last = '';
  logger.info({ connector: raw, installer }, `installing ${label} (${installer}, Python ${python}) ...`);
  const every = Number(process.env['CONNECTOR_HOST_PROGRESS_INTERVAL']);
  const timer = setInterval(
    () => logger.info({ connector: raw, seconds: Math.round((Date.now() - started) / 1000) }, `installing ${label} ... ${Math.round((Date.now() - started) / 1000)} s${last ? ` (${last})` : ''}`),
    Number.isFinite(every) && every >= 50 ? every : 5000,
  );
  timer.unref();
  return {
    note(line) {
      const t = maskUrlCredentials(line.trim());
      if (t) last = t.length > 100 ? `${t.slice(0, 99)}…` : t;
    },
    done(name, version, used) {
      logger.info({ connector: raw, version, installer: used, ms: Date.now() - started }, `installed ${name} ${version} in ${secondsSince(started)} s (${used})`);
    },
    stop: () => clearInterval(timer),
  };
}

// ---------------------------------------------------------------------------------------------
// venvs that work where they end up

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The names of the temp folders an older host built `name` in (`<name>.tmp-<pid>-<hex>`), as its scripts name them. */
function oldTempNames(name: string): RegExp {
  return new RegExp(`${escapeRe(name)}\\.tmp-[0-9]+-[0-9a-f]+`, 'g');
}

// A shebang too long for the kernel (127 bytes counts everywhere) or with a space cannot name
// the interpreter directly: the /bin/sh form pip uses then (valid sh and valid Python).
function shebangFits(text: string): string {
  const nl = text.indexOf('\n');
  const first = nl < 0 ? text : text.slice(0, nl);
  if (!first.startsWith('#!')) return text;
  const cmd = first.slice(2).trim();
  if (!/\/python[0-9.]*$/.test(cmd) || (first.length <= 127 && !/\s/.test(cmd)) || cmd.includes("'")) return text;
  return `#!/bin/sh\n'''exec' '${cmd}' "$0" "$@"\n' '''${nl < 0 ? '' : text.slice(nl)}`;
}

/**
 * A venv built in a temp folder names it in bin/ (script shebangs, activate*'s VIRTUAL_ENV and
 * prompt) and pyvenv.cfg. The temp folder is a sibling of the final one, so rewriting its name
 * (unique: it ends in -<pid>-<random>; `from` is that name or a pattern of such names) to the
 * final folder's name `to` rewrites every path. Each file is replaced atomically, keeping its
 * mode; returns how many changed.
 */
export function fixVenvPaths(dir: string, from: string | RegExp, to: string): number {
  const re = typeof from === 'string' ? new RegExp(escapeRe(from), 'g') : new RegExp(from.source, from.flags.includes('g') ? from.flags : `${from.flags}g`);
  const files = [join(dir, 'pyvenv.cfg')];
  try {
    for (const f of readdirSync(join(dir, 'bin'))) files.push(join(dir, 'bin', f));
  } catch {
    /* no bin */
  }
  let n = 0;
  for (const file of files) {
    let st;
    try {
      st = lstatSync(file);
    } catch {
      continue;
    }
    if (!st.isFile() || st.size > 4 << 20) continue; // symlinks (bin/python) and binaries stay
    const buf = readFileSync(file);
    if (buf.subarray(0, 8192).includes(0)) continue;
    const text = buf.toString('utf8');
    re.lastIndex = 0;
    if (!re.test(text)) continue;
    re.lastIndex = 0;
    const out = shebangFits(text.replace(re, () => to));
    const tmp = `${file}.${process.pid}.fix-tmp`;
    writeFileSync(tmp, out, { mode: st.mode & 0o7777 });
    chmodSync(tmp, st.mode & 0o7777);
    renameSync(tmp, file);
    n++;
  }
  return n;
}

// An entry made by an older host: its scripts name the temp folder it was built in. Repaired
// in place (idempotent; each file replaced atomically), and the marker says so.
function repairOld(inst: PypiInstall, logger: Logger): PypiInstall {
  if (inst.marker.scripts) return inst;
  try {
    const n = fixVenvPaths(inst.dir, oldTempNames(basename(inst.dir)), basename(inst.dir));
    const marker: PypiMarker = { ...inst.marker, scripts: 'fixed' };
    rewriteMarker(inst.dir, marker);
    logger.debug({ dir: inst.dir, files: n }, 'repaired the script paths of a venv made by an older host');
    return { ...inst, marker };
  } catch (e) {
    logger.debug({ dir: inst.dir, err: (e as Error).message }, 'cannot repair the script paths of a venv made by an older host');
    return inst;
  }
}

// ---------------------------------------------------------------------------------------------
// building a venv

const INSPECT = `
import sys, json
from importlib import metadata
name = sys.argv[1]
d = metadata.distribution(name)
eps = {e.name: e.value for e in d.entry_points if e.group == "console_scripts"}
print(json.dumps({"name": d.metadata["Name"], "version": d.version, "console_scripts": eps}))
`;

interface Build {
  spec: PypiSpec;
  raw: string;
  python: string;
  info: PythonInfo;
  logger: Logger;
  requirement: string;
  /** For the progress lines: "cowsay 6.1", "cowsay (latest)". */
  label: string;
  installer: Installer;
}

/**
 * Make a venv in `tmp` (which does not exist yet) and install the requirement; `finalOf` names
 * the folder it will be renamed to, given the installed version (paths are fixed for it).
 */
async function buildVenv(tmp: string, finalOf: (version: string) => string, b: Build): Promise<PypiMarker> {
  const { logger, info, raw } = b;
  let installer = b.installer;
  const progress = startProgress(logger, raw, b.label, installer.kind, info.version);
  const cwd = dirname(tmp); // not the user's folder: uv would read a pyproject.toml or uv.toml there
  try {
    progress.note('creating the virtualenv');
    if (installer.kind === 'uv') {
      const v = await runLogged(installer.uv, ['venv', '--relocatable', '--seed', '--quiet', '--python', info.executable, tmp], { logger, tool: 'uv', env: uvEnv(), cwd, onLine: progress.note });
      if (!v.ok) {
        logger.warn({ connector: raw }, `uv could not create the virtualenv (${v.why}: ${failureSummary(v.tail, /error/i)}); using python -m venv and pip`);
        rmSync(tmp, { recursive: true, force: true });
        installer = { kind: 'pip' };
      }
    }
    if (installer.kind === 'pip') {
      const v = await runLogged(info.executable, ['-m', 'venv', tmp], { logger, tool: 'venv', cwd, onLine: progress.note });
      if (!v.ok) throw new ConfigError(`${raw}: cannot create a virtualenv with ${b.python} (${v.why}): ${failureSummary(v.tail, /error/i)}`, { stderrTail: v.tail.slice(-20) }, 'CONNECTOR_NOT_FOUND');
    }
    const vpy = join(tmp, 'bin', 'python');
    progress.note(`${installer.kind} install ${b.requirement}`);
    const pip =
      installer.kind === 'uv'
        ? await runLogged(installer.uv, ['pip', 'install', '--compile-bytecode', '--python', vpy, '--', b.requirement], { logger, tool: 'uv', env: uvEnv(), cwd, onLine: progress.note })
        : await runLogged(vpy, ['-m', 'pip', 'install', '--no-input', '--disable-pip-version-check', '--', b.requirement], { logger, tool: 'pip', env: PIP_ENV, cwd, onLine: progress.note });
    if (!pip.ok) {
      throw new ConfigError(
        `${raw}: ${installer.kind} could not install it: ${failureSummary(pip.tail, installer.kind === 'uv' ? /^\s*(error|cause|hint)\b|×|╰─▶/i : /^\s*(ERROR|error)\b|×|No solution/) || pip.why}`,
        { stderrTail: pip.tail.slice(-20), installer: installer.kind },
        'CONNECTOR_NOT_FOUND',
      );
    }
    const ins = await execa(vpy, ['-c', INSPECT, b.spec.name], { reject: false, stdin: 'ignore', timeout: 60_000 });
    if (ins.exitCode !== 0) {
      throw new ConfigError(`${raw}: installed, but its metadata cannot be read: ${String(ins.stderr).split('\n').slice(-3).join(' ')}`, {}, 'CONNECTOR_NOT_FOUND');
    }
    const meta = JSON.parse(String(ins.stdout).trim().split('\n').pop()!) as { name: string; version: string; console_scripts: Record<string, string> };
    // the paths in bin/ and pyvenv.cfg name the temp folder (pip; uv --relocatable: only the prompt)
    fixVenvPaths(tmp, basename(tmp), basename(finalOf(meta.version)));
    progress.done(meta.name, meta.version, installer.kind);
    return {
      kind: 'pypi',
      name: b.spec.normalized,
      requested: b.spec.version,
      version: meta.version,
      installed_at: new Date().toISOString(),
      python: info.version,
      python_executable: info.executable,
      python_tag: info.tag,
      installer: installer.kind,
      console_scripts: meta.console_scripts,
      scripts: installer.kind === 'uv' ? 'relocatable' : 'fixed',
    };
  } finally {
    progress.stop();
  }
}

/** The latest version of the package for this interpreter, looked up without installing (undefined when that fails). */
async function latestVersion(spec: PypiSpec, info: PythonInfo, installer: Installer, logger: Logger, cwd: string): Promise<string | undefined> {
  try {
    if (installer.kind === 'uv') {
      const r = await execa(installer.uv, ['pip', 'compile', '-', '--python', info.executable, '--no-deps', '--no-header', '--no-annotate', '--quiet'], {
        input: `${spec.name}\n`,
        reject: false,
        timeout: 120_000,
        env: uvEnv(),
        cwd,
      });
      for (const line of String(r.stdout).split('\n')) {
        const m = /^([A-Za-z0-9._-]+)==(\S+)/.exec(line.trim());
        if (m && m[1]!.toLowerCase().replace(/[-_.]+/g, '-') === spec.normalized) return m[2];
      }
      logger.debug({ stderr: String(r.stderr).slice(-500) }, `uv pip compile did not give the latest ${spec.name}`);
      return undefined;
    }
    const r = await execa(info.executable, ['-m', 'pip', 'install', '--dry-run', '--no-deps', '--ignore-installed', '--quiet', '--report', '-', '--', spec.name], {
      reject: false,
      stdin: 'ignore',
      timeout: 120_000,
      env: { ...PIP_ENV, PIP_USER: '0', PIP_REQUIRE_VIRTUALENV: '0' },
    });
    const report = JSON.parse(String(r.stdout)) as { install?: { metadata?: { name?: string; version?: string } }[] };
    const v = report.install?.[0]?.metadata?.version;
    return typeof v === 'string' ? v : undefined;
  } catch (e) {
    logger.debug({ err: (e as Error).message }, `cannot look up the latest ${spec.name}`);
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// installPypi

const acceptIn = (dir: string) => (m: PypiMarker) => m.kind === 'pypi' && existsSync(join(dir, 'bin', 'python'));
const asInstall = (dir: string, marker: PypiMarker, installed: boolean): PypiInstall => ({ dir, marker, installed, python: join(dir, 'bin', 'python') });

/** Install (or find) the venv of `pypi:NAME[==VERSION]` (or of a package folder, `from`). */
export async function installPypi(spec: PypiSpec, opts: PypiInstallOptions): Promise<PypiInstall> {
  const logger = opts.logger ?? silentLogger();
  const raw = opts.raw ?? `pypi:${spec.name}${spec.version ? `==${spec.version}` : ''}`;
  const python = opts.python ?? 'python3';
  const info = await probePython(python);
  const nameDir = join(cacheRoot(opts), 'pypi', safeSegment(spec.normalized));
  const tag = safeSegment(info.tag);
  if (!opts.from && !spec.version) return installLatest(spec, nameDir, tag, { raw, python, info, logger, opts });

  // `from`: a package folder (a git checkout), cached under its own key (e.g. the commit)
  const dir = join(nameDir, `${safeSegment(opts.from ? (opts.cacheKey ?? 'local') : spec.version!)}-${tag}`);
  const res = await ensureEntry<PypiMarker>(dir, {
    logger,
    what: raw,
    accept: acceptIn(dir),
    install: async (tmp) =>
      buildVenv(tmp, () => dir, {
        spec,
        raw,
        python,
        info,
        logger,
        requirement: opts.from ?? `${spec.name}==${spec.version}`,
        label: opts.from ? `${spec.name} from ${opts.from}` : `${spec.name} ${spec.version}`,
        installer: await chooseInstaller(opts, info, logger),
      }),
  });
  return repairOld(asInstall(res.dir, res.marker, res.installed), logger);
}

/** The version folders of one interpreter (named `<marker version>-<tag>`, complete). */
function versionDirs(nameDir: string, tag: string): string[] {
  let names: string[] = [];
  try {
    names = readdirSync(nameDir);
  } catch {
    return [];
  }
  return names.filter((n) => {
    if (!n.endsWith(`-${tag}`) || n.startsWith('latest-')) return false;
    const m = readMarker<PypiMarker>(join(nameDir, n));
    return m?.kind === 'pypi' && n === `${safeSegment(String(m.version))}-${tag}`;
  });
}

interface LatestCtx {
  raw: string;
  python: string;
  info: PythonInfo;
  logger: Logger;
  opts: PypiInstallOptions;
}

// The latest: through the pointer `latest-<tag>` when it names a complete folder (and this is
// not a refresh); else, under the pointer's lock, resolved to a version and placed at
// <version>-<tag> (see the top of the file), and the pointer written last.
async function installLatest(spec: PypiSpec, nameDir: string, tag: string, c: LatestCtx): Promise<PypiInstall> {
  const { logger, raw } = c;
  const pointer = join(nameDir, `latest-${tag}`);
  const viaPointer = (): PypiInstall | undefined => {
    const p = readPointer(pointer);
    if (!p) return undefined;
    const d = join(nameDir, p.target);
    const m = completeEntry<PypiMarker>(d, acceptIn(d));
    return m ? asInstall(d, m, false) : undefined;
  };
  if (!c.opts.refresh) {
    const hit = viaPointer();
    if (hit) return repairOld(hit, logger);
  }
  const lock = await lockEntry(pointer, { logger, what: raw });
  try {
    if (!c.opts.refresh) {
      const hit = viaPointer(); // another run may have resolved it while we waited
      if (hit) return repairOld(hit, logger);
      const stale = readPointer(pointer);
      if (stale) logger.info({ connector: raw, target: stale.target }, `the latest ${spec.name} was ${stale.version} (${stale.target}), which is no longer in the cache; installing the latest again`);
    }
    removeLeftovers(pointer);
    const pointTo = (inst: PypiInstall): PypiInstall => {
      writePointer(pointer, { target: basename(inst.dir), version: inst.marker.version, resolved_at: new Date().toISOString() });
      return inst;
    };
    const legacy = await moveOldLatest(pointer, nameDir, tag, c);
    if (legacy && !c.opts.refresh) return pointTo(legacy);

    const installer = await chooseInstaller(c.opts, c.info, logger);
    // other versions are there: the latest may be one of them (then nothing is installed)
    if (versionDirs(nameDir, tag).length > 0) {
      const v = await latestVersion(spec, c.info, installer, logger, nameDir);
      const d = v ? join(nameDir, `${safeSegment(v)}-${tag}`) : undefined;
      const m = d ? completeEntry<PypiMarker>(d, acceptIn(d)) : undefined;
      if (d && m) {
        logger.info({ connector: raw, version: v, dir: d }, `the latest ${spec.name} is ${v}, installed already`);
        return pointTo(repairOld(asInstall(d, m, false), logger));
      }
    }
    const tmp = tempSibling(pointer);
    try {
      let finalDir = '';
      const marker = await buildVenv(tmp, (version) => (finalDir = join(nameDir, `${safeSegment(version)}-${tag}`)), {
        spec,
        raw,
        python: c.python,
        info: c.info,
        logger,
        requirement: spec.name,
        label: `the latest ${spec.name}`,
        installer,
      });
      const res = await placeEntry<PypiMarker>(finalDir, tmp, marker, { logger, what: raw, accept: acceptIn(finalDir) });
      if (!res.installed) logger.info({ connector: raw, dir: res.dir }, `${spec.name} ${marker.version} was installed already (by another run); using that one`);
      return pointTo(repairOld(asInstall(res.dir, res.marker, res.installed), logger));
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  } finally {
    lock.release();
    // nothing of a failed first install stays behind, not even the empty name folder
    try {
      if (readdirSync(nameDir).length === 0) rmdirSync(nameDir);
    } catch {
      /* not empty, or gone */
    }
  }
}

// An older host kept the latest as a folder `latest-<tag>` (its scripts naming its temp
// folder). Under the pointer's lock: moved to <version>-<tag> with its paths fixed (or dropped
// when that version is there already, or it is incomplete), so the pointer can take its name.
async function moveOldLatest(pointer: string, nameDir: string, tag: string, c: LatestCtx): Promise<PypiInstall | undefined> {
  let isDir = false;
  try {
    isDir = lstatSync(pointer).isDirectory();
  } catch {
    return undefined;
  }
  if (!isDir) return undefined;
  const m = completeEntry<PypiMarker>(pointer, acceptIn(pointer));
  const aside = tempSibling(pointer);
  renameSync(pointer, aside);
  if (!m) {
    rmSync(aside, { recursive: true, force: true });
    return undefined;
  }
  const final = join(nameDir, `${safeSegment(String(m.version))}-${tag}`);
  fixVenvPaths(aside, oldTempNames(basename(pointer)), basename(final));
  const res = await placeEntry<PypiMarker>(final, aside, { ...m, scripts: 'fixed' }, { logger: c.logger, what: c.raw, accept: acceptIn(final) });
  c.logger.info({ connector: c.raw, dir: res.dir }, `the latest ${m.name} (${m.version}), installed by an older host as ${basename(pointer)}, is now ${basename(res.dir)}`);
  return asInstall(res.dir, res.marker, false);
}

/**
 * The command line that runs an installed pypi: connector by hand: its console script itself
 * when the venv's scripts work where they are (see PypiMarker.scripts), else what the host
 * runs (`<venv>/bin/python <script>`). Any other connector: its command and arguments.
 */
export function scriptArgv(ref: ConnectorRef): string[] {
  const [first, ...rest] = ref.args;
  if (first && /^python[0-9.]*$/.test(basename(ref.command)) && dirname(first) === dirname(ref.command) && basename(dirname(first)) === 'bin') {
    const m = readMarker<PypiMarker>(dirname(dirname(first)));
    if (m?.kind === 'pypi' && m.scripts && isExecutableFile(first)) return [first, ...rest];
  }
  return [ref.command, ...ref.args];
}

const PREFERRED = /^(source|destination|tap|target)-/;

/** The console script to run: the package's own name, else source-/destination-/tap-/target-*, else the only one. */
export function chooseScript(packageName: string, scripts: string[], raw: string): string {
  if (scripts.length === 0) throw new ConfigError(`${raw}: the package has no console script to run (no [console_scripts] entry point)`, {}, 'CONNECTOR_NOT_FOUND');
  const norm = packageName.toLowerCase().replace(/[-_.]+/g, '-');
  const byName = scripts.filter((s) => s === norm || s === norm.replace(/^airbyte-/, ''));
  if (byName.length === 1) return byName[0]!;
  const preferred = scripts.filter((s) => PREFERRED.test(s));
  if (preferred.length === 1) return preferred[0]!;
  if (scripts.length === 1) return scripts[0]!;
  const list = (preferred.length ? preferred : scripts).sort().join(', ');
  throw new ConfigError(`${raw}: the package has several console scripts and none is clearly the connector: ${list}; run one with -- <cache>/bin/python <cache>/bin/<script>`, { scripts }, 'CONNECTOR_NOT_FOUND');
}

/** The environment of a process run from a venv. */
export function venvEnv(dir: string): Record<string, string> {
  return { VIRTUAL_ENV: dir, PATH: `${join(dir, 'bin')}${delimiter}${process.env['PATH'] ?? ''}` };
}

/** The ConnectorRef of an installed package: the venv's python running its console script. */
export function pypiConnectorRef(spec: PypiSpec, inst: PypiInstall, raw: string): ConnectorRef {
  const script = chooseScript(spec.name, Object.keys(inst.marker.console_scripts), raw);
  const file = join(inst.dir, 'bin', script);
  if (!existsSync(file)) throw new ConfigError(`${raw}: the console script ${script} is missing from ${join(inst.dir, 'bin')}; remove ${inst.dir} to reinstall`, {}, 'CONNECTOR_NOT_FOUND');
  return { display: raw, name: script, command: inst.python, args: [file], env: venvEnv(inst.dir) };
}

/** The `pypi:` resolver (a `refresh: true` among the options, as `host connectors install` passes, resolves the latest again). */
export async function resolvePypi(rest: string, raw: string, opts: ResolveOptions): Promise<ConnectorRef> {
  const spec = parsePypiSpec(rest, raw);
  return pypiConnectorRef(spec, await installPypi(spec, { ...opts, raw }), raw);
}

// ---------------------------------------------------------------------------------------------
// a venv of packages for a record processor (`--processor-packages`)

export interface RequirementsVenv {
  dir: string;
  python: string;
  installed: boolean;
}

/**
 * A cached venv holding `requirements` (`NAME` or `NAME==VERSION` each, validated by the caller
 * with parsePypiSpec), for `--processor-packages`: <cache>/processor-venvs/<hash>-<python tag>,
 * keyed by the sorted list and the interpreter; installed once under the entry's lock, with uv
 * when it can be had, else pip. An unpinned name is the latest at the time of the install, and
 * stays what it was (pin versions to move on).
 */
export async function installRequirements(requirements: string[], opts: ResolveOptions & { raw: string }): Promise<RequirementsVenv> {
  const { createHash } = await import('node:crypto');
  const logger = opts.logger ?? silentLogger();
  const python = opts.python ?? 'python3';
  const info = await probePython(python);
  const list = [...new Set(requirements)].sort();
  const key = createHash('sha256').update(JSON.stringify({ list, python: info.executable, version: info.version })).digest('hex').slice(0, 16);
  const dir = join(cacheRoot(opts), 'processor-venvs', `${key}-${safeSegment(info.tag)}`);
  const accept = (m: CacheMarker) => m.kind === 'processor-venv' && existsSync(join(dir, 'bin', 'python'));
  const res = await ensureEntry<CacheMarker>(dir, {
    logger,
    what: opts.raw,
    accept,
    install: async (tmp) => {
      let installer = await chooseInstaller(opts, info, logger);
      const progress = startProgress(logger, opts.raw, list.join(', '), installer.kind, info.version);
      const cwd = dirname(tmp);
      try {
        if (installer.kind === 'uv') {
          const v = await runLogged(installer.uv, ['venv', '--relocatable', '--seed', '--quiet', '--python', info.executable, tmp], { logger, tool: 'uv', env: uvEnv(), cwd, onLine: progress.note });
          if (!v.ok) {
            rmSync(tmp, { recursive: true, force: true });
            installer = { kind: 'pip' };
          }
        }
        if (installer.kind === 'pip') {
          const v = await runLogged(info.executable, ['-m', 'venv', tmp], { logger, tool: 'venv', cwd, onLine: progress.note });
          if (!v.ok) throw new ConfigError(`${opts.raw}: cannot create a virtualenv with ${python} (${v.why}): ${failureSummary(v.tail, /error/i)}`, { stderrTail: v.tail.slice(-20) });
        }
        const vpy = join(tmp, 'bin', 'python');
        const pip =
          installer.kind === 'uv'
            ? await runLogged(installer.uv, ['pip', 'install', '--compile-bytecode', '--python', vpy, '--', ...list], { logger, tool: 'uv', env: uvEnv(), cwd, onLine: progress.note })
            : await runLogged(vpy, ['-m', 'pip', 'install', '--no-input', '--disable-pip-version-check', '--', ...list], { logger, tool: 'pip', env: PIP_ENV, cwd, onLine: progress.note });
        if (!pip.ok) {
          throw new ConfigError(`${opts.raw}: ${installer.kind} could not install ${list.join(', ')}: ${failureSummary(pip.tail, installer.kind === 'uv' ? /^\s*(error|cause|hint)\b|×|╰─▶/i : /^\s*(ERROR|error)\b|×|No solution/) || pip.why}`, { stderrTail: pip.tail.slice(-20), installer: installer.kind });
        }
        fixVenvPaths(tmp, basename(tmp), basename(dir));
        progress.done('the processor packages', list.join(', '), installer.kind);
        return { kind: 'processor-venv', name: key, requested: list.join(','), version: list.join(','), installed_at: new Date().toISOString(), python: info.version, python_executable: info.executable, installer: installer.kind };
      } finally {
        progress.stop();
      }
    },
  });
  return { dir: res.dir, python: join(res.dir, 'bin', 'python'), installed: res.installed };
}
