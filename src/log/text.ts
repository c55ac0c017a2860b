// The text log format: one readable line per entry (time, level, the connector it is about,
// the message, then other fields as key=value), coloured on a terminal. It formats the JSON
// line pino produced (logging is not on the record hot path: a JSON.parse per log line).
//
// A connector's stderr is untrusted text that goes to the user's terminal: control characters
// (ANSI escape sequences, a carriage return that overwrites the line, C1 controls) and the
// Unicode bidirectional overrides are shown escaped (`\x1b`, `\u202e`), never sent raw. A
// message's own newlines (a traceback) become indented continuation lines of the same entry.

export interface TextFormatOptions {
  /** ANSI colours (a terminal). */
  color: boolean;
  /** 'clock': local HH:MM:ss.mmm (a terminal); 'iso': UTC ISO 8601 (files, cron mail). */
  time: 'clock' | 'iso';
}

/** Longest message line shown in text format; the rest is counted (the json format keeps it). */
export const MAX_TEXT_LINE = 16 * 1024;

const LEVELS: Record<number, [label: string, color: string]> = {
  10: ['TRACE', '90'],
  20: ['DEBUG', '34'],
  30: ['INFO ', '32'],
  40: ['WARN ', '33'],
  50: ['ERROR', '31'],
  60: ['FATAL', '97;41'],
};

// C0 controls but tab and newline, DEL, C1 controls; bidi embeddings, overrides and isolates
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// the same plus tab and newline, for field values (one line each)
// eslint-disable-next-line no-control-regex
const UNSAFE_IN_FIELD = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function escapeChar(c: string): string {
  const n = c.charCodeAt(0);
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  if (c === '\t') return '\\t';
  return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
}

/** The text with every control character and bidi override escaped (newlines and tabs kept). */
export function escapeControls(s: string): string {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(s) ? s.replace(UNSAFE, escapeChar) : s;
}

function escapeField(s: string): string {
  UNSAFE_IN_FIELD.lastIndex = 0;
  return UNSAFE_IN_FIELD.test(s) ? s.replace(UNSAFE_IN_FIELD, escapeChar) : s;
}

function clip(line: string): string {
  return line.length > MAX_TEXT_LINE ? `${line.slice(0, MAX_TEXT_LINE)}… (${line.length - MAX_TEXT_LINE} more characters)` : line;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

function formatTime(t: unknown, how: TextFormatOptions['time']): string {
  const d = typeof t === 'number' ? new Date(t) : typeof t === 'string' ? new Date(t) : new Date();
  if (Number.isNaN(d.getTime())) return String(t);
  if (how === 'iso') return d.toISOString();
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

const SIMPLE = /^[\w.:/@+-]+$/;

function fieldValue(v: unknown): string {
  if (typeof v === 'string') return SIMPLE.test(v) ? v : escapeField(JSON.stringify(v));
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return escapeField(s.length > 2000 ? `${s.slice(0, 2000)}…` : s);
}

// fields shown in the line's head (or not at all) rather than as key=value
const HEAD = new Set(['level', 'time', 'msg', 'connector', 'source', 'pid', 'hostname', 'err']);

/** A formatter from pino's JSON line (with its newline) to one text entry (with its newline). */
export function textFormatter(o: TextFormatOptions): (json: string) => string {
  const c = (code: string, s: string) => (o.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  return (json: string): string => {
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(json) as Record<string, unknown>;
    } catch {
      return escapeControls(json.replace(/\n$/, '')) + '\n';
    }
    if (e === null || typeof e !== 'object') return escapeControls(String(json).replace(/\n$/, '')) + '\n';
    const [label, color] = LEVELS[e['level'] as number] ?? [String(e['level'] ?? 'LOG').toUpperCase().padEnd(5), '0'];
    let head = `${c('2', formatTime(e['time'], o.time))} ${c(color, label)} `;
    const connector = e['connector'];
    if (typeof connector === 'string') {
      const source = typeof e['source'] === 'string' ? ` ${e['source']}` : '';
      head += c('36', `[${escapeField(connector)}${escapeField(source)}]`) + ' ';
    }
    const msg = typeof e['msg'] === 'string' ? e['msg'] : e['msg'] === undefined ? '' : fieldValue(e['msg']);
    const lines = escapeControls(msg).split('\n');
    let fields = '';
    for (const k of Object.keys(e)) {
      if (HEAD.has(k)) continue;
      fields += ` ${c('2', `${escapeField(k)}=`)}${fieldValue(e[k])}`;
    }
    const err = e['err'] as { message?: unknown; stack?: unknown } | undefined;
    if (err && typeof err === 'object') {
      fields += ` ${c('2', 'err=')}${fieldValue(typeof err.message === 'string' ? err.message : err)}`;
      if (typeof err.stack === 'string') lines.push(...escapeControls(err.stack).split('\n'));
    }
    let out = head + clip(lines[0] ?? '') + fields + '\n';
    for (let i = 1; i < lines.length; i++) out += `    ${clip(lines[i]!)}\n`;
    return out;
  };
}
