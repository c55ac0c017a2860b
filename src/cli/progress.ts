// The live view of a read or run on stderr: on a terminal a small table redrawn in place; in a
// pipe or under CI a plain line every few seconds. A timer reads the counters the engine keeps
// on each RunStream (records, bytes, status, estimate): nothing here runs per record, so the
// data path is not slowed. The same samples give each stream's time for the summary.

import type { RunStream } from '../run/streams.js';
import { escapeControls } from '../log/text.js';

/** What the view shows of a log entry: its message (a --log-format json line is parsed; controls escaped). */
function lastLogOf(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const o = JSON.parse(line) as { msg?: unknown; connector?: unknown };
    if (typeof o.msg !== 'string') return line;
    const msg = escapeControls(o.msg.split('\n')[0] ?? '').replace(/\t/g, ' ');
    return typeof o.connector === 'string' ? `[${escapeControls(o.connector)}] ${msg}` : msg;
  } catch {
    return line;
  }
}

export type ProgressOption = 'auto' | 'tty' | 'plain' | 'off';
export type ProgressMode = 'tty' | 'plain' | 'off';

/** auto: the display when stderr is a terminal and not under CI, plain lines otherwise. */
export function progressMode(opt: ProgressOption, o: { quiet?: boolean | undefined; isTTY: boolean; env: NodeJS.ProcessEnv }): ProgressMode {
  if (o.quiet || opt === 'off') return 'off';
  if (opt !== 'auto') return opt;
  const ci = o.env['CI'] !== undefined && !['', '0', 'false'].includes(o.env['CI'].toLowerCase());
  return o.isTTY && !ci && o.env['TERM'] !== 'dumb' ? 'tty' : 'plain';
}

// ---------------------------------------------------------------------------------------------
// formatting (shared with the summary)

// (not toLocaleString: loading ICU's number formats costs ~7 ms on the first call)
export const fmtInt = (n: number): string => String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

export function fmtBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = -1;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

export function fmtRate(perSec: number | undefined): string {
  if (perSec === undefined || !Number.isFinite(perSec) || perSec <= 0) return '-';
  return perSec >= 100 ? `${fmtInt(perSec)}/s` : `${perSec.toFixed(1)}/s`;
}

/** 0:07, 12:34, 1:02:03 */
export function fmtClock(ms: number): string {
  const t = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const s = String(t % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** Columns two spaces apart; `align` has an `l` or `r` per column (default: r). */
export function columns(rows: string[][], align: string): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) =>
    r
      .map((c, i) => (align[i] === 'l' ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

// ---------------------------------------------------------------------------------------------
// sampling

const TICK_MS = 250; // 4 Hz: the display's redraw rate and the resolution of per-stream times
const PLAIN_EVERY_MS = 5000;
const RATE_WINDOW_MS = 5000; // the displayed rate: records over the last 5 s

interface Track {
  s: RunStream;
  /** First seen active (a record or a status), as the time of the sample before. */
  start: number | undefined;
  /** Last sample at which its count or status changed. */
  end: number | undefined;
  records: number;
  status: string | undefined;
  rate: number | undefined;
  /** Samples (time, records) of the last RATE_WINDOW_MS, oldest first. */
  hist: { t: number; r: number }[];
}

/** The state a stream is shown in: how it ended (once the connector exited), its STREAM_STATUS, or RUNNING once records arrive. */
export function streamState(s: RunStream): string {
  const st = (s.ended ?? s.status)?.toUpperCase();
  if (s.records > 0 && (st === undefined || st === 'STARTED')) return 'RUNNING';
  return st ?? 'WAITING';
}

const num = (v: unknown): number | undefined => {
  const n = typeof v === 'number' ? v : v === undefined || v === null ? NaN : Number(v);
  return Number.isFinite(n) && n > 0 ? n : undefined;
};

/** Fraction done from a row (or else byte) estimate, and the ETA at `rate` records/s. */
function estimateOf(s: RunStream, rate: number | undefined): { pct: number; etaMs: number | undefined } | undefined {
  const rows = num(s.estimate?.rows);
  const bytes = num(s.estimate?.bytes);
  const done = rows !== undefined ? s.records / rows : bytes !== undefined ? s.bytes / bytes : undefined;
  if (done === undefined) return undefined;
  if (streamState(s) === 'COMPLETE') return { pct: 100, etaMs: 0 };
  const left = rows !== undefined ? rows - s.records : s.records > 0 ? ((bytes! - s.bytes) * s.records) / s.bytes : undefined;
  const etaMs = rate && left !== undefined && left > 0 ? (left / rate) * 1000 : undefined;
  return { pct: Math.min(99, Math.floor(done * 100)), etaMs };
}

export interface LiveViewOptions {
  mode: ProgressMode;
  /** `read` or `run`, for the display's first line. */
  label: string;
  /** Where the view writes (stderr). */
  write: (s: string) => void;
  /** Terminal size, read at every redraw. */
  size?: () => { columns: number | undefined; rows: number | undefined };
  now?: () => number;
}

// CSI sequences and other control characters, to show a log line inside the display
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]|[\x00-\x08\x0b-\x1f\x7f]/g;

export class LiveView {
  private readonly o: LiveViewOptions;
  private readonly now: () => number;
  private tracks: Track[] = [];
  private started = 0;
  private lastSample = 0;
  private lastPlain = 0;
  private timer: NodeJS.Timeout | undefined;
  private redraw: NodeJS.Timeout | undefined;
  private drawn = 0; // lines of the display now on the terminal
  private lastLog = '';
  private stopped = false;

  /** For the logger: on a terminal, log lines are written above the display. */
  readonly logDestination = { write: (s: string): void => this.log(s) };

  constructor(o: LiveViewOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
  }

  get mode(): ProgressMode {
    return this.o.mode;
  }

  /** The read's streams are known and the connector is about to start. */
  readonly onStart = (streams: RunStream[]): void => {
    if (this.stopped) return;
    this.started = this.lastSample = this.lastPlain = this.now();
    this.tracks = streams.map((s) => ({ s, start: undefined, end: undefined, records: 0, status: undefined, rate: undefined, hist: [{ t: this.started, r: 0 }] }));
    clearInterval(this.timer);
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
    if (this.o.mode === 'tty') this.paint();
  };

  /** The end of the run: a last sample, and the display removed (the summary takes its place). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.redraw);
    if (this.tracks.length) this.sample();
    this.erase();
  }

  /** Each stream's time: from the sample before it was first seen active to its last change (4 Hz). */
  times(): Map<RunStream, number> {
    const m = new Map<RunStream, number>();
    for (const t of this.tracks) if (t.start !== undefined && t.end !== undefined) m.set(t.s, Math.max(0, t.end - t.start));
    return m;
  }

  private tick(): void {
    this.sample();
    if (this.o.mode === 'tty') this.paint();
    else if (this.o.mode === 'plain' && this.now() - this.lastPlain >= PLAIN_EVERY_MS - TICK_MS / 2) {
      this.lastPlain = this.now();
      this.o.write(this.plainLine() + '\n');
    }
  }

  private sample(): void {
    const t = this.now();
    for (const k of this.tracks) {
      const { records, status } = k.s;
      if (k.start === undefined && (records > 0 || status !== undefined)) k.start = this.lastSample;
      if (records !== k.records || status !== k.status) k.end = t;
      k.hist.push({ t, r: records });
      // from the stream's start, at most the last RATE_WINDOW_MS
      const from = Math.max(t - RATE_WINDOW_MS, k.start ?? t);
      while (k.hist.length > 2 && k.hist[1]!.t <= from) k.hist.shift();
      const first = k.hist[0]!;
      k.rate = t > first.t ? ((records - first.r) * 1000) / (t - first.t) : undefined;
      k.records = records;
      k.status = status;
    }
    this.lastSample = t;
  }

  /** The displayed rate: smoothed while running, the average once complete. */
  private rateOf(k: Track): number | undefined {
    if (streamState(k.s) === 'COMPLETE' || streamState(k.s) === 'INCOMPLETE') {
      const ms = k.start !== undefined && k.end !== undefined ? k.end - k.start : 0;
      return ms > 0 ? (k.s.records * 1000) / ms : undefined;
    }
    return k.rate;
  }

  private totals(): { records: number; bytes: number; rate: number; pct: number | undefined; etaMs: number | undefined } {
    let records = 0;
    let bytes = 0;
    let rate = 0;
    let est = 0;
    let allRows = this.tracks.length > 0;
    for (const k of this.tracks) {
      records += k.s.records;
      bytes += k.s.bytes;
      if (streamState(k.s) !== 'COMPLETE') rate += k.rate ?? 0;
      const rows = num(k.s.estimate?.rows);
      if (rows === undefined) allRows = false;
      else est += Math.max(rows, k.s.records);
    }
    // an overall percentage only when every stream gave a row estimate
    const pct = allRows && est > 0 ? Math.min(99, Math.floor((records / est) * 100)) : undefined;
    const etaMs = allRows && rate > 0 && est > records ? ((est - records) / rate) * 1000 : undefined;
    return { records, bytes, rate, pct, etaMs };
  }

  // ------------------------------------------------------------------------------- plain mode

  /** One line, no control characters: totals, then each active stream; the others as counts. */
  plainLine(): string {
    const tot = this.totals();
    const parts = [`progress ${fmtClock(this.now() - this.started)}: ${fmtInt(tot.records)} records, ${fmtBytes(tot.bytes)}, ${fmtRate(tot.rate)}${tot.pct !== undefined ? `, ${tot.pct}%` : ''}${tot.etaMs !== undefined ? `, ETA ${fmtClock(tot.etaMs)}` : ''}`];
    const counts = new Map<string, number>();
    for (const k of this.tracks) {
      const st = streamState(k.s);
      if (st !== 'RUNNING' && st !== 'STARTED') {
        counts.set(st.toLowerCase(), (counts.get(st.toLowerCase()) ?? 0) + 1);
        continue;
      }
      const e = estimateOf(k.s, k.rate);
      parts.push(`${k.s.display} ${st} ${fmtInt(k.s.records)} records ${fmtRate(k.rate)}${e ? ` ${e.pct}%${e.etaMs !== undefined ? ` ETA ${fmtClock(e.etaMs)}` : ''}` : ''}`);
    }
    if (counts.size) parts.push([...counts].map(([st, n]) => `${n} ${st}`).join(', '));
    return parts.join('; ');
  }

  // -------------------------------------------------------------------------------- tty mode

  /** The display's lines, each cut to the terminal width. */
  render(): string[] {
    const size = this.o.size?.() ?? { columns: 80, rows: 24 };
    const width = Math.max(20, (size.columns || 80) - 1); // never the last column: no auto-wrap
    const maxRows = Math.max(3, (size.rows || 24) - 5);
    const tot = this.totals();
    const head = [`host ${this.o.label}  ${fmtClock(this.now() - this.started)} elapsed  ${fmtInt(tot.records)} records  ${fmtBytes(tot.bytes)}  ${fmtRate(tot.rate)}`];
    if (tot.pct !== undefined) head.push(`${tot.pct}%`);
    if (tot.etaMs !== undefined) head.push(`ETA ${fmtClock(tot.etaMs)}`);
    let shown = this.tracks;
    let rest = '';
    if (shown.length > maxRows) {
      // many streams: the active ones first, the rest counted
      const active = (k: Track) => ['RUNNING', 'STARTED'].includes(streamState(k.s));
      shown = [...shown.filter(active), ...shown.filter((k) => !active(k))].slice(0, maxRows - 1);
      const counts = new Map<string, number>();
      for (const k of this.tracks) if (!shown.includes(k)) counts.set(streamState(k.s).toLowerCase(), (counts.get(streamState(k.s).toLowerCase()) ?? 0) + 1);
      rest = `  ... ${this.tracks.length - shown.length} more streams: ${[...counts].map(([st, n]) => `${n} ${st}`).join(', ')}`;
    }
    const rows = [['stream', 'state', 'records', 'bytes', 'rate', 'done', 'ETA']];
    for (const k of shown) {
      const e = estimateOf(k.s, k.rate);
      rows.push([k.s.display, streamState(k.s), fmtInt(k.s.records), fmtBytes(k.s.bytes), fmtRate(this.rateOf(k)), e ? `${e.pct}%` : '', e?.etaMs ? fmtClock(e.etaMs) : '']);
    }
    const lines = [head.join('  '), ...columns(rows, 'llrrrrr').map((l) => `  ${l}`)];
    if (rest) lines.push(rest);
    if (this.lastLog) lines.push(`  last log: ${this.lastLog}`);
    return lines.map((l) => (l.length > width ? l.slice(0, width - 3) + '...' : l));
  }

  private paint(): void {
    if (this.stopped) return;
    const lines = this.render();
    this.o.write(this.eraseSeq() + lines.join('\n') + '\n');
    this.drawn = lines.length;
  }

  private eraseSeq(): string {
    // to the display's first line, then clear to the end of the screen
    return this.drawn ? `\r\x1b[${this.drawn}A\x1b[J` : '';
  }

  private erase(): void {
    if (!this.drawn) return;
    this.o.write(this.eraseSeq());
    this.drawn = 0;
  }

  /** A log line: above the display (which is redrawn shortly after, once per burst of logs). */
  private log(s: string): void {
    if (this.o.mode !== 'tty' || this.stopped || !this.timer) {
      this.o.write(s);
      return;
    }
    this.erase();
    this.o.write(s);
    const first = s.replace(ANSI, '').split('\n').find((l) => l.trim());
    if (first) this.lastLog = lastLogOf(first.trim());
    this.redraw ??= setTimeout(() => {
      this.redraw = undefined;
      this.paint();
    }, 50).unref();
  }
}
