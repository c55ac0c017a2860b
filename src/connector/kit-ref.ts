// Kit objects as connectors: `./sources.py:MySource`, `./pkg:MySource` (a Python package folder),
// `./source.mjs:users`, `./source.ts`. How a reference splits into PATH and NAME, and the
// command line that runs it:
//
//   PATH.py:NAME, DIR[:NAME]        python3 -m connector_host /abs/PATH[:NAME]
//   PATH.py (not executable)        python3 /abs/PATH.py; but a module that imports connector_host
//                                   and has no `__main__` block: python3 -m connector_host /abs/PATH.py
//   PATH.mjs|.js|.ts[:NAME]         node [--import tsx] <package>/dist/kit/run.js /abs/PATH[:NAME]
//   an executable file, no NAME     the file itself
//
// Every Python form runs with PYTHONPATH=<package>/kits/python[:$PYTHONPATH], so that
// `import connector_host` works without an install. NAME, when given, always selects an object
// through the kit (an executable file with `:NAME` is imported, not run).

import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, UsageError } from '../errors.js';
import type { ConnectorRef } from './resolve.js';
import { KIT_RUNNER, kitCommand, kitDir } from '../kit/command.js';

/** `<package root>/kits/python`: the folder that goes on PYTHONPATH (this file is dist/connector/kit-ref.js). */
export const PYTHON_KIT_DIR = fileURLToPath(new URL('../../kits/python', import.meta.url));

/** The TypeScript kit's entry (`connector-host/kit`): dist/kit/index.js. */
export function typescriptKitEntry(): string {
  return join(kitDir(), 'index.js');
}

/** Files whose objects the kits can load: Python modules, and JavaScript/TypeScript modules. */
export const PYTHON_EXTENSIONS = new Set(['.py']);
export const JS_EXTENSIONS = new Set(['.mjs', '.js', '.ts', '.mts']);

export function isKitFile(p: string): boolean {
  const e = extname(p).toLowerCase();
  return PYTHON_EXTENSIONS.has(e) || JS_EXTENSIONS.has(e);
}

/** The environment that puts the Python kit first on PYTHONPATH (any PYTHONPATH of the user's after it). */
export function pythonKitEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const prev = Object.hasOwn(env, 'PYTHONPATH') ? env['PYTHONPATH'] : undefined;
  return { PYTHONPATH: prev ? `${PYTHON_KIT_DIR}:${prev}` : PYTHON_KIT_DIR };
}

/** The variable that tells the kit's `-m` entry point the host set PYTHONSAFEPATH (so it unsets it for the author's children). */
export const SAFEPATH_MARK = 'CONNECTOR_HOST_SAFEPATH';

/**
 * The environment of `python3 -m connector_host…`: the kit on PYTHONPATH and PYTHONSAFEPATH=1, so
 * that `-m` does not put the current directory first on sys.path (a `types.py` or `json.py` there
 * would shadow the standard library the kit imports). Python 3.11+ honours it (older versions
 * ignore it and keep that hazard); the kit unsets it again once loaded, so the author's own
 * subprocesses see the environment as it was. A PYTHONSAFEPATH the user set is left alone.
 */
export function pythonModuleEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (Object.hasOwn(env, 'PYTHONSAFEPATH')) return pythonKitEnv(env);
  return { ...pythonKitEnv(env), PYTHONSAFEPATH: '1', [SAFEPATH_MARK]: '1' };
}

/** Check the NAME of `PATH:NAME` (the kit loader reports one that is not there). */
export function checkObjectName(name: string, display: string): string {
  if (name === '') throw new UsageError(`${display}: nothing after ':'; give PATH:NAME (an object in the file), or the path alone`);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(name)) throw new UsageError(`${display}: the object name contains a control character`);
  if (name.includes('/')) throw new UsageError(`${display}: the object name after ':' cannot contain '/'`);
  return name;
}

const PY_PART = String.raw`[\p{ID_Start}_][\p{ID_Continue}]*`;
const PY_NAME = new RegExp(`^${PY_PART}(\\.${PY_PART})*$`, 'u');

/** A Python object is named by an identifier (dotted for an attribute of an attribute). */
export function checkPythonName(name: string, display: string): void {
  if (!PY_NAME.test(name)) {
    throw new UsageError(`${display}: ${JSON.stringify(name)} is not a Python name (letters, digits and _, not starting with a digit; Outer.inner for an attribute), so no object in the file can have it`);
  }
}

// what the kit runner (src/kit/run.ts) reads as an export name after the last ':'
const JS_NAME = /^[A-Za-z_$][\w$]*$/;

/** A JS/TS export loadable by the kit runner: an ASCII identifier (`default` included). */
export function checkJsName(name: string, display: string): void {
  if (!JS_NAME.test(name)) {
    throw new UsageError(`${display}: ${JSON.stringify(name)} is not an export name the kit runner can load (letters, digits, _ and $, not starting with a digit; default for the default export)`);
  }
}

/**
 * A .py file that imports the kit and has no `if __name__ == "__main__"` block: it defines
 * objects and does nothing when run, so it is run through the kit (`python3 -m connector_host`).
 */
export function isKitModuleWithoutMain(abs: string): boolean {
  let text: string;
  try {
    const fd = openSync(abs, 'r');
    try {
      const buf = Buffer.alloc(1024 * 1024);
      text = buf.toString('utf8', 0, readSync(fd, buf, 0, buf.length, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
  return /^\s*(import|from)\s+connector_host\b/m.test(text) && !/__name__\s*==\s*['"]__main__['"]|['"]__main__['"]\s*==\s*__name__/.test(text);
}

/**
 * Split `PATH:NAME` when it names an object: the whole string is not an existing path, the last
 * ':' is followed by a NAME without '/', and PATH is a kit file (.py, .mjs, .js, .ts) or exists.
 * Undefined when the string is not of that form (a path, a scheme reference, a registry name).
 */
export function splitObjectReference(s: string, isScheme: (prefix: string) => boolean = () => false): { path: string; name: string } | undefined {
  if (existsSync(s)) return undefined;
  const i = s.lastIndexOf(':');
  if (i <= 0) return undefined;
  const path = s.slice(0, i);
  const name = s.slice(i + 1);
  if (name.includes('/')) return undefined;
  if (isKitFile(path)) return { path, name };
  // `git:…`, `pypi:…`: a known scheme wins over a folder of the same name in the current directory
  if (!path.includes('/') && isScheme(path)) return undefined;
  if (existsSync(path)) return { path, name };
  return undefined;
}

export function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Whether `dir` can hold kit objects by itself (a Python package, or a NAME is given). */
export function isPythonPackageDir(dir: string): boolean {
  return existsSync(`${dir}/__init__.py`);
}

/**
 * The connector for a kit target: a Python file, a JS/TS file, or a Python package folder,
 * with an optional object NAME. `executable`: the file may run as itself (no NAME).
 * Returns undefined when the file is not a kit kind (a .sh, an extension-less program): the
 * caller runs it as before.
 */
export function kitConnector(abs: string, display: string, opts: { name?: string | undefined; executable: boolean; tag?: string | undefined }): ConnectorRef | undefined {
  const { name, executable } = opts;
  const ext = extname(abs).toLowerCase();
  const tag = name ?? opts.tag ?? (basename(abs).replace(/\.[a-z]+$/i, '') || 'connector');
  const target = name !== undefined ? `${abs}:${name}` : abs;
  if (isDir(abs)) {
    if (name !== undefined) checkPythonName(name, display);
    return { display, name: tag, command: 'python3', args: ['-m', 'connector_host', target], env: pythonModuleEnv() };
  }
  if (PYTHON_EXTENSIONS.has(ext)) {
    if (name !== undefined) checkPythonName(name, display);
    // a module of kit objects without a `__main__` block: the kit picks its only object (or lists them)
    if (name === undefined && !executable && isKitModuleWithoutMain(abs)) return { display, name: tag, command: 'python3', args: ['-m', 'connector_host', abs], env: pythonModuleEnv() };
    if (name !== undefined) return { display, name: tag, command: 'python3', args: ['-m', 'connector_host', target], env: pythonModuleEnv() };
    if (executable) return { display, name: tag, command: abs, args: [], env: pythonKitEnv() };
    return { display, name: tag, command: 'python3', args: [abs], env: pythonKitEnv() };
  }
  if (JS_EXTENSIONS.has(ext)) {
    if (name !== undefined) checkJsName(name, display);
    if (name === undefined && executable) return { display, name: tag, command: abs, args: [] };
    if (!existsSync(KIT_RUNNER)) {
      // the TypeScript kit is not built: a plain script still runs with node, an object cannot
      if (name === undefined && ext !== '.ts' && ext !== '.mts') return { display, name: tag, command: process.execPath, args: [abs] };
      throw new ConfigError(`cannot run ${display}: the kit runner ${KIT_RUNNER} is missing (run \`npm run build\` in the connector-host package)`, { file: display }, 'CONNECTOR_NOT_FOUND');
    }
    const c = kitCommand(abs, name);
    return { display, name: tag, command: c.command, args: c.args };
  }
  if (name !== undefined) {
    throw new ConfigError(
      `${display} names an object (:${name}) in ${basename(abs)}, but only .py, .mjs, .js and .ts files and Python package folders hold kit objects`,
      { file: display },
      'CONNECTOR_NOT_FOUND',
    );
  }
  return undefined;
}
