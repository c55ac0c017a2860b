// `host connectors list|info|install|remove`: what the registry names and what the cache holds.

import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadRegistry, type RegistryEntry } from '../connector/registry.js';
import { resolveConnector, type ResolveOptions } from '../connector/resolve.js';
import { cacheRoot, readMarker, safeSegment, type CacheMarker } from '../connector/cache.js';
import { parsePypiSpec } from '../connector/pypi.js';
import { parseNpmSpec } from '../connector/npm.js';
import { readGitProvenance, parseGitReference, gitRepoCacheDir } from '../connector/git.js';
import { UsageError } from '../errors.js';

export interface CacheEntry {
  kind: string;
  name: string;
  version: string;
  dir: string;
  marker: CacheMarker;
}

/** Every complete entry of the cache (pypi/<name>/<version>, npm/<name>/<version>, git/<repo>/<commit>). */
export function cacheEntries(opts: ResolveOptions): CacheEntry[] {
  const root = cacheRoot(opts);
  const out: CacheEntry[] = [];
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
      for (const b of subs) {
        const dir = join(dirA, b);
        const marker = readMarker(dir);
        if (marker) out.push({ kind, name: String(marker.name ?? a), version: String(marker.version ?? b), dir, marker });
      }
    }
  }
  return out;
}

function entryOrRef(what: string, opts: ResolveOptions): { entry: RegistryEntry | undefined; ref: string } {
  const reg = loadRegistry(opts.registry);
  const entry = reg.entries.get(what);
  const ref = entry ? entry.ref : what;
  if (Array.isArray(ref)) return { entry, ref: ref.join(' ') };
  return { entry, ref };
}

/** The cache folders a reference occupies. */
function cacheDirsOf(ref: string, opts: ResolveOptions): string[] {
  const root = cacheRoot(opts);
  const m = /^([a-z]+):(.*)$/.exec(ref);
  if (!m) return [];
  const [, kind, rest] = m;
  if (kind === 'pypi') {
    const s = parsePypiSpec(rest!);
    const dir = join(root, 'pypi', safeSegment(s.normalized));
    if (!s.version) return existsSync(dir) ? [dir] : [];
    return existsSync(dir) ? readdirSync(dir).filter((d) => d.startsWith(`${safeSegment(s.version!)}-`)).map((d) => join(dir, d)) : [];
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

export async function connectorsCommand(action: string, what: string | undefined, opts: ResolveOptions, print: (s: string) => void): Promise<void> {
  if (action === 'list') {
    const reg = loadRegistry(opts.registry);
    print(reg.file ? `registry ${reg.file}` : 'no registry file (see --registry)');
    for (const e of reg.entries.values()) print(`  ${e.name.padEnd(24)} ${Array.isArray(e.ref) ? e.ref.join(' ') : e.ref}  [${e.protocol}]${e.description ? `  ${e.description}` : ''}`);
    const entries = cacheEntries(opts);
    print(`cache ${cacheRoot(opts)}: ${entries.length} installed`);
    for (const c of entries) print(`  ${c.kind}:${c.name} ${c.version}  ${c.dir}`);
    return;
  }
  if (!what) throw new UsageError(`host connectors ${action} needs a connector name or reference`);
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
      return existsSync(d) ? readdirSync(d).map((x) => join(d, x)).filter((x) => readMarker(x)).map((x) => ({ dir: x, marker: readMarker(x) })) : [];
    });
    if (ref.startsWith('git:')) info['provenance'] = readGitProvenance(ref, opts) ?? 'never fetched';
    print(JSON.stringify(info, null, 2));
    return;
  }
  if (action === 'install') {
    const r = await resolveConnector(entry ? entry.ref : ref, { ...opts, python: entry?.python ?? opts.python });
    print(`installed ${ref}: ${[r.command, ...r.args].join(' ')}`);
    return;
  }
  if (action === 'remove') {
    const dirs = cacheDirsOf(ref, opts);
    if (dirs.length === 0) {
      print(`${ref}: nothing installed in ${cacheRoot(opts)}`);
      return;
    }
    for (const d of dirs) {
      rmSync(d, { recursive: true, force: true });
      print(`removed ${d}`);
    }
    return;
  }
  throw new UsageError(`unknown action "${action}": list, info, install or remove`);
}
