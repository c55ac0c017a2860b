// connector-host/kit: write a connector as a definition; the kit speaks the protocol.
//
//   import { defineSource } from 'connector-host/kit';
//   export default defineSource({ spec, streams: { users: { primaryKey: 'id', async *read({ config, state }) { ... } } } });
//
// A file exporting a definition runs with `host read ./source.mjs` (through dist/kit/run.js) or as
// `node dist/kit/run.js /abs/source.mjs spec|check|discover|read ...` on any Airbyte-protocol platform.

import { writeLog, type Level } from './internal.js';
import { LosslessNumber, parseJson, stringifyJson, type KitJson } from './json.js';

export { LosslessNumber, parseJson, stringifyJson, type KitJson, type Level };

/** Marks a kit definition (shared by every copy of the kit: Symbol.for). */
export const KIT_TAG: unique symbol = Symbol.for('connector-host.kit') as never;

export type JsonSchema = { [key: string]: unknown };
/** A JSON Schema of the config (connectionSpecification), or a whole SPEC ({ connectionSpecification, documentationUrl, ... }). */
export type Spec = JsonSchema;

/** A record: a JSON object. Integers beyond 2^53 may be BigInt (written as bare integers). */
export type DataRecord = { [key: string]: unknown };
/** A stream's own state, persisted between runs (JSON values; BigInt allowed). */
export type StreamState = { [key: string]: unknown };

export interface Log {
  (message: unknown, level?: Level): void;
  debug(message: unknown): void;
  info(message: unknown): void;
  warn(message: unknown): void;
  error(message: unknown): void;
}

/** Write a LOG message (stdout, in order with the records). */
export const log: Log = Object.assign((message: unknown, level: Level = 'INFO') => writeLog(message, level), {
  debug: (m: unknown) => writeLog(m, 'DEBUG'),
  info: (m: unknown) => writeLog(m, 'INFO'),
  warn: (m: unknown) => writeLog(m, 'WARN'),
  error: (m: unknown) => writeLog(m, 'ERROR'),
});

/** The config is wrong (bad credentials, a missing field): failure_type config_error, check FAILED. */
export class ConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** A failure worth retrying (a 503, a timeout): what retry() retries by default. */
export class TransientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransientError';
  }
}

// ---------------------------------------------------------------- sources

export interface CheckContext<C> {
  config: C;
  log: Log;
}

export interface ReadContext<C> {
  config: C;
  /** This stream's state (from the last run; {} the first time or in full refresh). Set keys on it. */
  state: StreamState;
  log: Log;
  stream: string;
  /** 'incremental' or 'full_refresh', as the configured catalog asks. */
  syncMode: 'incremental' | 'full_refresh';
}

export interface StreamDefinition<C = DataRecord, R extends object = DataRecord> {
  /** A field name, a path (['a', 'b']), or several keys ([['a'], ['b']]). */
  primaryKey?: string | string[] | string[][];
  /** The cursor field (or path): the kit keeps state[cursor] = the max value seen, unless read() sets it. */
  cursor?: string | string[];
  /** The record's JSON Schema; left out, discover infers one from the first 100 records. */
  schema?: JsonSchema;
  /** append (default): incremental when a cursor is set; replace: full refresh, overwrite; merge: incremental, deduped on primaryKey. */
  writeDisposition?: 'append' | 'replace' | 'merge';
  namespace?: string;
  /** How many records a read will produce (a TRACE ESTIMATE: the progress view shows an ETA). */
  estimate?(ctx: ReadContext<C>): number | bigint | null | undefined | Promise<number | bigint | null | undefined>;
  /** Yield records, or arrays of records (a STATE follows each array). */
  read(ctx: ReadContext<C>): AsyncIterable<R | R[]> | Iterable<R | R[]>;
}

// records are objects: an interface without an index signature is fine, a number or string is not
export type Streams<C> = { [name: string]: StreamDefinition<C, object> };

export interface SourceInput<C = DataRecord> {
  spec?: Spec;
  /** Throw (ConfigError or any Error) when the config does not work; returning means SUCCEEDED. */
  check?(ctx: CheckContext<C>): void | Promise<void>;
  /** The streams, or a function of the config returning them. */
  streams: Streams<C> | ((config: C) => Streams<C> | Promise<Streams<C>>);
}

export interface SourceDefinition<C = DataRecord> extends SourceInput<C> {
  readonly [KIT_TAG]: true;
  readonly kind: 'source';
}

/** A source: spec, optional check, streams with async generators. `C` types the config. */
export function defineSource<C = DataRecord>(def: SourceInput<C>): SourceDefinition<C> {
  if (!def || typeof def !== 'object') throw new TypeError('defineSource() takes an object: { spec, streams: { name: { read } } }');
  return tag(def, 'source') as SourceDefinition<C>;
}

// ---------------------------------------------------------------- destinations

/** One stream of the configured catalog, as the destination sees it. */
export interface ConfiguredStream {
  name: string;
  namespace: string | null;
  syncMode: string;
  /** append, overwrite or append_dedup. */
  destinationSyncMode: string;
  primaryKey: string[][];
  cursorField: string[];
  jsonSchema: JsonSchema;
  /** The configured stream as received. */
  raw: DataRecord;
}

export interface ConfiguredCatalog {
  streams: ConfiguredStream[];
  /** The configured catalog as received. */
  raw: DataRecord;
}

export interface DestinationContext<C> {
  config: C;
  catalog: ConfiguredCatalog;
  log: Log;
}

export interface WriteContext<C> extends DestinationContext<C> {
  namespace: string | null;
  /** The stream's entry in the configured catalog (undefined if the catalog does not list it). */
  configured: ConfiguredStream | undefined;
}

export interface DestinationInput<C = DataRecord> {
  spec?: Spec;
  check?(ctx: CheckContext<C>): void | Promise<void>;
  /** Before the first record. */
  open?(ctx: DestinationContext<C>): void | Promise<void>;
  /** Records of one stream, in order (large integers as BigInt, long decimals as LosslessNumber). */
  writeBatch(stream: string, records: DataRecord[], ctx: WriteContext<C>): void | Promise<void>;
  /** Make everything written so far durable: the kit acknowledges a STATE only after this returned. */
  commit?(ctx: DestinationContext<C>): void | Promise<void>;
  /** At the end of input, after the last commit. */
  close?(ctx: DestinationContext<C>): void | Promise<void>;
  /** Records per writeBatch call at most (default 1000). */
  batchSize?: number;
}

export interface DestinationDefinition<C = DataRecord> extends DestinationInput<C> {
  readonly [KIT_TAG]: true;
  readonly kind: 'destination';
}

/** A destination: writeBatch, commit (each STATE is acknowledged after it), close. */
export function defineDestination<C = DataRecord>(def: DestinationInput<C>): DestinationDefinition<C> {
  if (!def || typeof def !== 'object') throw new TypeError('defineDestination() takes an object: { spec, writeBatch, commit }');
  return tag(def, 'destination') as DestinationDefinition<C>;
}

// ---------------------------------------------------------------- processors

export interface ProcessorContext {
  stream: string;
  namespace: string | null;
  /** From --processor-vars: {"args": [...], "kwargs": {...}}. */
  args: unknown[];
  kwargs: { [key: string]: unknown };
  log: Log;
}

interface ProcessorCommon {
  /** The streams it applies to (left out: all). */
  streams?: string[];
  /** The output schema of streams whose shape it changes. */
  schemas?: { [stream: string]: JsonSchema };
}

export interface RecordProcessorInput<R extends DataRecord = DataRecord> extends ProcessorCommon {
  batch?: false;
  /** A record in; a record (changed), null/undefined (dropped) or an array (split) out. */
  process(record: R, ctx: ProcessorContext): DataRecord | DataRecord[] | null | undefined | void | Promise<DataRecord | DataRecord[] | null | undefined | void>;
}

export interface BatchProcessorInput<R extends DataRecord = DataRecord> extends ProcessorCommon {
  batch: true;
  /** A batch in, the records that replace it out. */
  process(records: R[], ctx: ProcessorContext): DataRecord[] | Promise<DataRecord[]>;
}

export type ProcessorInput<R extends DataRecord = DataRecord> = RecordProcessorInput<R> | BatchProcessorInput<R>;

export type ProcessorDefinition<R extends DataRecord = DataRecord> = ProcessorInput<R> & {
  readonly [KIT_TAG]: true;
  readonly kind: 'processor';
};

/** A record processor (`--processor ./clean.mjs:name`): per record, or per batch with batch: true. */
export function defineProcessor<R extends DataRecord = DataRecord>(def: ProcessorInput<R>): ProcessorDefinition<R> {
  if (!def || typeof def !== 'object' || typeof def.process !== 'function') throw new TypeError('defineProcessor() takes an object with a process(record, ctx) function');
  return tag(def, 'processor') as ProcessorDefinition<R>;
}

// ---------------------------------------------------------------- shared

export type KitDefinition = SourceDefinition<any> | DestinationDefinition<any> | ProcessorDefinition<any>;

export function isKitDefinition(v: unknown): v is KitDefinition {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[KIT_TAG] === true;
}

function tag<T extends object>(def: T, kind: KitDefinition['kind']): T {
  Object.defineProperty(def, KIT_TAG, { value: true, enumerable: false });
  Object.defineProperty(def, 'kind', { value: kind, enumerable: false });
  return def;
}

export interface RetryOptions {
  /** Tries in all (default 5). */
  attempts?: number;
  /** First wait in ms (default 500), doubled each time, with jitter. */
  backoffMs?: number;
  /** Longest wait in ms (default 30000). */
  maxBackoffMs?: number;
  /** Which errors to retry (default: TransientError and network errors such as ECONNRESET, ETIMEDOUT, fetch failures). */
  on?: (err: unknown) => boolean;
}

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EAI_AGAIN', 'EPIPE', 'ENOTFOUND', 'ENETUNREACH', 'EHOSTUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** The default of retry({ on }): TransientError, a network error, or fetch()'s "fetch failed" caused by one. */
export function isTransient(err: unknown): boolean {
  if (err instanceof TransientError || (err instanceof Error && err.name === 'TransientError')) return true;
  if (err instanceof Error && err.name === 'TimeoutError') return true;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  if (err instanceof TypeError && err.message === 'fetch failed') return true;
  return false;
}

/**
 * Call fn until it succeeds: exponential backoff with jitter, a LOG WARN per retry; the last
 * error is thrown again (errors that are not transient at once).
 */
export async function retry<T>(fn: (attempt: number) => T | Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const attempts = Math.max(1, opts.attempts ?? 5);
  const base = opts.backoffMs ?? 500;
  const max = opts.maxBackoffMs ?? 30_000;
  const on = opts.on ?? isTransient;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= attempts || !on(err)) throw err;
      const wait = Math.round(Math.min(max, base * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2));
      const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      writeLog(`retry ${attempt}/${attempts - 1} in ${wait} ms after ${what}`, 'WARN');
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
