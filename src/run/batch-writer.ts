// The bytes a sink sends to a child's stdin, batched: lines are copied into a large buffer
// (a run of lines that lie one after the other in the source's chunk is copied at once, not line
// by line), and a full buffer is handed to the stream as it is, no second copy: the stream
// keeps it until written, then it goes back to a free list for reuse. The batch is written
// when it is full, or once the event loop has nothing else to do (`later`), so a fast source
// gives large writes and a slow one is not held back.

import type { Writable } from 'node:stream';

const NL = 0x0a;
/** The size of one batch (one write to the pipe). */
export const BATCH_BYTES = 512 * 1024;
/** Free buffers kept for reuse (more are in flight only with a backlog above the slack). */
const FREE_MAX = 24;

export class BatchWriter {
  private readonly out: Writable;
  private buf: Buffer = Buffer.allocUnsafe(BATCH_BYTES);
  private pos = 0;
  private readonly free: Buffer[] = [];
  // an open run of lines as written: run[runS, runE), each line's newline inside it
  private run: Uint8Array | undefined;
  private runS = 0;
  private runE = 0;
  private scheduled: NodeJS.Immediate | undefined;
  /** Set once the other side is gone: what is put is dropped. */
  dropped = false;
  /** False once a write was refused (the stream's buffer is above its mark); the owner waits for the backlog to shrink. */
  writable = true;
  /** Bytes handed to the stream. */
  bytes = 0;

  constructor(out: Writable) {
    this.out = out;
  }

  /** A line as written (its newline is added): adjacent lines of one chunk are copied together. */
  line(src: Uint8Array, s: number, e: number): void {
    if (src === this.run && s === this.runE + 1 && src[this.runE] === NL) {
      this.runE = e;
      return;
    }
    if (this.run) this.closeRun();
    this.run = src;
    this.runS = s;
    this.runE = e;
  }

  /** prefix + src[s, e) + suffix + newline (a record wrapped in another envelope). */
  wrapped(prefix: Buffer, src: Uint8Array, s: number, e: number, suffix: Buffer): void {
    if (this.run) this.closeRun();
    const n = prefix.length + (e - s) + suffix.length + 1;
    this.room(n);
    const b = this.buf;
    let p = this.pos;
    p += prefix.copy(b, p);
    b.set(src.subarray(s, e), p);
    p += e - s;
    p += suffix.copy(b, p);
    b[p++] = NL;
    this.pos = p;
  }

  /** A line of text (its newline is added). */
  text(t: string): void {
    if (this.run) this.closeRun();
    const n = Buffer.byteLength(t) + 1;
    this.room(n);
    this.pos += this.buf.write(t, this.pos, 'utf8');
    this.buf[this.pos++] = NL;
  }

  /** Copy the open run into the batch: the source's chunk may be reused once the caller returns. */
  closeRun(): void {
    const r = this.run;
    if (!r) return;
    this.run = undefined;
    const n = this.runE - this.runS + 1;
    if (n > BATCH_BYTES) {
      // a run longer than a batch: fill the batch, write it, go on with the rest
      let s = this.runS;
      while (s < this.runE) {
        if (this.pos === this.buf.length) this.flush();
        const k = Math.min(this.runE - s, this.buf.length - this.pos);
        this.buf.set(r.subarray(s, s + k), this.pos);
        this.pos += k;
        s += k;
      }
      this.room(1);
      this.buf[this.pos++] = NL;
      return;
    }
    this.room(n);
    this.buf.set(r.subarray(this.runS, this.runE), this.pos);
    this.pos += n - 1;
    this.buf[this.pos++] = NL;
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
  }

  /** Write the batch now (the open run first). */
  flush(): void {
    if (this.run) this.closeRun();
    if (this.scheduled) {
      clearImmediate(this.scheduled);
      this.scheduled = undefined;
    }
    if (this.pos === 0) return;
    if (this.dropped || this.out.destroyed) {
      this.pos = 0;
      return;
    }
    const full = this.buf;
    const n = this.pos;
    this.bytes += n;
    // the stream keeps `full` until it is written: take another buffer, and reuse this one after
    this.buf = this.free.pop() ?? Buffer.allocUnsafe(BATCH_BYTES);
    this.pos = 0;
    const again = full.length === BATCH_BYTES ? () => this.free.length < FREE_MAX && this.free.push(full) : undefined;
    if (!this.out.write(n === full.length ? full : full.subarray(0, n), again && ((err) => !err && again()))) this.writable = false;
  }

  /** Write the batch once the event loop is idle (or at once when it is nearly full); the open run is copied now. */
  later(): void {
    if (this.run) this.closeRun();
    if (this.pos === 0 || this.scheduled) return;
    if (this.pos >= this.buf.length / 2) return this.flush();
    this.scheduled = setImmediate(() => {
      this.scheduled = undefined;
      this.flush();
    });
  }

  /** Bytes are waiting to be written (a write is scheduled). */
  get pending(): boolean {
    return this.scheduled !== undefined;
  }

  /** Drop what is buffered and stop a pending write. */
  discard(): void {
    this.run = undefined;
    this.pos = 0;
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
  }
}
