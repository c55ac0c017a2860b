// Normalised forms for golden files: keys sorted, volatile fields masked, temp
// paths replaced, records ordered by stream and primary key. Numbers keep their
// exact text (lossless), so an int64 compares digit for digit.

import { isPlainObject, stringifyLossless, getPath, defineOwn, sortKeys, LosslessNumber, type LosslessValue } from '../json/lossless.js';
import { MASK, type Masker } from '../secrets/mask.js';

export const MASKED = '<masked>';

export { sortKeys };

export const canonical = (v: LosslessValue): string => stringifyLossless(sortKeys(v));
export const pretty = (v: LosslessValue): string => stringifyLossless(sortKeys(v), 2) + '\n';

/** Replace every occurrence of the given temp paths inside strings. */
export function maskPaths(v: LosslessValue, paths: string[]): LosslessValue {
  if (paths.length === 0) return v;
  if (typeof v === 'string') {
    let s = v;
    for (const p of paths) if (p && s.includes(p)) s = s.split(p).join('<TMP>');
    return s;
  }
  if (Array.isArray(v)) return v.map((x) => maskPaths(x, paths));
  if (isPlainObject(v)) {
    const o: Record<string, LosslessValue> = {};
    for (const k of Object.keys(v)) defineOwn(o, k, maskPaths(v[k] as LosslessValue, paths));
    return o;
  }
  return v;
}

/**
 * Mask secrets (the masker's values, in any of its encodings) in every string, key and number
 * of a value: a golden file or a diff never holds one.
 */
export function maskSecrets(v: LosslessValue, masker: Masker): LosslessValue {
  if (masker.size === 0) return v;
  if (typeof v === 'string') return masker.mask(v);
  if (typeof v === 'number' || v instanceof LosslessNumber) return masker.mask(String(v)) === String(v) ? v : MASK;
  if (Array.isArray(v)) return v.map((x) => maskSecrets(x, masker));
  if (isPlainObject(v)) {
    const o: Record<string, LosslessValue> = {};
    for (const k of Object.keys(v)) defineOwn(o, masker.mask(k), maskSecrets(v[k] as LosslessValue, masker));
    return o;
  }
  return v;
}

/** A copy of a spec where Singer's `secret: true` / `writeOnly: true` count as airbyte_secret (for masking). */
export function secretAnnotated(schema: unknown, depth = 0): unknown {
  if (depth > 64 || schema === null || typeof schema !== 'object') return schema;
  if (Array.isArray(schema)) return schema.map((x) => secretAnnotated(x, depth + 1));
  const o: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(schema)) defineOwn(o, k, secretAnnotated(x, depth + 1));
  const s = schema as Record<string, unknown>;
  if (s['secret'] === true || s['writeOnly'] === true) o['airbyte_secret'] = true;
  return o;
}

/** Mask a dotted field path (`a.b`, `*` for any array item or key) inside a value, in place. */
export function maskField(v: LosslessValue, path: string[]): void {
  if (path.length === 0) return;
  const [head, ...rest] = path;
  const targets: [Record<string, LosslessValue> | LosslessValue[], string | number][] = [];
  if (Array.isArray(v)) {
    if (head === '*') v.forEach((_x, i) => targets.push([v, i]));
    else if (/^\d+$/.test(head!)) targets.push([v, Number(head)]);
  } else if (isPlainObject(v)) {
    if (head === '*') for (const k of Object.keys(v)) targets.push([v, k]);
    else if (Object.hasOwn(v, head!)) targets.push([v, head!]); // own keys only: `__proto__` must not reach Object.prototype
  }
  for (const [obj, key] of targets) {
    if (rest.length === 0) defineOwn(obj as Record<string, LosslessValue>, key as string, MASKED);
    else maskField((obj as Record<string, LosslessValue>)[key as string] as LosslessValue, rest);
  }
}

export { getPath };

/** Order two cursor or key values: numbers numerically (exact for big ones), else as strings. */
export function compareValues(a: LosslessValue | undefined, b: LosslessValue | undefined): number {
  const num = (x: unknown) => typeof x === 'number' || x instanceof LosslessNumber;
  if (num(a) && num(b)) {
    const sa = String(a);
    const sb = String(b);
    if (/^-?\d+$/.test(sa) && /^-?\d+$/.test(sb)) {
      const d = BigInt(sa) - BigInt(sb);
      return d < 0n ? -1 : d > 0n ? 1 : 0;
    }
    return Number(sa) - Number(sb);
  }
  const sa = typeof a === 'string' ? a : canonical(a ?? null);
  const sb = typeof b === 'string' ? b : canonical(b ?? null);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

export interface NormalRecord {
  stream: string;
  /** canonical JSON of the primary key values, or of the whole data without a key */
  key: string;
  data: LosslessValue;
}

/** How a record is named in a diff: `id=3` (its primary key), or its canonical JSON without one. */
export function recordKey(data: LosslessValue, pk: string[][] | undefined): string {
  if (!pk || pk.length === 0) return canonical(data);
  return pk.map((p) => `${p.join('.')}=${canonical(getPath(data, p) ?? null)}`).join(', ');
}

export function sortRecords(records: NormalRecord[], pks: Map<string, string[][] | undefined>): NormalRecord[] {
  return [...records].sort((a, b) => {
    if (a.stream !== b.stream) return a.stream < b.stream ? -1 : 1;
    const pk = pks.get(a.stream);
    if (pk && pk.length) {
      for (const p of pk) {
        const c = compareValues(getPath(a.data, p), getPath(b.data, p));
        if (c !== 0) return c;
      }
      return 0;
    }
    return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
  });
}
