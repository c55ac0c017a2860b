// The configured streams of a run, looked up by (namespace, name).

import type { LosslessValue } from '../json/lossless.js';
import { streamKey, displayStream } from '../state/state.js';
import type { FieldFilter } from '../catalog/select.js';

export interface ConfiguredStreamLike {
  stream: { name: string; namespace?: string | null; json_schema?: unknown; [k: string]: unknown };
  sync_mode: string;
  destination_sync_mode: string;
  cursor_field?: string[];
  primary_key?: string[][];
  [k: string]: unknown;
}

export interface RunStream {
  key: string;
  name: string;
  namespace: string | undefined;
  display: string;
  configured: ConfiguredStreamLike;
  /** Records seen this run. */
  records: number;
  /** Bytes of record data seen this run. */
  bytes: number;
  status: string | undefined;
  estimate: { rows?: number; bytes?: number } | undefined;
  /** Field selection: the top-level fields a record keeps (undefined: all fields, the byte-exact fast path). */
  fields?: FieldFilter | undefined;
  /**
   * What the output holds of this run's records at the end, set by the sink when it finishes:
   * records and bytes as written (each line with its newline; for --out, what the files and the
   * manifest count). A failed --out run keeps only what the last committed state covers, so
   * `records - kept.records` were read but dropped. Undefined: the sink does not say.
   */
  kept: { records: number; bytes: number } | undefined;
  /** `kept` counts what was sent to a destination, which decides what it keeps (no "dropped"). */
  keptIsSent?: boolean | undefined;
  /**
   * The sync modes this run actually used, set by the sink: `full_refresh` under --full-refresh,
   * the destination sync mode a destination was told, or that a Singer target decides.
   * Undefined: the configured ones.
   */
  mode: { sync: string; destination: string } | undefined;
  /**
   * How the stream ended, once the connector has exited: its last STREAM_STATUS when it is
   * COMPLETE or INCOMPLETE, else COMPLETE when the connector exited 0 and the run did not fail
   * before the output finished, INCOMPLETE otherwise. Undefined while the run goes on.
   */
  ended: 'COMPLETE' | 'INCOMPLETE' | undefined;
}

/** A stream's run is over: its end from its last status, or from how the connector ended. */
export function endStreams(list: readonly RunStream[], connectorOk: boolean): void {
  for (const s of list) {
    const st = s.status?.toUpperCase();
    s.ended = st === 'COMPLETE' || st === 'INCOMPLETE' ? st : connectorOk ? 'COMPLETE' : 'INCOMPLETE';
  }
}

export class StreamTable {
  private readonly byKey = new Map<string, RunStream>();
  readonly list: RunStream[] = [];
  // one-entry cache: consecutive records usually belong to the same stream
  private lastName: string | undefined;
  private lastNs: string | undefined;
  private last: RunStream | undefined;

  constructor(streams: ConfiguredStreamLike[]) {
    for (const c of streams) {
      const ns = c.stream.namespace ?? undefined;
      const s: RunStream = {
        key: streamKey(c.stream.name, ns),
        name: c.stream.name,
        namespace: ns,
        display: displayStream(c.stream.name, ns),
        configured: c,
        records: 0,
        bytes: 0,
        status: undefined,
        estimate: undefined,
        kept: undefined,
        mode: undefined,
        ended: undefined,
      };
      this.byKey.set(s.key, s);
      this.list.push(s);
    }
  }

  get(name: string, namespace: string | undefined | null): RunStream | undefined {
    const ns = namespace ?? undefined;
    if (name === this.lastName && ns === this.lastNs) return this.last;
    const s = this.byKey.get(streamKey(name, ns));
    if (s) {
      this.lastName = name;
      this.lastNs = ns;
      this.last = s;
    }
    return s;
  }
}

export type StateMessage = Record<string, LosslessValue>;
