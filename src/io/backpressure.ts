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
