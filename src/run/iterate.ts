// read() as an async iterable for library users. Yielding a STATE does not
// mean the caller has stored the records before it, so nothing is committed
// until the caller says so with ack(state).

import type { ReadSink, SinkResult } from './sink.js';
import type { RunStream, StateMessage } from './streams.js';
import { readWith, type ConnectorInput, type ReadOptions, type ReadResult } from './operations.js';
import { parseLossless, type LosslessValue } from '../json/lossless.js';
import { StateMerger, writeStateFile, emptyState, type StoredState } from '../state/state.js';

const decoder = new TextDecoder();

export interface RecordEvent {
  type: 'RECORD';
  stream: string;
  namespace: string | undefined;
  /** The record's data exactly as the connector sent it (JSON text). */
  raw: string;
  /** The data parsed; integers beyond 2^53 and other numbers a JS number cannot hold exactly are LosslessNumber. */
  readonly data: Record<string, LosslessValue>;
}

export interface StateEvent {
  type: 'STATE';
  state: StateMessage;
}

export type ReadEvent = RecordEvent | StateEvent;

export interface ReadRun extends AsyncIterable<ReadEvent> {
  /** Commit a state you received: every record before it is stored on your side. */
  ack(state: StateEvent | StateMessage): void;
  /** The state acknowledged so far (what the next run resumes from). */
  readonly acknowledged: StoredState;
  /** Resolves when the run has ended (after the iteration finished). */
  readonly result: Promise<ReadResult>;
}

class RecordEventImpl implements RecordEvent {
  readonly type = 'RECORD' as const;
  private parsed: Record<string, LosslessValue> | undefined;
  constructor(
    readonly stream: string,
    readonly namespace: string | undefined,
    readonly raw: string,
  ) {}
  get data(): Record<string, LosslessValue> {
    return (this.parsed ??= parseLossless(this.raw) as Record<string, LosslessValue>);
  }
}

class QueueSink implements ReadSink {
  readonly queue: ReadEvent[] = [];
  closed = false;
  private onDrained: (() => void) | undefined;
  wake: (() => void) | undefined;

  record(s: RunStream, data: Uint8Array, ds: number, de: number): void {
    this.queue.push(new RecordEventImpl(s.name, s.namespace, decoder.decode(data.subarray(ds, de))));
  }
  state(msg: StateMessage): void {
    this.queue.push({ type: 'STATE', state: msg });
  }
  streamStatus(): void {}
  drain(): Promise<void> | void {
    if (this.queue.length === 0 || this.closed) return;
    this.wake?.();
    return new Promise((r) => (this.onDrained = r));
  }
  drained(): void {
    const r = this.onDrained;
    this.onDrained = undefined;
    r?.();
  }
  finish(): SinkResult {
    return { stateCommitted: false, output: 'iterator' };
  }
}

export function read(connector: ConnectorInput, opts: Omit<ReadOptions, 'out' | 'fullRefresh'>): ReadRun {
  const sink = new QueueSink();
  let merger: StateMerger | undefined;
  let stored: StoredState = emptyState();
  let stateFile: string | undefined;
  let committed = false;
  let done = false;
  let started: Promise<ReadResult> | undefined;

  const start = () =>
    (started ??= readWith(connector, opts, (ctx) => {
      stored = ctx.stored;
      stateFile = ctx.stateFile;
      merger = new StateMerger(ctx.stored);
      return sink;
    }).finally(() => {
      done = true;
      sink.wake?.();
    }));

  const run: ReadRun = {
    async *[Symbol.asyncIterator]() {
      const result = start();
      result.catch(() => {}); // reported below
      try {
        for (;;) {
          if (sink.queue.length) {
            yield sink.queue.shift()!;
            continue;
          }
          if (done) break;
          const woken = new Promise<void>((r) => (sink.wake = r));
          sink.drained();
          await woken;
        }
      } finally {
        if (!done) {
          // the caller stopped early: stop the connector
          sink.closed = true;
          sink.drained();
        }
      }
      const r = await result;
      if (r.error) throw r.error;
    },
    ack(s) {
      const msg = 'type' in s && s.type === 'STATE' && 'state' in s ? (s as StateEvent).state : (s as StateMessage);
      if (!merger) throw new Error('ack() before the read started');
      if (!merger.apply(msg)) return;
      const snap = merger.snapshot();
      stored = { kind: snap.kind, states: snap.states, files: stored.files };
      if (stateFile) writeStateFile(stateFile, stored);
      committed = true;
    },
    get acknowledged() {
      return stored;
    },
    get result() {
      return start().then((r) => ({ ...r, sink: { ...r.sink, stateCommitted: committed, stateFile } }));
    },
  };
  return run;
}
