// Without --out: RECORD and STATE lines go to stdout as NDJSON, so the host
// pipes. Written with writeSync on fd 1 in batches; a closed pipe (EPIPE) ends
// the run quietly and no state beyond what was written is committed.

import { writeSync } from 'node:fs';
import type { ReadSink, SinkResult } from '../run/sink.js';
import type { RunStream, StateMessage } from '../run/streams.js';
import { StateMerger, writeStateFile, type StoredState } from '../state/state.js';
import { StateError } from '../errors.js';

const BATCH = 256 * 1024;
const NL = 0x0a;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

export interface StdoutSinkOptions {
  fd?: number;
  stateFile?: string | undefined;
  stored: StoredState;
  commitIntervalMs: number;
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

  constructor(opts: StdoutSinkOptions) {
    this.fd = opts.fd ?? 1;
    this.opts = opts;
    this.merger = new StateMerger(opts.stored);
  }

  private put(src: Uint8Array, s: number, e: number): void {
    if (this.closed) return;
    const n = e - s;
    if (this.pos + n + 1 > this.buf.length) {
      this.flush();
      if (this.closed) return;
      if (n + 1 > this.buf.length) this.buf = Buffer.allocUnsafe(n + 1);
    }
    this.buf.set(src.subarray(s, e), this.pos);
    this.pos += n;
    this.buf[this.pos++] = NL;
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

  record(_s: RunStream, _d: Uint8Array, _ds: number, _de: number, line: Uint8Array, ls: number, le: number): void {
    this.put(line, ls, le);
  }

  state(msg: StateMessage, line: Uint8Array, ls: number, le: number): void {
    this.put(line, ls, le);
    if (!this.merger.apply(msg) || !this.opts.stateFile || this.closed) return;
    this.mark = { end: this.pos, snap: this.merger.snapshot() };
    if (Date.now() - this.lastCommitAt >= this.opts.commitIntervalMs) this.commit();
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
    // On failure, the latest state is still safe to keep: its records were written before it.
    void ok;
    this.commit();
    return { stateFile: this.opts.stateFile, stateCommitted: this.committedAny, output: 'stdout' };
  }
}
