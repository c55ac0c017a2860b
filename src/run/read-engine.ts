// The read data path: child stdout bytes -> line framer -> classifier ->
// records to the sink, states to the checkpointer (inside the sink), logs and
// traces to the logger. One loop, backpressure by not pulling the next chunk
// until the sink has taken the current one.

import type { Logger } from '../log/logger.js';
import { pinoLevel } from '../log/logger.js';
import { LineFramer } from '../io/line-framer.js';
import { classifyLine, lastRecord, RECORD, MALFORMED } from '../json/scan.js';
import { parseLossless, stringifyLossless, toPlain, isPlainObject, type LosslessValue } from '../json/lossless.js';
import type { Masker } from '../secrets/mask.js';
import { spawnConnector, assertStarted, type ConnectorProcess } from '../connector/process.js';
import type { ConnectorRef } from '../connector/resolve.js';
import { HostError, ProtocolError, ConnectorError, TimeoutError, InterruptedError } from '../errors.js';
import { getValidator, compileSchema } from '../protocol/schemas.js';
import type { ReadSink, SinkResult } from './sink.js';
import type { RunStream, StreamTable, StateMessage } from './streams.js';
import { isEmptyState } from '../state/state.js';

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
  heartbeatMs: number;
  killGraceMs: number;
  signal?: AbortSignal | undefined;
  filesDir?: string | undefined;
  /** A CONTROL CONNECTOR_CONFIG message: the connector's new config. */
  onControl?: ((config: LosslessValue) => void) | undefined;
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
}

const MAX_WARNINGS = 50;
type Validator = ((d: unknown) => boolean) & { errors?: unknown };
const decoder = new TextDecoder();

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

  constructor(o: EngineOptions) {
    this.o = o;
    this.log = o.logger.child({ connector: o.ref.name });
  }

  /** Fail the run: remember the first reason and stop the connector. */
  fail(err: HostError): void {
    if (!this.failure) this.failure = err;
    void this.proc?.stop();
  }

  private warn(lineNo: number, what: string, buf: Uint8Array, s: number, e: number): void {
    this.warnings++;
    if (this.warnings <= MAX_WARNINGS) {
      const start = this.o.masker.mask(decoder.decode(buf.subarray(s, Math.min(e, s + 120))));
      this.log.warn(`stdout line ${lineNo}: ${what}, ignored: ${JSON.stringify(start)}${e - s > 120 ? '...' : ''}`);
    } else if (this.warnings === MAX_WARNINGS + 1) {
      this.log.warn('more lines were ignored; their count is in the summary');
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
    if (this.o.validate !== 'off') this.validateRecord(s, data, ds, de);
    s.records++;
    s.bytes += de - ds;
    this.records++;
    this.activity++;
    this.o.sink.record(s, data, ds, de, line, ls, le);
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

  private onLine = (buf: Buffer, s: number, e: number, lineNo: number): void => {
    if (e === s) return;
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
      this.warn(lineNo, isJson ? 'not a JSON protocol message' : 'not JSON', buf, s, e);
      return;
    }
    let msg: LosslessValue;
    try {
      msg = parseLossless(buf.toString('utf8', s, e));
    } catch {
      this.warn(lineNo, 'not JSON', buf, s, e);
      return;
    }
    if (!isPlainObject(msg) || typeof msg['type'] !== 'string') {
      this.warn(lineNo, 'JSON without a message type', buf, s, e);
      return;
    }
    this.onMessage(msg, buf, s, e, lineNo);
  };

  private onMessage(msg: Record<string, LosslessValue>, buf: Buffer, s: number, e: number, lineNo: number): void {
    // (msg may be replaced below by a normalised copy for validation)
    const type = msg['type'] as string;
    const known = ['RECORD', 'STATE', 'LOG', 'TRACE', 'CONTROL', 'SPEC', 'CATALOG', 'CONNECTION_STATUS', 'DESTINATION_CATALOG'];
    if (!known.includes(type)) {
      this.warn(lineNo, `unknown message type ${JSON.stringify(type.slice(0, 40))}`, buf, s, e);
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
    const validate = getValidator('AirbyteMessage');
    if (!validate(toPlain(msg))) {
      const first = (validate.errors ?? [])[0] as { instancePath?: string; message?: string } | undefined;
      this.warn(lineNo, `invalid ${type} message (${first?.instancePath || '/'}: ${first?.message ?? 'invalid'})`, buf, s, e);
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
        this.states++;
        this.activity++;
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
          this.fail(new TimeoutError(`the connector sent no RECORD or STATE for ${Math.round(o.heartbeatMs / 1000)} s (heartbeat timeout); it was stopped`, {}, 'HEARTBEAT_TIMEOUT'));
        }
      },
      Math.max(50, Math.min(o.heartbeatMs / 10, 10_000)),
    );
    beat.unref();

    try {
      for await (const chunk of proc.stdout) {
        if (this.failure) break;
        try {
          framer.push(chunk as Buffer);
          await o.sink.drain();
        } catch (e) {
          if (e instanceof HostError) this.fail(e);
          else throw e;
        }
        if (o.sink.closed) {
          this.log.debug('output closed; stopping the connector');
          void proc.stop();
          break;
        }
      }
      if (!this.failure && !o.sink.closed) {
        try {
          framer.end();
        } catch (e) {
          if (e instanceof HostError) this.fail(e);
          else throw e;
        }
      }
    } finally {
      clearInterval(beat);
      o.signal?.removeEventListener('abort', onAbort);
    }
    if (this.failure || o.sink.closed) {
      proc.stdout.destroy();
      await proc.stop();
    }
    const exit = await proc.wait();

    let error = this.failure;
    if (!error && exit.spawnError) {
      try {
        assertStarted(exit, o.ref);
      } catch (e) {
        error = e as HostError;
      }
    }
    if (!error && !o.sink.closed) error = this.exitError(exit.exitCode, exit.signal, proc);
    const ok = !error;
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
