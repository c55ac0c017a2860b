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
  if (isPlainObject(value) && key in value) valuesAt(value[key], path, i + 1, out);
}

/** The secret values present in a config, longest first (so overlapping secrets mask fully). */
export function collectSecrets(config: unknown, spec: unknown): string[] {
  const out: string[] = [];
  for (const p of secretPaths(spec)) valuesAt(config, p, 0, out);
  return [...new Set(out)].sort((a, b) => b.length - a.length);
}

export class Masker {
  private readonly secrets: string[];
  constructor(secrets: string[] = []) {
    this.secrets = [...secrets];
  }
  add(values: string[]): void {
    for (const v of values) if (v && !this.secrets.includes(v)) this.secrets.push(v);
    this.secrets.sort((a, b) => b.length - a.length);
  }
  get size(): number {
    return this.secrets.length;
  }
  mask(text: string): string {
    if (this.secrets.length === 0 || !text) return text;
    let out = text;
    for (const s of this.secrets) {
      if (out.includes(s)) out = out.split(s).join(MASK);
      // also the JSON-escaped form, as it appears inside serialised messages
      const esc = JSON.stringify(s).slice(1, -1);
      if (esc !== s && out.includes(esc)) out = out.split(esc).join(MASK);
    }
    return out;
  }
}
