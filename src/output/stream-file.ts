// An append-only output file with its own write buffer: records are copied into
// a 1 MiB buffer and written with one syscall when it fills (or at a commit).

import { openSync, writeSync, fsyncSync, closeSync, fstatSync, ftruncateSync, fsync as fsyncCb } from 'node:fs';
import { StateError } from '../errors.js';

const BUF_SIZE = 1 << 20;
const NL = 0x0a;

export class StreamFile {
  readonly path: string;
  private fd: number;
  private buf: Buffer = Buffer.allocUnsafe(BUF_SIZE);
  private pos = 0;
  /** Logical length: on disk plus buffered. */
  bytes: number;
  records: number;
  private dirty = false;

  constructor(path: string, opts: { truncate: boolean; records?: number }) {
    this.path = path;
    try {
      this.fd = openSync(path, opts.truncate ? 'w' : 'a', 0o644);
      this.bytes = opts.truncate ? 0 : fstatSync(this.fd).size;
    } catch (e) {
      throw new StateError(`cannot open the output file ${path}: ${(e as Error).message}`, { file: path }, 'OUTPUT_WRITE');
    }
    this.records = opts.records ?? 0;
  }

  /** Append buf[start, end) and a newline. */
  append(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (this.pos + n + 1 > BUF_SIZE) {
      this.flush();
      if (n + 1 > BUF_SIZE) {
        this.writeAll(Buffer.from(src.buffer, src.byteOffset + start, n));
        this.buf[0] = NL;
        this.pos = 1;
        this.bytes += n + 1;
        this.records++;
        return;
      }
    }
    this.buf.set(src.subarray(start, end), this.pos);
    this.pos += n;
    this.buf[this.pos++] = NL;
    this.bytes += n + 1;
    this.records++;
  }

  private writeAll(b: Buffer): void {
    let off = 0;
    try {
      while (off < b.length) off += writeSync(this.fd, b, off, b.length - off);
    } catch (e) {
      throw new StateError(`cannot write the output file ${this.path}: ${(e as Error).message}`, { file: this.path }, 'OUTPUT_WRITE');
    }
    this.dirty = true;
  }

  flush(): void {
    if (this.pos === 0) return;
    this.writeAll(this.buf.subarray(0, this.pos));
    this.pos = 0;
  }

  /** Flush and fsync: everything appended so far is durable. */
  sync(): void {
    this.flush();
    if (!this.dirty) return;
    try {
      fsyncSync(this.fd);
    } catch (e) {
      throw new StateError(`cannot fsync the output file ${this.path}: ${(e as Error).message}`, { file: this.path }, 'OUTPUT_WRITE');
    }
    this.dirty = false;
  }

  /** fsync on the thread pool (call flush() first): what was written before the call is durable when it resolves. */
  fsync(): Promise<void> {
    if (!this.dirty) return Promise.resolve();
    this.dirty = false; // writes from now on mark it dirty again
    return new Promise((resolve, reject) => {
      fsyncCb(this.fd, (e) => {
        if (e) {
          this.dirty = true;
          reject(new StateError(`cannot fsync the output file ${this.path}: ${e.message}`, { file: this.path }, 'OUTPUT_WRITE'));
        } else resolve();
      });
    });
  }

  /** Drop everything after `bytes` (records after the last committed state). */
  truncateTo(bytes: number, records: number): void {
    this.flush();
    ftruncateSync(this.fd, bytes);
    this.bytes = bytes;
    this.records = records;
    this.dirty = true;
  }

  close(): void {
    try {
      this.flush();
    } finally {
      closeSync(this.fd);
      this.buf = Buffer.alloc(0);
    }
  }
}
