// Byte-level JSON scanning for the hot path: find where values start and end
// without building objects, so a RECORD's `data` can be forwarded as the exact
// bytes the connector sent. One pass per line, no allocation per record.
// Functions return -1 when the bytes are not the JSON they expect; callers
// then fall back to a full parse.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

// What may follow a backslash in a string: 1 a one-character escape, 2 `u` (four hex digits follow).
const ESCAPE = new Uint8Array(256);
for (const c of '"\\/bfnrt') ESCAPE[c.charCodeAt(0)] = 1;
ESCAPE[0x75] = 2;
const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;

export function skipWs(b: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = b[i]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/**
 * The rest of a string, i just after its opening quote: the index after the closing quote, or
 * -1 (no closing quote before `end`, an unescaped control character, an escape JSON does not have).
 */
function stringTail(b: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = b[i]!;
    // most bytes of most strings: printable, not a quote or a backslash
    if (c > QUOTE) {
      if (c !== BACKSLASH) {
        i++;
        continue;
      }
      if (i + 1 >= end) return -1;
      const k = ESCAPE[b[i + 1]!]!;
      if (k === 1) i += 2;
      else if (k === 2 && i + 6 <= end && HEX[b[i + 2]!] === 1 && HEX[b[i + 3]!] === 1 && HEX[b[i + 4]!] === 1 && HEX[b[i + 5]!] === 1) i += 6;
      else return -1;
      continue;
    }
    if (c === QUOTE) return i + 1;
    if (c < 0x20) return -1;
    i++;
  }
  return -1;
}

/** b[i] is '"'. Returns the index after the closing quote, or -1 (not a JSON string). */
export function skipString(b: Uint8Array, i: number, end: number): number {
  return stringTail(b, i + 1, end);
}

function numberEnd(b: Uint8Array, i: number, end: number): number {
  let c = b[i]!;
  if (c === 0x2d) {
    if (++i >= end) return -1;
    c = b[i]!;
  }
  if (c === 0x30) i++;
  else if (c > 0x30 && c <= 0x39) {
    i++;
    while (i < end && (c = b[i]!) >= 0x30 && c <= 0x39) i++;
  } else return -1;
  if (i >= end) return i;
  c = b[i]!;
  if (c === 0x2e) {
    if (++i >= end || (c = b[i]!) < 0x30 || c > 0x39) return -1;
    i++;
    while (i < end && (c = b[i]!) >= 0x30 && c <= 0x39) i++;
    if (i >= end) return i;
    c = b[i]!;
  }
  if (c === 0x65 || c === 0x45) {
    if (++i >= end) return -1;
    c = b[i]!;
    if (c === 0x2b || c === 0x2d) {
      if (++i >= end) return -1;
      c = b[i]!;
    }
    if (c < 0x30 || c > 0x39) return -1;
    i++;
    while (i < end && (c = b[i]!) >= 0x30 && c <= 0x39) i++;
  }
  return i;
}

function literalEnd(b: Uint8Array, i: number, end: number): number {
  const c = b[i];
  if (c === 0x74) return i + 4 <= end && b[i + 1] === 0x72 && b[i + 2] === 0x75 && b[i + 3] === 0x65 ? i + 4 : -1;
  if (c === 0x66) return i + 5 <= end && b[i + 1] === 0x61 && b[i + 2] === 0x6c && b[i + 3] === 0x73 && b[i + 4] === 0x65 ? i + 5 : -1;
  if (c === 0x6e) return i + 4 <= end && b[i + 1] === 0x75 && b[i + 2] === 0x6c && b[i + 3] === 0x6c ? i + 4 : -1;
  return -1;
}

// Open containers of skipValue: 1 object, 2 array. Shared and grown on demand, so deep
// nesting neither overflows the call stack nor allocates per call.
let stack = new Uint8Array(256);

// The last key keyTail passed over, without its quotes: b[keyStart, keyEnd).
let keyStart = 0;
let keyEnd = 0;

/** A `"key" :` pair head at i (no leading whitespace). Returns the index of its value (after whitespace), or -1. */
function keyTail(b: Uint8Array, i: number, end: number): number {
  if (i >= end || b[i] !== QUOTE) return -1;
  keyStart = i + 1;
  i = stringTail(b, i + 1, end);
  if (i < 0) return -1;
  keyEnd = i - 1;
  if (i < end && b[i] === 0x3a) i++; // the usual `"key":`
  else {
    i = skipWs(b, i, end);
    if (i >= end || b[i] !== 0x3a) return -1;
    i++;
  }
  return skipWs(b, i, end);
}

/**
 * Skip one JSON value starting at i (no leading whitespace): the index after it, or -1 when
 * b[i, end) does not start with one. Validates the grammar (strings and escapes, numbers,
 * literals, nesting; not UTF-8). One loop, whatever the nesting: no recursion.
 */
export function skipValue(b: Uint8Array, i: number, end: number): number {
  let depth = 0;
  for (;;) {
    // a value at i
    if (i >= end) return -1;
    const c = b[i]!;
    if (c === QUOTE) i = stringTail(b, i + 1, end);
    else if (c === 0x7b || c === 0x5b) {
      i = skipWs(b, i + 1, end);
      if (i >= end) return -1;
      if (b[i] === (c === 0x7b ? 0x7d : 0x5d)) {
        i++; // empty container
      } else {
        if (depth === stack.length) {
          const grown = new Uint8Array(stack.length * 2);
          grown.set(stack);
          stack = grown;
        }
        if (c === 0x7b) {
          stack[depth++] = 1;
          i = keyTail(b, i, end);
          if (i < 0) return -1;
        } else stack[depth++] = 2;
        continue;
      }
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) i = numberEnd(b, i, end);
    else i = literalEnd(b, i, end);
    if (i < 0) return -1;
    // after a value: close containers, or go on to the next element
    for (;;) {
      if (depth === 0) return i;
      if (i >= end) return -1;
      let d = b[i]!;
      if (d === 0x20 || d === 0x0a || d === 0x0d || d === 0x09) {
        i = skipWs(b, i, end);
        if (i >= end) return -1;
        d = b[i]!;
      }
      if (d === 0x2c) {
        i = skipWs(b, i + 1, end);
        if (stack[depth - 1] === 1) {
          i = keyTail(b, i, end);
          if (i < 0) return -1;
        }
        break;
      }
      if (d === (stack[depth - 1] === 1 ? 0x7d : 0x5d)) {
        depth--;
        i++;
        continue;
      }
      return -1;
    }
  }
}

/** Is b[s, e) (a key without its quotes) equal to the ASCII word w? */
export function isKey(b: Uint8Array, s: number, e: number, w: string): boolean {
  if (e - s !== w.length) return false;
  for (let k = 0; k < w.length; k++) if (b[s + k] !== w.charCodeAt(k)) return false;
  return true;
}

export function hasBackslash(b: Uint8Array, start: number, end: number): boolean {
  for (let k = start; k < end; k++) if (b[k] === BACKSLASH) return true;
  return false;
}

/** The fields of the last line classified as RECORD (valid until the next call). */
export interface FastRecord {
  stream: string;
  namespace: string | undefined;
  dataStart: number;
  dataEnd: number;
}

export const RECORD = 0;
export const NOT_RECORD = 1;
export const MALFORMED = 2;
export type Classification = typeof RECORD | typeof NOT_RECORD | typeof MALFORMED;

export const lastRecord: FastRecord = { stream: '', namespace: undefined, dataStart: 0, dataEnd: 0 };

// Decoded names are cached by their bytes: consecutive records mostly name the same stream.
const nameCache: { bytes: Uint8Array; text: string }[] = [];

let lastName: { bytes: Uint8Array; text: string } | undefined;

function decodeString(b: Uint8Array, start: number, end: number): string {
  // start/end include the quotes
  const s = start + 1;
  const n = end - 1 - s;
  const last = lastName;
  if (last !== undefined && sameBytes(last.bytes, b, s, n)) return last.text;
  for (let k = 0; k < nameCache.length; k++) {
    const c = nameCache[k]!;
    if (sameBytes(c.bytes, b, s, n)) {
      lastName = c;
      return c.text;
    }
  }
  const raw = Buffer.from(b.buffer, b.byteOffset + start, end - start);
  const text = hasBackslash(b, s, end - 1) ? (JSON.parse(raw.toString('utf8')) as string) : raw.toString('utf8', 1, raw.length - 1);
  if (nameCache.length >= 16) nameCache.shift();
  const entry = { bytes: Uint8Array.from(b.subarray(s, end - 1)), text };
  nameCache.push(entry);
  lastName = entry;
  return text;
}

function sameBytes(a: Uint8Array, b: Uint8Array, s: number, n: number): boolean {
  if (a.length !== n) return false;
  for (let j = 0; j < n; j++) if (a[j] !== b[s + j]) return false;
  return true;
}

// Keys the classifier looks for, compared byte by byte (length first: most keys differ in it).
function isType(b: Uint8Array, s: number, e: number): boolean {
  return e - s === 4 && b[s] === 0x74 && b[s + 1] === 0x79 && b[s + 2] === 0x70 && b[s + 3] === 0x65;
}
function isRecordKey(b: Uint8Array, s: number, e: number): boolean {
  return e - s === 6 && b[s] === 0x72 && b[s + 1] === 0x65 && b[s + 2] === 0x63 && b[s + 3] === 0x6f && b[s + 4] === 0x72 && b[s + 5] === 0x64;
}
/** b[s, e) is `RECORD` (a string's bytes without its quotes). */
function isRECORD(b: Uint8Array, s: number, e: number): boolean {
  return e - s === 6 && b[s] === 0x52 && b[s + 1] === 0x45 && b[s + 2] === 0x43 && b[s + 3] === 0x4f && b[s + 4] === 0x52 && b[s + 5] === 0x44;
}
function isData(b: Uint8Array, s: number, e: number): boolean {
  return e - s === 4 && b[s] === 0x64 && b[s + 1] === 0x61 && b[s + 2] === 0x74 && b[s + 3] === 0x61;
}
function isStream(b: Uint8Array, s: number, e: number): boolean {
  return e - s === 6 && b[s] === 0x73 && b[s + 1] === 0x74 && b[s + 2] === 0x72 && b[s + 3] === 0x65 && b[s + 4] === 0x61 && b[s + 5] === 0x6d;
}

/** After a member's value at i: the index of the next member's key (after `,` and whitespace), END_OBJECT after the closing brace at `close`, or -1. */
let close = 0;
const END_OBJECT = -2;
function nextMember(b: Uint8Array, i: number, end: number): number {
  if (i >= end) return -1;
  let c = b[i]!;
  if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
    i = skipWs(b, i, end);
    if (i >= end) return -1;
    c = b[i]!;
  }
  if (c === 0x2c) return skipWs(b, i + 1, end);
  if (c === 0x7d) {
    close = i + 1;
    return END_OBJECT;
  }
  return -1;
}

/**
 * Classify one line in a single pass. RECORD: a well-formed RECORD envelope
 * (any key order, any whitespace), its fields in `lastRecord`. NOT_RECORD: a
 * well-formed JSON object of another shape (the caller parses it fully).
 * MALFORMED: the bytes are not a single JSON object (the whole line is checked:
 * strings, escapes, numbers, nesting; not UTF-8, which the caller checks).
 */
export function classifyLine(b: Uint8Array, start: number, end: number): Classification {
  let i = skipWs(b, start, end);
  if (i >= end || b[i] !== 0x7b) return MALFORMED;
  i = skipWs(b, i + 1, end);
  let isRecord = false;
  let seenType = false;
  let seenRecord = false;
  let odd = false; // valid JSON, but a shape the fast path does not take
  let stream: string | undefined;
  let namespace: string | undefined;
  let dataStart = -1;
  let dataEnd = -1;
  if (i < end && b[i] === 0x7d) return skipWs(b, i + 1, end) === end ? NOT_RECORD : MALFORMED;
  for (;;) {
    i = keyTail(b, i, end);
    if (i < 0) return MALFORMED;
    const ks = keyStart;
    const ke = keyEnd;
    const vs = i;
    if (b[i] === 0x7b && isRecordKey(b, ks, ke)) {
      // walk the payload in this same pass: stream, namespace, data
      if (seenRecord) odd = true;
      seenRecord = true;
      i = skipWs(b, i + 1, end);
      if (i < end && b[i] === 0x7d) {
        i++;
      } else {
        for (;;) {
          i = keyTail(b, i, end);
          if (i < 0) return MALFORMED;
          const fs = keyStart;
          const fe = keyEnd;
          const v = i;
          i = skipValue(b, i, end);
          if (i < 0) return MALFORMED;
          const f = b[fs];
          if (f === 0x64 && isData(b, fs, fe)) {
            if (dataStart >= 0 || b[v] !== 0x7b) odd = true;
            dataStart = v;
            dataEnd = i;
          } else if (f === 0x73 && isStream(b, fs, fe)) {
            if (stream !== undefined || b[v] !== QUOTE) odd = true;
            else stream = decodeString(b, v, i);
          } else if (f === 0x6e && isKey(b, fs, fe, 'namespace')) {
            if (b[v] === QUOTE) namespace = decodeString(b, v, i);
            else if (b[v] !== 0x6e) odd = true; // neither a string nor null
          } else if (hasBackslash(b, fs, fe)) odd = true;
          i = nextMember(b, i, end);
          if (i === END_OBJECT) {
            i = close;
            break;
          }
          if (i < 0) return MALFORMED;
        }
      }
    } else {
      i = skipValue(b, i, end);
      if (i < 0) return MALFORMED;
      if (isType(b, ks, ke)) {
        if (seenType) odd = true;
        seenType = true;
        isRecord = b[vs] === QUOTE && isRECORD(b, vs + 1, i - 1);
      } else if (isRecordKey(b, ks, ke)) {
        seenRecord = true;
        odd = true; // a record payload that is not an object
      } else if (hasBackslash(b, ks, ke)) odd = true; // could be an escaped "type"
    }
    i = nextMember(b, i, end);
    if (i === END_OBJECT) {
      i = close;
      break;
    }
    if (i < 0) return MALFORMED;
  }
  if (skipWs(b, i, end) !== end) return MALFORMED;
  if (odd || !isRecord || stream === undefined || dataStart < 0) return NOT_RECORD;
  lastRecord.stream = stream;
  lastRecord.namespace = namespace;
  lastRecord.dataStart = dataStart;
  lastRecord.dataEnd = dataEnd;
  return RECORD;
}

/**
 * The top-level `type` of a line that is one JSON object, and which of the keys `record` and
 * `state` it has — without building it, so that a line too deep to parse can still be named.
 * Undefined when the line is not a JSON object. Not for the hot path (it decodes the type).
 */
export function envelopeOf(b: Uint8Array, start: number, end: number): { type: unknown; record: boolean; state: boolean } | undefined {
  const out: { type: unknown; record: boolean; state: boolean } = { type: undefined, record: false, state: false };
  let i = skipWs(b, start, end);
  if (b[i] !== 0x7b) return undefined;
  i = skipWs(b, i + 1, end);
  if (b[i] === 0x7d) return out;
  for (;;) {
    i = keyTail(b, i, end);
    if (i < 0) return undefined;
    const ks = keyStart;
    const ke = keyEnd;
    const vs = i;
    i = skipValue(b, i, end);
    if (i < 0) return undefined;
    if (isKey(b, ks, ke, 'type')) out.type = b[vs] === QUOTE ? decodeString(b, vs, i) : null;
    else if (isKey(b, ks, ke, 'record')) out.record = true;
    else if (isKey(b, ks, ke, 'state')) out.state = true;
    i = skipWs(b, i, end);
    if (b[i] === 0x2c) i = skipWs(b, i + 1, end);
    else return b[i] === 0x7d ? out : undefined;
  }
}
