// `npm:NAME[@VERSION]`: a connector installed from the npm registry into the cache
// (src/connector/cache.ts), once, and reused; the same rules as pypi: (lock, temp
// sibling renamed into place, marker written last; without a version the latest is
// installed once and reused).
//
//   <cache>/npm/<name, "@scope/x" as "@scope+x">/<version or "latest">/
//       package.json, node_modules/<name>/..., .connector-host.json
//
// The program is the package's `bin` (package.json): the package's own name, else
// source-/destination-/tap-/target-*, else the only one. A JavaScript bin runs with this
// Node (process.execPath), anything else directly.

import { existsSync, readFileSync, openSync, readSync, closeSync } from 'node:fs';
import { join, resolve, relative, isAbsolute, sep } from 'node:path';
import { ConfigError } from '../errors.js';
import { silentLogger } from '../log/logger.js';
import type { ConnectorRef, ResolveOptions } from './resolve.js';
import { cacheRoot, ensureEntry, safeSegment, type CacheMarker } from './cache.js';
import { runLogged, failureSummary } from './pypi.js';

export interface NpmSpec {
  name: string;
  version: string | undefined;
}

export interface NpmMarker extends CacheMarker {
  kind: 'npm';
  node: string;
  /** bin name -> path inside the package. */
  bins: Record<string, string>;
}

export interface NpmInstall {
  dir: string;
  /** node_modules/<name> inside the entry. */
  packageDir: string;
  marker: NpmMarker;
  installed: boolean;
}

const PART = '[a-z0-9~][a-z0-9._~-]*';
const NAME_RE = new RegExp(`^(?:@${PART}/)?${PART}$`);
// a version or a dist-tag (latest, next, beta); no ranges, URLs or paths
const VERSION_RE = /^[A-Za-z0-9][A-Za-z0-9.+_-]*$/;

/** Parse and validate `NAME[@VERSION]` (NAME may be scoped: @scope/name). */
export function parseNpmSpec(rest: string, raw = `npm:${rest}`): NpmSpec {
  const s = rest.trim();
  const at = s.lastIndexOf('@');
  const [name, version] = at > 0 ? [s.slice(0, at), s.slice(at + 1)] : [s, undefined];
  if (!NAME_RE.test(name) || name.length > 214) {
    throw new ConfigError(`${raw}: "${name}" is not a valid npm package name (lower case letters, digits, "-", ".", "_", "~", optionally @scope/)`, {}, 'CONNECTOR_NOT_FOUND');
  }
  if (version !== undefined && (!VERSION_RE.test(version) || version.length > 100)) {
    throw new ConfigError(`${raw}: "${version}" is not a version or dist-tag (e.g. 1.2.3 or latest; ranges are not supported)`, {}, 'CONNECTOR_NOT_FOUND');
  }
  return { name, version };
}

function binsOf(pkg: { name?: string; bin?: string | Record<string, string> }, name: string): Record<string, string> {
  if (typeof pkg.bin === 'string') return { [name.replace(/^@[^/]+\//, '')]: pkg.bin };
  if (pkg.bin && typeof pkg.bin === 'object') return { ...pkg.bin };
  return {};
}

/** Install (or find) `npm:NAME[@VERSION]`. */
export async function installNpm(spec: NpmSpec, opts: ResolveOptions & { raw?: string; npm?: string; from?: string; cacheKey?: string }): Promise<NpmInstall> {
  const logger = opts.logger ?? silentLogger();
  const raw = opts.raw ?? `npm:${spec.name}${spec.version ? `@${spec.version}` : ''}`;
  // `from`: a package folder (a git checkout), installed as a copy (--install-links) under its own key
  const dir = join(cacheRoot(opts), 'npm', safeSegment(spec.name.replace('/', '+')), safeSegment(opts.from ? (opts.cacheKey ?? 'local') : (spec.version ?? 'latest')));
  const pkgDirOf = (d: string) => join(d, 'node_modules', ...spec.name.split('/'));
  const requirement = opts.from ?? `${spec.name}@${spec.version ?? 'latest'}`;
  const res = await ensureEntry<NpmMarker>(dir, {
    logger,
    what: raw,
    accept: (m) => m.kind === 'npm' && existsSync(join(pkgDirOf(dir), 'package.json')),
    install: async (tmp) => {
      const started = Date.now();
      logger.info({ connector: raw, dir }, `installing ${requirement} from npm; this happens once`);
      const r = await runLogged(
        opts.npm ?? 'npm',
        ['install', '--prefix', tmp, '--no-audit', '--no-fund', '--no-update-notifier', '--no-package-lock', ...(opts.from ? ['--install-links'] : []), '--', requirement],
        { logger, tool: 'npm', env: { npm_config_update_notifier: 'false' } },
      );
      if (!r.ok) {
        throw new ConfigError(
          `${raw}: npm could not install it: ${failureSummary(r.tail, /^npm (ERR!|error)/, true) || r.why}`,
          { stderrTail: r.tail.slice(-20), installer: 'npm' },
          'CONNECTOR_NOT_FOUND',
        );
      }
      const pj = join(pkgDirOf(tmp), 'package.json');
      let pkg: { name?: string; version?: string; bin?: string | Record<string, string> };
      try {
        pkg = JSON.parse(readFileSync(pj, 'utf8')) as typeof pkg;
      } catch (e) {
        throw new ConfigError(`${raw}: installed, but ${pj} cannot be read: ${(e as Error).message}`, {}, 'CONNECTOR_NOT_FOUND');
      }
      logger.info({ connector: raw, version: pkg.version }, `installed ${spec.name} ${pkg.version} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return {
        kind: 'npm',
        name: spec.name,
        requested: spec.version,
        version: String(pkg.version ?? ''),
        installed_at: new Date().toISOString(),
        node: process.version,
        bins: binsOf(pkg, spec.name),
      };
    },
  });
  return { dir: res.dir, packageDir: pkgDirOf(res.dir), marker: res.marker, installed: res.installed };
}

const PREFERRED = /^(source|destination|tap|target)-/;

export function chooseBin(packageName: string, bins: string[], raw: string): string {
  if (bins.length === 0) throw new ConfigError(`${raw}: the package has no "bin" to run`, {}, 'CONNECTOR_NOT_FOUND');
  const own = packageName.replace(/^@[^/]+\//, '');
  if (bins.includes(own)) return own;
  const preferred = bins.filter((b) => PREFERRED.test(b));
  if (preferred.length === 1) return preferred[0]!;
  if (bins.length === 1) return bins[0]!;
  throw new ConfigError(`${raw}: the package has several bins and none is clearly the connector: ${[...(preferred.length ? preferred : bins)].sort().join(', ')}`, { bins }, 'CONNECTOR_NOT_FOUND');
}

function isNodeScript(file: string): boolean {
  if (/\.(c|m)?js$/.test(file)) return true;
  try {
    const fd = openSync(file, 'r');
    const buf = Buffer.alloc(128);
    const n = readSync(fd, buf, 0, 128, 0);
    closeSync(fd);
    const first = buf.toString('utf8', 0, n).split('\n')[0]!;
    return first.startsWith('#!') && /\bnode\b/.test(first);
  } catch {
    return false;
  }
}

/** The `npm:` resolver. */
/** The ConnectorRef of an installed package: its bin (a JavaScript bin runs with this Node). */
export function npmConnectorRef(spec: NpmSpec, inst: NpmInstall, raw: string): ConnectorRef {
  const bin = chooseBin(spec.name, Object.keys(inst.marker.bins), raw);
  const file = resolve(inst.packageDir, inst.marker.bins[bin]!);
  const rel = relative(inst.packageDir, file);
  if (rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('..')) throw new ConfigError(`${raw}: its bin ${bin} points outside the package`, {}, 'CONNECTOR_NOT_FOUND');
  if (!existsSync(file)) throw new ConfigError(`${raw}: its bin ${bin} (${file}) is missing; remove ${inst.dir} to reinstall`, {}, 'CONNECTOR_NOT_FOUND');
  const binDir = join(inst.dir, 'node_modules', '.bin');
  const env = { PATH: `${binDir}:${process.env['PATH'] ?? ''}` };
  return isNodeScript(file)
    ? { display: raw, name: bin, command: process.execPath, args: [file], env }
    : { display: raw, name: bin, command: file, args: [], env };
}

export async function resolveNpm(rest: string, raw: string, opts: ResolveOptions): Promise<ConnectorRef> {
  const spec = parseNpmSpec(rest, raw);
  return npmConnectorRef(spec, await installNpm(spec, { ...opts, raw }), raw);
}
