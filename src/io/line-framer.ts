// Splits a byte stream into lines at the Buffer level: no string decoding, no
// copy unless a line spans chunks. Bounded: a line longer than maxLineBytes is
// reported (or, for log streams, cut) instead of growing memory without end.

export interface FramerOptions {
  maxLineBytes: number;
  /** 'error': call onTooLong and drop the line; 'truncate': deliver the first maxLineBytes. */
  overflow: 'error' | 'truncate';
  /** Called for each line: bytes are buf[start, end), CR and BOM already removed. */
  onLine: (buf: Buffer, start: number, end: number, lineNo: number) => void;
  /** Called once per overlong line with its first bytes. */
  onTooLong?: (head: Buffer, lineNo: number, bytesSoFar: number) => void;
}

const NL = 0x0a;
const CR = 0x0d;

export class LineFramer {
  private readonly opts: FramerOptions;
  private carry: Buffer[] = [];
  private carryBytes = 0;
  private skipping = false; // inside an overlong line
  private lineNo = 0;
  private atStart = true;

  constructor(opts: FramerOptions) {
    this.opts = opts;
  }

  get lines(): number {
    return this.lineNo;
  }

  push(chunk: Buffer): void {
    let pos = 0;
    const len = chunk.length;
    while (pos < len) {
      const nl = chunk.indexOf(NL, pos);
      if (nl < 0) {
        this.hold(chunk, pos, len);
        return;
      }
      if (this.skipping) {
        this.skipping = false;
        this.carry = [];
        this.carryBytes = 0;
      } else if (this.carryBytes > 0) {
        if (this.carryBytes + (nl - pos) > this.opts.maxLineBytes) {
          this.overlong(chunk.subarray(pos, nl));
          this.skipping = false;
          this.carry = [];
          this.carryBytes = 0;
        } else {
          this.carry.push(chunk.subarray(pos, nl));
          const whole = Buffer.concat(this.carry, this.carryBytes + (nl - pos));
          this.carry = [];
          this.carryBytes = 0;
          this.emit(whole, 0, whole.length);
        }
      } else if (nl - pos > this.opts.maxLineBytes) {
        this.overlong(chunk.subarray(pos, nl));
      } else {
        this.emit(chunk, pos, nl);
      }
      pos = nl + 1;
    }
  }

  /** End of input: a last line without a newline is still a line. */
  end(): void {
    if (this.skipping) {
      this.skipping = false;
    } else if (this.carryBytes > 0) {
      const whole = Buffer.concat(this.carry, this.carryBytes);
      this.emit(whole, 0, whole.length);
    }
    this.carry = [];
    this.carryBytes = 0;
  }

  private hold(chunk: Buffer, pos: number, len: number): void {
    if (this.skipping) return;
    const part = chunk.subarray(pos, len);
    if (this.carryBytes + part.length > this.opts.maxLineBytes) {
      this.overlong(part);
      this.skipping = true; // drop the rest of this line
      return;
    }
    // Copy: the chunk may be reused by the stream after we return.
    this.carry.push(Buffer.from(part));
    this.carryBytes += part.length;
  }

  private overlong(tail: Buffer): void {
    this.lineNo++;
    const headParts = this.carry.length > 0 ? this.carry : [tail];
    const head = Buffer.concat(headParts).subarray(0, 4096);
    const lineNo = this.lineNo;
    if (this.opts.overflow === 'truncate') {
      const all = Buffer.concat([...this.carry, tail]).subarray(0, this.opts.maxLineBytes);
      this.lineNo--; // emit() counts it
      this.emit(all, 0, all.length);
    } else {
      this.opts.onTooLong?.(head, lineNo, this.carryBytes + tail.length);
    }
  }

  private emit(buf: Buffer, start: number, end: number): void {
    this.lineNo++;
    if (end > start && buf[end - 1] === CR) end--;
    if (this.atStart) {
      this.atStart = false;
      if (end - start >= 3 && buf[start] === 0xef && buf[start + 1] === 0xbb && buf[start + 2] === 0xbf) start += 3;
    }
    this.opts.onLine(buf, start, end, this.lineNo);
  }
}
