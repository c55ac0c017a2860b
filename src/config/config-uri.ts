// `--config-uri 'custom://NAME?param1=v1&param2=v2'` (Nilus style): the query parameters become
// config fields, typed by the connector's spec, merged over the --config files; NAME (the host
// part) picks the kit object when the reference names a file or folder without `:NAME`.
//
//   - percent-decoding, `+` is a space; a key without `=` is `true` for a boolean field
//   - a dotted key nests: `db.port=5432` is {"db": {"port": 5432}}
//   - a repeated key is an array (`tag=a&tag=b`); one value for an array field is a one-item array
//   - typed by the spec's connectionSpecification: integer (big ones stay exact), number,
//     boolean (true/false/1/0/yes/no/on/off), arrays of those; anything else stays a string
//   - any scheme is accepted (custom://, source://, ...); an empty NAME picks nothing
//   - `__proto__`, `constructor` and `prototype` keys are plain data, as in config files
//
// Errors are usage errors naming the parameter, never its value (a parameter may be a secret).

import { UsageError } from '../errors.js';
import { defineOwn, isPlainObject, LosslessNumber, ownValue, type LosslessValue } from '../json/lossless.js';

export interface ConfigUri {
  scheme: string;
  /** The host part, percent-decoded; undefined when empty. */
  name: string | undefined;
  /** Parameters in order; `value` undefined for a key without `=`. */
  params: { key: string; path: string[]; value: string | undefined }[];
}

/** Longest URI accepted (a command-line argument is at most 128 KiB on Linux anyway). */
export const MAX_URI_LENGTH = 1024 * 1024;
export const MAX_PARAMS = 10_000;
export const MAX_KEY_DEPTH = 32;

function bad(msg: string): never {
  throw new UsageError(`--config-uri: ${msg}`);
}

function decode(s: string, what: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    bad(`${what} has a malformed percent-escape (write % as %25)`);
  }
}

/** Parse `SCHEME://NAME?k=v&...` (the `//` may be left out). */
export function parseConfigUri(uri: string): ConfigUri {
  if (uri.length > MAX_URI_LENGTH) bad(`the URI is ${uri.length} characters long; at most ${MAX_URI_LENGTH} are accepted (put large config in a --config file)`);
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s.exec(uri);
  if (!m) bad('give SCHEME://NAME?key=value&key2=value2, e.g. custom://MySource?start_date=2024-01-01');
  let rest = m[2]!;
  if (rest.includes('#')) bad("the URI has a '#' fragment, which is not used; write # in a value as %23");
  if (rest.startsWith('//')) rest = rest.slice(2);
  const q = rest.indexOf('?');
  let authority = q < 0 ? rest : rest.slice(0, q);
  const query = q < 0 ? '' : rest.slice(q + 1);
  if (authority.endsWith('/')) authority = authority.slice(0, -1);
  const rawName = decode(authority, 'the NAME');
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(rawName)) bad('the NAME contains a control character');
  if (rawName.includes('/')) bad(`the NAME ${JSON.stringify(rawName)} contains '/'; give SCHEME://NAME?..., NAME an object in the connector file`);
  const params: ConfigUri['params'] = [];
  const pieces = query === '' ? [] : query.split('&');
  if (pieces.length > MAX_PARAMS) bad(`${pieces.length} parameters; at most ${MAX_PARAMS} are accepted (put large config in a --config file)`);
  for (const piece of pieces) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const key = decode(eq < 0 ? piece : piece.slice(0, eq), 'a parameter name');
    if (key === '') bad('a parameter has no name (`=value`)');
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x1f\x7f]/.test(key)) bad(`the parameter name ${JSON.stringify(key)} contains a control character`);
    const path = key.split('.');
    if (path.some((p) => p === '')) bad(`the parameter ${JSON.stringify(key)} has an empty part between dots`);
    if (path.length > MAX_KEY_DEPTH) bad(`the parameter ${JSON.stringify(key.slice(0, 60))}… nests ${path.length} levels deep; at most ${MAX_KEY_DEPTH}`);
    params.push({ key, path, value: eq < 0 ? undefined : decode(piece.slice(eq + 1), `the parameter ${key}`) });
  }
  return { scheme: m[1]!.toLowerCase(), name: rawName === '' ? undefined : rawName, params };
}

type Kind = 'integer' | 'number' | 'boolean' | 'string' | 'array' | 'object' | 'null';

function typesOf(schema: unknown): Set<Kind> {
  const out = new Set<Kind>();
  if (!isPlainObject(schema)) return out;
  const t = ownValue(schema, 'type');
  for (const x of Array.isArray(t) ? t : [t]) if (typeof x === 'string') out.add(x as Kind);
  // `enum`/`const` of one kind say it too
  for (const v of [...(Array.isArray(ownValue(schema, 'enum')) ? (ownValue(schema, 'enum') as unknown[]) : []), ...(Object.hasOwn(schema, 'const') ? [schema['const']] : [])]) {
    if (t === undefined) out.add(typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v === 'boolean' ? 'boolean' : 'string');
  }
  return out;
}

/** The schema of the field at `path` (own `properties` only), or undefined. */
function fieldSchema(spec: unknown, path: string[]): unknown {
  let cur: unknown = spec;
  for (const k of path) {
    if (!isPlainObject(cur)) return undefined;
    const props = ownValue(cur, 'properties');
    if (!isPlainObject(props) || !Object.hasOwn(props, k)) return undefined;
    cur = props[k];
  }
  return cur;
}

const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

function integer(v: string): LosslessValue {
  const n = Number(v);
  if (Number.isSafeInteger(n)) return n;
  return new LosslessNumber(BigInt(v).toString()); // beyond 2^53: exact, as in a config file
}

function number(v: string): LosslessValue {
  if (INTEGER.test(v)) return integer(v);
  const n = Number(v);
  // a decimal with more digits than a double keeps: its text, as a config file's number would
  const text = v.replace(/^\+/, '');
  return String(n) === text || !/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(text) ? n : new LosslessNumber(text);
}

/** One value, by the field's types. `key` names it in errors (never the value). */
function typed(key: string, v: string | undefined, types: Set<Kind>): LosslessValue {
  if (types.size === 0) return v ?? '';
  if (v === undefined) {
    if (types.has('boolean')) return true;
    if (types.has('string')) return '';
    bad(`the parameter ${key} needs a value (${key}=...): it is ${describe(types)}`);
  }
  if (types.has('integer') && INTEGER.test(v)) return integer(v);
  if (types.has('number') && NUMBER.test(v)) return number(v);
  if (types.has('boolean') && (TRUE.has(v.toLowerCase()) || FALSE.has(v.toLowerCase()))) return TRUE.has(v.toLowerCase());
  if (types.has('string')) return v;
  if (types.has('null') && (v === '' || v === 'null')) return null;
  if (types.has('object')) bad(`the parameter ${key} is an object in the connector's spec: give its fields as ${key}.FIELD=...`);
  bad(`the parameter ${key} is ${describe(types)} in the connector's spec, and its value is not${types.has('boolean') ? ' (a boolean is true, false, 1, 0, yes, no, on or off)' : ''}`);
}

function describe(types: Set<Kind>): string {
  const names: Record<string, string> = { integer: 'an integer', number: 'a number', boolean: 'a boolean', string: 'a string', array: 'an array', object: 'an object', null: 'null' };
  return [...types].map((t) => names[t] ?? t).join(' or ');
}

/**
 * The config the URI's parameters make, typed by `spec` (the connectionSpecification, plain
 * values). Keys are own data properties (`__proto__` too).
 */
export function configFromUri(u: ConfigUri, spec: unknown): Record<string, LosslessValue> {
  // group repeated keys, in the order of their first appearance
  const groups = new Map<string, { path: string[]; values: (string | undefined)[] }>();
  for (const p of u.params) {
    const g = groups.get(p.key);
    if (g) g.values.push(p.value);
    else groups.set(p.key, { path: p.path, values: [p.value] });
  }
  const out: Record<string, LosslessValue> = Object.create(null) as Record<string, LosslessValue>;
  const leaves = new Set<string>();
  for (const [key, { path, values }] of groups) {
    const schema = fieldSchema(spec, path);
    const types = typesOf(schema);
    let value: LosslessValue;
    if (types.has('array')) {
      const itemTypes = typesOf(isPlainObject(schema) ? ownValue(schema, 'items') : undefined);
      value = values.map((v) => typed(key, v, itemTypes));
    } else if (values.length > 1) {
      if (types.size > 0) bad(`the parameter ${key} is given ${values.length} times, but it is ${describe(types)}, not an array, in the connector's spec`);
      value = values.map((v) => v ?? '');
    } else value = typed(key, values[0], types);
    // place it: a key cannot be both a value and an object of dotted keys
    let cur = out;
    for (let i = 0; i < path.length - 1; i++) {
      const k = path[i]!;
      const prefix = path.slice(0, i + 1).join('.');
      if (leaves.has(prefix)) bad(`the parameters ${prefix} and ${key} both set ${prefix}`);
      const next = ownValue(cur, k);
      if (!isPlainObject(next)) defineOwn<LosslessValue>(cur, k, {});
      cur = cur[k] as Record<string, LosslessValue>;
    }
    const last = path[path.length - 1]!;
    if (Object.hasOwn(cur, last)) bad(`the parameters ${key} and ${[...groups.keys()].find((k) => k.startsWith(`${key}.`)) ?? key} both set ${key}`);
    defineOwn(cur, last, value);
    leaves.add(key);
  }
  // an ordinary object for the rest of the host (mergeConfig copies own keys)
  const plain: Record<string, LosslessValue> = {};
  for (const k of Object.keys(out)) defineOwn(plain, k, out[k]!);
  return plain;
}
