// All logs go to stderr (stdout carries data), in one of two formats:
// - text (the default, also off a terminal): one readable line per entry (./text.ts), coloured
//   on a terminal (unless NO_COLOR is set), control characters in messages escaped;
// - json (for machines): pino's JSON lines, one object per entry.
// `--log-format` chooses, else $CONNECTOR_HOST_LOG_FORMAT, else text.

import { createRequire } from 'node:module';
import type { Logger, LevelWithSilent } from 'pino';
import type * as PinoModule from 'pino';
import { UsageError } from '../errors.js';
import { textFormatter } from './text.js';

export type { Logger };

// pino is loaded when the first logger is made, not when this module is (`host --version` and
// `--help` never load it).
let pinoModule: typeof PinoModule | undefined;
function pinoLib(): typeof PinoModule.pino {
  return (pinoModule ??= createRequire(import.meta.url)('pino') as typeof PinoModule).pino;
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
/** The environment variable that sets the log format when no --log-format is given. */
export const LOG_FORMAT_ENV = 'CONNECTOR_HOST_LOG_FORMAT';

/** The log format: the flag wins, then $CONNECTOR_HOST_LOG_FORMAT, then text. */
export function resolveLogFormat(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): LogFormat {
  if (flag !== undefined) {
    if ((LOG_FORMATS as readonly string[]).includes(flag)) return flag as LogFormat;
    throw new UsageError(`--log-format must be text or json`);
  }
  const v = Object.hasOwn(env, LOG_FORMAT_ENV) ? env[LOG_FORMAT_ENV]?.trim().toLowerCase() : undefined;
  if (v === undefined || v === '') return 'text';
  if ((LOG_FORMATS as readonly string[]).includes(v)) return v as LogFormat;
  throw new UsageError(`${LOG_FORMAT_ENV} must be text or json (or unset: text)`);
}

/** Colour on a terminal, unless NO_COLOR is set (https://no-color.org) or TERM is dumb; FORCE_COLOR forces it. */
export function useColor(isTTY: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  const own = (k: string) => (Object.hasOwn(env, k) ? env[k] : undefined);
  if (own('NO_COLOR')) return false;
  const force = own('FORCE_COLOR');
  if (force !== undefined && force !== '') return force !== '0' && force !== 'false';
  return isTTY && own('TERM') !== 'dumb';
}

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** text or json; default: $CONNECTOR_HOST_LOG_FORMAT, else text. */
  format?: LogFormat;
  /** Older option: true is text, false json (format wins). */
  pretty?: boolean;
  /** Colours in text format; default: stderr is a terminal (see useColor). */
  color?: boolean;
  /** Where to write; defaults to fd 2. */
  fd?: number;
  /** Or an object whose write() gets each formatted entry, whole (the live view writes them above its display). */
  destination?: { write(s: string): void } | undefined;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const pino = pinoLib();
  const level = opts.level ?? 'info';
  const fd = opts.fd ?? 2;
  const format: LogFormat = opts.format ?? (opts.pretty === undefined ? resolveLogFormat(undefined) : opts.pretty ? 'text' : 'json');
  const sink = opts.destination ?? pino.destination({ dest: fd, sync: true });
  if (format === 'json') return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, sink);
  const tty = fd === 2 ? Boolean(process.stderr.isTTY) : fd === 1 ? Boolean(process.stdout.isTTY) : false;
  const color = opts.color ?? useColor(tty);
  // formatted in the call (sync), so each entry reaches the destination whole and in order
  const fmt = textFormatter({ color, time: tty || opts.destination ? 'clock' : 'iso' });
  return pino({ level, base: undefined }, { write: (s: string) => sink.write(fmt(s)) });
}

/** A logger that prints nothing (library default). */
export function silentLogger(): Logger {
  return pinoLib()({ level: 'silent' });
}

/** Map a connector's level names (Airbyte LOG levels, Python logging words) to pino's. */
export function pinoLevel(level: string | undefined): 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' {
  switch ((level ?? '').toUpperCase()) {
    case 'FATAL':
    case 'CRITICAL':
      return 'fatal';
    case 'ERROR':
      return 'error';
    case 'WARN':
    case 'WARNING':
      return 'warn';
    case 'DEBUG':
      return 'debug';
    case 'TRACE':
      return 'trace';
    default:
      return 'info';
  }
}

const STDERR_LEVEL_RE = /^\s*(?:\[|\d{4}-\d\d-\d\d[^A-Za-z]*)?\s*(CRITICAL|FATAL|ERROR|WARNING|WARN|INFO|DEBUG|TRACE)\b/;

/** Guess the level of a connector's stderr line from its leading word (Python logging, Singer SDK). */
export function stderrLevel(line: string): ReturnType<typeof pinoLevel> {
  const m = STDERR_LEVEL_RE.exec(line);
  return m ? pinoLevel(m[1]) : 'info';
}
