// Without --catalog: select the discovered streams (all, or those --streams
// names) and configure each the way Airbyte's defaults do.

import { UsageError, ConfigError } from '../errors.js';
import { isPlainObject } from '../json/lossless.js';
import type { ConfiguredStreamLike } from '../run/streams.js';
import { displayStream } from '../state/state.js';

interface DiscoveredStream {
  name: string;
  namespace?: string | null;
  json_schema?: unknown;
  supported_sync_modes?: string[];
  source_defined_cursor?: boolean;
  default_cursor_field?: string[];
  source_defined_primary_key?: string[][];
  [k: string]: unknown;
}

/** `--streams a,ns.b`: each entry matches a stream by `name` or `namespace.name`. */
export function parseStreamList(list: string | string[] | undefined): string[] | undefined {
  if (list === undefined) return undefined;
  const items = (Array.isArray(list) ? list : [list]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  return items.length ? items : undefined;
}

export function configureCatalog(catalog: unknown, select: string[] | undefined): { streams: ConfiguredStreamLike[] } {
  const streams = (isPlainObject(catalog) && Array.isArray(catalog['streams']) ? catalog['streams'] : []) as DiscoveredStream[];
  let chosen = streams;
  if (select) {
    const missing: string[] = [];
    const picked = new Set<DiscoveredStream>();
    for (const sel of select) {
      const hits = streams.filter((s) => s.name === sel || (s.namespace && `${s.namespace}.${s.name}` === sel));
      if (hits.length === 0) missing.push(sel);
      // a bare name that exists in several namespaces selects all of them
      for (const h of hits) picked.add(h);
    }
    if (missing.length) {
      throw new UsageError(`--streams names ${missing.map((m) => `"${m}"`).join(', ')}, not in the catalog; available: ${streams.map((s) => displayStream(s.name, s.namespace)).join(', ') || '(none)'}`);
    }
    chosen = streams.filter((s) => picked.has(s));
  }
  return {
    streams: chosen.map((s) => {
      const modes = s.supported_sync_modes ?? ['full_refresh'];
      const hasCursor = s.source_defined_cursor === true || (Array.isArray(s.default_cursor_field) && s.default_cursor_field.length > 0);
      const incremental = hasCursor && modes.includes('incremental');
      const c: ConfiguredStreamLike = {
        stream: s as ConfiguredStreamLike['stream'],
        sync_mode: incremental ? 'incremental' : 'full_refresh',
        destination_sync_mode: incremental ? 'append' : 'overwrite',
      };
      if (incremental && Array.isArray(s.default_cursor_field) && s.default_cursor_field.length) c.cursor_field = s.default_cursor_field;
      if (Array.isArray(s.source_defined_primary_key) && s.source_defined_primary_key.length) c.primary_key = s.source_defined_primary_key;
      return c;
    }),
  };
}

/** Check a user's --catalog enough to run it (the schema check happens with ajv before this). */
export function configuredStreams(catalog: unknown, file: string): ConfiguredStreamLike[] {
  if (!isPlainObject(catalog) || !Array.isArray(catalog['streams'])) throw new ConfigError(`the catalog ${file} has no "streams" array`, { file }, 'CATALOG_INVALID');
  return catalog['streams'] as ConfiguredStreamLike[];
}

/** What a --catalog file holds: a configured catalog, or a discovered one (bare or as `host discover`'s CATALOG message). */
export type CatalogInput = { kind: 'configured'; catalog: Record<string, unknown> } | { kind: 'discovered'; catalog: Record<string, unknown>; message: boolean };

/**
 * Tell the --catalog forms apart by their shape: `{"type":"CATALOG","catalog":{...}}` (what
 * `host discover` prints), `{"streams":[{"name":...}]}` (a discovered catalog), or
 * `{"streams":[{"stream":{...},"sync_mode":...}]}` (a configured catalog).
 */
export function catalogInput(value: unknown, file: string): CatalogInput {
  const bad = (what: string) => new ConfigError(`the catalog ${file} ${what}`, { file }, 'CATALOG_INVALID');
  if (!isPlainObject(value)) throw bad('is not a JSON object: give a configured catalog, a discovered catalog, or the CATALOG message `host discover` prints');
  let cat = value;
  let message = false;
  if (Object.hasOwn(value, 'type')) {
    if (value['type'] !== 'CATALOG') throw bad(`is a ${typeof value['type'] === 'string' ? JSON.stringify(value['type'].slice(0, 40)) : 'typed'} message, not a CATALOG message or a catalog`);
    if (!isPlainObject(value['catalog'])) throw bad('is a CATALOG message without a "catalog" object');
    cat = value['catalog'];
    message = true;
  }
  const streams = cat['streams'];
  if (!Array.isArray(streams)) throw bad(`has no "streams" array${message ? ' in its "catalog"' : ''}`);
  const at = message ? 'catalog.streams' : 'streams';
  let configured = 0;
  let discovered = 0;
  streams.forEach((s, i) => {
    if (!isPlainObject(s)) throw bad(`: ${at}[${i}] is not an object`);
    const isConfigured = Object.hasOwn(s, 'stream');
    const isDiscovered = Object.hasOwn(s, 'name');
    if (isConfigured === isDiscovered) throw bad(`: ${at}[${i}] has ${isConfigured ? 'both "stream" and "name"' : 'neither "stream" (a configured stream) nor "name" (a discovered stream)'}`);
    if (isConfigured) configured++;
    else discovered++;
  });
  if (configured && discovered) throw bad(`mixes configured streams (with "stream") and discovered ones (with "name"); use one form`);
  if (message && configured) throw bad('is a CATALOG message whose streams are configured streams; a CATALOG message holds discovered streams');
  return configured || (!discovered && !message) ? { kind: 'configured', catalog: cat } : { kind: 'discovered', catalog: cat, message };
}
