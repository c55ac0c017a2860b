// Secrets are the values of config fields the spec marks `airbyte_secret`.
// They are collected once per run and masked wherever the host prints text.

import { isPlainObject } from '../json/lossless.js';

export const MASK = '**********';

type Path = (string | '*')[];

/** Paths (object keys, '*' for array items) of properties the schema marks secret. */
export function secretPaths(schema: unknown, base: Path = [], out: Path[] = [], depth = 0): Path[] {
  if (!isPlainObject(schema) || depth > 32) return out;
  if (schema['airbyte_secret'] === true) out.push(base);
  const props = schema['properties'];
  if (isPlainObject(props)) {
    for (const [k, sub] of Object.entries(props)) secretPaths(sub, [...base, k], out, depth + 1);
  }
  for (const key of ['oneOf', 'anyOf', 'allOf']) {
    const branches = schema[key];
    if (Array.isArray(branches)) for (const b of branches) secretPaths(b, base, out, depth + 1);
  }
  const items = schema['items'];
  if (isPlainObject(items)) secretPaths(items, [...base, '*'], out, depth + 1);
  return out;
}

function valuesAt(value: unknown, path: Path, i: number, out: string[]): void {
  if (i === path.length) {
    if (typeof value === 'string' && value.length > 0) out.push(value);
    else if (typeof value === 'number' || typeof value === 'bigint') out.push(String(value));
    else if (value !== null && typeof value === 'object') {
      // a secret object (e.g. a whole credentials block): every string inside is secret
      for (const v of Object.values(value as object)) valuesAt(v, path, i, out);
    }
    return;
  }
  const key = path[i]!;
  if (key === '*') {
    if (Array.isArray(value)) for (const v of value) valuesAt(v, path, i + 1, out);
    return;
  }
  if (isPlainObject(value) && Object.hasOwn(value, key)) valuesAt(value[key], path, i + 1, out);
}

/** The secret values present in a config, longest first (so overlapping secrets mask fully). */
export function collectSecrets(config: unknown, spec: unknown): string[] {
  const out: string[] = [];
  for (const p of secretPaths(spec)) valuesAt(config, p, 0, out);
  return [...new Set(out)].sort((a, b) => b.length - a.length);
}

// Encoded forms of a secret, as a connector or a library may print them.

const jsonEscape = (s: string) => JSON.stringify(s).slice(1, -1);
// Python's json.dumps (ensure_ascii): every non-ASCII character as \uXXXX
const jsonEscapeAscii = (s: string) => jsonEscape(s).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
const toUrlSafe = (b64: string) => b64.replaceAll('+', '-').replaceAll('/', '_');

/**
 * The base64 text (standard and url-safe) of the secret: the whole encoding, with and without
 * padding, and the characters that depend only on the secret's bytes when it starts at byte 1 or 2
 * of a 3-byte group — as inside `base64("user:" + password)` of an HTTP Basic header.
 */
function base64Forms(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const whole = bytes.toString('base64');
  const out = [whole, whole.replace(/=+$/, '')];
  for (let k = 0; k < 3; k++) {
    const enc = Buffer.concat([Buffer.alloc(k), bytes]).toString('base64').replace(/=+$/, '');
    // character c carries bits [6c, 6c + 6): keep those inside the secret's bits [8k, 8(k + n))
    const inner = enc.slice(Math.ceil((8 * k) / 6), Math.floor((8 * (k + bytes.length)) / 6));
    if (inner.length >= 6) out.push(inner);
  }
  return [...out, ...out.map(toUrlSafe)];
}

const REGEX_SPECIAL = /[.*+?^${}()|[\]\\/]/g;

/**
 * The secret URL-encoded in any of the usual ways (encodeURIComponent, form encoding with `+`
 * for a space, Python's quote/quote_plus, upper- or lower-case hex): every character either as
 * itself or as its %XX bytes, a space also as `+`. Undefined when no character would be encoded.
 */
function urlPattern(secret: string): RegExp | undefined {
  if (/^[A-Za-z0-9_.~-]*$/.test(secret)) return undefined;
  const parts = [...secret].map((ch) => {
    const hexDigit = (d: string) => (/[a-f]/.test(d) ? `[${d}${d.toUpperCase()}]` : d);
    const hex = [...Buffer.from(ch, 'utf8')].map((b) => '%' + [...b.toString(16).padStart(2, '0')].map(hexDigit).join('')).join('');
    const alts = [ch.replace(REGEX_SPECIAL, '\\$&'), hex];
    if (ch === ' ') alts.push('\\+');
    return `(?:${alts.join('|')})`;
  });
  return new RegExp(parts.join(''), 'g');
}

/** Every literal form of a secret to mask: itself, JSON-escaped (once, twice, ASCII-only) and base64. */
function literalForms(secret: string): string[] {
  const forms = [secret, jsonEscape(secret), jsonEscapeAscii(secret), jsonEscape(jsonEscape(secret))];
  if (secret.length >= 4) forms.push(...base64Forms(secret));
  return forms;
}

export class Masker {
  private readonly secrets: string[];
  private forms: string[] = [];
  private patterns: RegExp[] = [];
  constructor(secrets: string[] = []) {
    this.secrets = [];
    this.add(secrets);
  }
  add(values: string[]): void {
    for (const v of values) if (v && !this.secrets.includes(v)) this.secrets.push(v);
    this.secrets.sort((a, b) => b.length - a.length);
    // longest first, so that a form inside a longer one does not leave the rest of it behind
    this.forms = [...new Set(this.secrets.flatMap(literalForms))].filter(Boolean).sort((a, b) => b.length - a.length);
    this.patterns = this.secrets.map(urlPattern).filter((r): r is RegExp => r !== undefined);
  }
  get size(): number {
    return this.secrets.length;
  }
  mask(text: string): string {
    if (this.secrets.length === 0 || !text) return text;
    let out = text;
    for (const f of this.forms) if (out.includes(f)) out = out.split(f).join(MASK);
    // URL-encoded forms: only where a `%` or `+` could make one
    if (out.includes('%') || out.includes('+')) for (const p of this.patterns) out = out.replace(p, MASK);
    return out;
  }
}
