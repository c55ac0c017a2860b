// Lossless JSON: numbers that would not survive a round trip through a JS
// number (int64 cursors, LSNs, 30-digit decimals) are kept as their source text.

export class LosslessNumber {
  readonly raw: string;
  constructor(raw: string) {
    this.raw = raw;
  }
  valueOf(): number {
    return Number(this.raw);
  }
  toString(): string {
    return this.raw;
  }
  toJSON(): number {
    // Only reached through plain JSON.stringify; stringifyLossless never calls it.
    return Number(this.raw);
  }
}

export type LosslessValue =
  | null
  | boolean
  | number
  | string
  | LosslessNumber
  | LosslessValue[]
  | { [key: string]: LosslessValue };

export class JsonSyntaxError extends Error {
  readonly position: number;
  /** The object keys and array indexes around the error (names, never values). */
  path: string[] = [];
  constructor(message: string, position: number) {
    super(`${message} at position ${position}`);
    this.name = 'JsonSyntaxError';
    this.position = position;
  }
}

/**
 * Set `o[k]` as an own, enumerable data property. Plain assignment of `__proto__` would set the
 * prototype instead (and of a key read back as `o[k]` could reach Object.prototype): every copy of
 * JSON from outside goes through here so that `__proto__`, `constructor` and `prototype` are data.
 */
export function defineOwn<T>(o: Record<string, T>, k: string, v: T): void {
  // only `__proto__` has a setter on Object.prototype: plain assignment is right (and fast) for the rest
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

/** `o[k]` when `k` is an own property of `o`, else undefined (never an inherited value). */
export function ownValue<T>(o: Record<string, T>, k: string): T | undefined {
  return Object.hasOwn(o, k) ? o[k] : undefined;
}

/** The deepest nesting parseLossless reads (deeper input is an error, not a stack overflow). */
export const MAX_DEPTH = 2000;

const NUMBER_RE = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** Parse JSON text; numbers that would lose precision become LosslessNumber. */
export function parseLossless(text: string): LosslessValue {
  let i = 0;
  const n = text.length;

  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
  };

  const str = (): string => {
    // text[i] === '"'
    const start = i;
    i++;
    let simple = true;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        if (simple) return text.slice(start + 1, i - 1);
        try {
          return JSON.parse(text.slice(start, i)) as string;
        } catch {
          // JSON.parse's message quotes the string (it may be a secret): say what, not which
          throw new JsonSyntaxError('invalid escape sequence in string', start);
        }
      }
      if (c === 92) {
        simple = false;
        i += 2;
        continue;
      }
      if (c < 32) throw new JsonSyntaxError('control character in string', i);
      i++;
    }
    throw new JsonSyntaxError('unterminated string', start);
  };

  const path: string[] = []; // keys and indexes down to the value being parsed (for errors)
  const value = (depth: number): LosslessValue => {
    if (depth > MAX_DEPTH) throw new JsonSyntaxError('nesting too deep', i);
    ws();
    if (i >= n) throw new JsonSyntaxError('unexpected end', i);
    const c = text.charCodeAt(i);
    if (c === 123) {
      i++;
      const obj: { [key: string]: LosslessValue } = {};
      ws();
      if (text.charCodeAt(i) === 125) {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text.charCodeAt(i) !== 34) throw new JsonSyntaxError('expected a key', i);
        const key = str();
        ws();
        if (text.charCodeAt(i) !== 58) throw new JsonSyntaxError("expected ':'", i);
        i++;
        path.push(key); // popped once the member ends, so that an error after the value names its key
        defineOwn(obj, key, value(depth + 1));
        ws();
        const d = text.charCodeAt(i);
        if (d === 44) {
          i++;
          path.pop();
          continue;
        }
        if (d === 125) {
          i++;
          path.pop();
          return obj;
        }
        throw new JsonSyntaxError("expected ',' or '}'", i);
      }
    }
    if (c === 91) {
      i++;
      const arr: LosslessValue[] = [];
      ws();
      if (text.charCodeAt(i) === 93) {
        i++;
        return arr;
      }
      for (;;) {
        path.push(String(arr.length));
        arr.push(value(depth + 1));
        ws();
        const d = text.charCodeAt(i);
        if (d === 44) {
          i++;
          path.pop();
          continue;
        }
        if (d === 93) {
          i++;
          path.pop();
          return arr;
        }
        throw new JsonSyntaxError("expected ',' or ']'", i);
      }
    }
    if (c === 34) return str();
    if (c === 116 && text.startsWith('true', i)) {
      i += 4;
      return true;
    }
    if (c === 102 && text.startsWith('false', i)) {
      i += 5;
      return false;
    }
    if (c === 110 && text.startsWith('null', i)) {
      i += 4;
      return null;
    }
    NUMBER_RE.lastIndex = i;
    const m = NUMBER_RE.exec(text);
    if (!m || m[0].length === 0) throw new JsonSyntaxError(`unexpected character ${JSON.stringify(text[i])}`, i);
    i += m[0].length;
    const raw = m[0];
    const num = Number(raw);
    // A JS number is only used when it prints back to the very same text.
    return String(num) === raw ? num : new LosslessNumber(raw);
  };

  try {
    const result = value(0);
    ws();
    if (i !== n) throw new JsonSyntaxError('unexpected text after the value', i);
    return result;
  } catch (e) {
    if (e instanceof JsonSyntaxError) e.path = [...path];
    throw e;
  }
}

/** Serialise a value produced by parseLossless (or plain JS data) without losing number text. */
export function stringifyLossless(value: unknown, indent?: number): string {
  const pad = indent ? ' '.repeat(indent) : '';
  const out = (v: unknown, cur: string): string | undefined => {
    if (v === null) return 'null';
    if (v instanceof LosslessNumber) return v.raw;
    switch (typeof v) {
      case 'string':
        return JSON.stringify(v);
      case 'number':
        return Number.isFinite(v) ? String(v) : 'null';
      case 'boolean':
        return v ? 'true' : 'false';
      case 'bigint':
        return v.toString();
      case 'undefined':
      case 'function':
      case 'symbol':
        return undefined;
    }
    const next = cur + pad;
    const sep = pad ? ',\n' + next : ',';
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      const items = v.map((x) => out(x, next) ?? 'null');
      return pad ? `[\n${next}${items.join(sep)}\n${cur}]` : `[${items.join(',')}]`;
    }
    const o = v as Record<string, unknown>;
    if (typeof (o as { toJSON?: unknown }).toJSON === 'function') return out((o as { toJSON: () => unknown }).toJSON(), cur);
    const parts: string[] = [];
    for (const k of Object.keys(o)) {
      const s = out(o[k], next);
      if (s !== undefined) parts.push(JSON.stringify(k) + (pad ? ': ' : ':') + s);
    }
    if (parts.length === 0) return '{}';
    return pad ? `{\n${next}${parts.join(sep)}\n${cur}}` : `{${parts.join(',')}}`;
  };
  return out(value, '') ?? 'null';
}

/** Convert lossless values to plain JS values (for schema validation, where precision does not matter). */
export function toPlain(value: LosslessValue): unknown {
  if (value instanceof LosslessNumber) return Number(value.raw);
  if (Array.isArray(value)) return value.map(toPlain);
  if (value !== null && typeof value === 'object') {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(value)) defineOwn(o, k, toPlain(value[k]));
    return o;
  }
  return value;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof LosslessNumber);
}

/** A copy with every object's keys sorted (canonical forms: golden files, comparisons). */
export function sortKeys(v: LosslessValue): LosslessValue {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isPlainObject(v)) {
    const o: Record<string, LosslessValue> = {};
    for (const k of Object.keys(v).sort()) defineOwn(o, k, sortKeys(v[k] as LosslessValue));
    return o;
  }
  return v;
}

/** The value at a path of object keys, or undefined (own properties only). */
export function getPath(v: LosslessValue | undefined, path: readonly string[]): LosslessValue | undefined {
  let cur: LosslessValue | undefined = v;
  for (const k of path) {
    if (!isPlainObject(cur) || !Object.hasOwn(cur, k)) return undefined;
    cur = cur[k] as LosslessValue;
  }
  return cur;
}

/**
 * Set (or, with undefined, delete) the value at a path, creating objects on the way. Keys are
 * defined as own properties, so a key such as `__proto__` is data, not a prototype.
 */
export function setPath(target: Record<string, LosslessValue>, path: readonly string[], value: LosslessValue | undefined): void {
  let cur: Record<string, LosslessValue> = target;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i]!;
    // own properties only: `cur['__proto__']` of an object without that key is Object.prototype
    if (!isPlainObject(ownValue(cur, k))) {
      if (value === undefined) return;
      defineOwn<LosslessValue>(cur, k, {});
    }
    cur = cur[k] as Record<string, LosslessValue>;
  }
  const last = path[path.length - 1]!;
  if (value === undefined) {
    if (Object.hasOwn(cur, last)) delete cur[last];
  } else defineOwn(cur, last, value);
}
