// All logs go to stderr (stdout carries data): JSON lines when stderr is not a
// terminal, pino-pretty when it is.

import { pino, type Logger, type LevelWithSilent } from 'pino';
import { createRequire } from 'node:module';

// pino-pretty is only needed on a terminal: load it then (saves start-up time in pipes and cron).
const require = createRequire(import.meta.url);

export type { Logger };

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export interface LoggerOptions {
  level?: LevelWithSilent;
  pretty?: boolean;
  /** Where to write; defaults to fd 2. */
  fd?: number;
  /** Or an object whose write() gets each formatted line (the live view writes them above its display). */
  destination?: { write(s: string): void } | undefined;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? 'info';
  const fd = opts.fd ?? 2;
  const usePretty = opts.pretty ?? Boolean(process.stderr.isTTY);
  if (usePretty) {
    const pretty = require('pino-pretty') as typeof import('pino-pretty');
    if (opts.destination) {
      // formatted in the call (sync), so each line reaches the destination whole and in order
      const format = pretty.prettyFactory({ colorize: true, translateTime: 'HH:MM:ss', ignore: 'pid,hostname' });
      const dest = opts.destination;
      return pino({ level, base: undefined }, { write: (s: string) => dest.write(format(s)) });
    }
    const stream = pretty({ destination: fd, sync: true, colorize: true, translateTime: 'HH:MM:ss', ignore: 'pid,hostname' });
    return pino({ level, base: undefined }, stream);
  }
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, opts.destination ?? pino.destination({ dest: fd, sync: true }));
}

/** A logger that prints nothing (library default). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
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
