// A cap on repeated warnings about one connector's noise (non-protocol stdout lines): the
// first `max` are logged, then one line saying the rest are only counted; the count goes in
// the summary. Used by the read engine (a source's stdout), `host run` (a destination's
// stdout) and the Singer-target shim (a target's stdout), so a chatty connector cannot fill
// the log with hundreds of thousands of lines.

/** Warnings logged per connector before the rest are only counted. */
export const MAX_WARNINGS = 50;

export class WarningLimiter {
  /** Every warning, logged or not. */
  count = 0;
  private readonly emit: (message: string) => void;
  private readonly max: number;
  private readonly more: string;

  constructor(emit: (message: string) => void, opts: { max?: number; more?: string } = {}) {
    this.emit = emit;
    this.max = opts.max ?? MAX_WARNINGS;
    this.more = opts.more ?? 'more lines were ignored; their count is in the summary';
  }

  /** Count a warning; log it while under the cap. `message` is a function so that a capped one costs nothing. */
  warn(message: () => string): void {
    this.count++;
    if (this.count <= this.max) this.emit(message());
    else if (this.count === this.max + 1) this.emit(this.more);
  }
}
