// The Singer-target shim: runs a Singer target and speaks the protocol of a destination, so
// anything that drives Airbyte destinations can write into any Singer target. The host itself
// writes to Singer targets in-process (src/dialect/singer-target.ts); this standalone entry point
// (shims/singer-target.mjs) runs the same code: the destination sink of `host run` with the
// Singer-target dialect, fed by the protocol messages on stdin.
//
//   node shims/singer-target.mjs --target-json '{"command":"target-x","args":[],"env":{}}' spec|check|write
//        [--config F] [--catalog F] [--check-timeout S]
//
// write: protocol messages on stdin become Singer messages on the target's stdin (a SCHEMA
// before each stream's first RECORD, RECORD with the data bytes as they came, STATE with a
// Singer state value). What the target writes on stdout (a bare state value, or a wrapped
// {"type":"STATE","value":…}, often late and only the last one) is matched against the values
// sent, and acknowledged by echoing the original protocol STATE message, as a protocol
// destination does. A value that was never sent is ignored with a warning. Logs are LOG
// messages on stdout; the target's stderr goes to the shim's stderr.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import type { ConnectorRef } from '../connector/resolve.js';
import { LineFramer } from '../io/line-framer.js';
import { checkNumber, seconds } from '../cli/numbers.js';
import { HostError } from '../errors.js';
import { classifyLine, lastRecord, RECORD } from '../json/scan.js';
import { parseLossless, stringifyLossless, isPlainObject } from '../json/lossless.js';
import { emptyState } from '../state/state.js';
import { Masker } from '../secrets/mask.js';
import { StreamTable, type StateMessage } from '../run/streams.js';
import { DestinationSink } from '../run/destination-sink.js';
import { SingerTargetDialect, singerTargetSpec, singerTargetCheck, targetName } from '../dialect/singer-target.js';
import { parseShimArgv, shimConnector, type TapSpec } from './singer-tap.js';

export { targetStateValue } from '../dialect/singer-target.js';

/** Where the standalone shim lives in the package (dist/shims/ -> shims/). */
export const SINGER_TARGET_SHIM = resolve(import.meta.dirname, '..', '..', 'shims', 'singer-target.mjs');

/** A ConnectorRef that runs `inner` (a Singer target) through the shim, as a protocol destination (for platforms other than this host). */
export function singerTargetConnector(inner: ConnectorRef): ConnectorRef {
  return shimConnector(inner, SINGER_TARGET_SHIM, 'target-json');
}

function out(obj: unknown): void {
  process.stdout.write(stringifyLossless(obj as never) + '\n');
}

function traceError(message: string, tail: string[] = [], failureType = 'system_error'): void {
  out({ type: 'TRACE', trace: { type: 'ERROR', emitted_at: Date.now(), error: { message, internal_message: tail.join('\n') || undefined, failure_type: failureType } } });
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** The shim's log: protocol LOG messages on stdout; the target's own stderr lines to stderr, as they came. */
function shimLogger(): Logger {
  return pino(
    { level: 'info', base: undefined, timestamp: false },
    {
      write(s: string) {
        let e: { level?: number; msg?: string; source?: string };
        try {
          e = JSON.parse(s);
        } catch {
          return;
        }
        if (e.source === 'stderr') process.stderr.write(`${e.msg ?? ''}\n`);
        else out({ type: 'LOG', log: { level: LEVELS[e.level ?? 30] ?? 'INFO', message: e.msg ?? '' } });
      },
    },
  );
}

function refOf(t: TapSpec): ConnectorRef {
  const name = targetName({ command: t.command, args: t.args ?? [] });
  return { display: name, name, command: t.command, args: t.args ?? [], ...(t.env ? { env: t.env } : {}) };
}

async function doSpec(ref: ConnectorRef): Promise<number> {
  try {
    out(await singerTargetSpec(ref, shimLogger()));
    return 0;
  } catch (e) {
    if (!(e instanceof HostError)) throw e;
    // the target's own output is at fault: a config error of the connector's setup
    traceError(e.message.replace(/ \[config_error\]$/, ''), [], 'config_error');
    return 1;
  }
}

async function doCheck(ref: ConnectorRef, config: string, timeoutMs: number): Promise<number> {
  out(await singerTargetCheck(ref, config, { logger: shimLogger(), timeoutMs }));
  return 0;
}

async function doWrite(ref: ConnectorRef, configFile: string, catalogFile: string): Promise<number> {
  const catalog = JSON.parse(readFileSync(catalogFile, 'utf8'));
  const table = new StreamTable(catalog?.streams ?? []);
  const logger = shimLogger();
  const stop = new AbortController();
  // SIGTERM (the host stopping the run): the sink gives the target SIGTERM too and keeps relaying
  // its state until it exits (Singer SDK targets flush and write their state on SIGTERM)
  process.on('SIGTERM', () => {
    stop.abort('SIGTERM');
    process.stdin.destroy();
  });
  process.on('SIGINT', () => {});
  const sink = new DestinationSink({
    ref,
    args: ['--config', configFile],
    streams: table.list,
    stateFile: undefined,
    stored: emptyState(),
    destinationInfo: { sync_id: 0, generations: {} },
    logger,
    masker: new Masker(),
    killGraceMs: 5000,
    commitIntervalMs: 1000,
    signal: stop.signal,
    maxLineBytes: 64 * 1024 * 1024,
    dialect: new SingerTargetDialect(table.list),
    // acknowledged: the protocol STATE message as it came (with the host's id)
    onAcknowledged: (state: StateMessage) => out({ type: 'STATE', state }),
  });
  // a target that exits (or dies) ends the input side too
  void sink.ended.then(() => process.stdin.destroy());
  let failure: string | undefined;
  const framer = new LineFramer({
    maxLineBytes: 1024 * 1024 * 1024,
    overflow: 'error',
    onLine: (line, s, e, lineNo) => {
      if (e === s || failure) return;
      if (classifyLine(line, s, e) === RECORD) {
        const stream = table.get(lastRecord.stream, lastRecord.namespace);
        if (!stream) return logger.warn(`stdin line ${lineNo}: a RECORD for stream ${lastRecord.stream}, which is not in the configured catalog; ignored`);
        return sink.record(stream, line, lastRecord.dataStart, lastRecord.dataEnd, line, s, e);
      }
      let msg;
      try {
        msg = parseLossless(line.toString('utf8', s, e));
      } catch {
        return logger.warn(`stdin line ${lineNo} is not JSON, ignored`);
      }
      // TRACE (stream status), LOG and the rest have no Singer counterpart for a target
      if (!isPlainObject(msg) || msg['type'] !== 'STATE' || !isPlainObject(msg['state'])) return;
      try {
        sink.state(msg['state'] as StateMessage, line, s, e);
      } catch (err) {
        if (!(err instanceof HostError)) throw err;
        failure = `stdin line ${lineNo}: ${err.message}`;
      }
    },
  });
  try {
    for await (const chunk of process.stdin) {
      if (sink.closed || stop.signal.aborted || failure) break;
      framer.push(chunk as Buffer);
      await sink.drain();
    }
    if (!sink.closed && !stop.signal.aborted && !failure) framer.end();
  } catch {
    /* stdin destroyed: the target exited or we were stopped */
  }
  const r = await sink.finish(!stop.signal.aborted && !failure);
  const exit = sink.exit;
  if (failure) {
    traceError(failure);
    return 1;
  }
  if (r.error && !stop.signal.aborted) {
    traceError(r.error.message, sink.stderrTail());
    return exit?.exitCode || 1;
  }
  return exit?.exitCode === 0 ? 0 : (exit?.exitCode ?? 1);
}

function usage(msg: string): number {
  process.stderr.write(`singer-target shim: ${msg}\nusage: singer-target.mjs --target-json '{"command":…,"args":[…],"env":{…}}' spec|check|write [--config F] [--catalog F]\n`);
  return 2;
}

/** The standalone shim: parse argv (without node and script), answer one protocol command, return the exit code. */
export async function runSingerTargetShim(argv: string[]): Promise<number> {
  const parsed = parseShimArgv(argv, 'target-json');
  if (typeof parsed === 'string') return usage(parsed);
  const { program, command, flags } = parsed;
  const ref = refOf(program);
  switch (command) {
    case 'spec':
      return doSpec(ref);
    case 'check': {
      if (!flags['config']) return usage('check needs --config');
      let timeout: number;
      try {
        timeout = checkNumber('check-timeout', flags['check-timeout'] ?? 60, seconds()) * 1000;
      } catch (e) {
        if (e instanceof HostError) return usage(e.message);
        throw e;
      }
      return doCheck(ref, flags['config'], timeout);
    }
    case 'write':
      if (!flags['config'] || !flags['catalog']) return usage('write needs --config and --catalog');
      return doWrite(ref, flags['config'], flags['catalog']);
    default:
      return usage(`unknown command ${command ?? '(none)'}`);
  }
}
