// Backpressure on a child's stdin with some slack: wait for 'drain' only when more than
// `backlog` bytes are queued. Waiting at every refused write (Node's 16 KiB mark) makes the
// writer and the reading process take turns instead of working at the same time.

import type { Writable } from 'node:stream';

export const STDIN_BACKLOG = 4 * 1024 * 1024;

/**
 * States sent to a destination and not yet acknowledged that are remembered (host run and the
 * Singer-target shim). Beyond it the oldest are forgotten: an acknowledgement of one of them is
 * then ignored, which only loses progress, as a later acknowledgement still commits.
 */
export const MAX_PENDING = 100_000;

/** Resolves at once below the backlog, else on 'drain', 'close' or `gone` (the process exited). */
export function drainAbove(w: Writable, backlog = STDIN_BACKLOG, gone?: Promise<unknown>): Promise<void> | undefined {
  if (w.writableLength < backlog || w.destroyed) return undefined;
  return new Promise<void>((r) => {
    const done = () => {
      w.off('drain', done);
      w.off('close', done);
      r();
    };
    w.once('drain', done);
    w.once('close', done);
    void gone?.then(done, done);
  });
}

/**
 * How long the host keeps a destination's stdin open after the last byte was handed to it,
 * before it sends EOF (unless the destination acknowledged every state sent, or exited, first).
 * A destination that stops early without waiting for EOF (exit 0 after K records) exits in that
 * window and is caught: once EOF is sent, a destination exiting 0 cannot be told from one that
 * read everything (unread bytes in the pipe, or in its own read buffer, are simply lost).
 */
export const EOF_SETTLE_MS = 500;

/**
 * ... and at least this long after the destination started: a slow start must not hide an early
 * exit. $CONNECTOR_HOST_DEST_STARTUP_MS raises it on a slow or loaded machine (the wait ends as
 * soon as the destination exits or has acknowledged every state, so only short runs pay for it).
 */
export const EOF_STARTUP_MS = 2000;

const startupMs = (): number => {
  const v = Number(process.env['CONNECTOR_HOST_DEST_STARTUP_MS']);
  return Number.isFinite(v) && v >= 0 && v <= 600_000 ? v : EOF_STARTUP_MS;
};

/** The settle time for a destination started at `startedAt` (ms since the epoch). */
export const settleMs = (startedAt: number): number => Math.max(EOF_SETTLE_MS, startedAt + startupMs() - Date.now());

/** Resolves when `w` has handed every byte to the pipe and then the settle time passed, or `done` (exit, all acknowledged) resolved. */
export async function settleBeforeEof(w: Writable, done: Promise<unknown>, ms = EOF_SETTLE_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const closed = new Promise<void>((r) => w.once('close', () => r()));
  try {
    if (w.destroyed) return;
    await Promise.race([drainAbove(w, 1, done), done, closed]);
    if (w.destroyed) return;
    await Promise.race([new Promise<void>((r) => (timer = setTimeout(r, ms))), done, closed]);
  } finally {
    clearTimeout(timer);
  }
}
