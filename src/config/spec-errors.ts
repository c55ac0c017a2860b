// A config that does not match the connector's spec (connectionSpecification), said so that it
// points at the fix:
// - no config file at all: "no --config given; the connector's spec requires: token (secret),
//   start_date (see `host spec`)" instead of "/: must have required property 'token'";
// - a field the spec does not allow ("must NOT have additional properties"): the field and where,
//   and the spec's fields there ("did you mean ...?" for a near miss);
// - everything else as formatAjvErrors says it (JSON pointer and the rule, never the value).
// Only keys are named (the spec's and the config's), never a value; a config key that is one of
// the run's secret values (pasted into the wrong place) is masked too.

import type { ErrorObject } from 'ajv';
import { formatAjvErrors } from '../protocol/schemas.js';
import { isPlainObject } from '../json/lossless.js';

export interface ConfigMismatchContext {
  /** The config files given. */
  files?: readonly string[] | undefined;
  /** Was a config given at all (files, or an object by a library caller)? Default: files given. */
  given?: boolean | undefined;
  /** The option that names the files (default --config; `host run`'s destination: --destination-config). */
  option?: string | undefined;
  /** Whose spec (default connector; or destination). */
  who?: string | undefined;
  /** Values never to show (secrets): a key equal to one is masked. */
  secrets?: readonly string[] | undefined;
}

const MASK = '**********';

/** One JSON-pointer segment. */
const seg = (k: string) => '/' + k.replaceAll('~', '~0').replaceAll('/', '~1');

/** Decode a JSON pointer ("/a~1b/c") into keys. */
function keysOf(ptr: string): string[] {
  return ptr === '' ? [] : ptr.slice(1).split('/').map((k) => k.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** Decode an ajv schemaPath ("#/properties/a%20b/type"): a URI fragment holding a JSON pointer. */
function schemaKeysOf(path: string): string[] {
  let p = path.slice(1);
  try {
    p = decodeURIComponent(p);
  } catch {
    /* as it is */
  }
  return keysOf(p);
}

/** The schema at an ajv schemaPath (without its last segment, the keyword), when it is in this schema. */
function schemaAt(root: unknown, schemaPath: string): Record<string, unknown> | undefined {
  if (!schemaPath.startsWith('#')) return undefined; // a $ref into another document
  let node: unknown = root;
  const keys = schemaKeysOf(schemaPath).slice(0, -1);
  for (const k of keys) {
    if (Array.isArray(node)) node = node[Number(k)];
    else if (isPlainObject(node) && Object.hasOwn(node, k)) node = (node as Record<string, unknown>)[k];
    else return undefined;
  }
  return isPlainObject(node) ? (node as Record<string, unknown>) : undefined;
}

function propertiesOf(schema: Record<string, unknown> | undefined): string[] {
  const props = schema?.['properties'];
  return isPlainObject(props) ? Object.keys(props) : [];
}

function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return 99;
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The spec field an unknown one was probably meant to be. */
function nearest(extra: string, known: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[-_\s]/g, '');
  const e = norm(extra);
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = norm(k) === e ? 0 : distance(e, norm(k));
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.min(3, Math.floor(extra.length / 4))) ? best : undefined;
}

const listOf = (keys: readonly string[], max = 12) => (keys.length > max ? `${keys.slice(0, max).join(', ')}, ... (${keys.length} in all)` : keys.join(', '));

function unknownField(e: ErrorObject, spec: unknown, hide: (k: string) => string): string {
  const extra = String((e.params as { additionalProperty?: unknown }).additionalProperty ?? '');
  const shown = hide(extra);
  const where = e.instancePath ? `under ${keysOf(e.instancePath).map(hide).join('.')}` : 'at the top level';
  const known = propertiesOf(schemaAt(spec, e.schemaPath));
  const near = shown === extra ? nearest(extra, known) : undefined;
  const hint = near ? ` (did you mean ${JSON.stringify(near)}?)` : known.length ? `; the spec's fields there: ${listOf(known)}` : '';
  return `${keysOf(e.instancePath).map(hide).map(seg).join('')}${seg(shown)}: unknown field ${JSON.stringify(shown)}: the spec allows no other fields ${where}${hint}`;
}

/** The config's errors against the spec, one line each: JSON pointer and the rule, never a value. */
export function describeConfigErrors(errors: readonly ErrorObject[] | null | undefined, spec: unknown, opts: { secrets?: readonly string[] | undefined; maxErrors?: number } = {}): string[] {
  const secrets = new Set((opts.secrets ?? []).filter((s) => s.length >= 4));
  const hide = (k: string) => ([...secrets].some((s) => k.includes(s)) ? MASK : k);
  const max = Math.max(1, opts.maxErrors ?? 20);
  const out: string[] = [];
  const seen = new Set<string>();
  for (const e of errors ?? []) {
    const at = keysOf(e.instancePath).map(hide).map(seg).join('') || '/';
    // formatAjvErrors says `<instancePath or />: <rule>`: the same with the path's keys masked
    const lines = e.keyword === 'additionalProperties' ? [unknownField(e, spec, hide)] : formatAjvErrors([e]).map((l) => at + l.slice((e.instancePath || '/').length));
    for (const l of lines) {
      if (seen.has(l)) continue;
      seen.add(l);
      out.push(l);
    }
  }
  if (out.length > max) {
    const rest = out.length - max;
    out.length = max;
    out.push(`... and ${rest} more error${rest === 1 ? '' : 's'}`);
  }
  return out;
}

/** The top-level fields a spec marks secret. */
function secretFields(spec: unknown): Set<string> {
  const props = isPlainObject(spec) ? (spec as Record<string, unknown>)['properties'] : undefined;
  const out = new Set<string>();
  if (isPlainObject(props)) {
    for (const [k, v] of Object.entries(props)) if (isPlainObject(v) && (v['airbyte_secret'] === true || v['secret'] === true || v['writeOnly'] === true)) out.add(k);
  }
  return out;
}

/**
 * The message for a config the spec refuses. With no config file given and required top-level
 * fields missing, it says so and names them; otherwise "the config F does not match the
 * connector's spec:" and one line per error.
 */
export function configMismatchMessage(errors: readonly ErrorObject[] | null | undefined, spec: unknown, ctx: ConfigMismatchContext = {}): string {
  const who = ctx.who ?? 'connector';
  const option = ctx.option ?? '--config';
  const files = ctx.files ?? [];
  const list = [...(errors ?? [])];
  if (!(ctx.given ?? files.length > 0)) {
    const missing = list.filter((e) => e.keyword === 'required' && e.instancePath === '').map((e) => String((e.params as { missingProperty?: unknown }).missingProperty));
    if (missing.length > 0) {
      const secret = secretFields(spec);
      const names = [...new Set(missing)].map((m) => (secret.has(m) ? `${m} (secret)` : m));
      const rest = describeConfigErrors(
        list.filter((e) => !(e.keyword === 'required' && e.instancePath === '')),
        spec,
        { secrets: ctx.secrets },
      );
      return `no ${option} given; the ${who}'s spec requires: ${names.join(', ')}. Write ${names.length > 1 ? 'them' : 'it'} into a JSON or YAML file and pass it with ${option} FILE (\`host spec\` shows every field)${rest.length ? `; and:\n  ${rest.join('\n  ')}` : ''}`;
    }
  }
  const lines = describeConfigErrors(list, spec, { secrets: ctx.secrets });
  const name = files.length ? ` ${files.join(', ')}` : '';
  return `the ${who === 'connector' ? '' : `${who} `}config${name} does not match the ${who}'s spec:\n  ${lines.join('\n  ')}`;
}
