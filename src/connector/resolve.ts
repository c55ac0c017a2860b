// Turns what the user typed into a program and arguments. A path or a command
// line today; package, git, Docker and registry references plug in through
// REFERENCE_KINDS (each resolver may install into a cache first, hence async).

import { accessSync, constants, statSync, existsSync } from 'node:fs';
import { resolve as resolvePath, extname, basename } from 'node:path';
import { ConfigError, UsageError } from '../errors.js';
import { loadRegistry, isRegistryName, type RegistryEntry } from './registry.js';
import { kitConnector, splitObjectReference, checkObjectName, isPythonPackageDir, isKitFile } from './kit-ref.js';

export interface ConnectorRef {
  /** How the user named it, for messages and logs. */
  display: string;
  /** Short name used to tag its log lines. */
  name: string;
  command: string;
  args: string[];
  /** Extra environment for the process (e.g. a virtualenv's PATH). */
  env?: Record<string, string> | undefined;
  /**
   * Rewrite the command's arguments before the spawn, given the private temp directory that
   * holds the config, catalog and state files (Docker maps it to a container path).
   */
  prepareArgs?: ((args: string[], filesDir: string | undefined) => string[]) | undefined;
  /** Called when the host stops the connector (Docker: stop the container, not only the client). */
  onStop?: (() => Promise<void>) | undefined;
  /** The same, synchronously, for when the host exits at once (a second Ctrl-C). */
  onStopSync?: (() => void) | undefined;
  /** Set when the connector was named through a registry file. */
  registry?: RegistryEntry | undefined;
  /**
   * A Singer connector the host speaks to in-process (`protocol: singer`): command/args are the
   * tap or target itself, not a shim. Unset: it speaks the protocol.
   */
  dialect?: 'singer-tap' | 'singer-target' | undefined;
}

export interface ResolveOptions {
  /** Where installed connectors are cached (default: the user's cache folder). */
  cacheDir?: string | undefined;
  /** A Python interpreter for pypi: references. */
  python?: string | undefined;
  logger?: import('../log/logger.js').Logger | undefined;
  /** A registry file (default: see registryPath). */
  registry?: string | undefined;
  /** `singer`: the connector is a Singer tap, run through the Singer-tap shim. */
  protocol?: 'native' | 'singer' | undefined;
  /** What the connector is for: a Singer source is a tap, a Singer destination a target (default source). */
  role?: 'source' | 'destination' | undefined;
  /**
   * The kit object to run when the reference is a kit file or a Python package folder without
   * `:NAME` (the NAME of `--config-uri custom://NAME?...`). Ignored by other kinds of reference.
   */
  objectName?: string | undefined;
}

export type ReferenceResolver = (rest: string, raw: string, opts: ResolveOptions) => Promise<ConnectorRef>;

/** `scheme:` prefixes of references resolved by other modules (registered at start-up). */
export const REFERENCE_KINDS = new Map<string, ReferenceResolver>();

export function registerReferenceKind(scheme: string, resolver: ReferenceResolver): void {
  REFERENCE_KINDS.set(scheme, resolver);
}

/** The interpreter for a script that is not executable, by its extension. */
export const INTERPRETERS: Readonly<Record<string, string>> = {
  '.mjs': process.execPath,
  '.cjs': process.execPath,
  '.js': process.execPath,
  '.py': 'python3',
  '.sh': 'sh',
};

export function isExecutableFile(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Run a file: itself when executable, else with the interpreter its extension names. A kit file
 * (.py, .mjs, .js, .ts) runs through the kit (src/connector/kit-ref.ts): `objectName` selects an
 * object in it, a Python file gets the kit on PYTHONPATH, a JS/TS file runs through the kit runner.
 */
export function fileConnector(abs: string, display: string, name = basename(abs).replace(/\.[a-z]+$/, ''), objectName?: string): ConnectorRef {
  const executable = isExecutableFile(abs);
  const kit = kitConnector(abs, display, { name: objectName, executable, tag: name });
  if (kit) return kit;
  if (executable) return { display, name, command: abs, args: [] };
  const interp = INTERPRETERS[extname(abs)];
  if (!interp) throw new ConfigError(`connector ${display} is not executable and has no known interpreter (.py, .mjs, .js, .ts, .sh): chmod +x it, or use -- <interpreter> ${display}`, { file: display }, 'CONNECTOR_NOT_FOUND');
  return { display, name, command: interp, args: [abs] };
}

function fromPath(p: string, objectName?: string, explicitName = false): ConnectorRef {
  const abs = resolvePath(p);
  let st;
  try {
    st = statSync(abs);
  } catch {
    if (explicitName) throw new ConfigError(`connector not found: ${p}:${objectName} names the object ${JSON.stringify(objectName)} in ${p}, which does not exist (no such file or folder)`, { file: p }, 'CONNECTOR_NOT_FOUND');
    throw new ConfigError(`connector not found: ${p} (no such file; to run a program on PATH use: -- ${p} [args...])`, { file: p }, 'CONNECTOR_NOT_FOUND');
  }
  const display = explicitName ? `${p}:${objectName}` : p;
  if (st.isDirectory()) {
    // a Python package folder: its objects through the kit (`python3 -m connector_host DIR[:NAME]`)
    if (objectName !== undefined || isPythonPackageDir(abs)) return kitConnector(abs, display, { name: objectName, executable: false })!;
    throw new ConfigError(`connector ${p} is a folder, not a file (a Python package folder needs an __init__.py, or name an object in it: ${p}:NAME)`, { file: p }, 'CONNECTOR_NOT_FOUND');
  }
  if (!st.isFile()) throw new ConfigError(`connector ${p} is not a file`, { file: p }, 'CONNECTOR_NOT_FOUND');
  // a NAME from --config-uri picks an object only where there can be one (else it is only a label)
  return fileConnector(abs, display, undefined, explicitName || isKitFile(abs) ? objectName : undefined);
}

/** A `:NAME` in the reference and a NAME from --config-uri must agree. */
export function pickObjectName(explicit: string | undefined, fromOption: string | undefined, display: string): string | undefined {
  if (explicit !== undefined && fromOption !== undefined && explicit !== fromOption) {
    throw new UsageError(`${display} names the object ${JSON.stringify(explicit)}, but --config-uri names ${JSON.stringify(fromOption)}: give one of them, or the same`);
  }
  return explicit ?? fromOption;
}

/**
 * Resolve a reference string, or an argv (the `-- program args` form); `protocol: singer`
 * wraps it in the Singer-tap shim (or, with `role: destination`, the Singer-target shim).
 */
export async function resolveConnector(ref: string | readonly string[], opts: ResolveOptions = {}): Promise<ConnectorRef> {
  const r = await resolveBare(ref, opts);
  if (opts.protocol !== 'singer' || r.display.startsWith('singer:')) return r;
  // a Singer target is written to in-process (src/dialect/singer-target.ts): the target itself
  if (opts.role === 'destination') return r.dialect ? r : { ...r, display: `singer:${r.display}`, dialect: 'singer-target' };
  const { singerTapConnector } = await import('../shims/singer-tap.js');
  return singerTapConnector(r);
}

async function resolveBare(ref: string | readonly string[], opts: ResolveOptions): Promise<ConnectorRef> {
  if (Array.isArray(ref)) {
    if (ref.length === 0) throw new UsageError('no connector given after --');
    const [cmd, ...args] = ref as string[];
    const script = args.find((a) => !a.startsWith('-'));
    return { display: (ref as string[]).join(' '), name: basename(script ?? cmd!).replace(/\.[a-z]+$/, ''), command: cmd!, args };
  }
  const s = ref as string;
  if (!s) throw new UsageError('no connector given: name a path, or use -- <program> [args...]');
  const m = /^([a-z][a-z0-9+.-]*):(.*)$/i.exec(s);
  if (m && m[1]!.length > 1) {
    const resolver = REFERENCE_KINDS.get(m[1]!.toLowerCase());
    if (resolver) return resolver(m[2]!, s, opts);
  }
  // `./sources.py:MySource`, `sources.py:MySource`, `./pkg:MySource`: an object in a kit file or folder
  const obj = splitObjectReference(s, (prefix) => REFERENCE_KINDS.has(prefix.toLowerCase()));
  if (obj) {
    const name = pickObjectName(checkObjectName(obj.name, s), opts.objectName, s);
    return fromPath(obj.path, name, true);
  }
  if (m && m[1]!.length > 1) {
    throw new UsageError(
      `unsupported connector reference "${m[1]}:" in ${s}; give a path to an executable or use -- <program> [args...]` +
        (REFERENCE_KINDS.size ? ` (known kinds: ${[...REFERENCE_KINDS.keys()].join(', ')})` : ''),
    );
  }
  if (!existsSync(s) && isRegistryName(s)) {
    const reg = loadRegistry(opts.registry);
    const entry = reg.entries.get(s);
    if (entry) {
      const inner = await resolveConnector(entry.ref, { ...opts, python: entry.python ?? opts.python, protocol: entry.protocol });
      return { ...inner, display: `${s} (${inner.display})`, name: s, registry: entry };
    }
    if (reg.file) throw new ConfigError(`connector not found: "${s}" is neither a file nor a connector in the registry ${reg.file} (it has: ${[...reg.entries.keys()].join(', ') || 'none'})`, {}, 'CONNECTOR_NOT_FOUND');
  }
  return fromPath(s, opts.objectName);
}
