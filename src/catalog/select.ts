// Field-level selection: Meltano-style `--select` patterns over a configured catalog, and the
// record filter the read engine applies to streams with deselected fields.
//
// A pattern is STREAM.FIELD with glob wildcards (`*`, `?`, `[abc]`, `[!abc]`); a `!` prefix
// excludes. STREAM matches a stream's name or, for a stream with a namespace, namespace.name;
// FIELD matches a top-level property of its json_schema. No field part (`users`) means all
// fields (`users.*`). Exclusions win over inclusions, whatever the order; a list of only
// exclusions starts from everything (`*.*`). `!users` or `!users.*` drops the whole stream.
// Primary key, cursor field and Singer `inclusion: automatic` fields are always kept.
//
// The result is written into the configured stream: its json_schema loses the deselected
// properties (and their `required` entries), and `selected_fields` (a host extension, never
// sent to the connector) lists the top-level fields a record keeps.

import { UsageError, ConfigError, ProtocolError } from '../errors.js';
import { isPlainObject, defineOwn, parseLossless, stringifyLossless, type LosslessValue } from '../json/lossless.js';
import { skipWs, skipString, skipValue, hasBackslash } from '../json/scan.js';
import type { ConfiguredStreamLike } from '../run/streams.js';
import { displayStream } from '../state/state.js';

/** The configured stream's list of kept top-level fields (host extension). */
export const SELECTED_FIELDS = 'selected_fields';

// ---------------------------------------------------------------- glob

/**
 * fnmatch-style match of the whole `text`: `*` any run (dots too), `?` one character, `[abc]`,
 * `[a-z]`, `[!abc]`/`[^abc]`; an unclosed `[` is literal. Iterative (one backtrack point per
 * star), so a hostile pattern cannot make it exponential.
 */
export function globMatch(pattern: string, text: string): boolean {
  const p = [...pattern];
  const t = [...text];
  let pi = 0;
  let ti = 0;
  let starP = -1;
  let starT = 0;
  while (ti < t.length) {
    if (pi < p.length) {
      const c = p[pi]!;
      if (c === '*') {
        starP = pi++;
        starT = ti;
        continue;
      }
      if (c === '[') {
        const r = matchClass(p, pi, t[ti]!);
        if (r > 0) {
          pi = r;
          ti++;
          continue;
        }
        if (r === 0 && t[ti] === '[') {
          // unclosed bracket: a literal '['
          pi++;
          ti++;
          continue;
        }
      } else if (c === '?' || c === t[ti]) {
        pi++;
        ti++;
        continue;
      }
    }
    if (starP < 0) return false;
    pi = starP + 1;
    ti = ++starT;
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

/** p[i] is '['. The index after the class when `ch` is in it, -1 when not, 0 when the class is unclosed. */
function matchClass(p: string[], i: number, ch: string): number {
  let j = i + 1;
  const negate = p[j] === '!' || p[j] === '^';
  if (negate) j++;
  let hit = false;
  let first = true;
  while (j < p.length && (p[j] !== ']' || first)) {
    first = false;
    const lo = p[j]!;
    if (p[j + 1] === '-' && j + 2 < p.length && p[j + 2] !== ']') {
      const hi = p[j + 2]!;
      if (lo <= ch && ch <= hi) hit = true;
      j += 3;
    } else {
      if (lo === ch) hit = true;
      j++;
    }
  }
  if (j >= p.length) return 0;
  return hit !== negate ? j + 1 : -1;
}

// ---------------------------------------------------------------- patterns

interface Rule {
  raw: string;
  exclude: boolean;
  text: string;
  matchedStream: boolean;
  /** The rule names fields (not only `*`) and one of them matched a field. */
  namesFields: boolean;
  matchedField: boolean;
}

/** `--select` values: repeatable; each value is one pattern (no comma splitting: `[a,b]` is a glob). */
export function parseSelectList(list: string | string[] | undefined): string[] | undefined {
  if (list === undefined) return undefined;
  const items = (Array.isArray(list) ? list : [list]).map((s) => String(s).trim()).filter(Boolean);
  for (const s of items) {
    const body = s.startsWith('!') ? s.slice(1) : s;
    if (body === '' || body.startsWith('.') || body.endsWith('.')) throw new UsageError(`--select ${JSON.stringify(s)} is not a pattern: use STREAM.FIELD, e.g. users.*, orders.id, !users.email or *.*`);
  }
  return items.length ? items : undefined;
}

/** The field patterns `rule` applies to a stream with these identifiers, or undefined when it does not match the stream. */
function fieldPatterns(rule: Rule, ids: string[]): string[] | undefined {
  const p = rule.text;
  const out: string[] = [];
  for (let k = p.indexOf('.'); k >= 0; k = p.indexOf('.', k + 1)) {
    const sp = p.slice(0, k);
    if (ids.some((id) => globMatch(sp, id))) out.push(p.slice(k + 1));
  }
  // no split names the stream: the whole pattern is the stream, all fields (`users`, `public.users`)
  if (out.length === 0 && ids.some((id) => globMatch(p, id))) out.push('*');
  return out.length ? out : undefined;
}

/** The fields a stream must keep whatever the selection, with why. */
export function keptFields(c: ConfiguredStreamLike): Map<string, string> {
  const kept = new Map<string, string>();
  const pk = c.primary_key ?? (c.stream['source_defined_primary_key'] as string[][] | undefined);
  if (Array.isArray(pk)) for (const path of pk) if (Array.isArray(path) && typeof path[0] === 'string') kept.set(path[0], 'primary key');
  if (c.sync_mode === 'incremental') {
    const cursor = c.cursor_field ?? (c.stream['default_cursor_field'] as string[] | undefined);
    if (Array.isArray(cursor) && typeof cursor[0] === 'string' && !kept.has(cursor[0])) kept.set(cursor[0], 'cursor field');
  }
  const entry = c.stream['singer_catalog_entry'];
  const meta = isPlainObject(entry) && Array.isArray(entry['metadata']) ? entry['metadata'] : [];
  for (const m of meta) {
    if (!isPlainObject(m) || !Array.isArray(m['breadcrumb']) || m['breadcrumb'].length !== 2 || m['breadcrumb'][0] !== 'properties') continue;
    const f = m['breadcrumb'][1];
    if (typeof f === 'string' && isPlainObject(m['metadata']) && m['metadata']['inclusion'] === 'automatic' && !kept.has(f)) kept.set(f, 'automatic in the Singer metadata');
  }
  return kept;
}

function propertiesOf(c: ConfiguredStreamLike): string[] | undefined {
  const schema = c.stream.json_schema;
  const props = isPlainObject(schema) ? schema['properties'] : undefined;
  return isPlainObject(props) ? Object.keys(props) : undefined;
}

/** The stream with its json_schema reduced to `fields` and `selected_fields` set. */
function withFields(c: ConfiguredStreamLike, fields: string[]): ConfiguredStreamLike {
  const keep = new Set(fields);
  const out: ConfiguredStreamLike = { ...c, stream: { ...c.stream, json_schema: reduceSchema(c.stream.json_schema, keep) } };
  out[SELECTED_FIELDS] = fields;
  return out;
}

function reduceSchema(schema: unknown, keep: Set<string>): unknown {
  if (!isPlainObject(schema)) return schema;
  const out: Record<string, unknown> = { ...schema };
  const props = schema['properties'];
  if (isPlainObject(props)) {
    const p: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(props)) if (keep.has(k)) defineOwn(p, k, v);
    out['properties'] = p;
  }
  if (Array.isArray(schema['required'])) out['required'] = schema['required'].filter((k) => typeof k !== 'string' || keep.has(k));
  return out;
}

export interface Selection {
  streams: ConfiguredStreamLike[];
  /** For the user: fields kept although deselected, and why. */
  notes: string[];
}

/**
 * Apply `--select` patterns to configured streams: drop the streams no inclusion names (or an
 * exclusion drops), and reduce the fields of the rest. Patterns that match nothing are a usage error.
 */
export function applySelection(streams: ConfiguredStreamLike[], patterns: string[] | undefined): Selection {
  if (!patterns || patterns.length === 0) return { streams, notes: [] };
  const rules: Rule[] = patterns.map((raw) => {
    const exclude = raw.startsWith('!');
    return { raw, exclude, text: exclude ? raw.slice(1) : raw, matchedStream: false, namesFields: false, matchedField: false };
  });
  const includes = rules.filter((r) => !r.exclude);
  // only exclusions: start from everything
  if (includes.length === 0) includes.push({ raw: '*.*', exclude: false, text: '*.*', matchedStream: true, namesFields: false, matchedField: true });
  const excludes = rules.filter((r) => r.exclude);
  const notes: string[] = [];
  const chosen: ConfiguredStreamLike[] = [];
  for (const c of streams) {
    const ns = c.stream.namespace ?? undefined;
    const ids = ns ? [c.stream.name, `${ns}.${c.stream.name}`] : [c.stream.name];
    const display = displayStream(c.stream.name, ns);
    const props = propertiesOf(c);
    const inc: string[] = [];
    for (const r of includes) {
      const fp = fieldPatterns(r, ids);
      if (!fp) continue;
      r.matchedStream = true;
      inc.push(...fp);
      for (const f of fp) {
        if (f === '*') continue;
        r.namesFields = true;
        if (props?.some((p) => globMatch(f, p))) r.matchedField = true;
      }
    }
    const exc: string[] = [];
    let dropped = false;
    for (const r of excludes) {
      const fp = fieldPatterns(r, ids);
      if (!fp) continue;
      r.matchedStream = true;
      for (const f of fp) {
        if (f === '*') dropped = true;
        else {
          r.namesFields = true;
          if (props?.some((p) => globMatch(f, p))) r.matchedField = true;
          exc.push(f);
        }
      }
    }
    if (inc.length === 0 || dropped) continue;
    if (!props) {
      chosen.push(c); // no declared properties: nothing to select fields from
      continue;
    }
    const kept = keptFields(c);
    const fields: string[] = [];
    for (const p of props) {
      const wanted = inc.some((f) => globMatch(f, p)) && !exc.some((f) => globMatch(f, p));
      if (wanted) fields.push(p);
      else if (kept.has(p)) {
        fields.push(p);
        notes.push(`${display}: field ${JSON.stringify(p)} kept although not selected (${kept.get(p)})`);
      }
    }
    // keys the schema does not declare are kept in the records too
    for (const [k] of kept) if (!props.includes(k)) fields.push(k);
    chosen.push(fields.length >= props.length && props.every((p) => fields.includes(p)) ? c : withFields(c, fields));
  }
  const available = streams.map((c) => displayStream(c.stream.name, c.stream.namespace)).join(', ') || '(none)';
  for (const r of rules) {
    if (!r.matchedStream) throw new UsageError(`--select ${JSON.stringify(r.raw)} matches no stream; available streams: ${available}`);
    if (r.namesFields && !r.matchedField) {
      const which = streams.filter((c) => {
        const ns = c.stream.namespace ?? undefined;
        return fieldPatterns(r, ns ? [c.stream.name, `${ns}.${c.stream.name}`] : [c.stream.name]);
      });
      const fields = which.map((c) => `${displayStream(c.stream.name, c.stream.namespace)}: ${(propertiesOf(c) ?? []).join(', ') || '(no properties declared)'}`);
      throw new UsageError(`--select ${JSON.stringify(r.raw)} matches no field of the streams it names (${fields.join('; ')})`);
    }
  }
  return { streams: chosen, notes };
}

// ---------------------------------------------------------------- the record filter

/**
 * The kept top-level fields of a stream. `filter` works on a record's data bytes: it copies the
 * kept members' bytes as they are (numbers, escapes and key order untouched), so it is lossless.
 */
export class FieldFilter {
  readonly fields: string[];
  private readonly names: Set<string>;
  /** The UTF-8 bytes of the kept names, by length: keys without escapes are compared as bytes. */
  private readonly byLength = new Map<number, Buffer[]>();

  constructor(fields: string[]) {
    this.fields = fields;
    this.names = new Set(fields);
    for (const f of fields) {
      const b = Buffer.from(f, 'utf8');
      const list = this.byLength.get(b.length) ?? [];
      list.push(b);
      this.byLength.set(b.length, list);
    }
  }

  private keeps(b: Uint8Array, s: number, e: number): boolean {
    if (hasBackslash(b, s, e)) {
      // an escaped key ("\u0065mail") is compared by what it means
      return this.names.has(JSON.parse(Buffer.from(b.buffer, b.byteOffset + s - 1, e - s + 2).toString('utf8')) as string);
    }
    const list = this.byLength.get(e - s);
    if (!list) return false;
    outer: for (const w of list) {
      for (let k = 0; k < w.length; k++) if (w[k] !== b[s + k]) continue outer;
      return true;
    }
    return false;
  }

  /** Runs of kept members of the last scan: [start, end) of each run of adjacent kept `"key": value` members. */
  private ranges: number[] = [];

  /**
   * Scan the data object b[ds, de): false when it keeps every field (the caller forwards the bytes
   * as they are), true when some go (their ranges are in `ranges`). Throws when it is not an object.
   */
  private scan(b: Uint8Array, ds: number, de: number): boolean {
    const ranges = this.ranges;
    ranges.length = 0;
    let i = skipWs(b, ds, de);
    if (b[i] !== 0x7b) throw new ProtocolError('record data is not a JSON object');
    i = skipWs(b, i + 1, de);
    if (b[i] === 0x7d) return false;
    let dropped = false;
    let prevKept = false;
    for (;;) {
      const ms = i;
      if (b[i] !== 0x22) throw new ProtocolError('record data is not a JSON object');
      const ke = skipString(b, i, de);
      if (ke < 0) throw new ProtocolError('record data is not a JSON object');
      i = skipWs(b, ke, de);
      if (b[i] !== 0x3a) throw new ProtocolError('record data is not a JSON object');
      i = skipWs(b, i + 1, de);
      const ve = skipValue(b, i, de);
      if (ve < 0) throw new ProtocolError('record data is not a JSON object');
      if (this.keeps(b, ms + 1, ke - 1)) {
        // a member right after a kept one extends its run (the comma between is copied with it)
        if (prevKept) ranges[ranges.length - 1] = ve;
        else ranges.push(ms, ve);
        prevKept = true;
      } else {
        dropped = true;
        prevKept = false;
      }
      i = skipWs(b, ve, de);
      if (b[i] === 0x2c) {
        i = skipWs(b, i + 1, de);
        continue;
      }
      if (b[i] === 0x7d) return dropped;
      throw new ProtocolError('record data is not a JSON object');
    }
  }

  /** The kept members as `{...}` into out[o...]; returns the index after it. */
  private write(b: Uint8Array, out: Buffer, o: number): number {
    const ranges = this.ranges;
    out[o++] = 0x7b;
    for (let k = 0; k < ranges.length; k += 2) {
      if (k) out[o++] = 0x2c;
      o = copyBytes(b, ranges[k]!, ranges[k + 1]!, out, o);
    }
    out[o++] = 0x7d;
    return o;
  }

  private size(): number {
    const ranges = this.ranges;
    let n = 2 + Math.max(0, ranges.length / 2 - 1);
    for (let k = 0; k < ranges.length; k += 2) n += ranges[k + 1]! - ranges[k]!;
    return n;
  }

  /** The data object b[ds, de) without the fields not kept, or undefined when it keeps them all. */
  filter(b: Uint8Array, ds: number, de: number): Buffer | undefined {
    if (!this.scan(b, ds, de)) return undefined;
    const out = Buffer.allocUnsafe(this.size());
    this.write(b, out, 0);
    return out;
  }

  /**
   * A RECORD without the fields not kept: false when the record keeps every field (forward it as
   * it is), else true with the new line in `line` and its data at data[ds, de). When the data lies
   * inside the line (the byte path) both are one new buffer, the rest of the line copied around
   * the data as it was; else (a line the engine parsed) the line is rebuilt from its parse, losslessly.
   */
  rewrite(data: Uint8Array, ds: number, de: number, line: Uint8Array, ls: number, le: number): boolean {
    if (!this.scan(data, ds, de)) return false;
    if (line === data && ls <= ds && de <= le) {
      const out = Buffer.allocUnsafe(ds - ls + this.size() + (le - de));
      copyBytes(line, ls, ds, out, 0);
      const end = this.write(data, out, ds - ls);
      copyBytes(line, de, le, out, end);
      this.line = this.data = out;
      this.ds = ds - ls;
      this.de = end;
      return true;
    }
    const newData = Buffer.allocUnsafe(this.size());
    this.write(data, newData, 0);
    this.line = spliceRecordLine(line, ls, le, data, ds, de, newData);
    this.data = newData;
    this.ds = 0;
    this.de = newData.length;
    return true;
  }

  /** The last `rewrite`'s result: the line (from 0 to its length) and its data at data[ds, de). */
  line: Buffer = Buffer.alloc(0);
  data: Buffer = this.line;
  ds = 0;
  de = 0;
}

/** Copy src[s, e) to dst at o; returns o + (e - s). Short runs by hand: a subarray per copy costs more. */
function copyBytes(src: Uint8Array, s: number, e: number, dst: Uint8Array, o: number): number {
  if (e - s > 64) {
    dst.set(src.subarray(s, e), o);
    return o + (e - s);
  }
  while (s < e) dst[o++] = src[s++]!;
  return o;
}

/**
 * The RECORD line with its data replaced: spliced when the data bytes lie inside the line (the
 * fast path), else rebuilt from the parsed line (rare shapes), losslessly either way.
 */
export function spliceRecordLine(line: Uint8Array, ls: number, le: number, data: Uint8Array, ds: number, de: number, newData: Buffer): Buffer {
  if (line === data && ls <= ds && de <= le) {
    return Buffer.concat([line.subarray(ls, ds), newData, line.subarray(de, le)]);
  }
  const msg = parseLossless(Buffer.from(line.buffer, line.byteOffset + ls, le - ls).toString('utf8'));
  if (isPlainObject(msg) && isPlainObject(msg['record'])) {
    const rec = { ...(msg['record'] as Record<string, LosslessValue>) };
    defineOwn(rec, 'data', parseLossless(newData.toString('utf8')));
    return Buffer.from(stringifyLossless({ ...msg, record: rec }));
  }
  return Buffer.from(line.subarray(ls, le));
}

/**
 * A run's configured streams without the host's `selected_fields` (what the connector and the
 * destination receive), the schema reduced to it, and the record filter of each stream that has one.
 */
export function takeFieldSelection(streams: ConfiguredStreamLike[], file: string): { streams: ConfiguredStreamLike[]; filters: (FieldFilter | undefined)[]; notes: string[] } {
  const notes: string[] = [];
  const filters: (FieldFilter | undefined)[] = [];
  const out = streams.map((c, i) => {
    if (!Object.hasOwn(c, SELECTED_FIELDS)) {
      filters.push(undefined);
      return c;
    }
    const list = c[SELECTED_FIELDS];
    const display = displayStream(c.stream.name, c.stream.namespace);
    if (!Array.isArray(list) || !list.every((f) => typeof f === 'string')) {
      throw new ConfigError(`the catalog ${file}: streams[${i}] (${display}): "${SELECTED_FIELDS}" must be a list of field names`, { file }, 'CATALOG_INVALID');
    }
    const fields = [...(list as string[])];
    for (const [k, why] of keptFields(c)) {
      if (fields.includes(k)) continue;
      fields.push(k);
      notes.push(`${display}: field ${JSON.stringify(k)} kept although not in ${SELECTED_FIELDS} (${why})`);
    }
    const rest: ConfiguredStreamLike = { ...c, stream: { ...c.stream, json_schema: reduceSchema(c.stream.json_schema, new Set(fields)) } };
    delete rest[SELECTED_FIELDS];
    filters.push(new FieldFilter(fields));
    return rest;
  });
  return { streams: out, filters, notes };
}
