// Byte-level JSON scanning for the hot path: find where values start and end
// without building objects, so a RECORD's `data` can be forwarded as the exact
// bytes the connector sent. Every function returns -1 when the bytes are not
// the JSON it expects; callers then fall back to a full parse.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

export function skipWs(b: Uint8Array, i: number, end: number): number {
  while (i < end && isWs(b[i]!)) i++;
  return i;
}

/** b[i] is '"'. Returns the index after the closing quote, or -1. */
export function skipString(b: Uint8Array, i: number, end: number): number {
  i++;
  while (i < end) {
    const c = b[i]!;
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH) {
      i += 2;
      continue;
    }
    if (c < 0x20) return -1;
    i++;
  }
  return -1;
}

function skipNumber(b: Uint8Array, i: number, end: number): number {
  const start = i;
  if (b[i] === 0x2d) i++;
  const digits0 = i;
  while (i < end && b[i]! >= 0x30 && b[i]! <= 0x39) i++;
  if (i === digits0) return -1;
  if (b[digits0] === 0x30 && i - digits0 > 1) return -1;
  if (i < end && b[i] === 0x2e) {
    i++;
    const f = i;
    while (i < end && b[i]! >= 0x30 && b[i]! <= 0x39) i++;
    if (i === f) return -1;
  }
  if (i < end && (b[i] === 0x65 || b[i] === 0x45)) {
    i++;
    if (i < end && (b[i] === 0x2b || b[i] === 0x2d)) i++;
    const e = i;
    while (i < end && b[i]! >= 0x30 && b[i]! <= 0x39) i++;
    if (i === e) return -1;
  }
  return i > start ? i : -1;
}

function matchLiteral(b: Uint8Array, i: number, end: number, lit: readonly number[]): number {
  if (i + lit.length > end) return -1;
  for (let k = 0; k < lit.length; k++) if (b[i + k] !== lit[k]) return -1;
  return i + lit.length;
}
const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

/**
 * Skip one JSON value starting at i (no leading whitespace). Validates the
 * grammar (not UTF-8). Iterative, so deep nesting cannot overflow the stack.
 */
export function skipValue(b: Uint8Array, i: number, end: number): number {
  // stack of open containers: 0x7b '{' or 0x5b '['
  const stack: number[] = [];
  for (;;) {
    // parse a value at i
    if (i >= end) return -1;
    const c = b[i]!;
    if (c === QUOTE) {
      i = skipString(b, i, end);
    } else if (c === 0x7b) {
      i = skipWs(b, i + 1, end);
      if (b[i] === 0x7d) {
        i++;
      } else {
        stack.push(0x7b);
        // key
        if (b[i] !== QUOTE) return -1;
        i = skipString(b, i, end);
        if (i < 0) return -1;
        i = skipWs(b, i, end);
        if (b[i] !== 0x3a) return -1;
        i = skipWs(b, i + 1, end);
        continue;
      }
    } else if (c === 0x5b) {
      i = skipWs(b, i + 1, end);
      if (b[i] === 0x5d) {
        i++;
      } else {
        stack.push(0x5b);
        continue;
      }
    } else if (c === 0x74) i = matchLiteral(b, i, end, TRUE);
    else if (c === 0x66) i = matchLiteral(b, i, end, FALSE);
    else if (c === 0x6e) i = matchLiteral(b, i, end, NULL);
    else i = skipNumber(b, i, end);
    if (i < 0) return -1;
    // after a value: close containers or move to the next element
    for (;;) {
      if (stack.length === 0) return i;
      i = skipWs(b, i, end);
      const top = stack[stack.length - 1];
      const d = b[i];
      if (d === 0x2c) {
        i = skipWs(b, i + 1, end);
        if (top === 0x7b) {
          if (b[i] !== QUOTE) return -1;
          i = skipString(b, i, end);
          if (i < 0) return -1;
          i = skipWs(b, i, end);
          if (b[i] !== 0x3a) return -1;
          i = skipWs(b, i + 1, end);
        }
        break;
      }
      if ((top === 0x7b && d === 0x7d) || (top === 0x5b && d === 0x5d)) {
        stack.pop();
        i++;
        continue;
      }
      return -1;
    }
  }
}

function bytesEqual(b: Uint8Array, start: number, end: number, lit: Uint8Array): boolean {
  if (end - start !== lit.length) return false;
  for (let k = 0; k < lit.length; k++) if (b[start + k] !== lit[k]) return false;
  return true;
}

const enc = (s: string) => new TextEncoder().encode(s);
const K_TYPE = enc('type');
const K_RECORD = enc('record');
const K_STREAM = enc('stream');
const K_NAMESPACE = enc('namespace');
const K_DATA = enc('data');
const V_RECORD = enc('RECORD');

function hasBackslash(b: Uint8Array, start: number, end: number): boolean {
  for (let k = start; k < end; k++) if (b[k] === BACKSLASH) return true;
  return false;
}

/** Result of the fast classifier. Offsets are absolute in the buffer. */
export interface FastRecord {
  stream: string;
  namespace: string | undefined;
  dataStart: number;
  dataEnd: number;
}

/** What the fast classifier found: a RECORD, something else to parse fully, or not JSON at all. */
export const NOT_RECORD = 1;
export const MALFORMED = 2;

function decodeString(b: Uint8Array, start: number, end: number): string {
  // start/end include the quotes
  const buf = Buffer.from(b.buffer, b.byteOffset + start, end - start);
  if (!hasBackslash(b, start + 1, end - 1)) return buf.toString('utf8', 1, end - start - 1);
  return JSON.parse(buf.toString('utf8')) as string;
}

/**
 * Classify one line. Returns a FastRecord for a well-formed RECORD envelope
 * (any key order, any whitespace), NOT_RECORD when the line is well-formed JSON
 * whose shape is something else (the caller parses it fully), or MALFORMED when
 * the bytes are not a single JSON object.
 */
export function classifyLine(b: Uint8Array, start: number, end: number): FastRecord | typeof NOT_RECORD | typeof MALFORMED {
  let i = skipWs(b, start, end);
  if (b[i] !== 0x7b) return MALFORMED;
  i = skipWs(b, i + 1, end);
  let isRecord = false;
  let seenType = false;
  let recStart = -1;
  let recEnd = -1;
  let escapedKey = false;
  if (b[i] === 0x7d) {
    i++;
  } else {
    for (;;) {
      if (b[i] !== QUOTE) return MALFORMED;
      const ks = i;
      i = skipString(b, i, end);
      if (i < 0) return MALFORMED;
      const ke = i;
      if (hasBackslash(b, ks, ke)) escapedKey = true;
      i = skipWs(b, i, end);
      if (b[i] !== 0x3a) return MALFORMED;
      i = skipWs(b, i + 1, end);
      const vs = i;
      i = skipValue(b, i, end);
      if (i < 0) return MALFORMED;
      if (bytesEqual(b, ks + 1, ke - 1, K_TYPE)) {
        if (seenType) return NOT_RECORD; // duplicate key: let the full parser decide
        seenType = true;
        isRecord = b[vs] === QUOTE && bytesEqual(b, vs + 1, i - 1, V_RECORD);
      } else if (bytesEqual(b, ks + 1, ke - 1, K_RECORD)) {
        if (recStart >= 0) return NOT_RECORD;
        recStart = vs;
        recEnd = i;
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
  }
  if (skipWs(b, i, end) !== end) return MALFORMED;
  if (escapedKey || !isRecord || recStart < 0 || b[recStart] !== 0x7b) return NOT_RECORD;

  // Inside the record payload: find stream, namespace and data (values already validated).
  let stream: string | undefined;
  let namespace: string | undefined;
  let dataStart = -1;
  let dataEnd = -1;
  i = skipWs(b, recStart + 1, recEnd);
  if (b[i] === 0x7d) return NOT_RECORD;
  for (;;) {
    const ks = i;
    i = skipString(b, i, recEnd);
    const ke = i;
    if (hasBackslash(b, ks, ke)) return NOT_RECORD;
    i = skipWs(b, i, recEnd);
    i = skipWs(b, i + 1, recEnd);
    const vs = i;
    i = skipValue(b, i, recEnd);
    if (bytesEqual(b, ks + 1, ke - 1, K_STREAM)) {
      if (stream !== undefined || b[vs] !== QUOTE) return NOT_RECORD;
      stream = decodeString(b, vs, i);
    } else if (bytesEqual(b, ks + 1, ke - 1, K_NAMESPACE)) {
      if (b[vs] === QUOTE) namespace = decodeString(b, vs, i);
      else if (b[vs] !== 0x6e) return NOT_RECORD; // not null
    } else if (bytesEqual(b, ks + 1, ke - 1, K_DATA)) {
      if (dataStart >= 0 || b[vs] !== 0x7b) return NOT_RECORD;
      dataStart = vs;
      dataEnd = i;
    }
    i = skipWs(b, i, recEnd);
    if (b[i] === 0x2c) {
      i = skipWs(b, i + 1, recEnd);
      continue;
    }
    break;
  }
  if (stream === undefined || dataStart < 0) return NOT_RECORD;
  return { stream, namespace, dataStart, dataEnd };
}
