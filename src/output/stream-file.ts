// An append-only output file with its own write buffer: records are copied into
// a buffer and written with one syscall when it fills (or at a commit).
//
// Files are opened lazily (on the first record, or when a commit needs them) and at most
// OPEN_FILES of them hold a descriptor and a buffer at a time: the least recently used one is
// flushed and closed when another one needs its slot, so 30,000 streams need no more
// descriptors than 30. A closed file that was written since its last fsync stays `dirty`, and
// sync()/fsync() reopen it to make it durable (on Linux, fsync of any descriptor of the file
// writes back all of its dirty pages).
//
// Every descriptor is opened with O_APPEND: a write goes to the end of the file as it is now,
// so a file cut back with truncateTo() is never written past its end (no hole of NUL bytes).

import { openSync, writeSync, fsyncSync, closeSync, statSync, ftruncateSync, truncateSync, readFileSync, constants as C } from 'node:fs';
import { open as openAsync } from 'node:fs/promises';
import { StateError } from '../errors.js';

const MIN_BUF = 64 << 10;
const MAX_BUF = 1 << 20;
const NL = 0x0a;
/** Files that may hold a descriptor (and a buffer of up to 1 MiB) at the same time: 256, or a quarter of a lower descriptor limit. */
export const OPEN_FILES = Math.max(8, Math.min(256, Math.floor(fdLimit() / 4)));
/** Closed files made durable at the same time by an fsync on the thread pool. */
const FSYNC_PARALLEL = 8;

const EMPTY = Buffer.alloc(0);

/** The soft limit of open descriptors (Linux: /proc/self/limits; elsewhere assume 1024). */
function fdLimit(): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m) return m[1] === 'unlimited' ? Infinity : Number(m[1]);
  } catch {
    // not Linux
  }
  return 1024;
}

/** The open files, least recently used first (Map order: a file moves to the end when it is used). */
class Pool {
  private readonly open = new Map<StreamFile, true>();
  // consecutive records of one stream cost no reordering
  private last: StreamFile | undefined;
  constructor(private readonly max: number) {}
  admit(f: StreamFile): void {
    if (this.open.size >= this.max) this.open.keys().next().value!.release();
    this.open.set(f, true);
    this.last = f;
  }
  touch(f: StreamFile): void {
    if (f === this.last) return;
    this.open.delete(f);
    this.open.set(f, true);
    this.last = f;
  }
  leave(f: StreamFile): void {
    this.open.delete(f);
    if (this.last === f) this.last = undefined;
  }
}

const defaultPool = new Pool(OPEN_FILES);

function fail(what: string, path: string, e: unknown): StateError {
  return new StateError(`cannot ${what} the output file ${path}: ${(e as Error).message}`, { file: path }, 'OUTPUT_WRITE');
}

export class StreamFile {
  readonly path: string;
  private fd = -1;
  private buf: Buffer = EMPTY;
  private pos = 0;
  /** Not created (or truncated) yet: the first opening truncates (a file written from scratch). */
  private fresh: boolean;
  private ended = false;
  /** Logical length: on disk plus buffered. */
  bytes: number;
  records: number;
  /** Written since its last fsync. */
  private dirty = false;
  /** fsync() calls under way (a sync() meanwhile must not take their work as done). */
  private syncing = 0;
  private readonly pool: Pool;

  constructor(path: string, opts: { truncate: boolean; records?: number }) {
    this.path = path;
    this.pool = defaultPool;
    this.fresh = opts.truncate;
    this.records = opts.records ?? 0;
    if (opts.truncate) this.bytes = 0;
    else {
      try {
        this.bytes = statSync(path).size;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw fail('open', path, e);
        this.bytes = 0;
      }
    }
  }

  private activate(): void {
    if (this.ended) throw new StateError(`internal: the output file ${this.path} was written after it was closed`, { file: this.path }, 'OUTPUT_WRITE');
    this.pool.admit(this);
    try {
      this.fd = openSync(this.path, C.O_WRONLY | C.O_CREAT | C.O_APPEND | (this.fresh ? C.O_TRUNC : 0), 0o644);
    } catch (e) {
      this.pool.leave(this);
      throw fail('open', this.path, e);
    }
    if (this.fresh) this.dirty = true; // the truncation is a change to make durable
    this.fresh = false;
    this.buf = Buffer.allocUnsafe(MIN_BUF);
    this.pos = 0;
  }

  /** Give up the descriptor and the buffer (the pool needs the slot, or the file is done). */
  release(): void {
    if (this.fd < 0) return;
    try {
      this.flush();
    } finally {
      this.pool.leave(this);
      const fd = this.fd;
      this.fd = -1;
      this.buf = EMPTY;
      this.pos = 0;
      closeSync(fd);
    }
  }

  /** Append buf[start, end) and a newline. */
  append(src: Uint8Array, start: number, end: number): void {
    if (this.fd < 0) this.activate();
    else this.pool.touch(this);
    const n = end - start;
    if (this.pos + n + 1 > this.buf.length) {
      this.flush();
      // a file that fills its buffer gets a bigger one (idle files keep a small one)
      if (this.buf.length < MAX_BUF) this.buf = Buffer.allocUnsafe(Math.min(MAX_BUF, Math.max(this.buf.length * 4, n + 1)));
      if (n + 1 > this.buf.length) {
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
      throw fail('write', this.path, e);
    }
    this.dirty = true;
  }

  flush(): void {
    if (this.pos === 0) return;
    this.writeAll(this.buf.subarray(0, this.pos));
    this.pos = 0;
  }

  /** Create the file (empty) if nothing was written to it yet: a full refresh with no records. */
  materialise(): void {
    if (this.fresh) {
      this.activate();
      this.release();
    }
  }

  /** Flush and fsync: everything appended so far is durable. */
  sync(): void {
    this.flush();
    if (!this.dirty && this.syncing === 0) return;
    let fd = this.fd;
    try {
      if (fd < 0) fd = openSync(this.path, 'r');
      try {
        fsyncSync(fd);
      } finally {
        if (fd !== this.fd) closeSync(fd);
      }
    } catch (e) {
      throw fail('fsync', this.path, e);
    }
    this.dirty = false;
  }

  /**
   * fsync on the thread pool (call flush() first): what was written before the call is durable
   * when it resolves. It uses a descriptor of its own, so the file may be closed meanwhile.
   */
  async fsync(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false; // writes from now on mark it dirty again
    this.syncing++;
    try {
      const fh = await openAsync(this.path, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    } catch (e) {
      // closed and then renamed (after a sync()) or removed (discarded) by the writer meanwhile
      if (this.ended && (e as NodeJS.ErrnoException).code === 'ENOENT') return;
      this.dirty = true;
      throw fail('fsync', this.path, e);
    } finally {
      this.syncing--;
    }
  }

  /** Drop everything after `bytes` (records after the last committed state). */
  truncateTo(bytes: number, records: number): void {
    this.flush();
    try {
      if (this.fd >= 0) ftruncateSync(this.fd, bytes);
      else if (!this.fresh) truncateSync(this.path, bytes);
    } catch (e) {
      throw fail('truncate', this.path, e);
    }
    if (!this.fresh) this.dirty = true;
    this.bytes = bytes;
    this.records = records;
  }

  /** Flush and let go; the file is not written again (a second close does nothing). */
  close(): void {
    this.ended = true;
    this.release();
  }
}

/** fsync these files on the thread pool, a few at a time (each needs a descriptor of its own). */
export async function fsyncAll(files: StreamFile[]): Promise<void> {
  for (const f of files) f.flush();
  let next = 0;
  const worker = async () => {
    while (next < files.length) await files[next++]!.fsync();
  };
  await Promise.all(Array.from({ length: Math.min(FSYNC_PARALLEL, files.length) }, worker));
}
