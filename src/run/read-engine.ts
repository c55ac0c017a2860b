// The read data path: child stdout bytes -> line framer -> classifier ->
// records to the sink, states to the checkpointer (inside the sink), logs and
// traces to the logger. One loop, backpressure by not pulling the next chunk
// until the sink has taken the current one.

import type { Logger } from '../log/logger.js';
import { pinoLevel } from '../log/logger.js';
import { LineFramer } from '../io/line-framer.js';
import { isUtf8 } from 'node:buffer';
import { classifyLine, lastRecord, envelopeOf, RECORD, MALFORMED } from '../json/scan.js';
import { parseLossless, stringifyLossless, toPlain, isPlainObject, JsonSyntaxError, MAX_DEPTH, type LosslessValue } from '../json/lossless.js';
import { lookalike, typeText, recordProblem, stateProblem, statedStreams, meantAs } from './message-shape.js';
import type { Masker } from '../secrets/mask.js';
import { spawnConnector, assertStarted, type ConnectorProcess } from '../connector/process.js';
import type { ConnectorRef } from '../connector/resolve.js';
import { HostError, ProtocolError, ConnectorError, TimeoutError, InterruptedError } from '../errors.js';
import { getValidator, compileSchema } from '../protocol/schemas.js';
import type { ReadSink, SinkResult } from './sink.js';
import { endStreams, type RunStream, type StreamTable, type StateMessage } from './streams.js';
import { isEmptyState, displayStream, streamKey } from '../state/state.js';
import type { ProcessorStage, ProcessorOutcome } from './processor.js';

export type ValidateMode = 'off' | 'warn' | 'fail';

export interface EngineOptions {
  ref: ConnectorRef;
  args: string[];
  streams: StreamTable;
  sink: ReadSink;
  logger: Logger;
  masker: Masker;
  maxLineBytes: number;
  validate: ValidateMode;
  /** Invalid UTF-8 in a line: 'replace' (U+FFFD, counted) or 'fail' (for a RECORD or STATE). Default replace. */
  onInvalidUtf8?: 'replace' | 'fail' | undefined;
  heartbeatMs: number;
  killGraceMs: number;
  signal?: AbortSignal | undefined;
  filesDir?: string | undefined;
  /** A CONTROL CONNECTOR_CONFIG message: the connector's new config. */
  onControl?: ((config: LosslessValue) => void) | undefined;
  /**
   * `--limit N`: at most N records per stream reach the sink (later ones are dropped), no STATE
   * reaches it (a state after dropped records must never be committed or passed on), and once
   * every stream has N records or has finished (STREAM_STATUS COMPLETE/INCOMPLETE) the connector
   * is stopped (SIGTERM to its group, SIGKILL after the grace) and the run ends as a success.
   */
  limit?: number | undefined;
  /** `--processor`: the connector's stdout goes through it before anything else (src/run/processor.ts). */
  processor?: ProcessorStage | undefined;
}

/** What `--limit` did: records dropped past the limit per stream (display name), states not passed on. */
export interface LimitOutcome {
  limit: number;
  /** Every stream reached the limit (or finished) and the connector was stopped. */
  stopped: boolean;
  dropped: Map<string, number>;
  statesIgnored: number;
}

export interface TraceFailure {
  message: string;
  failureType: string | undefined;
  internalMessage: string | undefined;
  stream: string | undefined;
}

export interface ReadOutcome {
  ok: boolean;
  error: HostError | undefined;
  streams: RunStream[];
  records: number;
  states: number;
  warnings: number;
  durationMs: number;
  traceError: TraceFailure | undefined;
  sink: SinkResult;
  /** Invalid UTF-8 replaced with U+FFFD: sequences, lines, and lines per stream (STATE lines under "STATE"). */
  invalidUtf8: InvalidUtf8Count;
  /** Set when the read had a `limit`. */
  limited?: LimitOutcome | undefined;
  /** Set when the read had a processor. */
  processor?: ProcessorOutcome | undefined;
}

export interface InvalidUtf8Count {
  sequences: number;
  lines: number;
  byStream: Map<string, number>;
}

// the most parseLossless (json/lossless.ts) nests before it gives up

import { WarningLimiter, MAX_WARNINGS } from '../log/limit.js';
type Validator = ((d: unknown) => boolean) & { errors?: unknown };
const decoder = new TextDecoder();
const REPLACEMENT = Buffer.from([0xef, 0xbf, 0xbd]);

export class ReadEngine {
  private readonly o: EngineOptions;
  private readonly log: Logger;
  private proc: ConnectorProcess | undefined;
  private failure: HostError | undefined;
  private traceError: TraceFailure | undefined;
  private records = 0;
  private states = 0;
  private warnings = 0;
  private activity = 0;
  private readonly validators = new Map<RunStream, Validator>();
  private schemaWarnings = 0;
  private readonly noise: WarningLimiter;
  /** The chunk being framed, when it is valid UTF-8 as a whole: its lines need no check. */
  private utf8Chunk: Buffer | undefined;
  /** The line being handled had invalid UTF-8 (replaced): its number and sequence count. */
  private badUtf8: { lineNo: number; sequences: number } | undefined;
  private readonly invalidUtf8: InvalidUtf8Count = { sequences: 0, lines: 0, byStream: new Map() };
  private readonly foreignStates = new Set<string>();
  private readonly foreignWarnings: WarningLimiter;
  private readonly utf8Warnings: WarningLimiter;
  private readonly limited: LimitOutcome | undefined;
  /** Streams with `limit` records or finished; when all are, the connector is stopped. */
  private readonly satisfied = new Set<RunStream>();

  constructor(o: EngineOptions) {
    this.o = o;
    if (o.limit !== undefined) this.limited = { limit: o.limit, stopped: false, dropped: new Map(o.streams.list.map((x) => [x.display, 0])), statesIgnored: 0 };
    this.log = o.logger.child({ connector: o.ref.name });
    this.noise = new WarningLimiter((m) => this.log.warn(m));
    this.foreignWarnings = new WarningLimiter((m) => this.log.warn(m), { more: 'more streams not in the configured catalog got a STATE (stored, not listed)' });
    this.utf8Warnings = new WarningLimiter((m) => this.log.warn(m), { more: 'more lines had invalid UTF-8 replaced; their count is in the summary' });
  }

  /** Fail the run: remember the first reason and stop the connector. */
  fail(err: HostError): void {
    if (!this.failure) this.failure = err;
    void this.proc?.stop();
  }

  private warn(lineNo: number, what: string, buf: Uint8Array, s: number, e: number): void {
    this.warnings++;
    this.noise.warn(() => `stdout line ${lineNo}: ${what}, ignored: ${this.lineStart(buf, s, e)}`);
  }

  /** The start of a line for a message: masked, quoted, at most 120 bytes. */
  private lineStart(buf: Uint8Array, s: number, e: number): string {
    return `${JSON.stringify(this.o.masker.mask(decoder.decode(buf.subarray(s, Math.min(e, s + 120)))))}${e - s > 120 ? '...' : ''}`;
  }

  /** A line that is lost data: the run stops here, before any later STATE is committed. */
  private violation(lineNo: number, what: string, buf: Uint8Array, s: number, e: number, stream?: string): ProtocolError {
    return new ProtocolError(`stdout line ${lineNo}: ${what}; the run stops here so that no later STATE is committed past it. It starts: ${this.lineStart(buf, s, e)}`, { line: lineNo, stream });
  }

  /**
   * A line with invalid UTF-8 (rare): the same line with each invalid sequence replaced by
   * U+FFFD (as TextDecoder does), remembered in `badUtf8` for the RECORD or STATE it turns out to be.
   */
  private fixUtf8(buf: Buffer, s: number, e: number, lineNo: number): Buffer {
    const text = buf.toString('utf8', s, e);
    let replaced = 0;
    for (let k = text.indexOf('\uFFFD'); k >= 0; k = text.indexOf('\uFFFD', k + 1)) replaced++;
    // a U+FFFD the connector sent (EF BF BD) is data, not a replacement
    for (let k = buf.indexOf(REPLACEMENT, s); k >= 0 && k < e; k = buf.indexOf(REPLACEMENT, k + 3)) replaced--;
    this.badUtf8 = { lineNo, sequences: replaced };
    return Buffer.from(text);
  }

  /** The line being handled had invalid UTF-8 and is a RECORD of `stream` (display) or a STATE: count it, or fail. */
  private countBadUtf8(stream: string | undefined): void {
    const bad = this.badUtf8;
    if (!bad) return;
    this.badUtf8 = undefined;
    const where = `stdout line ${bad.lineNo} (${stream === undefined ? 'STATE' : `stream ${stream}`})`;
    const n = `${bad.sequences} invalid UTF-8 sequence${bad.sequences === 1 ? '' : 's'}`;
    if (this.o.onInvalidUtf8 === 'fail') {
      throw new ProtocolError(`${where} is not valid UTF-8 (${n}); with --on-invalid-utf8 replace (the default) each would be written as U+FFFD`, { line: bad.lineNo, stream });
    }
    const u = this.invalidUtf8;
    u.sequences += bad.sequences;
    u.lines++;
    const key = stream ?? 'STATE';
    u.byStream.set(key, (u.byStream.get(key) ?? 0) + 1);
    this.utf8Warnings.warn(() => `${where}: ${n} replaced with U+FFFD`);
  }

  /** Warn, once per stream, about a STATE for a stream that is not in the configured catalog. */
  private checkStatedStreams(st: StateMessage, lineNo: number): void {
    for (const d of statedStreams(st)) {
      if (this.o.streams.get(d.name, d.namespace)) continue;
      const key = streamKey(d.name, d.namespace);
      if (this.foreignStates.has(key)) continue;
      this.foreignStates.add(key);
      const name = displayStream(d.name, d.namespace);
      this.foreignWarnings.warn(() => `stdout line ${lineNo}: a STATE for stream ${JSON.stringify(name)}, which is not in the configured catalog; stored as sent (the streams of this run are not changed by it)`);
    }
  }

  private onRecord(stream: string, namespace: string | undefined, data: Uint8Array, ds: number, de: number, line: Uint8Array, ls: number, le: number): void {
    const s = this.o.streams.get(stream, namespace);
    if (!s) {
      const name = namespace ? `${namespace}.${stream}` : stream;
      throw new ProtocolError(`the connector sent a RECORD for stream "${name}", which is not in the configured catalog (streams: ${this.o.streams.list.map((x) => x.display).join(', ')})`, {
        stream: name,
      });
    }
    const l = this.limited;
    if (l && s.records >= l.limit) {
      l.dropped.set(s.display, (l.dropped.get(s.display) ?? 0) + 1);
      this.activity++;
      return;
    }
    if (this.badUtf8) this.countBadUtf8(s.display);
    // field selection: only streams with deselected fields pay for a scan (and a copy when a field goes)
    const f = s.fields;
    if (f !== undefined && f.rewrite(data, ds, de, line, ls, le)) {
      line = f.line;
      ls = 0;
      le = f.line.length;
      data = f.data;
      ds = f.ds;
      de = f.de;
    }
    if (this.o.validate !== 'off') this.validateRecord(s, data, ds, de);
    s.records++;
    s.bytes += de - ds;
    this.records++;
    this.activity++;
    this.o.sink.record(s, data, ds, de, line, ls, le);
    if (l && s.records === l.limit) this.satisfy(s);
  }

  private validateRecord(s: RunStream, data: Uint8Array, ds: number, de: number): void {
    let v = this.validators.get(s);
    if (!v) {
      const schema = s.configured.stream.json_schema;
      v = (isPlainObject(schema) ? compileSchema(schema as object) : () => true) as Validator;
      this.validators.set(s, v);
    }
    const value = JSON.parse(decoder.decode(data.subarray(ds, de))) as unknown;
    if (v(value)) return;
    const errs = (v.errors as { instancePath: string; message?: string }[] | undefined) ?? [];
    const detail = errs
      .slice(0, 3)
      .map((e) => `${e.instancePath || '/'}: ${e.message ?? 'invalid'}`)
      .join('; ');
    const msg = `record ${s.records + 1} of stream ${s.display} does not match its schema: ${detail}`;
    if (this.o.validate === 'fail') throw new ProtocolError(msg, { stream: s.display });
    this.schemaWarnings++;
    if (this.schemaWarnings <= MAX_WARNINGS) this.log.warn(msg);
  }

  /** `--limit`: the stream has its records or has finished; when every stream has, stop the connector. */
  private satisfy(s: RunStream): void {
    const l = this.limited!;
    this.satisfied.add(s);
    if (l.stopped || this.satisfied.size < this.o.streams.list.length) return;
    l.stopped = true;
    this.log.info(`every stream has ${l.limit} record${l.limit === 1 ? '' : 's'} or has finished (--limit): stopping the connector`);
    void this.proc?.stop();
  }

  private onLine = (buf: Buffer, s: number, e: number, lineNo: number): void => {
    if (e === s) return;
    // after the limit is reached the rest of the output is not read at all
    if (this.limited?.stopped) return;
    // UTF-8 check: free for a line inside a chunk that is valid as a whole (the usual case)
    if (buf !== this.utf8Chunk && !isUtf8(buf.subarray(s, e))) {
      const fixed = this.fixUtf8(buf, s, e, lineNo);
      try {
        this.onValidLine(fixed, 0, fixed.length, lineNo);
      } finally {
        this.badUtf8 = undefined;
      }
      return;
    }
    this.onValidLine(buf, s, e, lineNo);
  };

  /**
   * A line that is not JSON: noise (a warning), unless its start says it was meant as a RECORD
   * or STATE (cut off, garbled, single-quoted): that is lost data, a violation.
   */
  private notJson(lineNo: number, buf: Buffer, s: number, e: number): void {
    const kind = meantAs(buf.toString('utf8', s, Math.min(e, s + 4096)));
    if (kind) throw this.violation(lineNo, `a ${kind} message that is not valid JSON (cut off or garbled)`, buf, s, e);
    this.warn(lineNo, 'not JSON', buf, s, e);
  }

  private onValidLine(buf: Buffer, s: number, e: number, lineNo: number): void {
    const r = classifyLine(buf, s, e);
    if (r === RECORD) {
      this.onRecord(lastRecord.stream, lastRecord.namespace, buf, lastRecord.dataStart, lastRecord.dataEnd, buf, s, e);
      return;
    }
    if (r === MALFORMED) {
      // rare (noise): tell JSON that is not an object apart from text that is not JSON
      let isJson = true;
      try {
        JSON.parse(buf.toString('utf8', s, e));
      } catch {
        isJson = false;
      }
      if (!isJson) this.notJson(lineNo, buf, s, e);
      else this.warn(lineNo, 'not a JSON protocol message', buf, s, e);
      return;
    }
    let msg: LosslessValue;
    try {
      msg = parseLossless(buf.toString('utf8', s, e));
    } catch (err) {
      // the classifier found valid JSON: only its depth stops the parse
      const env = err instanceof JsonSyntaxError ? envelopeOf(buf, s, e) : undefined;
      if (!env) {
        this.notJson(lineNo, buf, s, e);
        return;
      }
      const kind = lookalike(env.type, { ...(env.record ? { record: true } : {}), ...(env.state ? { state: true } : {}) });
      const what = `a ${kind ?? (typeof env.type === 'string' ? env.type.slice(0, 40) : 'JSON')} message nested more than ${MAX_DEPTH} levels deep`;
      if (kind) throw this.violation(lineNo, `${what} (the most the host reads); it cannot be read`, buf, s, e);
      this.warn(lineNo, what, buf, s, e);
      return;
    }
    if (!isPlainObject(msg) || typeof msg['type'] !== 'string') {
      const kind = isPlainObject(msg) ? lookalike(msg['type'], msg) : undefined;
      if (kind && isPlainObject(msg)) throw this.violation(lineNo, `a ${kind} in all but its type (${typeText(msg['type'])})`, buf, s, e);
      this.warn(lineNo, 'JSON without a message type', buf, s, e);
      return;
    }
    this.onMessage(msg, buf, s, e, lineNo);
  }

  private onMessage(msg: Record<string, LosslessValue>, buf: Buffer, s: number, e: number, lineNo: number): void {
    // (msg may be replaced below by a normalised copy for validation)
    const type = msg['type'] as string;
    const known = ['RECORD', 'STATE', 'LOG', 'TRACE', 'CONTROL', 'SPEC', 'CATALOG', 'CONNECTION_STATUS', 'DESTINATION_CATALOG'];
    if (!known.includes(type)) {
      const kind = lookalike(type, msg);
      if (kind) throw this.violation(lineNo, `a ${kind} in all but its type (${typeText(type)})`, buf, s, e);
      this.warn(lineNo, `unknown message type ${typeText(type)}`, buf, s, e);
      return;
    }
    // STATE without a type inside is LEGACY; an empty state is ignored before validation
    if (type === 'STATE' && isEmptyState(msg['state'])) {
      this.log.debug(`stdout line ${lineNo}: empty STATE ignored`);
      return;
    }
    // Old protocol habits are accepted, as the fast path accepts them: a RECORD without
    // emitted_at (only stream and data matter here), a STATE without type (LEGACY).
    const rec = msg['record'];
    if (type === 'RECORD' && isPlainObject(rec) && rec['emitted_at'] === undefined) msg = { ...msg, record: { ...rec, emitted_at: 0 } };
    // a RECORD or STATE that cannot be used is lost data: a violation; other types: a warning
    const problem = type === 'RECORD' ? recordProblem(msg['record']) : type === 'STATE' ? stateProblem(msg['state']) : undefined;
    const validate = getValidator('AirbyteMessage');
    if (problem || !validate(toPlain(msg))) {
      const first = (validate.errors ?? [])[0] as { instancePath?: string; message?: string } | undefined;
      const what = problem ?? `${first?.instancePath || '/'}: ${first?.message ?? 'invalid'}`;
      if (type === 'RECORD') throw this.violation(lineNo, `invalid RECORD message (${what}): the record cannot be stored`, buf, s, e);
      if (type === 'STATE') throw this.violation(lineNo, `unusable STATE message: ${what}; it cannot be committed`, buf, s, e);
      this.warn(lineNo, `invalid ${type} message (${what})`, buf, s, e);
      return;
    }
    switch (type) {
      case 'RECORD': {
        const rec = msg['record'] as Record<string, LosslessValue>;
        const data = Buffer.from(stringifyLossless(rec['data']));
        this.onRecord(rec['stream'] as string, typeof rec['namespace'] === 'string' ? rec['namespace'] : undefined, data, 0, data.length, buf, s, e);
        return;
      }
      case 'STATE': {
        const st = msg['state'] as StateMessage;
        if (this.badUtf8) this.countBadUtf8(undefined);
        this.checkStatedStreams(st, lineNo);
        this.states++;
        this.activity++;
        if (this.limited) {
          this.limited.statesIgnored++;
          return;
        }
        this.o.sink.state(st, buf, s, e);
        return;
      }
      case 'LOG': {
        const l = msg['log'] as Record<string, LosslessValue>;
        this.log[pinoLevel(String(l['level']))]({ source: 'LOG' }, this.o.masker.mask(String(l['message'])));
        return;
      }
      case 'TRACE':
        this.onTrace(msg['trace'] as Record<string, LosslessValue>);
        return;
      case 'CONTROL': {
        const c = msg['control'] as Record<string, LosslessValue>;
        const cfg = isPlainObject(c['connectorConfig']) ? c['connectorConfig']['config'] : undefined;
        if (c['type'] === 'CONNECTOR_CONFIG' && cfg !== undefined) this.o.onControl?.(cfg);
        return;
      }
      default:
        this.log.debug(`stdout line ${lineNo}: ${type} message during read ignored`);
    }
  }

  private onTrace(t: Record<string, LosslessValue>): void {
    const descName = (d: unknown): RunStream | undefined => {
      if (!isPlainObject(d) || typeof d['name'] !== 'string') return undefined;
      return this.o.streams.get(d['name'], typeof d['namespace'] === 'string' ? d['namespace'] : undefined);
    };
    switch (t['type']) {
      case 'ERROR': {
        const err = t['error'] as Record<string, LosslessValue>;
        const stream = descName(err['stream_descriptor']);
        const failure: TraceFailure = {
          message: this.o.masker.mask(String(err['message'] ?? 'unknown error')),
          failureType: typeof err['failure_type'] === 'string' ? err['failure_type'] : undefined,
          internalMessage: typeof err['internal_message'] === 'string' ? this.o.masker.mask(err['internal_message']) : undefined,
          stream: stream?.display,
        };
        this.log.error({ failure_type: failure.failureType, stream: failure.stream, internal_message: failure.internalMessage }, `connector error: ${failure.message}`);
        this.traceError ??= failure;
        return;
      }
      case 'STREAM_STATUS': {
        const ss = t['stream_status'] as Record<string, LosslessValue>;
        const s = descName(ss['stream_descriptor']);
        if (!s) return;
        s.status = String(ss['status']);
        const av = ss['activate_version'];
        this.o.sink.streamStatus(s, s.status, av === undefined || av === null ? undefined : stringifyLossless(av));
        if (this.limited && (s.status === 'COMPLETE' || s.status === 'INCOMPLETE')) this.satisfy(s);
        return;
      }
      case 'ESTIMATE': {
        const est = t['estimate'] as Record<string, LosslessValue>;
        const s = typeof est['name'] === 'string' ? this.o.streams.get(est['name'], typeof est['namespace'] === 'string' ? est['namespace'] : undefined) : undefined;
        if (s) s.estimate = { rows: est['row_estimate'] as number | undefined, bytes: est['byte_estimate'] as number | undefined };
        return;
      }
      default:
        this.log.debug({ trace: t['type'] }, 'trace message');
    }
  }

  async run(): Promise<ReadOutcome> {
    const started = Date.now();
    const o = this.o;
    const framer = new LineFramer({
      maxLineBytes: o.maxLineBytes,
      overflow: 'error',
      onLine: this.onLine,
      onTooLong: (head, lineNo, bytes) => {
        const m = /"stream"\s*:\s*"([^"\\]{1,200})"/.exec(head.toString('utf8', 0, Math.min(head.length, 4096)));
        this.fail(
          new ProtocolError(
            `stdout line ${lineNo}${m ? ` (stream ${m[1]})` : ''} is longer than the limit of ${o.maxLineBytes} bytes (${bytes}+ bytes); raise --max-line-bytes if the records really are this large. It starts: ${JSON.stringify(o.masker.mask(head.toString('utf8', 0, 80)))}`,
            { stream: m?.[1], line: lineNo },
          ),
        );
      },
    });
    const proc = spawnConnector(o.ref, o.args, { logger: o.logger, masker: o.masker, killGraceMs: o.killGraceMs, filesDir: o.filesDir });
    this.proc = proc;

    const onAbort = () => this.fail(new InterruptedError((o.signal?.reason as 'SIGINT' | 'SIGTERM') === 'SIGTERM' ? 'SIGTERM' : 'SIGINT'));
    if (o.signal?.aborted) onAbort();
    o.signal?.addEventListener('abort', onAbort, { once: true });

    // Heartbeat: only RECORD and STATE count as signs of life.
    let seen = -1;
    let lastChange = Date.now();
    const beat = setInterval(
      () => {
        if (this.activity !== seen) {
          seen = this.activity;
          lastChange = Date.now();
        } else if (Date.now() - lastChange >= o.heartbeatMs) {
          this.fail(o.processor?.hangError() ?? new TimeoutError(`the connector sent no RECORD or STATE for ${Math.round(o.heartbeatMs / 1000)} s (heartbeat timeout); it was stopped`, {}, 'HEARTBEAT_TIMEOUT'));
        }
      },
      Math.max(50, Math.min(o.heartbeatMs / 10, 10_000)),
    );
    beat.unref();

    try {
      const input = o.processor ? o.processor.transform(proc.stdout, (e) => this.fail(e)) : proc.stdout;
      for await (const chunk of input) {
        if (this.failure) break;
        try {
          this.utf8Chunk = isUtf8(chunk as Buffer) ? (chunk as Buffer) : undefined;
          framer.push(chunk as Buffer);
          await o.sink.drain();
        } catch (e) {
          if (e instanceof HostError) this.fail(e);
          else throw e;
        }
        if (this.limited?.stopped) break;
        if (o.sink.closed) {
          this.log.debug('output closed; stopping the connector');
          void proc.stop();
          break;
        }
      }
      if (!this.failure && !o.sink.closed && !this.limited?.stopped) {
        try {
          framer.end();
        } catch (e) {
          if (e instanceof HostError) this.fail(e);
          else throw e;
        }
      }
    } finally {
      clearInterval(beat);
    }
    const stoppedByLimit = this.limited?.stopped === true;
    if (this.failure || o.sink.closed || stoppedByLimit) {
      proc.stdout.destroy();
      await proc.stop();
    }
    // a signal while waiting for the exit (stdout closed, the connector still running) works too
    const exit = await proc.wait().finally(() => o.signal?.removeEventListener('abort', onAbort));

    let error = this.failure;
    if (!error && exit.spawnError) {
      try {
        assertStarted(exit, o.ref);
      } catch (e) {
        error = e as HostError;
      }
    }
    // stopped by the host for --limit: its exit (SIGTERM, SIGKILL, anything) is not a failure
    if (!error && !o.sink.closed && (!stoppedByLimit || this.traceError)) error = this.exitError(exit.exitCode, exit.signal, proc);
    const ok = !error;
    // a stream without a final STREAM_STATUS ended with the connector: complete when it exited 0
    // (one stopped at the --limit did not complete)
    endStreams(o.streams.list, ok && !o.sink.closed && !stoppedByLimit);
    let sink: SinkResult;
    try {
      sink = await o.sink.finish(ok || (o.sink.closed && !this.failure));
      if (sink.error) error ??= sink.error;
    } catch (e) {
      if (!(e instanceof HostError)) throw e;
      error ??= e;
      sink = { stateCommitted: false };
    }
    return {
      ok: !error,
      error,
      streams: o.streams.list,
      records: this.records,
      states: this.states,
      warnings: this.warnings,
      durationMs: Date.now() - started,
      traceError: this.traceError,
      sink,
      invalidUtf8: this.invalidUtf8,
      ...(this.limited ? { limited: this.limited } : {}),
      ...(o.processor ? { processor: o.processor.outcome() } : {}),
    };
  }

  private exitError(code: number | undefined, signal: string | undefined, proc: ConnectorProcess): HostError | undefined {
    const t = this.traceError;
    if (code === 0 && !t) return undefined;
    const tail = proc.stderrTail();
    const how = code !== undefined ? `exited with code ${code}` : `was killed by ${signal}`;
    if (t) {
      return new ConnectorError(
        `${t.message}${t.stream ? ` (stream ${t.stream})` : ''} [${t.failureType ?? 'system_error'}; the connector ${how}]`,
        { exitCode: code, signal, stderrTail: tail, failureType: t.failureType, stream: t.stream },
        t.failureType === 'config_error' ? 'CONNECTOR_CONFIG_ERROR' : 'CONNECTOR_ERROR',
      );
    }
    return new ConnectorError(`the connector ${how}${tail.length ? `; its last stderr lines:\n  ${tail.slice(-10).join('\n  ')}` : ' (no stderr output)'}`, {
      exitCode: code,
      signal,
      stderrTail: tail,
    });
  }
}

/** The summary's line for a `--limit` run. */
export function describeLimit(l: LimitOutcome): string {
  const n = `${l.limit} record${l.limit === 1 ? '' : 's'}`;
  const dropped = [...l.dropped].map(([s, k]) => `${s} ${k}`).join(', ');
  return (
    `limited to ${n} per stream: state not committed${l.statesIgnored ? ` (${l.statesIgnored} STATE message${l.statesIgnored === 1 ? '' : 's'} ignored)` : ''}; ` +
    (l.stopped ? `the connector was stopped once every stream had ${n} or had finished` : `the connector ended before every stream had ${n}`) +
    `; records past the limit, dropped: ${dropped || 'none'}`
  );
}
