// spec, check and discover: run the connector, take the first message of the
// expected type (as the Airbyte platform does), with a timeout.

import type { Logger } from '../log/logger.js';
import { pinoLevel } from '../log/logger.js';
import { LineFramer } from '../io/line-framer.js';
import { parseLossless, isPlainObject, type LosslessValue } from '../json/lossless.js';
import { Masker } from '../secrets/mask.js';
import { spawnConnector, assertStarted } from '../connector/process.js';
import type { ConnectorRef } from '../connector/resolve.js';
import { ConnectorError, TimeoutError, ProtocolError, InterruptedError, type HostError } from '../errors.js';
import { getValidator, formatAjvErrors } from '../protocol/schemas.js';

export type Message = Record<string, LosslessValue>;

export interface SimpleOptions {
  logger: Logger;
  masker?: Masker;
  timeoutMs: number;
  killGraceMs?: number;
  maxLineBytes?: number;
  signal?: AbortSignal | undefined;
  filesDir?: string | undefined;
  /** A CONTROL CONNECTOR_CONFIG message: the connector's new config (written back by the caller). */
  onControl?: ((config: LosslessValue) => void) | undefined;
}

const EXPECT = {
  spec: { type: 'SPEC', key: 'spec' },
  check: { type: 'CONNECTION_STATUS', key: 'connectionStatus' },
  discover: { type: 'CATALOG', key: 'catalog' },
} as const;

export async function runSimpleCommand(ref: ConnectorRef, command: keyof typeof EXPECT, args: string[], o: SimpleOptions): Promise<Message> {
  const masker = o.masker ?? new Masker();
  const log = o.logger.child({ connector: ref.name });
  const want = EXPECT[command];
  let found: Message | undefined;
  let invalid: string | undefined;
  let trace: { message: string; failureType: string | undefined } | undefined;
  let failure: HostError | undefined;
  const framer = new LineFramer({
    maxLineBytes: o.maxLineBytes ?? 64 * 1024 * 1024,
    overflow: 'error',
    onTooLong: (_h, lineNo, bytes) => {
      failure ??= new ProtocolError(`stdout line ${lineNo} of ${command} is longer than the limit (${bytes}+ bytes)`, { line: lineNo });
    },
    onLine: (buf, s, e, lineNo) => {
      if (e === s) return;
      let m: LosslessValue;
      try {
        m = parseLossless(buf.toString('utf8', s, e));
      } catch {
        log.warn(`stdout line ${lineNo}: not JSON, ignored: ${JSON.stringify(masker.mask(buf.toString('utf8', s, Math.min(e, s + 120))))}`);
        return;
      }
      if (!isPlainObject(m)) return;
      if (m['type'] === want.type && !found) {
        const v = getValidator('AirbyteMessage');
        if (v(JSON.parse(buf.toString('utf8', s, e)))) found = m;
        else invalid ??= formatAjvErrors(v.errors, { maxErrors: 5 }).join('; ');
      } else if (m['type'] === 'LOG' && isPlainObject(m['log'])) {
        log[pinoLevel(String(m['log']['level']))]({ source: 'LOG' }, masker.mask(String(m['log']['message'])));
      } else if (m['type'] === 'CONTROL' && isPlainObject(m['control']) && m['control']['type'] === 'CONNECTOR_CONFIG' && isPlainObject(m['control']['connectorConfig'])) {
        const cfg = m['control']['connectorConfig']['config'];
        if (cfg !== undefined && o.onControl) {
          try {
            o.onControl(cfg as LosslessValue);
          } catch (e) {
            failure ??= e as HostError;
          }
        }
      } else if (m['type'] === 'TRACE' && isPlainObject(m['trace']) && m['trace']['type'] === 'ERROR' && isPlainObject(m['trace']['error'])) {
        const err = m['trace']['error'];
        trace ??= { message: masker.mask(String(err['message'] ?? 'unknown error')), failureType: typeof err['failure_type'] === 'string' ? err['failure_type'] : undefined };
        log.error({ failure_type: trace.failureType }, `connector error: ${trace.message}`);
      }
    },
  });
  const proc = spawnConnector(ref, [command, ...args], { logger: o.logger, masker, killGraceMs: o.killGraceMs, filesDir: o.filesDir });
  const timer = setTimeout(() => {
    failure ??= new TimeoutError(`${command} did not finish within ${Math.round(o.timeoutMs / 1000)} s (--timeout); the connector was stopped`);
    void proc.stop();
  }, o.timeoutMs);
  const onAbort = () => {
    failure ??= new InterruptedError(o.signal?.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT');
    void proc.stop();
  };
  if (o.signal?.aborted) onAbort();
  else o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of proc.stdout) framer.push(chunk as Buffer);
    framer.end();
  } finally {
    clearTimeout(timer);
  }
  // a signal while waiting for the exit (stdout closed, the connector still running) works too
  const exit = await proc.wait().finally(() => o.signal?.removeEventListener('abort', onAbort));
  if (failure) throw failure;
  assertStarted(exit, ref);
  const how = exit.exitCode !== undefined ? `exited with code ${exit.exitCode}` : `was killed by ${exit.signal}`;
  if (found) {
    if (exit.exitCode !== 0) log.warn(`the connector ${how} after printing its ${want.type}`);
    return found;
  }
  const tail = proc.stderrTail();
  if (trace) {
    throw new ConnectorError(`${trace.message} [${trace.failureType ?? 'system_error'}; the connector ${how}]`, { exitCode: exit.exitCode, failureType: trace.failureType, stderrTail: tail }, trace.failureType === 'config_error' ? 'CONNECTOR_CONFIG_ERROR' : 'CONNECTOR_ERROR');
  }
  if (invalid) throw new ProtocolError(`the connector's ${want.type} message is invalid: ${invalid}`);
  if (exit.exitCode !== 0) {
    throw new ConnectorError(`${command} failed: the connector ${how}${tail.length ? `; its last stderr lines:\n  ${tail.slice(-10).join('\n  ')}` : ' (no stderr output)'}`, {
      exitCode: exit.exitCode,
      signal: exit.signal,
      stderrTail: tail,
    });
  }
  throw new ConnectorError(`${command}: the connector exited 0 without printing a ${want.type} message`, { exitCode: 0, stderrTail: tail }, 'CONNECTOR_NO_OUTPUT');
}
