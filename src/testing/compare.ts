// Golden comparison: readable differences naming the step, stream, record key and field.

import { isPlainObject, ownValue, LosslessNumber, type LosslessValue } from '../json/lossless.js';
import { canonical, type NormalRecord } from './normalise.js';

const show = (v: LosslessValue | undefined) => (v === undefined ? '(absent)' : canonical(v));

/** Field-level differences between two values, as `pointer: expected X, got Y` (at most `max`). */
export function diffValues(expected: LosslessValue | undefined, actual: LosslessValue | undefined, path = '', out: string[] = [], max = 20): string[] {
  if (out.length >= max) return out;
  if (isPlainObject(expected) && isPlainObject(actual)) {
    for (const k of new Set([...Object.keys(expected), ...Object.keys(actual)])) diffValues(ownValue(expected, k), ownValue(actual, k), `${path}/${k}`, out, max);
    return out;
  }
  if (Array.isArray(expected) && Array.isArray(actual) && expected.length === actual.length) {
    expected.forEach((e, i) => diffValues(e, actual[i], `${path}/${i}`, out, max));
    return out;
  }
  const same = expected instanceof LosslessNumber || actual instanceof LosslessNumber ? String(expected) === String(actual) : show(expected) === show(actual);
  if (!same) out.push(`${path || '/'}: expected ${show(expected)}, got ${show(actual)}`);
  return out;
}

/** Differences between golden and actual records: by stream and key; counts of missing and extra. */
export function diffRecords(expected: NormalRecord[], actual: NormalRecord[], exactOrder: boolean): string[] {
  const out: string[] = [];
  const index = (rs: NormalRecord[]) => {
    const m = new Map<string, NormalRecord[]>();
    for (const r of rs) {
      const k = `${r.stream}\u0000${r.key}`;
      const list = m.get(k);
      if (list) list.push(r);
      else m.set(k, [r]);
    }
    return m;
  };
  const e = index(expected);
  const a = index(actual);
  const missing: NormalRecord[] = [];
  const extra: NormalRecord[] = [];
  for (const [k, list] of e) {
    const other = a.get(k) ?? [];
    list.forEach((r, i) => {
      const b = other[i];
      if (!b) missing.push(r);
      else {
        const d = diffValues(r.data, b.data);
        for (const line of d.slice(0, 10)) out.push(`stream ${r.stream}, record ${r.key}: ${line}`);
      }
    });
  }
  for (const [k, list] of a) {
    const other = e.get(k) ?? [];
    list.slice(other.length).forEach((r) => extra.push(r));
  }
  const byStream = (rs: NormalRecord[]) => {
    const m = new Map<string, NormalRecord[]>();
    for (const r of rs) m.set(r.stream, [...(m.get(r.stream) ?? []), r]);
    return m;
  };
  for (const [s, rs] of byStream(missing)) out.push(`stream ${s}: ${rs.length} record(s) missing (in the golden file, not read): ${rs.slice(0, 5).map((r) => r.key).join(', ')}${rs.length > 5 ? ', ...' : ''}`);
  for (const [s, rs] of byStream(extra)) out.push(`stream ${s}: ${rs.length} extra record(s) (read, not in the golden file): ${rs.slice(0, 5).map((r) => r.key).join(', ')}${rs.length > 5 ? ', ...' : ''}`);
  if (exactOrder && out.length === 0) {
    for (let i = 0; i < expected.length; i++) {
      if (expected[i]!.stream !== actual[i]!.stream || expected[i]!.key !== actual[i]!.key) {
        out.push(`record order differs at position ${i + 1}: expected ${expected[i]!.stream} ${expected[i]!.key}, got ${actual[i]!.stream} ${actual[i]!.key} (the case asks for exact order)`);
        break;
      }
    }
  }
  return out;
}
