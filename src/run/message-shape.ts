// What is wrong with a line that is meant to be a RECORD or a STATE. Only the slow path calls
// these (a line the classifier did not take as a plain RECORD), so they may allocate.
//
// Which lines are protocol violations and which are warnings (README: "Bad lines"):
// - a RECORD or STATE in all but its type (a `record` or `state` payload under an unknown type,
//   or a type that is RECORD/STATE misspelt) is lost data: a violation;
// - a RECORD or STATE of the right type in an unusable shape: a violation;
// - anything else (not JSON, an unknown type without a record or state): a warning.

import { isPlainObject, type LosslessValue } from '../json/lossless.js';

type Obj = Record<string, LosslessValue>;

/** Damerau-Levenshtein distance at most 1 (one insertion, deletion, substitution or swap). */
function nearby(a: string, b: string): boolean {
  if (a === b) return true;
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  if (a.length === b.length) return a.slice(i + 1) === b.slice(i + 1) || (a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2));
  return a.length > b.length ? a.slice(i + 1) === b.slice(i) : a.slice(i) === b.slice(i + 1);
}

/**
 * A message of an unknown type (or without a string type) that is a RECORD or STATE in all but
 * its type: it carries a `record` or `state`, or its type is RECORD/STATE in another case,
 * plural, or one typo away (RECROD, STAET, "record").
 */
export function lookalike(type: unknown, msg: Record<string, unknown>, payload: { record: string; state: string } = { record: 'record', state: 'state' }): 'RECORD' | 'STATE' | undefined {
  if (msg[payload.record] !== undefined) return 'RECORD';
  if (msg[payload.state] !== undefined) return 'STATE';
  if (typeof type !== 'string') return undefined;
  const t = type.toUpperCase().replace(/[^A-Z]/g, '');
  for (const k of ['RECORD', 'STATE'] as const) if (t === `${k}S` || nearby(t, k)) return k;
  return undefined;
}

export const typeText = (type: unknown): string => (type === undefined ? 'no "type"' : JSON.stringify(typeof type === 'string' ? type.slice(0, 40) : type));

/** Why a RECORD message's `record` cannot be stored, or undefined when its shape is fine. */
export function recordProblem(rec: LosslessValue | undefined): string | undefined {
  if (rec === undefined) return 'no "record"';
  if (!isPlainObject(rec)) return 'record is not an object';
  if (rec['stream'] === undefined) return 'record.stream is missing';
  if (typeof rec['stream'] !== 'string' || rec['stream'] === '') return 'record.stream is not a string';
  const ns = rec['namespace'];
  if (ns !== undefined && ns !== null && typeof ns !== 'string') return 'record.namespace is neither a string nor null';
  if (rec['data'] === undefined) return 'record.data is missing';
  if (!isPlainObject(rec['data'])) return 'record.data is not an object';
  return undefined;
}

function descriptorProblem(d: LosslessValue | undefined, at: string): string | undefined {
  if (!isPlainObject(d)) return undefined;
  if (d['name'] === undefined) return `${at}.name is missing`;
  if (typeof d['name'] !== 'string') return `${at}.name is not a string`;
  if (d['name'] === '') return `${at}.name is empty`;
  const ns = d['namespace'];
  if (ns !== undefined && ns !== null && typeof ns !== 'string') return `${at}.namespace is neither a string nor null`;
  return undefined;
}

/** Why a STATE message's `state` cannot be committed, or undefined when its shape is fine. */
export function stateProblem(st: LosslessValue | undefined): string | undefined {
  if (!isPlainObject(st)) return '"state" is not an object';
  const type = st['type'];
  if (type !== undefined && type !== 'STREAM' && type !== 'GLOBAL' && type !== 'LEGACY') return `unknown state type ${typeText(type)} (expected STREAM, GLOBAL or LEGACY)`;
  const hint = (k: string, kind: string) => (st[k] !== undefined ? ` (it has "${k}": is its type ${kind}?)` : '');
  if (type === 'STREAM') {
    const s = st['stream'];
    if (s === undefined) return `a STREAM state without "stream"${hint('global', 'GLOBAL')}${hint('data', 'LEGACY')}`;
    if (!isPlainObject(s)) return 'a STREAM state whose "stream" is not an object';
    if (!isPlainObject(s['stream_descriptor'])) return 'a STREAM state without stream.stream_descriptor';
    return descriptorProblem(s['stream_descriptor'], 'stream.stream_descriptor');
  }
  if (type === 'GLOBAL') {
    const g = st['global'];
    if (g === undefined) return `a GLOBAL state without "global"${hint('stream', 'STREAM')}`;
    if (!isPlainObject(g)) return 'a GLOBAL state whose "global" is not an object';
    const list = g['stream_states'];
    if (list === undefined) return 'a GLOBAL state without global.stream_states';
    if (!Array.isArray(list)) return 'global.stream_states is not an array';
    for (let i = 0; i < list.length; i++) {
      const e = list[i];
      if (!isPlainObject(e)) return `global.stream_states[${i}] is not an object`;
      if (!isPlainObject(e['stream_descriptor'])) return `global.stream_states[${i}] has no stream_descriptor`;
      const p = descriptorProblem(e['stream_descriptor'], `global.stream_states[${i}].stream_descriptor`);
      if (p) return p;
    }
    return undefined;
  }
  if (st['data'] === undefined) return `a ${type === undefined ? 'STATE without "type" (LEGACY)' : 'LEGACY state'} without "data"${hint('stream', 'STREAM')}${hint('global', 'GLOBAL')}`;
  return undefined;
}

/** The streams a (valid) STATE names: STREAM its descriptor, GLOBAL each of stream_states; LEGACY none. */
export function statedStreams(st: Obj): { name: string; namespace: string | undefined }[] {
  const d = (x: LosslessValue | undefined) => {
    const sd = isPlainObject(x) ? x['stream_descriptor'] : undefined;
    return isPlainObject(sd) && typeof sd['name'] === 'string' ? [{ name: sd['name'], namespace: typeof sd['namespace'] === 'string' ? sd['namespace'] : undefined }] : [];
  };
  if (st['type'] === 'STREAM') return d(st['stream']);
  const g = st['global'];
  if (st['type'] === 'GLOBAL' && isPlainObject(g) && Array.isArray(g['stream_states'])) return g['stream_states'].flatMap(d);
  return [];
}

const MEANT = /["']type["']\s*:\s*["'](RECORD|STATE)["']|["'](record|state)["']\s*:\s*\{/;

/** The start of a line that is not JSON: RECORD or STATE when it reads as one (a type or a payload key), else undefined. */
export function meantAs(head: string): 'RECORD' | 'STATE' | undefined {
  const m = MEANT.exec(head);
  if (!m) return undefined;
  return m[1] === 'RECORD' || m[2] === 'record' ? 'RECORD' : 'STATE';
}
