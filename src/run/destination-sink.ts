// The sink of `host run`: records flow into a destination's stdin with backpressure; a state is
// committed only when the destination acknowledges it. One implementation of the process, the
// batching, the acknowledgements and the commits for every kind of destination; what differs
// is a dialect (DestinationDialect): the bytes written for a record or a state, and how a line of
// the destination's stdout reads.
// - a protocol destination (`write --config --catalog`): records as the source wrote them; each
//   STATE carries an `id` (as the Airbyte platform attaches one), so an echo is matched exactly;
//   an echo without the id is matched by content (the earliest pending state with the same
//   content, so an acknowledgement never covers more than it may). See ProtocolDestination.
// - a Singer target (`--config`), written in-process: src/dialect/singer-target.ts.

import type { Logger } from '../log/logger.js';
import { pinoLevel } from '../log/logger.js';
import { LineFramer } from '../io/line-framer.js';
import { drainAbove, settleBeforeEof, settleMs, STDIN_BACKLOG, MAX_PENDING } from '../io/backpressure.js';
import { WarningLimiter } from '../log/limit.js';
import { parseLossless, stringifyLossless, isPlainObject, type LosslessValue } from '../json/lossless.js';
import { canonical } from '../testing/normalise.js';
import type { Masker } from '../secrets/mask.js';
import { spawnConnector, assertStarted, type ConnectorProcess, type ExitInfo } from '../connector/process.js';
import type { ConnectorRef } from '../connector/resolve.js';
import { ConnectorError, InterruptedError } from '../errors.js';
import type { ReadSink, SinkResult } from './sink.js';
import type { RunStream, StateMessage } from './streams.js';
import { StateMerger, writeStateFile, fullRefreshStart, type StoredState, type DestinationInfo } from '../state/state.js';
import { BatchWriter } from './batch-writer.js';
import { SingerTargetDialect, SINGER_TARGET_MODE } from '../dialect/singer-target.js';

export type DestinationSyncMode = 'append' | 'overwrite' | 'append_dedup';

/** What a dialect's reading of the destination's stdout reports to the sink. */
export interface AckHandler {
  /** An acknowledgement: the state sent with `id`, else the earliest pending one with `key`; `unmatched` words the warning when none is. */
  ack(id: number | undefined, key: string, lineNo: number, unmatched?: () => string): void;
  /** A line that is not what the destination should write (counted; the first are logged). */
  noise(message: () => string): void;
  /** b[s, e) cut to 120 characters, masked, quoted: for messages. */
  quote(b: Buffer, s: number, e: number): string;
  /** The destination reported an error (the first one is the run's reason). */
  error(message: string, failureType: unknown): void;
  readonly log: Logger;
  readonly masker: Masker;
}

/** The kind of source message a Singer tap writes besides RECORD and STATE (sink.passthrough). */
export type PassthroughKind = 'SCHEMA' | 'ACTIVATE_VERSION' | 'BATCH';

/** How the host speaks to one kind of destination: what it writes, how it reads what comes back. */
export interface DestinationDialect {
  /** The destination's arguments after its own: `write --config F --catalog F`, or a Singer target's `--config F`. */
  args(files: { config: string; catalog: string }): string[];
  /** The destination sync mode a stream is said to have when the destination decides it (a Singer target). */
  readonly decidesMode?: string | undefined;
  /** The warning after the first noise lines logged. */
  readonly noiseMore?: string | undefined;
  /** A record: data[ds, de) is its data, line[ls, le) the source's line (a Singer RECORD when fromSinger). */
  record(w: BatchWriter, stream: RunStream, data: Uint8Array, ds: number, de: number, line: Uint8Array, ls: number, le: number, fromSinger: boolean): void;
  /** A state the sink is sending with `id`: write it, return the key an acknowledgement without the id is matched by. */
  state(w: BatchWriter, msg: StateMessage, id: number, line: Uint8Array, ls: number, le: number, fromSinger: boolean): string;
  /** A Singer tap's other messages, in order (see ReadSink.passthrough). */
  passthrough?(w: BatchWriter, kind: PassthroughKind, line: Uint8Array, ls: number, le: number, stream: RunStream | undefined): void;
  /** The end of the source: how each stream ended, if the destination is told. */
  end(w: BatchWriter, streams: readonly RunStream[], ok: boolean): void;
  /** A non-empty line of the destination's stdout. */
  onLine(b: Buffer, s: number, e: number, lineNo: number, h: AckHandler): void;
  /** After the destination ended: a last word on its noise. */
  done?(h: AckHandler, noiseCount: number): void;
}

const RECORD_SUFFIX_START = Buffer.from(',"emitted_at":');

/** A protocol destination: Airbyte `write`, acknowledgements by echoed STATE messages. */
export class ProtocolDestination implements DestinationDialect {
  // a Singer tap's records as protocol RECORD lines: the envelope before the data, per stream
  private readonly prefixes = new Map<RunStream, Buffer>();
  private suffixAt = 0;
  private suffix = Buffer.alloc(0);

  args(f: { config: string; catalog: string }): string[] {
    return ['write', '--config', f.config, '--catalog', f.catalog];
  }

  record(w: BatchWriter, stream: RunStream, data: Uint8Array, ds: number, de: number, line: Uint8Array, ls: number, le: number, fromSinger: boolean): void {
    if (!fromSinger) return w.line(line, ls, le);
    let prefix = this.prefixes.get(stream);
    if (!prefix) {
      const head: Record<string, string> = { stream: stream.name };
      if (stream.namespace !== undefined) head['namespace'] = stream.namespace;
      prefix = Buffer.from(`{"type":"RECORD","record":${JSON.stringify(head).slice(0, -1)},"data":`);
      this.prefixes.set(stream, prefix);
    }
    // emitted_at: the host's clock, to the millisecond, rebuilt when it moves on
    const now = Date.now();
    if (now !== this.suffixAt) {
      this.suffixAt = now;
      this.suffix = Buffer.concat([RECORD_SUFFIX_START, Buffer.from(`${now}}}`)]);
    }
    w.wrapped(prefix, data, ds, de, this.suffix);
  }

  state(w: BatchWriter, msg: StateMessage, id: number): string {
    w.text(stringifyLossless({ type: 'STATE', state: { ...msg, id } }));
    return canonical(msg);
  }

  end(w: BatchWriter, streams: readonly RunStream[], ok: boolean): void {
    // the platform's own STREAM_STATUS at the end of the source: INCOMPLETE for a stream the
    // source reported incomplete or that --limit cut short, so an overwrite destination keeps its old data
    for (const s of streams) {
      const descriptor: Record<string, string> = { name: s.name };
      if (s.namespace !== undefined) descriptor['namespace'] = s.namespace;
      w.text(JSON.stringify({ type: 'TRACE', trace: { type: 'STREAM_STATUS', emitted_at: Date.now(), stream_status: { stream_descriptor: descriptor, status: ok && s.ended !== 'INCOMPLETE' ? 'COMPLETE' : 'INCOMPLETE' } } }));
    }
  }

  onLine(b: Buffer, s: number, e: number, lineNo: number, h: AckHandler): void {
    const ignored = (what: string) => h.noise(() => `destination stdout line ${lineNo}: ${what}, ignored: ${h.quote(b, s, e)}`);
    let m: LosslessValue;
    try {
      m = parseLossless(b.toString('utf8', s, e));
    } catch {
      return ignored('not JSON');
    }
    if (!isPlainObject(m)) return ignored('not a JSON protocol message');
    if (typeof m['type'] !== 'string') return ignored('JSON without a message type');
    switch (m['type']) {
      case 'STATE': {
        const state = m['state'];
        if (!isPlainObject(state)) return;
        const id = state['id'];
        if (typeof id === 'number') return h.ack(id, '', lineNo);
        const copy = { ...state };
        delete copy['id'];
        return h.ack(undefined, canonical(copy), lineNo);
      }
      case 'LOG': {
        const l = m['log'];
        if (isPlainObject(l)) h.log[pinoLevel(String(l['level']))]({ source: 'LOG' }, h.masker.mask(String(l['message'])));
        return;
      }
      case 'TRACE': {
        const t = m['trace'];
        if (isPlainObject(t) && t['type'] === 'ERROR' && isPlainObject(t['error'])) h.error(String(t['error']['message'] ?? 'unknown error'), t['error']['failure_type']);
        return;
      }
      default:
        h.log.debug(`destination stdout line ${lineNo}: ${String(m['type']).slice(0, 40)} message ignored`);
    }
  }
}

interface Pending {
  id: number;
  key: string;
  snap: ReturnType<StateMerger['snapshot']>;
  /** The message as it came (for onAcknowledged). */
  msg?: StateMessage | undefined;
}

export interface DestinationSinkOptions {
  ref: ConnectorRef;
  /** The destination's arguments (after the ref's own), e.g. the dialect's args(). */
  args: string[];
  filesDir?: string | undefined;
  streams: RunStream[];
  stateFile: string | undefined;
  stored: StoredState;
  destinationInfo: DestinationInfo;
  logger: Logger;
  masker: Masker;
  killGraceMs: number;
  commitIntervalMs: number;
  signal?: AbortSignal | undefined;
  maxLineBytes: number;
  /** `--full-refresh`: start from no state for these streams, commit only when everything succeeds. */
  fullRefresh?: boolean | undefined;
  /** The destination sync mode given for every stream (--destination-sync-mode), for the summary. */
  destinationSyncMode?: DestinationSyncMode | undefined;
  /** How to speak to the destination; default: a Singer target for `ref.dialect: 'singer-target'`, else the protocol. */
  dialect?: DestinationDialect | undefined;
  /** The destination is a Singer target (default: the dialect says): it decides how it stores the records. */
  singerTarget?: boolean | undefined;
  /** Called with each state as it came once the destination acknowledged it (the Singer-target shim echoes it). */
  onAcknowledged?: ((msg: StateMessage) => void) | undefined;
}

export { SINGER_TARGET_MODE };

/** A stream's destination sync mode: the option, else overwrite for a full refresh (or --full-refresh), else append. */
export function syncModeFor(s: RunStream, mode: DestinationSyncMode | undefined, fullRefresh: boolean): DestinationSyncMode {
  return mode ?? (s.configured.sync_mode === 'full_refresh' || fullRefresh ? 'overwrite' : 'append');
}

/** A ReadSink that feeds a destination process and commits the states it acknowledges. */
export class DestinationSink implements ReadSink {
  private readonly o: DestinationSinkOptions;
  private readonly dialect: DestinationDialect;
  private readonly proc: ConnectorProcess;
  private readonly log: Logger;
  private readonly w: BatchWriter;
  /** Set by the engine before the first line: a Singer tap's lines are Singer messages. */
  sourceDialect: 'protocol' | 'singer' | undefined;
  private inputClosed = false;
  // the host sent EOF; before that, the destination's stdin closing (Node closes it when the
  // process exits) or a write failing (EPIPE) means it left before the end of its input
  private endedByUs = false;
  private leftEarly = false;
  // resolved when every state sent is acknowledged (then EOF need not wait, see settleBeforeEof)
  private allAcked: (() => void) | undefined;
  /** Non-protocol lines on the destination's stdout: the first are logged, all counted. */
  readonly noise: WarningLimiter;
  private exited = false;
  private readonly stdoutDone: Promise<void>;
  private readonly merger: StateMerger;
  private readonly pending: Pending[] = [];
  private nextId = 0;
  private acked: ReturnType<StateMerger['snapshot']> | undefined;
  private ackedUncommitted = false;
  private lastCommitAt = 0;
  private committedAny = false;
  acknowledged = 0;
  private traceError: string | undefined;
  // the last message sent (its bytes are lastBuf[lastS, lastE)), for the error when the
  // destination fails: three fields, so the per-record path allocates nothing
  private lastBuf: Uint8Array | undefined;
  private lastS = 0;
  private lastE = 0;
  private sentRecords = 0;
  private recordsAfterLastState = 0;
  private readonly startedAt = Date.now();
  private readonly handler: AckHandler;
  /** How the destination ended, once finish() has seen it. */
  exit: ExitInfo | undefined;

  constructor(o: DestinationSinkOptions) {
    this.o = o;
    this.dialect = o.dialect ?? (o.ref.dialect === 'singer-target' ? new SingerTargetDialect(o.streams) : new ProtocolDestination());
    this.log = o.logger.child({ connector: o.ref.name });
    this.merger = new StateMerger(o.fullRefresh ? fullRefreshStart(o.stored, o.streams) : o.stored);
    // the modes the destination was given (destinationCatalog), or that a Singer target decides
    const decides = (o.singerTarget ?? this.dialect.decidesMode !== undefined) ? (this.dialect.decidesMode ?? SINGER_TARGET_MODE) : undefined;
    for (const s of o.streams) {
      s.mode = { sync: o.fullRefresh ? 'full_refresh' : s.configured.sync_mode, destination: decides ?? syncModeFor(s, o.destinationSyncMode, o.fullRefresh === true) };
      s.kept = { records: 0, bytes: 0 };
      s.keptIsSent = true;
    }
    this.proc = spawnConnector(o.ref, o.args, { logger: o.logger, masker: o.masker, killGraceMs: o.killGraceMs, filesDir: o.filesDir, stdin: true });
    this.w = new BatchWriter(this.proc.stdin!);
    this.noise = new WarningLimiter((m) => this.log.warn(m), this.dialect.noiseMore ? { more: this.dialect.noiseMore } : {});
    const gone = () => {
      this.inputClosed = true;
      this.w.dropped = true;
      if (!this.endedByUs) this.leftEarly = true;
    };
    this.proc.stdin!.on('error', gone);
    this.proc.stdin!.on('close', gone);
    void this.proc.wait().then(() => {
      this.exited = true;
      this.w.dropped = true;
    });
    this.handler = {
      ack: (id, key, lineNo, unmatched) => this.onAck(id, key, lineNo, unmatched),
      noise: (m) => this.noise.warn(m),
      quote: (b, s, e) => `${JSON.stringify(o.masker.mask(b.toString('utf8', s, Math.min(e, s + 120))))}${e - s > 120 ? '...' : ''}`,
      error: (message, failureType) => {
        const msg = o.masker.mask(message);
        this.log.error({ failure_type: failureType }, `destination error: ${msg}`);
        this.traceError ??= msg;
      },
      log: this.log,
      masker: o.masker,
    };
    const framer = new LineFramer({
      maxLineBytes: o.maxLineBytes,
      overflow: 'truncate',
      onLine: (b, s, e, lineNo) => {
        if (e > s) this.dialect.onLine(b, s, e, lineNo, this.handler);
      },
    });
    this.stdoutDone = new Promise<void>((res) => {
      this.proc.stdout.on('data', (c: Buffer) => framer.push(c));
      this.proc.stdout.on('end', () => {
        framer.end();
        res();
      });
      this.proc.stdout.on('error', () => res());
      this.proc.stdout.on('close', () => res());
    });
  }

  /** Every record sent is covered by a state the destination acknowledged. */
  private get everythingAcked(): boolean {
    return this.nextId > 0 && this.pending.length === 0 && this.recordsAfterLastState === 0;
  }

  get closed(): boolean {
    return this.inputClosed || this.exited || this.proc.stdin!.destroyed;
  }

  /** Resolves when the destination has exited. */
  get ended(): Promise<unknown> {
    return this.proc.wait();
  }

  /** The destination's last stderr lines (masked). */
  stderrTail(): string[] {
    return this.proc.stderrTail();
  }

  // ------------------------------------------------------------- acknowledgements and commits

  private onAck(id: number | undefined, key: string, lineNo: number, unmatched?: () => string): void {
    const i = id !== undefined ? this.pending.findIndex((p) => p.id === id) : this.pending.findIndex((p) => p.key === key);
    if (i < 0) {
      this.noise.warn(unmatched ?? (() => `destination stdout line ${lineNo}: a STATE that matches no state sent to it (or one already acknowledged); ignored`));
      return;
    }
    const p = this.pending[i]!;
    this.acked = p.snap;
    this.ackedUncommitted = true;
    this.acknowledged++;
    this.pending.splice(0, i + 1);
    if (p.msg) this.o.onAcknowledged?.(p.msg);
    if (this.everythingAcked) this.allAcked?.();
    if (!this.o.fullRefresh && Date.now() - this.lastCommitAt >= this.o.commitIntervalMs) this.commit();
  }

  private commit(): void {
    if (!this.o.stateFile) return;
    if (!this.ackedUncommitted && this.committedAny) return;
    const snap = this.acked ?? { kind: this.o.stored.kind, states: this.o.stored.states };
    writeStateFile(this.o.stateFile, { kind: snap.kind, states: snap.states, files: this.o.stored.files, destination: this.o.destinationInfo });
    this.ackedUncommitted = false;
    this.committedAny = this.committedAny || this.acked !== undefined;
    this.lastCommitAt = Date.now();
  }

  // ------------------------------------------------------------- input to the destination

  record(stream: RunStream, data: Uint8Array, ds: number, de: number, line: Uint8Array, ls: number, le: number): void {
    this.dialect.record(this.w, stream, data, ds, de, line, ls, le, this.sourceDialect === 'singer');
    // what was sent to the destination (it decides what it keeps)
    const k = stream.kept!;
    k.records++;
    k.bytes += le - ls + 1;
    this.lastBuf = line;
    this.lastS = ls;
    this.lastE = le;
    this.sentRecords++;
    this.recordsAfterLastState++;
  }

  state(msg: StateMessage, line: Uint8Array, ls: number, le: number): void {
    if (!this.merger.apply(msg)) return;
    const id = ++this.nextId;
    const key = this.dialect.state(this.w, msg, id, line, ls, le, this.sourceDialect === 'singer');
    this.pending.push({ id, key, snap: this.merger.snapshot(), msg: this.o.onAcknowledged ? msg : undefined });
    // a destination that acknowledges late (or never) must not make memory grow without end
    if (this.pending.length > MAX_PENDING) this.pending.splice(0, this.pending.length - MAX_PENDING / 2);
    this.recordsAfterLastState = 0;
    this.lastBuf = line;
    this.lastS = ls;
    this.lastE = le;
  }

  /** A Singer tap's SCHEMA, ACTIVATE_VERSION and BATCH messages, in order, as written. */
  passthrough(kind: PassthroughKind, line: Uint8Array, ls: number, le: number, stream: RunStream | undefined): void {
    this.dialect.passthrough?.(this.w, kind, line, ls, le, stream);
  }

  streamStatus(): void {
    // the destination gets the platform's own STREAM_STATUS at the end of the source
  }

  drain(): Promise<void> | undefined {
    // the source's chunk is copied now; the batch is written when full or the loop is idle
    this.w.later();
    if (this.closed) return undefined;
    const stdin = this.proc.stdin!;
    if (!this.w.writable) {
      const wait = drainAbove(stdin, STDIN_BACKLOG, this.proc.wait());
      if (wait) {
        return wait.then(() => {
          this.w.writable = true;
        });
      }
      this.w.writable = true;
    }
    // Bytes wait for room in the pipe (64 KiB, a fraction of a millisecond of the destination's
    // work): let the event loop run once, so they move on while the host reads its next chunk,
    // instead of only when the host stops for the backlog (the two would take turns).
    if (stdin.writableLength > 0 || this.w.pending) return new Promise<void>((r) => setImmediate(r));
    return undefined;
  }

  /**
   * The end of the source: tell the destination how each stream ended (the dialect's end), close
   * its input, wait for it.
   */
  async finish(ok: boolean): Promise<SinkResult> {
    if (!this.closed) {
      this.dialect.end(this.w, this.o.streams, ok);
      this.w.flush();
      // keep stdin open a moment, so that a destination that stops without waiting for EOF is
      // seen to exit before it (see settleBeforeEof)
      // (nothing to lose when nothing was sent: no record, no state)
      if (ok && !this.o.signal?.aborted && !this.everythingAcked && (this.sentRecords > 0 || this.nextId > 0)) {
        await settleBeforeEof(this.proc.stdin!, Promise.race([this.proc.wait(), new Promise<void>((r) => (this.allAcked = r))]), settleMs(this.startedAt));
      }
    } else this.w.discard();
    // a destination that ended before its input did cannot have taken everything sent to it (its
    // stdin destroyed: Node does that at the child's exit, before the 'close' event says so)
    const endedEarly = this.leftEarly || this.proc.hasExited || this.proc.stdin!.destroyed;
    this.endedByUs = true;
    this.proc.stdin!.end();
    // Let the destination drain. An interrupted run stops it with SIGTERM first (Singer SDK
    // targets flush and write their state on SIGTERM), SIGKILL after the grace period.
    const onAbort = () => void this.proc.stop();
    if (this.o.signal?.aborted) onAbort();
    else this.o.signal?.addEventListener('abort', onAbort, { once: true });
    // one that closed its stdin but runs on is stopped after the grace period
    let graceTimer: NodeJS.Timeout | undefined;
    if (endedEarly && !this.proc.hasExited) graceTimer = setTimeout(onAbort, this.o.killGraceMs);
    const exit = await this.proc.wait();
    this.exit = exit;
    clearTimeout(graceTimer);
    this.o.signal?.removeEventListener('abort', onAbort);
    await this.stdoutDone;
    this.dialect.done?.(this.handler, this.noise.count);
    const interrupted = this.o.signal?.aborted ? new InterruptedError(this.o.signal.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT') : undefined;
    const succeeded = ok && !interrupted && exit.exitCode === 0 && !this.traceError && !endedEarly;
    // a --full-refresh run replaces the stored state only when everything succeeded
    if (this.o.fullRefresh ? succeeded : this.ackedUncommitted || (!this.committedAny && succeeded)) this.commit();
    const result: SinkResult = { stateFile: this.o.stateFile, stateCommitted: this.committedAny, output: this.o.ref.display };
    assertStarted(exit, this.o.ref);
    if (interrupted) {
      // stopped while the destination drained: what it acknowledged (often on SIGTERM) is kept
      if (ok) result.error = interrupted;
      return result;
    }
    if (exit.exitCode !== 0 || this.traceError || endedEarly) {
      const how = exit.exitCode !== undefined ? `exited with code ${exit.exitCode}${exit.exitCode === 0 ? ' before the end of its input' : ''}` : `was killed by ${exit.signal}`;
      const tail = this.proc.stderrTail();
      const lastSent = this.lastBuf ? this.o.masker.mask(Buffer.from(this.lastBuf.subarray(this.lastS, Math.min(this.lastE, this.lastS + 300))).toString('utf8')) : undefined;
      const parts = [`the destination ${this.o.ref.display} ${how}${this.traceError ? `: ${this.traceError}` : ''}`];
      parts.push(`${this.acknowledged} of the states sent were acknowledged${this.committedAny ? ' and committed' : ''}`);
      if (tail.length && !this.traceError) parts.push(`its last stderr lines:\n  ${tail.slice(-10).join('\n  ')}`);
      parts.push(lastSent ? `the last source message sent to it (${this.sentRecords} records had been sent): ${lastSent}${this.lastE - this.lastS > 300 ? '...' : ''}` : 'no message had been sent to it');
      const err = new ConnectorError(parts.join('; '), { exitCode: exit.exitCode, signal: exit.signal, stderrTail: tail }, 'DESTINATION_ERROR');
      // A failure of the source (or an interruption) is the first cause; the destination's
      // failure is then only logged.
      if (!ok) this.log.error(err.message);
      else result.error = err;
    } else if (this.nextId > 0 && this.acknowledged === 0) {
      this.log.warn(`the destination exited 0 without acknowledging any of the ${this.nextId} states sent to it: no state was committed, so the next run sends these records again`);
    }
    return result;
  }
}

