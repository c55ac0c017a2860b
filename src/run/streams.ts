// The configured streams of a run, looked up by (namespace, name).

import type { LosslessValue } from '../json/lossless.js';
import { streamKey, displayStream } from '../state/state.js';

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
