// `host run <source> --destination <destination>`: records flow from the source into a
// destination's stdin (`write --config --catalog`), with backpressure; state is committed
// only when the destination acknowledges it by echoing the STATE message, as the
// protocol says a destination must once everything before it is persisted.
//
// Each STATE sent to the destination carries an `id` (as the Airbyte platform attaches one),
// so an echo is matched exactly; an echo without the id is matched by content (the earliest
// pending state with the same content, so an acknowledgement never covers more than it may).
// The Singer-target shim does the same matching for targets that write bare state values.

import type { Logger } from '../log/logger.js';
import { silentLogger } from '../log/logger.js';
import { LineFramer } from '../io/line-framer.js';
import { drainAbove, settleBeforeEof, settleMs, STDIN_BACKLOG, MAX_PENDING } from '../io/backpressure.js';
import { WarningLimiter } from '../log/limit.js';
import { parseLossless, stringifyLossless, isPlainObject, toPlain, type LosslessValue } from '../json/lossless.js';
import { canonical } from '../testing/normalise.js';
import type { Masker } from '../secrets/mask.js';
import { collectSecrets } from '../secrets/mask.js';
import { spawnConnector, assertStarted, RunFiles, type ConnectorProcess } from '../connector/process.js';
import { resolveConnector, type ConnectorRef } from '../connector/resolve.js';
import { loadConfig } from '../config/config.js';
import { registryConfig } from '../connector/registry.js';
import { ConnectorError, UsageError, InterruptedError } from '../errors.js';
import { pinoLevel } from '../log/logger.js';
import { runSimpleCommand, type Message } from './simple-command.js';
import { readWith, validateConfig, mergeConfig, DEFAULTS, type ReadOptions, type ReadResult, type ConnectorInput } from './operations.js';
import type { ReadSink, SinkResult } from './sink.js';
import type { RunStream, StateMessage } from './streams.js';
import { StateMerger, writeStateFile, fullRefreshStart, type StoredState, type DestinationInfo } from '../state/state.js';

export type DestinationSyncMode = 'append' | 'overwrite' | 'append_dedup';

export interface RunOptions extends ReadOptions {
  /** The destination: a path, a reference, a registry name, an argv, or a resolved ConnectorRef. */
  destination?: ConnectorInput | undefined;
  /** `singer`: the destination is a Singer target (run through the Singer-target shim). */
  destinationProtocol?: 'native' | 'singer' | undefined;
  /** The destination's config files (later ones win), or the config itself. */
  destinationConfigFile?: string | string[] | undefined;
  destinationConfig?: Record<string, unknown> | undefined;
  /** Extra arguments for the destination program (before the command word; for a Singer target, its own arguments). */
  destinationArgs?: string[] | undefined;
  /** Default: overwrite for full refresh streams, append for incremental ones. */
  destinationSyncMode?: DestinationSyncMode | undefined;
}

export interface RunResult extends ReadResult {
  destination: string | undefined;
  /** STATE messages the destination acknowledged. */
  acknowledged: number;
  /** Lines of the destination's stdout that were not protocol messages (only the first are logged). */
  destinationWarnings: number;
}

const NL = 0x0a;
const BATCH = 256 * 1024;

interface Pending {
  id: number;
  key: string;
  snap: ReturnType<StateMerger['snapshot']>;
}

export interface DestinationSinkOptions {
  ref: ConnectorRef;
  args: string[];
  filesDir: string;
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
  /** The destination is a Singer target (through the shim): it decides how it stores the records. */
  singerTarget?: boolean | undefined;
}

/** What a Singer target is told about replacing data: nothing (Singer has no sync modes), so it decides. */
export const SINGER_TARGET_MODE = 'append (target decides)';

/** A ReadSink that feeds a destination process and commits the states it acknowledges. */
export class DestinationSink implements ReadSink {
  private readonly o: DestinationSinkOptions;
  private readonly proc: ConnectorProcess;
  private readonly log: Logger;
  private buf = Buffer.allocUnsafe(BATCH);
  private pos = 0;
  private writable = true;
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

  constructor(o: DestinationSinkOptions) {
    this.o = o;
    this.log = o.logger.child({ connector: o.ref.name });
    this.merger = new StateMerger(o.fullRefresh ? fullRefreshStart(o.stored, o.streams) : o.stored);
    // the modes the destination was given (destinationCatalog), or that a Singer target decides
    for (const s of o.streams) {
      s.mode = { sync: o.fullRefresh ? 'full_refresh' : s.configured.sync_mode, destination: o.singerTarget ? SINGER_TARGET_MODE : syncModeFor(s, o.destinationSyncMode, o.fullRefresh === true) };
      s.kept = { records: 0, bytes: 0 };
      s.keptIsSent = true;
    }
    this.proc = spawnConnector(o.ref, o.args, { logger: o.logger, masker: o.masker, killGraceMs: o.killGraceMs, filesDir: o.filesDir, stdin: true });
    this.noise = new WarningLimiter((m) => this.log.warn(m));
    const gone = () => {
      this.inputClosed = true;
      if (!this.endedByUs) this.leftEarly = true;
    };
    this.proc.stdin!.on('error', gone);
    this.proc.stdin!.on('close', gone);
    void this.proc.wait().then(() => {
      this.exited = true;
    });
    const framer = new LineFramer({
      maxLineBytes: o.maxLineBytes,
      overflow: 'truncate',
      onLine: (b, s, e, lineNo) => this.onDestinationLine(b, s, e, lineNo),
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
    return this.inputClosed || this.exited;
  }

  // ------------------------------------------------------------- destination output

  private onDestinationLine(b: Buffer, s: number, e: number, lineNo: number): void {
    if (e === s) return;
    const ignored = (what: string) => this.noise.warn(() => `destination stdout line ${lineNo}: ${what}, ignored: ${JSON.stringify(this.o.masker.mask(b.toString('utf8', s, Math.min(e, s + 120))))}${e - s > 120 ? '...' : ''}`);
    let m: LosslessValue;
    try {
      m = parseLossless(b.toString('utf8', s, e));
    } catch {
      ignored('not JSON');
      return;
    }
    if (!isPlainObject(m)) return ignored('not a JSON protocol message');
    if (typeof m['type'] !== 'string') return ignored('JSON without a message type');
    switch (m['type']) {
      case 'STATE':
        if (isPlainObject(m['state'])) this.onAck(m['state'] as StateMessage, lineNo);
        return;
      case 'LOG': {
        const l = m['log'];
        if (isPlainObject(l)) this.log[pinoLevel(String(l['level']))]({ source: 'LOG' }, this.o.masker.mask(String(l['message'])));
        return;
      }
      case 'TRACE': {
        const t = m['trace'];
        if (isPlainObject(t) && t['type'] === 'ERROR' && isPlainObject(t['error'])) {
          const msg = this.o.masker.mask(String(t['error']['message'] ?? 'unknown error'));
          this.log.error({ failure_type: t['error']['failure_type'] }, `destination error: ${msg}`);
          this.traceError ??= msg;
        }
        return;
      }
      default:
        this.log.debug(`destination stdout line ${lineNo}: ${String(m['type']).slice(0, 40)} message ignored`);
    }
  }

  private onAck(state: StateMessage, lineNo: number): void {
    const id = state['id'];
    let i: number;
    if (typeof id === 'number') i = this.pending.findIndex((p) => p.id === id);
    else {
      const copy = { ...state };
      delete copy['id'];
      const key = canonical(copy);
      i = this.pending.findIndex((p) => p.key === key);
    }
    if (i < 0) {
      this.noise.warn(() => `destination stdout line ${lineNo}: a STATE that matches no state sent to it (or one already acknowledged); ignored`);
      return;
    }
    this.acked = this.pending[i]!.snap;
    this.ackedUncommitted = true;
    this.acknowledged++;
    this.pending.splice(0, i + 1);
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

  private put(src: Uint8Array, s: number, e: number): void {
    const n = e - s + 1;
    if (this.pos + n > this.buf.length) {
      this.flush();
      if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
    }
    this.buf.set(src.subarray(s, e), this.pos);
    this.pos += e - s;
    this.buf[this.pos++] = NL;
  }

  private putText(text: string): void {
    const b = Buffer.from(text);
    this.put(b, 0, b.length);
  }

  private flush(): void {
    if (this.pos === 0) return;
    if (this.closed) {
      this.pos = 0;
      return;
    }
    // the stream keeps the chunk until written: hand it a copy and reuse our buffer
    if (!this.proc.stdin!.write(Buffer.from(this.buf.subarray(0, this.pos)))) this.writable = false;
    this.pos = 0;
  }

  record(stream: RunStream, _data: Uint8Array, _ds: number, _de: number, line: Uint8Array, ls: number, le: number): void {
    this.put(line, ls, le);
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
    this.pending.push({ id, key: canonical(msg), snap: this.merger.snapshot() });
    // a destination that acknowledges late (or never) must not make memory grow without end
    if (this.pending.length > MAX_PENDING) this.pending.splice(0, this.pending.length - MAX_PENDING / 2);
    this.putText(stringifyLossless({ type: 'STATE', state: { ...msg, id } }));
    this.recordsAfterLastState = 0;
    this.lastBuf = line;
    this.lastS = ls;
    this.lastE = le;
  }

  streamStatus(): void {
    // the destination gets the platform's own STREAM_STATUS at the end of the source
  }

  async drain(): Promise<void> {
    this.flush();
    if (this.writable || this.closed) return;
    await drainAbove(this.proc.stdin!, STDIN_BACKLOG, this.proc.wait());
    this.writable = true;
  }

  /**
   * The end of the source: tell the destination how each stream ended (INCOMPLETE for a stream the
   * source reported incomplete or that --limit cut short, so an overwrite destination keeps its old
   * data), close its input, wait for it.
   */
  async finish(ok: boolean): Promise<SinkResult> {
    if (!this.closed) {
      for (const s of this.o.streams) {
        const descriptor: Record<string, string> = { name: s.name };
        if (s.namespace !== undefined) descriptor['namespace'] = s.namespace;
        this.putText(JSON.stringify({ type: 'TRACE', trace: { type: 'STREAM_STATUS', emitted_at: Date.now(), stream_status: { stream_descriptor: descriptor, status: ok && s.ended !== 'INCOMPLETE' ? 'COMPLETE' : 'INCOMPLETE' } } }));
      }
      this.flush();
      // keep stdin open a moment, so that a destination that stops without waiting for EOF is
      // seen to exit before it (see settleBeforeEof)
      if (ok && !this.o.signal?.aborted && !this.everythingAcked) {
        await settleBeforeEof(this.proc.stdin!, Promise.race([this.proc.wait(), new Promise<void>((r) => (this.allAcked = r))]), settleMs(this.startedAt));
      }
    }
    // a destination that ended before its input did cannot have taken everything sent to it
    const endedEarly = this.leftEarly || this.proc.hasExited;
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
    clearTimeout(graceTimer);
    this.o.signal?.removeEventListener('abort', onAbort);
    await this.stdoutDone;
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

/** Each configured stream with the destination fields the Airbyte platform sets. */
/** A stream's destination sync mode: the option, else overwrite for a full refresh (or --full-refresh), else append. */
function syncModeFor(s: RunStream, mode: DestinationSyncMode | undefined, fullRefresh: boolean): DestinationSyncMode {
  return mode ?? (s.configured.sync_mode === 'full_refresh' || fullRefresh ? 'overwrite' : 'append');
}

/** Whether this run replaces the stream's data in the destination: a new generation. */
function replaces(s: RunStream, mode: DestinationSyncMode | undefined, fullRefresh: boolean): boolean {
  return (s.configured.sync_mode === 'full_refresh' || fullRefresh) && syncModeFor(s, mode, fullRefresh) === 'overwrite';
}

export function destinationCatalog(streams: RunStream[], info: DestinationInfo, mode: DestinationSyncMode | undefined, fullRefresh = false): { streams: Record<string, unknown>[] } {
  return {
    streams: streams.map((s) => {
      const c = s.configured;
      const generation = info.generations[s.display] ?? 0;
      return {
        ...c,
        destination_sync_mode: syncModeFor(s, mode, fullRefresh),
        generation_id: generation,
        minimum_generation_id: replaces(s, mode, fullRefresh) ? generation : 0,
        sync_id: info.sync_id,
      };
    }),
  };
}

/** The next run's sync id and generations: a full refresh + overwrite starts a new generation. */
export function nextDestinationInfo(prev: DestinationInfo | undefined, streams: RunStream[], mode: DestinationSyncMode | undefined, fullRefresh = false): DestinationInfo {
  const generations: Record<string, number> = { ...(prev?.generations ?? {}) };
  for (const s of streams) {
    const g = generations[s.display];
    if (replaces(s, mode, fullRefresh)) generations[s.display] = g === undefined ? 0 : g + 1;
    else generations[s.display] = g ?? 0;
  }
  return { sync_id: (prev?.sync_id ?? 0) + 1, generations };
}

async function resolveDestination(o: RunOptions, logger: Logger): Promise<ConnectorRef> {
  const d = o.destination!;
  if (typeof d === 'object' && !Array.isArray(d) && 'command' in (d as object)) return d as ConnectorRef;
  const extra = o.destinationArgs ?? [];
  const bare = await resolveConnector(d as string | readonly string[], { logger, ...o.resolve, protocol: 'native', role: 'destination' });
  if (extra.length && bare.args[0] === (await import('../shims/singer-target.js')).SINGER_TARGET_SHIM) throw new UsageError(`--destination-arg cannot be added to ${bare.display}, which the registry runs through the Singer-target shim: give the arguments in the registry's ref`);
  const ref = extra.length ? { ...bare, args: [...bare.args, ...extra] } : bare;
  const { singerTargetConnector, SINGER_TARGET_SHIM } = await import('../shims/singer-target.js');
  // a registry entry with `protocol: singer` is wrapped already
  if (o.destinationProtocol !== 'singer' || ref.args[0] === SINGER_TARGET_SHIM) return ref;
  return singerTargetConnector(ref);
}

/**
 * Run a pipeline: without a destination, the built-in `out` directory (the same as read);
 * with one, the destination's spec and config are checked first, then the source is read
 * into it.
 */
export async function run(source: ConnectorInput, o: RunOptions): Promise<RunResult> {
  if (!o.destination) {
    if (!o.out) throw new UsageError('name a --destination, or --out DIR for the built-in JSONL output');
    const r = await readWith(source, o);
    return { ...r, destination: o.out, acknowledged: 0, destinationWarnings: 0 };
  }
  if (o.out) throw new UsageError('give either --destination or --out, not both');
  if (o.format === 'singer') throw new UsageError('--format is for `host read` to stdout; `host run` writes into the destination');
  const logger = o.logger ?? silentLogger();
  const dest = await resolveDestination(o, logger);
  const singerTarget = dest.args[0] === (await import('../shims/singer-target.js')).SINGER_TARGET_SHIM;
  const simple = { logger, timeoutMs: o.timeoutMs ?? DEFAULTS.timeoutMs, killGraceMs: o.killGraceMs, maxLineBytes: o.maxLineBytes, signal: o.signal };
  const destSpec: Message = await runSimpleCommand(dest, 'spec', [], simple);
  const config = o.destinationConfigFile !== undefined ? loadConfig(o.destinationConfigFile) : { value: (o.destinationConfig ?? {}) as Record<string, LosslessValue>, file: undefined };
  // a registry entry's defaults (and environment fields) sit under the user's own config
  if (dest.registry) config.value = mergeConfig(registryConfig(dest.registry), config.value);
  validateConfig(destSpec, config, { option: '--destination-config', who: 'destination', given: o.destinationConfig !== undefined });
  const cs = isPlainObject(destSpec['spec']) ? destSpec['spec']['connectionSpecification'] : undefined;
  const destSecrets = collectSecrets(toPlain(config.value), toPlain(cs ?? {}) as object);
  if (!o.stateFile) logger.warn('no --state file: this run starts from scratch and the state the destination acknowledges is not kept');

  const files = new RunFiles();
  let sink: DestinationSink | undefined;
  try {
    const configPath = files.write('destination-config.json', stringifyLossless(config.value));
    const r = await readWith(source, o, (ctx) => {
      ctx.masker.add(destSecrets);
      const info = nextDestinationInfo(ctx.stored.destination, ctx.streams.list, o.destinationSyncMode, o.fullRefresh);
      const catalogPath = files.write('destination-catalog.json', stringifyLossless(destinationCatalog(ctx.streams.list, info, o.destinationSyncMode, o.fullRefresh)));
      sink = new DestinationSink({
        ref: dest,
        args: ['write', '--config', configPath, '--catalog', catalogPath],
        filesDir: files.dir,
        streams: ctx.streams.list,
        stateFile: ctx.stateFile,
        stored: ctx.stored,
        destinationInfo: info,
        logger,
        masker: ctx.masker,
        killGraceMs: o.killGraceMs ?? DEFAULTS.killGraceMs,
        commitIntervalMs: o.commitIntervalMs ?? DEFAULTS.commitIntervalMs,
        signal: o.signal,
        maxLineBytes: o.maxLineBytes ?? DEFAULTS.maxLineBytes,
        fullRefresh: o.fullRefresh,
        destinationSyncMode: o.destinationSyncMode,
        singerTarget,
      });
      return sink;
    });
    return { ...r, destination: dest.display, acknowledged: sink?.acknowledged ?? 0, destinationWarnings: sink?.noise.count ?? 0 };
  } finally {
    files.cleanup();
  }
}
