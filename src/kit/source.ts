// Runs a defineSource() definition as an Airbyte-protocol source: spec, check, discover, read.

import { basename } from 'node:path';
import type { SourceDefinition, StreamDefinition, StreamState, ReadContext, Streams, JsonSchema } from './index.js';
import { stringifyJson, LosslessNumber as KitLosslessNumber } from './json.js';
import { LosslessNumber } from '../json/lossless.js';
import { inferSchema } from './infer.js';
import { functionLocation } from './where.js';
import { parseArgs, readJsonFile, loadConfig, fullSpec, fail, finish, describe, isConfigError, output, log, UsageFailure, type Args } from './common.js';
import { kitState } from './internal.js';

const LIMIT = 64 * 1024;
const SAMPLE = 100;

type Desc = { name: string; namespace?: string | undefined };

function descriptor(name: string, namespace: string | undefined): Desc {
  return namespace ? { name, namespace } : { name };
}

function trace(type: string, body: Record<string, unknown>): void {
  output.push(JSON.stringify({ type: 'TRACE', trace: { type, emitted_at: Date.now(), ...body } }));
}

function status(d: Desc, s: 'STARTED' | 'RUNNING' | 'COMPLETE' | 'INCOMPLETE'): void {
  trace('STREAM_STATUS', { stream_status: { stream_descriptor: d, status: s } });
}

function pathOf(p: string | string[] | undefined): string[] | undefined {
  if (p === undefined) return undefined;
  return Array.isArray(p) ? p.map(String) : [String(p)];
}

function primaryKeyOf(pk: StreamDefinition['primaryKey']): string[][] | undefined {
  if (pk === undefined || pk === null) return undefined;
  if (typeof pk === 'string') return [[pk]];
  if (Array.isArray(pk) && pk.every((k) => typeof k === 'string')) return (pk as string[]).map((k) => [k]);
  return (pk as string[][]).map((k) => (Array.isArray(k) ? k.map(String) : [String(k)]));
}

function getIn(v: unknown, path: string[]): unknown {
  let cur = v;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, k)) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

function isNumeric(v: unknown): v is number | bigint | LosslessNumber {
  return typeof v === 'number' || typeof v === 'bigint' || v instanceof LosslessNumber;
}

/** a > b for cursor values of one kind (numbers of any representation, strings, dates); other pairs: the newer wins. */
function greater(a: unknown, b: unknown): boolean {
  if (isNumeric(a) && isNumeric(b)) {
    if (typeof a === 'bigint' || typeof b === 'bigint') {
      const x = a instanceof LosslessNumber ? Number(a.raw) : a;
      const y = b instanceof LosslessNumber ? Number(b.raw) : b;
      return x > y;
    }
    return Number(a) > Number(b);
  }
  if (typeof a === 'string' && typeof b === 'string') return a > b;
  return true;
}

function cursorValue(v: unknown): unknown {
  return v instanceof Date ? v.toISOString() : v;
}

async function resolveStreams(def: SourceDefinition<any>, config: unknown): Promise<Streams<any>> {
  const s = typeof def.streams === 'function' ? await def.streams(config) : def.streams;
  if (!s || typeof s !== 'object') throw new UsageFailure('the source definition has no streams object ({ streams: { name: { read } } })', 'system_error');
  for (const [name, st] of Object.entries(s)) {
    if (!st || typeof (st as StreamDefinition).read !== 'function') throw new UsageFailure(`stream "${name}" has no read() function`, 'system_error');
    if ((st as StreamDefinition).writeDisposition === 'merge' && !(st as StreamDefinition).primaryKey) throw new UsageFailure(`stream "${name}" has writeDisposition "merge" but no primaryKey`, 'system_error');
    const wd = (st as StreamDefinition).writeDisposition;
    if (wd !== undefined && wd !== 'append' && wd !== 'replace' && wd !== 'merge') throw new UsageFailure(`stream "${name}": writeDisposition must be append, replace or merge, not ${JSON.stringify(wd)}`, 'system_error');
  }
  return s;
}

function syncModes(st: StreamDefinition): string[] {
  const wd = st.writeDisposition ?? 'append';
  if (wd === 'replace') return ['full_refresh'];
  if (wd === 'merge') return ['full_refresh', 'incremental'];
  return st.cursor !== undefined ? ['full_refresh', 'incremental'] : ['full_refresh'];
}

function iterate(x: unknown): AsyncIterator<unknown> | Iterator<unknown> | undefined {
  if (x && typeof (x as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') return (x as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  if (x && typeof (x as Iterable<unknown>)[Symbol.iterator] === 'function' && typeof x !== 'string') return (x as Iterable<unknown>)[Symbol.iterator]();
  return undefined;
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Date) return 'a Date';
  if (v instanceof Map) return 'a Map';
  return typeof v === 'object' ? `a ${(v as object).constructor?.name ?? 'object'}` : `a ${typeof v}`;
}

function preview(v: unknown): string {
  try {
    const s = typeof v === 'string' ? JSON.stringify(v) : String(v);
    return s.length > 60 ? s.slice(0, 57) + '...' : s;
  } catch {
    return '?';
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Raised for what a stream yielded that is not a record (names stream, function and record number). */
class YieldError extends Error {
  constructor(
    message: string,
    readonly where: string,
  ) {
    super(message);
    this.name = 'TypeError';
  }
}

interface StreamRun {
  name: string;
  namespace: string | undefined;
  def: StreamDefinition<any, any>;
  syncMode: 'incremental' | 'full_refresh';
  state: StreamState;
}

function stateInput(file: string | undefined): (name: string, namespace: string | undefined) => StreamState | undefined {
  if (!file) return () => undefined;
  const raw = readJsonFile(file, 'state');
  const byKey = new Map<string, StreamState>();
  const key = (n: string, ns: unknown) => `${typeof ns === 'string' ? ns : ''}\u0000${n}`;
  const addStream = (s: unknown) => {
    const d = (s as { stream_descriptor?: { name?: unknown; namespace?: unknown } })?.stream_descriptor;
    const st = (s as { stream_state?: unknown })?.stream_state;
    if (d && typeof d.name === 'string' && st && typeof st === 'object' && !Array.isArray(st)) byKey.set(key(d.name, d.namespace), st as StreamState);
  };
  const addMessage = (m: unknown) => {
    if (!m || typeof m !== 'object') return;
    const msg = (m as { type?: unknown; state?: unknown }).type === 'STATE' ? (m as { state: unknown }).state : m;
    const o = msg as { type?: unknown; stream?: unknown; global?: { stream_states?: unknown[] }; data?: unknown };
    if (o.type === 'STREAM' || (o.type === undefined && o.stream)) addStream(o.stream);
    else if (o.type === 'GLOBAL' && Array.isArray(o.global?.stream_states)) o.global.stream_states.forEach(addStream);
    else if (o.data && typeof o.data === 'object') for (const [n, st] of Object.entries(o.data)) if (st && typeof st === 'object') byKey.set(key(n, undefined), st as StreamState);
  };
  if (Array.isArray(raw)) raw.forEach(addMessage);
  else if (raw && typeof raw === 'object') {
    if ('type' in raw || 'stream' in raw || 'data' in raw) addMessage(raw);
    // legacy: { "users": {...}, "events": {...} }
    else for (const [n, st] of Object.entries(raw)) if (st && typeof st === 'object' && !Array.isArray(st)) byKey.set(key(n, undefined), st as StreamState);
  }
  return (name, namespace) => byKey.get(key(name, namespace)) ?? (namespace ? byKey.get(key(name, undefined)) : undefined);
}

export async function runSource(def: SourceDefinition<any>, file: string, argv: string[]): Promise<never> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    return fail(e, file);
  }
  switch (args.command) {
    case 'spec':
      output.line(stringifyJson({ type: 'SPEC', spec: fullSpec(def.spec) }));
      return finish();
    case 'check':
      return check(def, file, args);
    case 'discover':
      return discover(def, file, args);
    case 'read':
      return read(def, file, args);
    case 'write':
      return fail(new UsageFailure(`${basename(file)} names a source, not a destination: it runs spec, check --config F, discover --config F, read --config F --catalog F [--state F]`), file);
    default:
      return fail(new UsageFailure(`${args.command === undefined ? 'no command given' : `unknown command "${args.command}"`}: a source runs spec, check --config F, discover --config F, read --config F --catalog F [--state F]`), file);
  }
}

async function check(def: SourceDefinition<any>, file: string, args: Args): Promise<never> {
  let config;
  try {
    config = loadConfig(args.config, def.spec);
  } catch (e) {
    return fail(e, file);
  }
  let message: string | undefined;
  try {
    if (typeof def.check === 'function') await def.check({ config, log });
    else await resolveStreams(def, config);
  } catch (e) {
    message = kitState.mask(describe(e));
  }
  output.line(JSON.stringify({ type: 'CONNECTION_STATUS', connectionStatus: message === undefined ? { status: 'SUCCEEDED' } : { status: 'FAILED', message } }));
  return finish();
}

async function discover(def: SourceDefinition<any>, file: string, args: Args): Promise<never> {
  let config: Record<string, unknown>;
  let streams: Streams<any>;
  try {
    config = loadConfig(args.config, def.spec);
    streams = await resolveStreams(def, config);
  } catch (e) {
    return fail(e, file, 'discover');
  }
  output.batching = true;
  const out: Record<string, unknown>[] = [];
  for (const [name, st] of Object.entries(streams) as [string, StreamDefinition][]) {
    let schema = st.schema as JsonSchema | undefined;
    if (!schema) {
      try {
        schema = inferSchema(await sample(st, name, config));
      } catch (e) {
        if (isConfigError(e)) return fail(e, file, `discover: sampling stream ${name}`);
        log.warn(kitState.mask(`stream ${name}: no schema declared and reading a sample failed, so its schema is an empty object: ${describe(e)}`));
        schema = { type: 'object', description: 'inferred by connector_host from the first 0 records (reading a sample failed)', 'x-connector-host-inferred': true };
      }
    }
    const entry: Record<string, unknown> = { name, json_schema: schema, supported_sync_modes: syncModes(st) };
    if (st.namespace) entry['namespace'] = st.namespace;
    const cursor = pathOf(st.cursor);
    if (cursor) {
      entry['source_defined_cursor'] = true;
      entry['default_cursor_field'] = cursor;
    }
    const pk = primaryKeyOf(st.primaryKey);
    if (pk) entry['source_defined_primary_key'] = pk;
    out.push(entry);
  }
  output.push(stringifyJson({ type: 'CATALOG', catalog: { streams: out } }));
  return finish();
}

async function sample(st: StreamDefinition<any>, name: string, config: unknown): Promise<unknown[]> {
  const records: unknown[] = [];
  const it = iterate(await st.read({ config, state: {}, log, stream: name, syncMode: 'full_refresh' }));
  if (!it) return records;
  try {
    while (records.length < SAMPLE) {
      const r = await it.next();
      if (r.done) break;
      for (const x of Array.isArray(r.value) ? r.value : [r.value]) if (isRecord(x) && records.length < SAMPLE) records.push(x);
    }
  } finally {
    await it.return?.();
  }
  return records;
}

function configuredStreams(file: string | undefined, streams: Streams<any>): { name: string; namespace: string | undefined; syncMode: 'incremental' | 'full_refresh' }[] {
  const names = Object.keys(streams);
  if (!file) return names.map((n) => ({ name: n, namespace: streams[n]!.namespace, syncMode: streams[n]!.cursor !== undefined || streams[n]!.writeDisposition === 'merge' ? 'incremental' : 'full_refresh' }));
  const cat = readJsonFile(file, 'catalog') as { streams?: unknown };
  if (!cat || typeof cat !== 'object' || !Array.isArray(cat.streams)) throw new UsageFailure(`the catalog file ${file} has no "streams" array`);
  const picked: { name: string; namespace: string | undefined; syncMode: 'incremental' | 'full_refresh' }[] = [];
  for (const c of cat.streams as { stream?: { name?: unknown; namespace?: unknown }; sync_mode?: unknown }[]) {
    const name = c?.stream?.name;
    if (typeof name !== 'string') throw new UsageFailure(`the catalog file ${file} has a stream without a name`);
    if (!Object.hasOwn(streams, name)) {
      // as the Python kit does: a stale catalog entry is skipped with a warning
      log.warn(`the catalog names a stream "${name}" this source does not have (it has: ${names.join(', ') || 'none'}); skipped`);
      continue;
    }
    if (picked.some((p) => p.name === name)) continue;
    const ns = typeof c.stream?.namespace === 'string' ? c.stream.namespace : streams[name]!.namespace;
    picked.push({ name, namespace: ns, syncMode: c.sync_mode === 'incremental' ? 'incremental' : 'full_refresh' });
  }
  return picked;
}

async function read(def: SourceDefinition<any>, file: string, args: Args): Promise<never> {
  let config: Record<string, unknown>;
  let runs: StreamRun[];
  try {
    config = loadConfig(args.config, def.spec);
    const streams = await resolveStreams(def, config);
    const stored = stateInput(args.state);
    runs = configuredStreams(args.catalog, streams).map((c) => ({
      ...c,
      def: streams[c.name]!,
      // a full refresh starts from nothing, as Airbyte sources do
      state: c.syncMode === 'incremental' ? structuredClone(stored(c.name, c.namespace) ?? {}) : {},
    }));
  } catch (e) {
    return fail(e, file, 'read');
  }
  output.batching = true;
  for (const run of runs) {
    const d = descriptor(run.name, run.namespace);
    try {
      await readStream(run, config, d, file);
    } catch (e) {
      status(d, 'INCOMPLETE');
      return fail(e, file, `stream ${run.name}`, d);
    }
  }
  return finish();
}

async function readStream(run: StreamRun, config: unknown, d: Desc, file: string): Promise<void> {
  const { def, state } = run;
  const ctx: ReadContext<any> = { config, state, log, stream: run.name, syncMode: run.syncMode };
  status(d, 'STARTED');
  if (typeof def.estimate === 'function') {
    const n = await def.estimate(ctx);
    if (n !== undefined && n !== null) trace('ESTIMATE', { estimate: { ...d, type: 'STREAM', row_estimate: typeof n === 'bigint' ? Number(n) : n } });
  }
  const cursor = pathOf(def.cursor);
  const cursorKey = cursor?.[0];
  let managed = cursor !== undefined && cursor.length === 1;
  let kitValue: unknown = managed ? state[cursorKey!] : undefined;
  let max: unknown = undefined;
  let seen = false;
  let sinceState = 0;
  let lastState: string | undefined;
  const prefix = `{"type":"RECORD","record":{"stream":${JSON.stringify(run.name)},${run.namespace ? `"namespace":${JSON.stringify(run.namespace)},` : ''}"data":`;
  const emitState = () => {
    if (managed) {
      // the author set state[cursor] themselves: theirs from now on
      if (state[cursorKey!] !== kitValue) managed = false;
      else if (max !== undefined && (state[cursorKey!] === undefined || greater(max, state[cursorKey!]))) {
        state[cursorKey!] = max;
        kitValue = max;
      }
    }
    if (run.syncMode !== 'incremental' && Object.keys(state).length === 0) return;
    const line = stringifyJson({ type: 'STATE', state: { type: 'STREAM', stream: { stream_descriptor: d, stream_state: state } } });
    // the same state again says nothing new (a last page, then the end of the stream)
    if (line === lastState && sinceState === 0) return;
    output.push(line);
    lastState = line;
    sinceState = 0;
  };

  const produced = await def.read(ctx);
  const it = iterate(produced);
  if (!it) throw new YieldError(`read() returned ${kindOf(produced)}, not an iterable: write it as async *read(ctx) { yield record }`, `${(await functionLocation(def.read)) ?? basename(file)} in ${run.name}.read`);
  let n = 0;
  for (;;) {
    const step = await it.next();
    if (step.done) break;
    const v = step.value;
    const list = Array.isArray(v);
    const items = list ? (v as unknown[]) : [v];
    const at = `,"emitted_at":${Date.now()}}}`;
    for (const r of items) {
      n++;
      if (!isRecord(r)) {
        await Promise.resolve(it.return?.(undefined)).catch(() => undefined);
        const at = (await functionLocation(def.read)) ?? basename(file);
        throw new YieldError(`read() yielded ${kindOf(r)} (${preview(r)}) as record ${n}${list ? ' (inside an array)' : ''}; a record is a plain object such as { id: 1 }`, `${at} in ${run.name}.read`);
      }
      if (!seen) {
        seen = true;
        status(d, 'RUNNING');
      }
      output.push(prefix + stringifyJson(r) + at);
      sinceState++;
      if (cursor) {
        const c = cursorValue(getIn(r, cursor));
        if (c !== undefined && c !== null && (max === undefined || greater(c, max))) max = c;
      }
    }
    if (list) emitState();
    if (output.pending >= LIMIT) {
      if (sinceState > 0) emitState();
      await output.flush();
    }
  }
  emitState();
  status(d, 'COMPLETE');
  await output.flush();
}

export { KitLosslessNumber };
