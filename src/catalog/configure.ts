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
