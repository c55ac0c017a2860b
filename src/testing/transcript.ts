// Run one connector command and keep everything it printed: the parsed messages
// in order, the lines that were not messages, the exit. The golden tests and the
// conformance checks work on this transcript.

import { LineFramer } from '../io/line-framer.js';
import { parseLossless, isPlainObject, type LosslessValue } from '../json/lossless.js';
import { spawnConnector, assertStarted } from '../connector/process.js';
import type { ConnectorRef } from '../connector/resolve.js';
import type { Logger } from '../log/logger.js';
import type { Masker } from '../secrets/mask.js';
import { TimeoutError } from '../errors.js';

export type Msg = Record<string, LosslessValue>;

export interface Transcript {
  messages: Msg[];
  /** stdout lines that were not JSON objects with a type: [line number, start of the line] */
  noise: [number, string][];
  exitCode: number | undefined;
  signal: string | undefined;
  stderrTail: string[];
}

export async function captureTranscript(ref: ConnectorRef, args: string[], o: { logger: Logger; masker: Masker; timeoutMs: number; maxLineBytes?: number | undefined; killGraceMs?: number | undefined; filesDir?: string | undefined; input?: Buffer | undefined }): Promise<Transcript> {
  const messages: Msg[] = [];
  const noise: [number, string][] = [];
  const framer = new LineFramer({
    maxLineBytes: o.maxLineBytes ?? 64 * 1024 * 1024,
    overflow: 'truncate',
    onLine: (buf, s, e, n) => {
      if (e === s) return;
      try {
        const v = parseLossless(buf.toString('utf8', s, e));
        if (isPlainObject(v) && typeof v['type'] === 'string') {
          messages.push(v);
          return;
        }
      } catch {
        // not JSON: kept as noise below
      }
      noise.push([n, o.masker.mask(buf.toString('utf8', s, Math.min(e, s + 120)))]);
    },
  });
  const proc = spawnConnector(ref, args, { logger: o.logger, masker: o.masker, killGraceMs: o.killGraceMs ?? 2000, filesDir: o.filesDir, stdin: o.input !== undefined });
  if (o.input !== undefined && proc.stdin) {
    // a destination's input (the write step); one that exits without reading it all is judged by its exit, not by EPIPE
    proc.stdin.on('error', () => {});
    proc.stdin.end(o.input);
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void proc.stop();
  }, o.timeoutMs);
  try {
    for await (const chunk of proc.stdout) framer.push(chunk as Buffer);
    framer.end();
  } finally {
    clearTimeout(timer);
  }
  const exit = await proc.wait();
  assertStarted(exit, ref);
  if (timedOut) throw new TimeoutError(`${args[0]} did not finish within ${Math.round(o.timeoutMs / 1000)} s`);
  return { messages, noise, exitCode: exit.exitCode, signal: exit.signal, stderrTail: proc.stderrTail() };
}

export const ofType = (t: Transcript, type: string) => t.messages.filter((m) => m['type'] === type);
