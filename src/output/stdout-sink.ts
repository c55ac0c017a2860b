// Without --out: RECORD and STATE lines go to stdout as NDJSON, so the host
// pipes. Written with writeSync on fd 1 in batches; a closed pipe (EPIPE) ends
// the run quietly and no state beyond what was written is committed.
//
// --format singer writes Singer messages instead, for `host read ... | target-x`:
// SCHEMA before a stream's first record, RECORD {"stream","record": <data bytes>},
// and STATE {"value": the whole cumulative state keyed by stream}, the last
// line winning (Meltano merges state by replacing it), with a final STATE after
// the last RECORD.

import { writeSync } from 'node:fs';
import type { ReadSink, SinkResult } from '../run/sink.js';
import type { RunStream, StateMessage } from '../run/streams.js';
import { StateMerger, writeStateFile, fullRefreshStart, type StoredState } from '../state/state.js';
import { StateError } from '../errors.js';
import { stringifyLossless, isPlainObject, type LosslessValue } from '../json/lossless.js';

const BATCH = 256 * 1024;
const NL = 0x0a;
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const SINGER_SUFFIX = Buffer.from('}');

export interface StdoutSinkOptions {
  fd?: number;
  stateFile?: string | undefined;
  stored: StoredState;
  commitIntervalMs: number;
  format?: 'airbyte' | 'singer' | undefined;
  /** `--full-refresh`: start from no state for the streams read, commit only when the run succeeds. */
  fullRefresh?: boolean | undefined;
  /** The streams read (for --full-refresh). */
  streams?: readonly { name: string; namespace?: string | undefined }[] | undefined;
}

/** A Singer stream name for a (namespace, name): `namespace-name`, as tap-postgres names its streams. */
export function singerStreamId(name: string, namespace: string | undefined | null): string {
  return namespace ? `${namespace}-${name}` : name;
}

/** Protocol state as one Singer state value: keyed by stream (GLOBAL: plus `__shared_state`; LEGACY: the blob). */
export function singerStateValue(snap: { kind: string | null; states: Record<string, LosslessValue>[] }): LosslessValue {
  const out: Record<string, LosslessValue> = {};
  const key = (d: LosslessValue | undefined) => (isPlainObject(d) ? singerStreamId(String(d['name']), d['namespace'] as string | undefined) : '');
  if (snap.kind === 'LEGACY') return (snap.states[0]?.['data'] ?? {}) as LosslessValue;
  for (const m of snap.states) {
    if (snap.kind === 'STREAM') {
      const st = m['stream'] as Record<string, LosslessValue>;
      out[key(st['stream_descriptor'])] = st['stream_state'] ?? null;
    } else if (snap.kind === 'GLOBAL') {
      const g = m['global'] as Record<string, LosslessValue>;
      if (g['shared_state'] !== undefined) out['__shared_state'] = g['shared_state'];
      for (const ss of (g['stream_states'] as Record<string, LosslessValue>[] | undefined) ?? []) out[key(ss['stream_descriptor'])] = ss['stream_state'] ?? null;
    }
  }
  return out;
}

export class StdoutSink implements ReadSink {
  private readonly fd: number;
  private buf = Buffer.allocUnsafe(BATCH);
  private pos = 0;
  private readonly merger: StateMerger;
  private readonly opts: StdoutSinkOptions;
  /** The latest state in the unwritten buffer, and where its line ends. */
  private mark: { end: number; snap: ReturnType<StateMerger['snapshot']> } | undefined;
  /** The latest state known to have reached stdout, not yet committed. */
  private written: ReturnType<StateMerger['snapshot']> | undefined;
  private lastCommitAt = 0;
  private committedAny = false;
  closed = false;
  // --format singer: each stream's RECORD prefix (its SCHEMA is written before the first one)
  private readonly singerPrefix = new Map<RunStream, Buffer>();
  private recordsSinceState = false;
  /** Bytes put on stdout (every line with its newline), for the summary. */
  private bytes = 0;

  constructor(opts: StdoutSinkOptions) {
    this.fd = opts.fd ?? 1;
    this.opts = opts;
    this.merger = new StateMerger(opts.fullRefresh ? fullRefreshStart(opts.stored, opts.streams ?? []) : opts.stored);
    // what reads stdout decides how it stores the records; --full-refresh reads from the start
    for (const s of opts.streams ?? []) {
      const r = s as Partial<RunStream>;
      if (r.configured) r.mode = { sync: opts.fullRefresh ? 'full_refresh' : r.configured.sync_mode, destination: r.configured.destination_sync_mode };
    }
  }

  /** A record line was put: count it for its stream (what stdout got of it, newline included). */
  private count(stream: RunStream, before: number): void {
    if (this.closed) return;
    const k = (stream.kept ??= { records: 0, bytes: 0 });
    k.records++;
    k.bytes += this.bytes - before;
  }

  /** Write prefix + src[s, e) + suffix + newline. */
  private put(src: Uint8Array, s: number, e: number, prefix?: Uint8Array, suffix?: Uint8Array): void {
    if (this.closed) return;
    const n = e - s + (prefix?.length ?? 0) + (suffix?.length ?? 0);
    this.bytes += n + 1;
    if (this.pos + n + 1 > this.buf.length) {
      this.flush();
      if (this.closed) return;
      if (n + 1 > this.buf.length) this.buf = Buffer.allocUnsafe(n + 1);
    }
    if (prefix) {
      this.buf.set(prefix, this.pos);
      this.pos += prefix.length;
    }
    this.buf.set(src.subarray(s, e), this.pos);
    this.pos += e - s;
    if (suffix) {
      this.buf.set(suffix, this.pos);
      this.pos += suffix.length;
    }
    this.buf[this.pos++] = NL;
  }

  private putText(text: string): void {
    const b = Buffer.from(text);
    this.put(b, 0, b.length);
  }

  private flush(): void {
    let off = 0;
    while (off < this.pos && !this.closed) {
      try {
        off += writeSync(this.fd, this.buf, off, this.pos - off);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          Atomics.wait(sleeper, 0, 0, 2); // non-blocking pipe is full: wait for the reader
          continue;
        }
        if (code === 'EPIPE' || code === 'ECONNRESET') {
          this.closed = true;
          break;
        }
        throw new StateError(`cannot write to stdout: ${(e as Error).message}`, {}, 'OUTPUT_WRITE');
      }
    }
    if (this.mark && off >= this.mark.end) this.written = this.mark.snap;
    this.mark = undefined;
    this.pos = 0;
  }

  record(stream: RunStream, data: Uint8Array, ds: number, de: number, line: Uint8Array, ls: number, le: number): void {
    const before = this.bytes;
    if (this.opts.format !== 'singer') {
      this.put(line, ls, le);
      this.count(stream, before);
      return;
    }
    let prefix = this.singerPrefix.get(stream);
    if (!prefix) {
      const name = singerStreamId(stream.name, stream.namespace);
      const c = stream.configured;
      const keys = (c.primary_key ?? (c.stream['source_defined_primary_key'] as string[][] | undefined) ?? []).map((p) => p[0]!);
      const schema: Record<string, unknown> = { type: 'SCHEMA', stream: name, schema: c.stream.json_schema ?? {}, key_properties: keys };
      if (c.sync_mode === 'incremental' && c.cursor_field?.length) schema['bookmark_properties'] = [c.cursor_field[0]];
      this.putText(stringifyLossless(schema));
      prefix = Buffer.from(`{"type":"RECORD","stream":${JSON.stringify(name)},"record":`);
      this.singerPrefix.set(stream, prefix);
    }
    const start = this.bytes;
    this.put(data, ds, de, prefix, SINGER_SUFFIX);
    this.count(stream, start);
    this.recordsSinceState = true;
  }

  private singerState(): void {
    this.putText(stringifyLossless({ type: 'STATE', value: singerStateValue(this.merger.snapshot()) }));
    this.recordsSinceState = false;
  }

  state(msg: StateMessage, line: Uint8Array, ls: number, le: number): void {
    const applied = this.merger.apply(msg);
    if (this.opts.format === 'singer') {
      if (applied) this.singerState();
    } else this.put(line, ls, le);
    if (!applied || !this.opts.stateFile || this.closed) return;
    this.mark = { end: this.pos, snap: this.merger.snapshot() };
    if (!this.opts.fullRefresh && Date.now() - this.lastCommitAt >= this.opts.commitIntervalMs) this.commit();
  }

  /** A state is committed only once it (and every record before it) reached stdout. */
  private commit(): void {
    this.flush();
    const snap = this.written;
    if (!snap || !this.opts.stateFile) return;
    writeStateFile(this.opts.stateFile, { kind: snap.kind, states: snap.states, files: this.opts.stored.files });
    this.written = undefined;
    this.committedAny = true;
    this.lastCommitAt = Date.now();
  }

  streamStatus(): void {}

  drain(): void {
    this.flush();
  }

  finish(ok: boolean): SinkResult {
    // On failure, the latest state is still safe to keep: its records were written before it
    // (not for --full-refresh, which replaces the stored state only when it succeeds).
    // Singer: a final STATE after the last RECORD, so the target sees the latest state last
    if (this.opts.format === 'singer' && this.recordsSinceState && this.merger.snapshot().states.length > 0 && !this.closed) this.singerState();
    if (this.opts.fullRefresh && !ok) this.flush(); // a failed full refresh keeps the stored state
    else this.commit();
    return { stateFile: this.opts.stateFile, stateCommitted: this.committedAny, output: 'stdout', bytes: this.bytes };
  }
}
