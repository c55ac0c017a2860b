// Conformance checks beside the golden comparison, after the checks Airbyte's
// connector acceptance tests make. Profiles: `airbyte` (draft-07 schemas,
// airbyte_secret, no LEGACY state) and `singer` (draft-04 idioms accepted,
// secrets from `secret`/`writeOnly`, state one opaque blob).

import { Ajv } from 'ajv';
import { isPlainObject, toPlain, defineOwn, type LosslessValue } from '../json/lossless.js';
import type { Msg, Transcript } from './transcript.js';
import { ofType } from './transcript.js';
import { getPath, canonical, recordKey } from './normalise.js';
import { displayStream } from '../state/state.js';
import { describeConfigErrors } from '../config/spec-errors.js';

export type Profile = 'airbyte' | 'singer';

export interface Check {
  name: string;
  ok: boolean;
  message: string;
  skipped?: string;
}

const SECRET_NAME = /(pass(word|wd|phrase)?|secret|token|api_?key|access_?key|private_?key|credential)/i;
const NOT_SECRET = /(_url|_uri|_path|_file|_type|_method|_name|_id|_expires?(_at|_in)?)$/i;

/** Draft-04 idioms (boolean exclusiveMaximum/Minimum, `id`) rewritten as draft-07, for the Singer profile. */
export function fromDraft04(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(fromDraft04);
  if (!isPlainObject(schema)) return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) defineOwn(out, k, fromDraft04(v));
  for (const [ex, bound] of [
    ['exclusiveMaximum', 'maximum'],
    ['exclusiveMinimum', 'minimum'],
  ] as const) {
    if (typeof out[ex] === 'boolean') {
      if (out[ex] === true && typeof out[bound] === 'number') {
        out[ex] = out[bound];
        delete out[bound];
      } else delete out[ex];
    }
  }
  if (typeof out['id'] === 'string' && out['$schema'] === undefined) delete out['id'];
  if (typeof out['$schema'] === 'string' && out['$schema'].includes('draft-04')) delete out['$schema'];
  return out;
}

let ajv: Ajv | undefined;
function schemaAjv(): Ajv {
  // multipleOfPrecision: float multipleOf (0.01) as real taps write it
  return (ajv ??= new Ajv({ strict: false, allErrors: true, validateFormats: false, addUsedSchema: false, multipleOfPrecision: 9 }));
}

/** The schema as ajv compiles it: draft-04 idioms rewritten under the Singer profile, a foreign $schema dropped. */
function prepare(schema: unknown, profile: Profile): Record<string, unknown> | undefined {
  const s = profile === 'singer' ? fromDraft04(toPlain(schema as LosslessValue)) : toPlain(schema as LosslessValue);
  if (!isPlainObject(s)) return undefined;
  const copy = { ...s };
  if (typeof copy['$schema'] === 'string' && !copy['$schema'].includes('draft-07')) delete copy['$schema'];
  return copy;
}

/** A validator for a schema, or a string saying why it cannot be compiled. */
export function compileFor(schema: unknown, profile: Profile): ReturnType<Ajv['compile']> | string {
  try {
    return schemaAjv().compile(prepare(schema, profile) ?? {});
  } catch (e) {
    return (e as Error).message;
  }
}

/** Is this a valid JSON Schema (draft-07, or draft-04 idioms under the Singer profile)? Returns problems. */
export function schemaProblems(schema: unknown, profile: Profile): string[] {
  const copy = prepare(schema, profile);
  if (!copy) return ['the schema is not an object'];
  const a = schemaAjv();
  if (!a.validateSchema(copy)) return (a.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || '/'}: ${e.message}`);
  const v = compileFor(schema, profile);
  return typeof v === 'string' ? [v] : [];
}

/** Property paths that look like secrets but are not annotated as secret. */
export function unannotatedSecrets(schema: unknown, profile: Profile, base = ''): string[] {
  const out: string[] = [];
  if (!isPlainObject(schema)) return out;
  const props = schema['properties'];
  if (isPlainObject(props)) {
    for (const [name, sub] of Object.entries(props)) {
      if (!isPlainObject(sub)) continue;
      const path = base ? `${base}.${name}` : name;
      const marked = profile === 'airbyte' ? sub['airbyte_secret'] === true : sub['secret'] === true || sub['writeOnly'] === true || sub['airbyte_secret'] === true;
      const stringy = sub['type'] === 'string' || (Array.isArray(sub['type']) && sub['type'].includes('string')) || sub['type'] === undefined;
      if (SECRET_NAME.test(name) && !NOT_SECRET.test(name) && stringy && !marked && !isPlainObject(sub['properties'])) out.push(path);
      out.push(...unannotatedSecrets(sub, profile, path));
    }
  }
  for (const key of ['oneOf', 'anyOf', 'allOf']) {
    const b = schema[key];
    if (Array.isArray(b)) for (const x of b) out.push(...unannotatedSecrets(x, profile, base));
  }
  return [...new Set(out)];
}

const pass = (name: string, message = 'ok'): Check => ({ name, ok: true, message });
const fail = (name: string, message: string): Check => ({ name, ok: false, message });

export function checkSpec(t: Transcript, config: LosslessValue, profile: Profile): Check[] {
  const specs = ofType(t, 'SPEC');
  if (specs.length !== 1) return [fail('spec.one_spec', `expected exactly one SPEC message, got ${specs.length}`)];
  const cs = (specs[0]!['spec'] as Msg | undefined)?.['connectionSpecification'];
  const out: Check[] = [pass('spec.one_spec')];
  const problems = schemaProblems(cs, profile);
  out.push(problems.length ? fail('spec.valid_schema', `connectionSpecification is not a valid JSON Schema: ${problems.join('; ')}`) : pass('spec.valid_schema'));
  const secrets = unannotatedSecrets(cs, profile);
  const how = profile === 'airbyte' ? '"airbyte_secret": true' : '"secret": true or "writeOnly": true';
  out.push(secrets.length ? fail('spec.secrets_annotated', `properties that look secret lack ${how}: ${secrets.join(', ')}`) : pass('spec.secrets_annotated'));
  const v = problems.length ? undefined : compileFor(cs, profile);
  if (typeof v === 'function') {
    out.push(
      v(toPlain(config))
        ? pass('spec.config_valid')
        : fail('spec.config_valid', `the case's config does not match the spec: ${describeConfigErrors(v.errors, toPlain(cs ?? null), { maxErrors: 5 }).join('; ')}`),
    );
  }
  return out;
}

export type CheckOutcome = 'SUCCEEDED' | 'FAILED' | 'ERROR';

export function checkOutcomeOf(t: Transcript): CheckOutcome | undefined {
  const st = ofType(t, 'CONNECTION_STATUS');
  if (st.length) return String((st[0]!['connectionStatus'] as Msg)['status']) as CheckOutcome;
  const errors = ofType(t, 'TRACE').filter((m) => (m['trace'] as Msg)['type'] === 'ERROR');
  return errors.length ? 'ERROR' : undefined;
}

export function checkCheck(t: Transcript, expected: CheckOutcome): Check[] {
  const st = ofType(t, 'CONNECTION_STATUS');
  const errors = ofType(t, 'TRACE').filter((m) => (m['trace'] as Msg)['type'] === 'ERROR');
  const one = st.length === 1 || (st.length === 0 && errors.length === 1);
  const out = [
    one
      ? pass('check.one_status')
      : fail('check.one_status', `expected exactly one CONNECTION_STATUS (or one TRACE ERROR), got ${st.length} CONNECTION_STATUS and ${errors.length} TRACE ERROR (exit ${t.exitCode ?? t.signal})`),
  ];
  const actual = checkOutcomeOf(t);
  // with no status at all, one_status has said what is wrong
  if (actual !== undefined) out.push(actual === expected ? pass('check.outcome') : fail('check.outcome', `expected ${expected}, got ${actual}`));
  return out;
}

function streamsOf(catalogMsg: Msg | undefined): Msg[] {
  const cat = catalogMsg?.['catalog'];
  return isPlainObject(cat) && Array.isArray(cat['streams']) ? (cat['streams'] as Msg[]) : [];
}

/** Does a field path exist in a JSON Schema (through nested `properties`)? */
function inSchema(schema: LosslessValue | undefined, path: string[]): boolean {
  let cur = schema;
  for (const p of path) {
    const props = isPlainObject(cur) ? cur['properties'] : undefined;
    if (!isPlainObject(props) || !(p in props)) return false;
    cur = props[p];
  }
  return true;
}

export function checkDiscover(t: Transcript, profile: Profile): Check[] {
  const cats = ofType(t, 'CATALOG');
  if (cats.length !== 1) return [fail('discover.one_catalog', `expected exactly one CATALOG message, got ${cats.length}`)];
  const streams = streamsOf(cats[0]);
  const out: Check[] = [pass('discover.one_catalog')];
  const names = streams.map((s) => displayStream(String(s['name']), s['namespace'] as string | undefined));
  const dups = [...new Set(names.filter((n, i) => names.indexOf(n) !== i))];
  out.push(dups.length ? fail('discover.unique_names', `stream names are not unique: ${dups.join(', ')}`) : pass('discover.unique_names'));
  const bad: string[] = [];
  const keys: string[] = [];
  const modes: string[] = [];
  streams.forEach((s, i) => {
    const n = names[i]!;
    const p = schemaProblems(s['json_schema'], profile);
    if (p.length) bad.push(`${n}: ${p.join('; ')}`);
    const cursor = s['default_cursor_field'];
    if (Array.isArray(cursor) && cursor.length && !inSchema(s['json_schema'], cursor.map(String))) keys.push(`${n}: cursor ${cursor.join('.')} is not in the schema`);
    const pk = s['source_defined_primary_key'];
    if (Array.isArray(pk)) for (const k of pk) if (Array.isArray(k) && !inSchema(s['json_schema'], k.map(String))) keys.push(`${n}: primary key ${k.join('.')} is not in the schema`);
    if (!Array.isArray(s['supported_sync_modes']) || s['supported_sync_modes'].length === 0) modes.push(n);
  });
  out.push(bad.length ? fail('discover.valid_schemas', bad.join('; ')) : pass('discover.valid_schemas'));
  out.push(keys.length ? fail('discover.keys_in_schema', keys.join('; ')) : pass('discover.keys_in_schema'));
  out.push(modes.length ? fail('discover.sync_modes', `supported_sync_modes is empty for ${modes.join(', ')}`) : pass('discover.sync_modes'));
  return out;
}

export interface ConfiguredLike {
  stream: { name: string; namespace?: string | null; json_schema?: unknown };
  sync_mode: string;
  primary_key?: string[][];
}

const ORDER: Record<string, number> = { STARTED: 0, RUNNING: 1, COMPLETE: 2, INCOMPLETE: 2 };

export function checkRead(t: Transcript, configured: ConfiguredLike[], profile: Profile, label = 'read'): Check[] {
  const out: Check[] = [];
  const byName = new Map(configured.map((c) => [displayStream(c.stream.name, c.stream.namespace), c]));
  const records = ofType(t, 'RECORD').map((m) => m['record'] as Msg);
  const foreign = [...new Set(records.map((r) => displayStream(String(r['stream']), r['namespace'] as string | undefined)).filter((n) => !byName.has(n)))];
  out.push(foreign.length ? fail(`${label}.streams_in_catalog`, `records for streams not in the configured catalog: ${foreign.join(', ')}`) : pass(`${label}.streams_in_catalog`));

  const mismatches: string[] = [];
  let mismatchCount = 0;
  const validators = new Map<string, ReturnType<typeof compileFor>>();
  for (const r of records) {
    const name = displayStream(String(r['stream']), r['namespace'] as string | undefined);
    const c = byName.get(name);
    if (!c) continue;
    let v = validators.get(name);
    if (!v) validators.set(name, (v = compileFor(c.stream.json_schema ?? {}, profile)));
    if (typeof v === 'string') {
      if (mismatchCount++ === 0) mismatches.push(`${name}: its schema cannot be used (${v})`);
      continue;
    }
    if (!v(toPlain(r['data'] as LosslessValue))) {
      mismatchCount++;
      if (mismatches.length < 5) {
        const e = v.errors?.[0];
        mismatches.push(`${name} record ${recordKey(r['data'] as LosslessValue, c.primary_key)}: ${e?.instancePath || '/'} ${e?.message ?? 'invalid'}`);
      }
    }
  }
  out.push(mismatchCount ? fail(`${label}.records_match_schema`, `${mismatchCount} record(s) do not match their stream's schema; first: ${mismatches.join('; ')}`) : pass(`${label}.records_match_schema`));

  const states = ofType(t, 'STATE').map((m) => m['state'] as Msg);
  const legacy = states.filter((s) => s['type'] !== 'STREAM' && s['type'] !== 'GLOBAL');
  if (profile === 'airbyte') out.push(legacy.length ? fail(`${label}.no_legacy_state`, `${legacy.length} LEGACY state message(s); the Airbyte profile expects STREAM or GLOBAL state`) : pass(`${label}.no_legacy_state`));
  const withState = new Set<string>();
  let global = false;
  for (const s of states) {
    if (s['type'] === 'STREAM') {
      const d = (s['stream'] as Msg | undefined)?.['stream_descriptor'] as Msg | undefined;
      if (d) withState.add(displayStream(String(d['name']), d['namespace'] as string | undefined));
    } else global = true; // GLOBAL, LEGACY, a Singer blob: one state for the whole sync
  }
  const missing = configured
    .filter((c) => c.sync_mode === 'incremental')
    .map((c) => displayStream(c.stream.name, c.stream.namespace))
    .filter((n) => !withState.has(n) && !global);
  out.push(missing.length ? fail(`${label}.state_per_incremental_stream`, `no STATE for incremental stream(s): ${missing.join(', ')}`) : pass(`${label}.state_per_incremental_stream`));

  const last = new Map<string, string>();
  const wrong: string[] = [];
  for (const m of ofType(t, 'TRACE')) {
    const tr = m['trace'] as Msg;
    if (tr['type'] !== 'STREAM_STATUS') continue;
    const ss = tr['stream_status'] as Msg;
    const d = ss['stream_descriptor'] as Msg;
    const n = displayStream(String(d['name']), d['namespace'] as string | undefined);
    const st = String(ss['status']);
    const prev = last.get(n);
    const ok = prev === undefined ? st === 'STARTED' : ORDER[st] !== undefined && ORDER[prev]! < 2 && ORDER[st]! >= ORDER[prev]! && !(st === 'STARTED');
    if (!ok) wrong.push(`${n}: ${prev ?? '(none)'} -> ${st}`);
    last.set(n, st);
  }
  out.push(wrong.length ? fail(`${label}.status_order`, `stream statuses out of order: ${wrong.join('; ')}`) : pass(`${label}.status_order`));
  return out;
}

/** The highest cursor value per incremental stream among a read's records. */
export function maxCursors(t: Transcript, cursors: Map<string, string[]>, cmp: (a: LosslessValue | undefined, b: LosslessValue | undefined) => number): Map<string, LosslessValue> {
  const out = new Map<string, LosslessValue>();
  for (const m of ofType(t, 'RECORD')) {
    const r = m['record'] as Msg;
    const n = displayStream(String(r['stream']), r['namespace'] as string | undefined);
    const path = cursors.get(n);
    if (!path) continue;
    const v = getPath(r['data'] as LosslessValue, path);
    if (v === undefined || v === null) continue;
    const cur = out.get(n);
    if (cur === undefined || cmp(v, cur) > 0) out.set(n, v);
  }
  return out;
}

export function checkIncremental(second: Transcript, firstMax: Map<string, LosslessValue>, cursors: Map<string, string[]>, cmp: (a: LosslessValue | undefined, b: LosslessValue | undefined) => number): Check {
  const below: string[] = [];
  for (const m of ofType(second, 'RECORD')) {
    const r = m['record'] as Msg;
    const n = displayStream(String(r['stream']), r['namespace'] as string | undefined);
    const path = cursors.get(n);
    const max = firstMax.get(n);
    if (!path || max === undefined) continue;
    const v = getPath(r['data'] as LosslessValue, path);
    if (cmp(v, max) < 0 && below.length < 5) below.push(`${n}: ${path.join('.')} = ${canonical(v ?? null)} is below ${canonical(max)}`);
  }
  return below.length ? fail('incremental.cursor_not_below', `the read from the saved state returned records the first read already passed: ${below.join('; ')}`) : pass('incremental.cursor_not_below');
}

/** A STATE as sent: its line in write/input.jsonl and the state object. */
export interface SentState {
  line: number;
  state: LosslessValue;
}

/** A state compared by content: the `id` a host may attach and a destination's own `destinationStats` left out. */
function stateKey(s: LosslessValue): string {
  if (!isPlainObject(s)) return canonical(s);
  const o: Record<string, LosslessValue> = {};
  for (const [k, v] of Object.entries(s)) if (k !== 'id' && k !== 'destinationStats') defineOwn(o, k, v);
  return canonical(o);
}

const brief = (v: LosslessValue) => {
  const s = canonical(v);
  return s.length > 160 ? `${s.slice(0, 157)}...` : s;
};

/**
 * The write step's rules for a destination: every STATE it prints is one it was sent, in the
 * order it was sent, none twice, and the last one sent is acknowledged (at the end of its input
 * a destination commits and says so).
 */
export function checkWrite(t: Transcript, sent: SentState[], where = 'write/input.jsonl'): Check[] {
  const keys = sent.map((s) => stateKey(s.state));
  const acked = new Set<number>();
  let last = -1;
  const foreign: string[] = [];
  const twice: string[] = [];
  const order: string[] = [];
  const acks = ofType(t, 'STATE');
  for (const m of acks) {
    const k = stateKey(m['state'] as LosslessValue);
    let j = keys.findIndex((x, i) => i > last && x === k && !acked.has(i));
    if (j >= 0) {
      acked.add(j);
      last = j;
      continue;
    }
    j = keys.findIndex((x, i) => x === k && !acked.has(i));
    if (j >= 0) {
      order.push(`the STATE of line ${sent[j]!.line} after the one of line ${sent[last]!.line}`);
      acked.add(j);
      continue;
    }
    const i = keys.indexOf(k);
    if (i >= 0) twice.push(`the STATE of line ${sent[i]!.line}`);
    else foreign.push(brief(m['state'] as LosslessValue));
  }
  const out: Check[] = [];
  out.push(foreign.length ? fail('write.acks_were_sent', `acknowledged ${foreign.length} STATE message(s) it was not sent (not in ${where}); first: ${foreign[0]}`) : pass('write.acks_were_sent'));
  out.push(twice.length ? fail('write.acks_once', `acknowledged ${[...new Set(twice)].join(', ')} of ${where} more than once`) : pass('write.acks_once'));
  out.push(order.length ? fail('write.acks_in_order', `acknowledged out of input order: ${order.slice(0, 3).join('; ')}`) : pass('write.acks_in_order'));
  if (sent.length > 0) {
    const lastSent = sent[sent.length - 1]!;
    out.push(
      acked.has(sent.length - 1)
        ? pass('write.last_state_acknowledged')
        : fail('write.last_state_acknowledged', `never acknowledged the last STATE it was sent (line ${lastSent.line} of ${where}: ${brief(lastSent.state)}); ${acked.size === 0 ? `it acknowledged none of the ${sent.length}` : `it acknowledged ${acked.size} of ${sent.length}`}`),
    );
  }
  return out;
}
