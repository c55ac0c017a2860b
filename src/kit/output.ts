// The kit's stdout: protocol lines gathered into ~64 KiB writes, respecting backpressure.
// Outside a run (a plain script calling log()) every line is written at once.

const LIMIT = 64 * 1024;

export class Output {
  private parts: string[] = [];
  private size = 0;
  /** Set by the runner: lines wait for a full batch (or flush()). */
  batching = false;
  private broken = false;

  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {
    // the reader went away (the host stopped): nothing more can be said on stdout
    out.on('error', (e: NodeJS.ErrnoException) => {
      this.broken = true;
      if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') process.exit(1);
      process.stderr.write(`connector-host kit: cannot write to stdout: ${e.message}\n`);
      process.exit(1);
    });
  }

  /** Queue one line (without its newline); a promise when the batch was written and the pipe is full. */
  line(s: string): Promise<void> | undefined {
    this.parts.push(s);
    this.size += s.length + 1;
    if (!this.batching || this.size >= LIMIT) return this.flush();
    return undefined;
  }

  /** Queue one line; the caller flushes (the runners decide where a batch ends). */
  push(s: string): void {
    this.parts.push(s);
    this.size += s.length + 1;
  }

  get pending(): number {
    return this.size;
  }

  flush(): Promise<void> | undefined {
    if (this.parts.length === 0 || this.broken) return undefined;
    const chunk = this.parts.length === 1 ? this.parts[0] + '\n' : this.parts.join('\n') + '\n';
    this.parts = [];
    this.size = 0;
    if (this.out.write(chunk)) return undefined;
    return new Promise((resolve) => this.out.once('drain', resolve));
  }

  /** Flush and wait until everything was handed to the OS. */
  async end(): Promise<void> {
    await this.flush();
    if (this.broken) return;
    await new Promise<void>((resolve) => this.out.write('', () => resolve()));
  }
}

export const output = new Output();

export function emit(message: object, stringify: (v: unknown) => string = JSON.stringify): Promise<void> | undefined {
  return output.line(stringify(message));
}
