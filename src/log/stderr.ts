// A connector's stderr, line by line, into the log: each line at the level its leading word
// says (Python logging, Singer SDK; else info), as it comes. Two exceptions:
// - a Python traceback (`Traceback (most recent call last):`, its indented lines, and the
//   exception line after them, e.g. `ValueError: bad`; a chained one's "During handling of the
//   above exception..." line; an indented `+ Exception Group Traceback` block) is one ERROR
//   entry, bounded in lines and bytes;
// - once the connector has failed (a non-zero exit, or a signal the host did not send), the lines
//   that still arrive are logged at WARN at least, and its last lines that were logged below
//   WARN are shown again in one WARN entry, so that a log read at warn (or filtered by level)
//   has the failed connector's last words.
// Lines are masked (secrets) before they are kept or logged.

import type { Logger } from './logger.js';
import { stderrLevel } from './logger.js';
import { escapeControls } from './text.js';

type Level = ReturnType<typeof stderrLevel>;

const RANK: Record<Level, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

const TRACEBACK = /^Traceback \(most recent call last\):\s*$/;
const CHAINED = /^(?:During handling of the above exception, another exception occurred|The above exception was the direct cause of the following exception):\s*$/;
const GROUP = /^[ \t]*\+[ \t]*Exception Group Traceback \(most recent call last\):\s*$/;
const INDENTED = /^[ \t]/;
const IN_GROUP = /^[ \t+|]/;

/** Lines and bytes in one traceback entry; a longer one continues in the next entry. */
export const MAX_TRACEBACK_LINES = 200;
export const MAX_TRACEBACK_BYTES = 64 * 1024;
/** Longest last line kept for error messages (the log entry itself has up to 64 KiB). */
export const MAX_TAIL_LINE = 4096;
/** An unfinished traceback is logged this long after its last line. */
const TRACEBACK_IDLE_MS = 500;

export interface StderrLogOptions {
  /** The connector's child logger (connector and source fields set). */
  log: Logger;
  mask: (s: string) => string;
  /** How many last lines to keep (stderrTail). */
  keep: number;
}

export class StderrLog {
  private readonly o: StderrLogOptions;
  private readonly tail: string[] = [];
  /** The level each kept line was logged at. */
  private readonly tailLevels: Level[] = [];
  private tb: string[] | undefined;
  private tbBytes = 0;
  private tbKind: 'traceback' | 'chained' | 'group' = 'traceback';
  private timer: NodeJS.Timeout | undefined;
  private failedAlready = false;
  private raise = false;

  constructor(o: StderrLogOptions) {
    this.o = o;
  }

  /** The last lines, masked, control characters escaped (they end up in error messages on a terminal). */
  lines(): string[] {
    return this.tail.map((l) => escapeControls(l.length > MAX_TAIL_LINE ? `${l.slice(0, MAX_TAIL_LINE)}… (${l.length - MAX_TAIL_LINE} more characters)` : l));
  }

  private keep(line: string, level: Level): void {
    this.tail.push(line);
    this.tailLevels.push(level);
    if (this.tail.length > this.o.keep) {
      this.tail.shift();
      this.tailLevels.shift();
    }
  }

  private level(l: Level): Level {
    return this.raise && RANK[l] < RANK.warn ? 'warn' : l;
  }

  /** One line (without its newline), as the connector wrote it. */
  line(raw: string): void {
    const line = this.o.mask(raw);
    if (this.tb) {
      if (this.tbKind === 'group') {
        if (IN_GROUP.test(line)) return this.add(line);
        this.flush(); // the group's block ended: this line is not part of it
      } else if (this.tbKind === 'chained' && TRACEBACK.test(line)) {
        this.tbKind = 'traceback';
        return this.add(line);
      } else if (INDENTED.test(line)) {
        return this.add(line);
      } else {
        // the exception line (`ValueError: bad`) ends the traceback
        this.add(line);
        return this.flush();
      }
    }
    if (TRACEBACK.test(line) || CHAINED.test(line) || GROUP.test(line)) {
      this.tbKind = GROUP.test(line) ? 'group' : CHAINED.test(line) ? 'chained' : 'traceback';
      this.tb = [];
      this.tbBytes = 0;
      return this.add(line);
    }
    const level = this.level(stderrLevel(line));
    this.keep(line, level);
    this.o.log[level](line);
  }

  private add(line: string): void {
    if (this.tb!.length >= MAX_TRACEBACK_LINES || this.tbBytes + line.length + 1 > MAX_TRACEBACK_BYTES) {
      // a bounded entry; the rest goes on in the next one
      const kind = this.tbKind;
      this.flush('\n... (the traceback goes on in the next entry)');
      this.tb = [];
      this.tbBytes = 0;
      this.tbKind = kind;
    }
    this.tb!.push(line);
    this.tbBytes += line.length + 1;
    this.keep(line, 'error');
    if (this.timer) this.timer.refresh();
    else {
      this.timer = setTimeout(() => this.flush(), TRACEBACK_IDLE_MS);
      this.timer.unref();
    }
  }

  /** Log the open traceback, if any, as one ERROR entry. */
  flush(note = ''): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const tb = this.tb;
    this.tb = undefined;
    if (!tb || tb.length === 0) return;
    this.o.log.error(tb.join('\n') + note);
  }

  /** The stream ended. */
  end(): void {
    this.flush();
  }

  /** The connector is failing (it exited non-zero): the lines still to come at WARN at least. */
  failing(): void {
    this.raise = true;
  }

  /**
   * The connector failed: later lines at WARN at least, and its last lines that were logged
   * below WARN once more in one WARN entry.
   */
  failed(how: string): void {
    this.flush();
    if (this.failedAlready) return;
    this.failedAlready = true;
    this.raise = true;
    const quiet = this.tail.filter((_, i) => RANK[this.tailLevels[i]!] < RANK.warn);
    if (quiet.length === 0) return;
    this.o.log.warn(`the connector ${how}; its last stderr line${quiet.length > 1 ? 's' : ''} (logged above at a lower level):\n${quiet.join('\n')}`);
  }
}
