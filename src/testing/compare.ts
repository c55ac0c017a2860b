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

const shortLine = (s: string) => (s.length > 200 ? `${s.slice(0, 197)}...` : s);
const typeOf = (v: LosslessValue) => (isPlainObject(v) && typeof v['type'] === 'string' ? ` (${v['type']})` : '');

/**
 * Differences between two ordered lists of message lines (the write step's golden): the lines
 * in common are matched first (longest common subsequence), then a golden line and a printed
 * one left between two matches are compared field by field, and the rest are missing or extra.
 */
export function diffLines(expected: string[], actual: string[], parse: (l: string) => LosslessValue, max = 30): string[] {
  const n = expected.length;
  const m = actual.length;
  const pairs: [number, number][] = [];
  if (n * m <= 4_000_000) {
    const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i]![j] = expected[i] === actual[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    for (let i = 0, j = 0; i < n && j < m; ) {
      if (expected[i] === actual[j]) pairs.push([i++, j++]);
      else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) i++;
      else j++;
    }
  } else for (let i = 0; i < Math.min(n, m); i++) if (expected[i] === actual[i]) pairs.push([i, i]);
  const out: string[] = [];
  let ei = 0;
  let ai = 0;
  for (const [pe, pa] of [...pairs, [n, m] as [number, number]]) {
    while (ei < pe && ai < pa) {
      const e = parse(expected[ei]!);
      for (const d of diffValues(e, parse(actual[ai]!), '', [], 10)) out.push(`line ${ai + 1}${typeOf(e)}: ${d}`);
      ei++;
      ai++;
    }
    for (; ei < pe; ei++) out.push(`golden line ${ei + 1} missing (in the golden file, not printed): ${shortLine(expected[ei]!)}`);
    for (; ai < pa; ai++) out.push(`line ${ai + 1} extra (printed, not in the golden file): ${shortLine(actual[ai]!)}`);
    ei = pe + 1;
    ai = pa + 1;
    if (out.length >= max) break;
  }
  return out;
}

/** Differences between two sets of files (relative path -> text): missing, extra, the first differing line of each. */
export function diffFiles(expected: Map<string, string>, actual: Map<string, string>, label: string): string[] {
  const out: string[] = [];
  for (const name of [...new Set([...expected.keys(), ...actual.keys()])].sort()) {
    const e = expected.get(name);
    const a = actual.get(name);
    if (e === undefined) out.push(`${label} ${name}: extra (written, not in the golden folder)`);
    else if (a === undefined) out.push(`${label} ${name}: missing (in the golden folder, not written)`);
    else if (e !== a) {
      const el = e.split('\n');
      const al = a.split('\n');
      const i = el.findIndex((l, k) => l !== al[k]);
      const at = i < 0 ? el.length : i;
      out.push(`${label} ${name} line ${at + 1}: expected ${JSON.stringify(shortLine(el[at] ?? '(end of file)'))}, got ${JSON.stringify(shortLine(al[at] ?? '(end of file)'))} (${el.length - 1} golden line(s), ${al.length - 1} written)`);
    }
  }
  return out;
}
