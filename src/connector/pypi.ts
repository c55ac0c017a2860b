// `pypi:NAME[==VERSION]`: a Python connector installed from PyPI into its own virtualenv
// in the cache (src/connector/cache.ts), once, and reused.
//
//   <cache>/pypi/<normalised name>/<version or "latest">-<python cache tag>/
//       bin/python, lib/..., .connector-host.json (the marker, written last)
//
// - Without a version the latest is installed the first time and then reused as it is
//   (the marker records the version actually installed); `host connectors install`
//   refreshes it. A pinned version gets its own venv, and so does another interpreter
//   (`--python`, ResolveOptions.python): the folder name carries its cache tag (cpython-311).
// - `uv` is used when it is on PATH (uv venv + uv pip install), else `python -m venv` + pip.
// - The venv is made in a temp sibling and renamed into place, so console-script shebangs
//   would point at the temp path: the connector is started as `<venv>/bin/python
//   <venv>/bin/<script>` (Python ignores the shebang line), which is what the shebang
//   would have done.
// - The entry point is a console script of the package (importlib.metadata, read with the
//   venv's python): source-*, destination-*, tap-*, target-* first, else the only one.

import { existsSync } from 'node:fs';
import { join, delimiter } from 'node:path';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { ConfigError } from '../errors.js';
import { silentLogger, type Logger } from '../log/logger.js';
import type { ConnectorRef, ResolveOptions } from './resolve.js';
import { cacheRoot, ensureEntry, safeSegment, type CacheMarker } from './cache.js';

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
}

export interface PypiInstall {
  /** The venv folder. */
  dir: string;
  marker: PypiMarker;
  /** False when the venv was already there. */
  installed: boolean;
  python: string;
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

interface PythonInfo {
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

let uvPath: Promise<string | undefined> | undefined;
/** `uv` when it is on PATH. */
function findUv(): Promise<string | undefined> {
  if (process.env['CONNECTOR_HOST_NO_UV']) return Promise.resolve(undefined);
  uvPath ??= execa('uv', ['--version'], { reject: false, stdin: 'ignore', timeout: 10_000 }).then((r) => (r.exitCode === 0 ? 'uv' : undefined));
  return uvPath;
}

/** Run a tool, its output (stdout and stderr) to the logger at debug; returns its last lines. */
export async function runLogged(
  command: string,
  args: string[],
  o: { logger: Logger; tool: string; env?: Record<string, string>; cwd?: string },
): Promise<{ ok: boolean; tail: string[]; why: string }> {
  const sub = execa(command, args, { all: true, buffer: false, reject: false, stdin: 'ignore', env: o.env, extendEnv: true, cwd: o.cwd });
  const tail: string[] = [];
  if (sub.all) {
    const rl = createInterface({ input: sub.all, crlfDelay: Infinity });
    for await (const line of rl) {
      o.logger.debug({ tool: o.tool }, line);
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

const INSPECT = `
import sys, json
from importlib import metadata
name = sys.argv[1]
d = metadata.distribution(name)
eps = {e.name: e.value for e in d.entry_points if e.group == "console_scripts"}
print(json.dumps({"name": d.metadata["Name"], "version": d.version, "console_scripts": eps}))
`;

/** Install (or find) the venv of `pypi:NAME[==VERSION]`. */
export async function installPypi(spec: PypiSpec, opts: ResolveOptions & { raw?: string; from?: string; cacheKey?: string }): Promise<PypiInstall> {
  const logger = opts.logger ?? silentLogger();
  const raw = opts.raw ?? `pypi:${spec.name}${spec.version ? `==${spec.version}` : ''}`;
  const python = opts.python ?? 'python3';
  const info = await probePython(python);
  // `from`: a package folder (a git checkout), cached under its own key (e.g. the commit)
  const dir = join(cacheRoot(opts), 'pypi', safeSegment(spec.normalized), `${safeSegment(opts.from ? (opts.cacheKey ?? 'local') : (spec.version ?? 'latest'))}-${safeSegment(info.tag)}`);
  const requirement = opts.from ?? (spec.version ? `${spec.name}==${spec.version}` : spec.name);

  const res = await ensureEntry<PypiMarker>(dir, {
    logger,
    what: raw,
    accept: (m) => m.kind === 'pypi' && existsSync(join(dir, 'bin', 'python')),
    install: async (tmp) => {
      const started = Date.now();
      const uv = await findUv();
      logger.info({ connector: raw, dir }, `installing ${requirement} into a virtualenv (${uv ? 'uv' : 'pip'}, Python ${info.version}); this happens once`);
      const env = { PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1', PIP_PROGRESS_BAR: 'off' };
      const venv = uv
        ? await runLogged(uv, ['venv', '--quiet', '--python', info.executable, tmp], { logger, tool: 'uv' })
        : await runLogged(info.executable, ['-m', 'venv', tmp], { logger, tool: 'venv' });
      if (!venv.ok) {
        throw new ConfigError(`${raw}: cannot create a virtualenv with ${python} (${venv.why}): ${failureSummary(venv.tail, /error/i)}`, { stderrTail: venv.tail.slice(-20) }, 'CONNECTOR_NOT_FOUND');
      }
      const vpy = join(tmp, 'bin', 'python');
      const pip = uv
        ? await runLogged(uv, ['pip', 'install', '--python', vpy, requirement], { logger, tool: 'uv', env })
        : await runLogged(vpy, ['-m', 'pip', 'install', '--no-input', '--disable-pip-version-check', '--', requirement], { logger, tool: 'pip', env });
      if (!pip.ok) {
        throw new ConfigError(
          `${raw}: ${uv ? 'uv' : 'pip'} could not install it: ${failureSummary(pip.tail, /^\s*(ERROR|error)\b|×|No solution/)}`,
          { stderrTail: pip.tail.slice(-20), installer: uv ? 'uv' : 'pip' },
          'CONNECTOR_NOT_FOUND',
        );
      }
      const ins = await execa(vpy, ['-c', INSPECT, spec.name], { reject: false, stdin: 'ignore', timeout: 60_000 });
      if (ins.exitCode !== 0) {
        throw new ConfigError(`${raw}: installed, but its metadata cannot be read: ${String(ins.stderr).split('\n').slice(-3).join(' ')}`, {}, 'CONNECTOR_NOT_FOUND');
      }
      const meta = JSON.parse(String(ins.stdout).trim().split('\n').pop()!) as { name: string; version: string; console_scripts: Record<string, string> };
      logger.info({ connector: raw, version: meta.version, ms: Date.now() - started }, `installed ${meta.name} ${meta.version} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return {
        kind: 'pypi',
        name: spec.normalized,
        requested: spec.version,
        version: meta.version,
        installed_at: new Date().toISOString(),
        python: info.version,
        python_executable: info.executable,
        python_tag: info.tag,
        installer: uv ? 'uv' : 'pip',
        console_scripts: meta.console_scripts,
      };
    },
  });
  return { dir: res.dir, marker: res.marker, installed: res.installed, python: join(res.dir, 'bin', 'python') };
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

/** The `pypi:` resolver. */
export async function resolvePypi(rest: string, raw: string, opts: ResolveOptions): Promise<ConnectorRef> {
  const spec = parsePypiSpec(rest, raw);
  return pypiConnectorRef(spec, await installPypi(spec, { ...opts, raw }), raw);
}
