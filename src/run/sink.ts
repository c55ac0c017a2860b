// Where a read's records and states go. The engine calls these synchronously
// per line (the hot path) and awaits `drain()` once per chunk of child output,
// which is where a slow sink applies backpressure.

import type { RunStream, StateMessage } from './streams.js';

export interface ReadSink {
  /** A record: its data bytes are data[ds, de); the whole message line is line[ls, le). */
  record(stream: RunStream, data: Uint8Array, ds: number, de: number, line: Uint8Array, ls: number, le: number): void;
  /** A non-empty STATE (already checked); the raw line is line[ls, le). */
  state(msg: StateMessage, line: Uint8Array, ls: number, le: number): void;
  /**
   * A stream reported its status. `activateVersion` (the host's extension for Singer
   * ACTIVATE_VERSION, as canonical text): STARTED begins a replacement of the stream's data,
   * COMPLETE makes it take effect.
   */
  streamStatus(stream: RunStream, status: string, activateVersion?: string): void;
  /** Backpressure point, once per chunk. */
  drain(): Promise<void> | void;
  /** True when the sink cannot take more (e.g. stdout closed): the engine stops the connector. */
  readonly closed: boolean;
  /** End of the run; `ok` is false when the connector or the host failed. */
  finish(ok: boolean): Promise<SinkResult> | SinkResult;
}

export interface SinkResult {
  /** Where the state went (for the summary), if anywhere. */
  stateFile?: string | undefined;
  /** Whether a state was committed in this run. */
  stateCommitted: boolean;
  /** The output location (directory or "stdout"). */
  output?: string | undefined;
  /** Bytes written to the output in this run (stdout: every line, records and states, with its newline). */
  bytes?: number | undefined;
  /** The output failed (e.g. a destination exited non-zero) after what it acknowledged was committed. */
  error?: import('../errors.js').HostError | undefined;
}
