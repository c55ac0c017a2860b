// Byte-level JSON scanning for the hot path: find where values start and end
// without building objects, so a RECORD's `data` can be forwarded as the exact
// bytes the connector sent. One pass per line, no allocation per record.
// Functions return -1 when the bytes are not the JSON they expect; callers
// then fall back to a full parse.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export function skipWs(b: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = b[i]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/** b[i] is '"'. Returns the index after the closing quote, or -1. */
export function skipString(b: Uint8Array, i: number, end: number): number {
  i++;
  while (i < end) {
    const c = b[i]!;
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH) i += 2;
    else if (c < 0x20) return -1;
    else i++;
  }
  return -1;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function skipNumber(b: Uint8Array, i: number, end: number): number {
  if (b[i] === 0x2d) i++;
  if (i >= end) return -1;
  if (b[i] === 0x30) i++;
  else if (isDigit(b[i]!)) {
    i++;
    while (i < end && isDigit(b[i]!)) i++;
  } else return -1;
  if (i < end && b[i] === 0x2e) {
    i++;
    if (i >= end || !isDigit(b[i]!)) return -1;
    while (i < end && isDigit(b[i]!)) i++;
  }
  if (i < end && (b[i] === 0x65 || b[i] === 0x45)) {
    i++;
    if (i < end && (b[i] === 0x2b || b[i] === 0x2d)) i++;
    if (i >= end || !isDigit(b[i]!)) return -1;
    while (i < end && isDigit(b[i]!)) i++;
  }
  return i;
}

function skipLiteral(b: Uint8Array, i: number, end: number): number {
  const c = b[i];
  if (c === 0x74) return i + 4 <= end && b[i + 1] === 0x72 && b[i + 2] === 0x75 && b[i + 3] === 0x65 ? i + 4 : -1;
  if (c === 0x66) return i + 5 <= end && b[i + 1] === 0x61 && b[i + 2] === 0x6c && b[i + 3] === 0x73 && b[i + 4] === 0x65 ? i + 5 : -1;
  if (c === 0x6e) return i + 4 <= end && b[i + 1] === 0x75 && b[i + 2] === 0x6c && b[i + 3] === 0x6c ? i + 4 : -1;
  return -1;
}

// Open containers of skipValue: 1 object, 2 array. Shared and grown on demand, so deep
// nesting neither overflows the call stack nor allocates per call.
let stack = new Uint8Array(256);

// The last key skipKey passed over, without its quotes: b[keyStart, keyEnd).
let keyStart = 0;
let keyEnd = 0;

/** Skip a `"key" :` pair head at i (after whitespace). Returns the index of the value, or -1. */
function skipKey(b: Uint8Array, i: number, end: number): number {
  if (b[i] !== QUOTE) return -1;
  keyStart = i + 1;
  i = skipString(b, i, end);
  if (i < 0) return -1;
  keyEnd = i - 1;
  i = skipWs(b, i, end);
  if (b[i] !== 0x3a) return -1;
  return skipWs(b, i + 1, end);
}

/**
 * Skip one JSON value starting at i (no leading whitespace). Validates the
 * grammar (not UTF-8).
 */
export function skipValue(b: Uint8Array, i: number, end: number): number {
  let depth = 0;
  for (;;) {
    if (i >= end) return -1;
    const c = b[i]!;
    if (c === QUOTE) i = skipString(b, i, end);
    else if (c === 0x7b || c === 0x5b) {
      i = skipWs(b, i + 1, end);
      if (b[i] === (c === 0x7b ? 0x7d : 0x5d)) {
        i++; // empty container
      } else {
        if (depth === stack.length) {
          const grown = new Uint8Array(stack.length * 2);
          grown.set(stack);
          stack = grown;
        }
        stack[depth++] = c === 0x7b ? 1 : 2;
        if (c === 0x7b) {
          i = skipKey(b, i, end);
          if (i < 0) return -1;
        }
        continue;
      }
    } else if (c === 0x2d || isDigit(c)) i = skipNumber(b, i, end);
    else i = skipLiteral(b, i, end);
    if (i < 0) return -1;
    // after a value: close containers, or go to the next element
    for (;;) {
      if (depth === 0) return i;
      i = skipWs(b, i, end);
      const d = b[i];
      const top = stack[depth - 1];
      if (d === 0x2c) {
        i = skipWs(b, i + 1, end);
        if (top === 1) {
          i = skipKey(b, i, end);
          if (i < 0) return -1;
        }
        break;
      }
      if ((top === 1 && d === 0x7d) || (top === 2 && d === 0x5d)) {
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

function decodeString(b: Uint8Array, start: number, end: number): string {
  // start/end include the quotes
  const s = start + 1;
  const n = end - 1 - s;
  for (let k = 0; k < nameCache.length; k++) {
    const c = nameCache[k]!;
    if (c.bytes.length !== n) continue;
    let same = true;
    for (let j = 0; j < n; j++) {
      if (c.bytes[j] !== b[s + j]) {
        same = false;
        break;
      }
    }
    if (same) return c.text;
  }
  const raw = Buffer.from(b.buffer, b.byteOffset + start, end - start);
  const text = hasBackslash(b, s, end - 1) ? (JSON.parse(raw.toString('utf8')) as string) : raw.toString('utf8', 1, raw.length - 1);
  if (nameCache.length >= 16) nameCache.shift();
  nameCache.push({ bytes: Uint8Array.from(b.subarray(s, end - 1)), text });
  return text;
}

/**
 * Classify one line in a single pass. RECORD: a well-formed RECORD envelope
 * (any key order, any whitespace), its fields in `lastRecord`. NOT_RECORD: a
 * well-formed JSON object of another shape (the caller parses it fully).
 * MALFORMED: the bytes are not a single JSON object.
 */
export function classifyLine(b: Uint8Array, start: number, end: number): Classification {
  let i = skipWs(b, start, end);
  if (b[i] !== 0x7b) return MALFORMED;
  i = skipWs(b, i + 1, end);
  let isRecord = false;
  let seenType = false;
  let seenRecord = false;
  let odd = false; // valid JSON, but a shape the fast path does not take
  let stream: string | undefined;
  let namespace: string | undefined;
  let dataStart = -1;
  let dataEnd = -1;
  if (b[i] === 0x7d) return skipWs(b, i + 1, end) === end ? NOT_RECORD : MALFORMED;
  for (;;) {
    i = skipKey(b, i, end);
    if (i < 0) return MALFORMED;
    const ks = keyStart;
    const ke = keyEnd;
    const vs = i;
    if (isKey(b, ks, ke, 'record') && b[i] === 0x7b) {
      // walk the payload in this same pass: stream, namespace, data
      if (seenRecord) odd = true;
      seenRecord = true;
      i = skipWs(b, i + 1, end);
      if (b[i] === 0x7d) {
        i++;
      } else {
        for (;;) {
          i = skipKey(b, i, end);
          if (i < 0) return MALFORMED;
          const fs = keyStart;
          const fe = keyEnd;
          const v = i;
          i = skipValue(b, i, end);
          if (i < 0) return MALFORMED;
          const f = b[fs];
          if (f === 0x64 && isKey(b, fs, fe, 'data')) {
            if (dataStart >= 0 || b[v] !== 0x7b) odd = true;
            dataStart = v;
            dataEnd = i;
          } else if (f === 0x73 && isKey(b, fs, fe, 'stream')) {
            if (stream !== undefined || b[v] !== QUOTE) odd = true;
            else stream = decodeString(b, v, i);
          } else if (f === 0x6e && isKey(b, fs, fe, 'namespace')) {
            if (b[v] === QUOTE) namespace = decodeString(b, v, i);
            else if (b[v] !== 0x6e) odd = true; // neither a string nor null
          } else if (hasBackslash(b, fs, fe)) odd = true;
          i = skipWs(b, i, end);
          if (b[i] === 0x2c) {
            i = skipWs(b, i + 1, end);
            continue;
          }
          if (b[i] === 0x7d) {
            i++;
            break;
          }
          return MALFORMED;
        }
      }
    } else {
      i = skipValue(b, i, end);
      if (i < 0) return MALFORMED;
      if (isKey(b, ks, ke, 'type')) {
        if (seenType) odd = true;
        seenType = true;
        isRecord = b[vs] === QUOTE && isKey(b, vs + 1, i - 1, 'RECORD');
      } else if (isKey(b, ks, ke, 'record')) {
        seenRecord = true;
        odd = true; // a record payload that is not an object
      } else if (hasBackslash(b, ks, ke)) odd = true; // could be an escaped "type"
    }
    i = skipWs(b, i, end);
    if (b[i] === 0x2c) {
      i = skipWs(b, i + 1, end);
      continue;
    }
    if (b[i] === 0x7d) {
      i++;
      break;
    }
    return MALFORMED;
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
    i = skipKey(b, i, end);
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
