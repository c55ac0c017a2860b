// State: what the connector needs to resume. The host keeps it in its own file
// (format in protocol/host-state-file.schema.json): the merged state messages,
// plus the byte length of every output file at the moment of the commit.

import { existsSync, statSync } from 'node:fs';
import { StateError, ProtocolError, ConfigError } from '../errors.js';
import { parseJsonFile } from '../config/config.js';
import { isPlainObject, stringifyLossless, toPlain, defineOwn, sortKeys, type LosslessValue } from '../json/lossless.js';
import { getValidator, formatAjvErrors } from '../protocol/schemas.js';
import { writeFileAtomic } from '../io/atomic.js';
import { HostError } from '../errors.js';

export type StateKind = 'STREAM' | 'GLOBAL' | 'LEGACY';

export interface FileEntry {
  bytes: number;
  records: number;
  mode: 'append' | 'overwrite';
  stream: { name: string; namespace?: string };
  sync_mode?: string;
  destination_sync_mode?: string;
  /** A replacement file (`<file>.partial`) of an ACTIVATE_VERSION under way: its version. */
  activate_version?: string;
  /**
   * The stream's state was cleared (a reset): its data is replaced by the next run (written to
   * `<file>.partial`, swapped in at the stream's completion), never appended to. On a `.partial`
   * entry: the replacement of a reset under way.
   */
  replace?: boolean;
}

export interface StoredState {
  kind: StateKind | null;
  /** State messages (lossless), as a connector receives them. */
  states: Record<string, LosslessValue>[];
  files: Record<string, FileEntry>;
  committed_at?: string | undefined;
  /** `host run` into a destination: the last sync id and each stream's generation. */
  destination?: DestinationInfo | undefined;
  /**
   * A `--full-refresh` commit in progress: these files' `.partial` versions are to be renamed
   * over them. Written before the renames; a run that finds it finishes the renames first.
   */
  swap_pending?: string[] | undefined;
}

export interface DestinationInfo {
  sync_id: number;
  /** Generation per stream (display name), bumped by each full refresh + overwrite. */
  generations: Record<string, number>;
}

export const HOST_STATE_MARKER = 'connector_host_state';

export function emptyState(): StoredState {
  return { kind: null, states: [], files: {} };
}

export function streamKey(name: string, namespace?: string | null): string {
  return `${namespace ?? ''}\u0000${name}`;
}

export function displayStream(name: string, namespace?: string | null): string {
  return namespace ? `${namespace}.${name}` : name;
}

/** "Empty" state never overwrites: {}, [], null. */
export function isEmptyState(v: unknown): boolean {
  if (v === null || v === undefined) return true;
  if (Array.isArray(v)) return v.length === 0;
  return isPlainObject(v) && Object.keys(v).length === 0;
}

export function kindOf(msg: Record<string, LosslessValue>): StateKind {
  const t = msg['type'];
  if (t === 'STREAM' || t === 'GLOBAL') return t;
  return 'LEGACY';
}

function descriptorOf(msg: Record<string, LosslessValue>): { name: string; namespace?: string } | undefined {
  const s = msg['stream'];
  if (!isPlainObject(s)) return undefined;
  const d = s['stream_descriptor'];
  if (!isPlainObject(d) || typeof d['name'] !== 'string') return undefined;
  return typeof d['namespace'] === 'string' ? { name: d['name'], namespace: d['namespace'] } : { name: d['name'] };
}

/** Normalise whatever a user's --state file holds into the host's shape. */
export function readStateFile(file: string): StoredState | undefined {
  if (!existsSync(file)) return undefined;
  let v: LosslessValue;
  try {
    v = parseJsonFile(file, 'state');
  } catch (e) {
    if (e instanceof HostError) throw new StateError(e.message, { file }, 'STATE_INVALID');
    throw e;
  }
  if (isEmptyState(v)) return emptyState();
  if (isPlainObject(v) && v[HOST_STATE_MARKER] !== undefined) {
    // our own format: checked against protocol/host-state-file.schema.json, which also keeps
    // file paths inside the output directory (a tampered file must not make us truncate elsewhere)
    const validate = getValidator('HostStateFile');
    if (!validate(toPlain(v))) {
      throw new StateError(`the state file ${file} is damaged:\n  ${formatAjvErrors(validate.errors, { maxErrors: 5 }).join('\n  ')}`, { file }, 'STATE_INVALID');
    }
    const states = Array.isArray(v['states']) ? (v['states'].filter(isPlainObject) as Record<string, LosslessValue>[]) : [];
    const files: Record<string, FileEntry> = {};
    if (isPlainObject(v['files'])) {
      for (const [k, e] of Object.entries(v['files'])) {
        if (!isPlainObject(e)) continue;
        defineOwn(files, k, {
          bytes: Number(e['bytes'] ?? 0),
          records: Number(e['records'] ?? 0),
          mode: e['mode'] === 'overwrite' ? 'overwrite' : 'append',
          stream: isPlainObject(e['stream']) ? (e['stream'] as unknown as FileEntry['stream']) : { name: k },
          ...(typeof e['activate_version'] === 'string' ? { activate_version: e['activate_version'] } : {}),
          ...(e['replace'] === true ? { replace: true } : {}),
        });
      }
    }
    const kind = v['kind'] === 'STREAM' || v['kind'] === 'GLOBAL' || v['kind'] === 'LEGACY' ? v['kind'] : states[0] ? kindOf(states[0]) : null;
    const d = v['destination'];
    const destination =
      isPlainObject(d) && typeof d['sync_id'] === 'number' && isPlainObject(d['generations'])
        ? { sync_id: d['sync_id'], generations: Object.fromEntries(Object.entries(d['generations']).filter(([, g]) => typeof g === 'number')) as Record<string, number> }
        : undefined;
    const sp = v['swap_pending'];
    const swap_pending = Array.isArray(sp) ? sp.filter((x): x is string => typeof x === 'string' && Object.hasOwn(files, x)) : undefined;
    return { kind, states, files, committed_at: typeof v['committed_at'] === 'string' ? v['committed_at'] : undefined, destination, swap_pending };
  }
  // one AirbyteStateMessage (or a STATE envelope), as a connector prints it; only by its `type`:
  // an untyped blob with a `data` or `stream` key is a Singer state like any other
  const single = isPlainObject(v) && typeof v['type'] === 'string' ? asStateMessage(v) : undefined;
  if (single) v = [single];
  if (Array.isArray(v)) {
    // An Airbyte state array (what a connector receives with --state), STATE envelopes unwrapped.
    const states = v.map((x) => (isPlainObject(x) ? asStateMessage(x) : undefined));
    if (!states.every((x) => x !== undefined)) throw new StateError(`the state file ${file} holds an array whose items are not all state messages`, { file }, 'STATE_INVALID');
    const kinds = new Set(states.map(kindOf));
    if (kinds.size > 1) throw new StateError(`the state file ${file} mixes state kinds (${[...kinds].join(', ')})`, { file }, 'STATE_INVALID');
    return { kind: states[0] ? kindOf(states[0]) : null, states, files: {} };
  }
  if (isPlainObject(v)) {
    // A bare blob: LEGACY state (Airbyte) or a Singer state -- unless it is plainly something else
    const other = notAState(v);
    if (other) throw new StateError(`the state file ${file} holds ${other}, not a state; name another --state file (or move this one away)`, { file }, 'STATE_INVALID');
    return { kind: 'LEGACY', states: [{ type: 'LEGACY', data: v }], files: {} };
  }
  throw new StateError(`the state file ${file} holds neither a state object nor an array of state messages`, { file }, 'STATE_INVALID');
}

/** An item of a state array as a state message: itself, or the `state` of a STATE envelope; undefined when it is neither. */
function asStateMessage(x: Record<string, LosslessValue>): Record<string, LosslessValue> | undefined {
  const t = x['type'];
  if (t === 'STATE' && isPlainObject(x['state'])) return asStateMessage(x['state'] as Record<string, LosslessValue>);
  if (t === 'STREAM') return isPlainObject(x['stream']) ? x : undefined;
  if (t === 'GLOBAL') return isPlainObject(x['global']) ? x : undefined;
  if (t === 'LEGACY') return Object.hasOwn(x, 'data') ? x : undefined;
  // untyped (older connectors): a message by its fields
  return t === undefined && (isPlainObject(x['stream']) || isPlainObject(x['global']) || Object.hasOwn(x, 'data')) ? x : undefined;
}

const canonicalText = (v: LosslessValue) => stringifyLossless(sortKeys(v));

const MESSAGE_TYPES = new Set(['RECORD', 'LOG', 'SPEC', 'CATALOG', 'CONNECTION_STATUS', 'TRACE', 'CONTROL']);

/** What a bare object in a state file plainly is when it is not a state blob (a catalog, a message), else undefined. */
function notAState(v: Record<string, LosslessValue>): string | undefined {
  const streams = v['streams'];
  if (Array.isArray(streams) && streams.length > 0 && streams.every((x) => isPlainObject(x) && isPlainObject(x['stream']))) return 'a configured catalog';
  if (typeof v['type'] === 'string' && MESSAGE_TYPES.has(v['type'])) return `a ${v['type']} message`;
  if (isPlainObject(v['connectionSpecification'])) return 'a connector spec';
  return undefined;
}

/** An input file of a run (config, catalog, destination config) that the state file must not be. */
export interface RunInput {
  file: string;
  /** "config file", "catalog", ... */
  what: string;
  /** Its content, when known: a bare-blob state equal to it is that file copied, not a state. */
  value?: LosslessValue | undefined;
}

function fileId(file: string): string | undefined {
  try {
    const st = statSync(file); // follows symlinks; a hard link has the same dev and inode
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * Before a run touches its state file (lock, history, commit): refuse a state file that is one of
 * the run's inputs (the same file, also through a symlink or a hard link), or that exists and holds
 * no state in any accepted form, or holds a copy of an input. Committing would turn the config
 * into a state (its secrets passed to the connector and kept in the history).
 */
export function checkStateFile(stateFile: string, inputs: readonly RunInput[]): void {
  const id = fileId(stateFile);
  if (id === undefined) return; // not there yet: nothing to confuse it with
  for (const input of inputs) {
    if (fileId(input.file) === id) {
      throw new ConfigError(`the state file ${stateFile} is the ${input.what} ${input.file}; a run writes its state there, which would replace the ${input.what}: name another --state file`, { file: stateFile });
    }
  }
  const stored = readStateFile(stateFile);
  if (stored?.kind !== 'LEGACY' || stored.states.length !== 1) return;
  const blob = canonicalText(stored.states[0]!['data'] ?? null);
  for (const input of inputs) {
    if (input.value !== undefined && canonicalText(input.value) === blob) {
      throw new StateError(`the state file ${stateFile} holds the same content as the ${input.what}${input.file ? ` ${input.file}` : ''}, not a state; name another --state file (or move this one away)`, { file: stateFile }, 'STATE_INVALID');
    }
  }
}

/** The text to pass as the connector's --state, or undefined when there is none. */
export function stateForConnector(s: StoredState): string | undefined {
  if (s.states.length === 0) return undefined;
  if (s.kind === 'LEGACY') {
    const data = s.states[s.states.length - 1]!['data'];
    return isEmptyState(data) ? undefined : stringifyLossless(data);
  }
  return stringifyLossless(s.states);
}

export function serialiseState(s: StoredState, committedAt: string): string {
  return (
    stringifyLossless(
      { [HOST_STATE_MARKER]: 1, kind: s.kind, states: s.states, files: s.files, committed_at: committedAt, destination: s.destination, swap_pending: s.swap_pending?.length ? s.swap_pending : undefined },
      2,
    ) + '\n'
  );
}

export function writeStateFile(file: string, s: StoredState): string {
  const at = new Date().toISOString();
  try {
    writeFileAtomic(file, serialiseState(s, at), { mode: 0o600 });
  } catch (e) {
    throw new StateError(`cannot write the state file ${file}: ${(e as Error).message}`, { file });
  }
  return at;
}

/**
 * Where a `--full-refresh` run starts merging: STREAM state without the streams being
 * refreshed (the others keep theirs); GLOBAL and LEGACY state is replaced whole.
 */
export function fullRefreshStart(stored: StoredState, streams: readonly { name: string; namespace?: string | undefined }[]): StoredState {
  if (stored.kind !== 'STREAM') return { ...stored, kind: null, states: [] };
  const refreshed = new Set(streams.map((s) => streamKey(s.name, s.namespace)));
  const states = stored.states.filter((m) => {
    const d = descriptorOf(m);
    return !d || !refreshed.has(streamKey(d.name, d.namespace));
  });
  return { ...stored, kind: states.length ? 'STREAM' : null, states };
}

/**
 * Merges incoming STATE messages into what is stored: STREAM per stream
 * (a null stream_state removes the entry), GLOBAL and LEGACY replace.
 */
export class StateMerger {
  private kind: StateKind | null;
  private readonly perStream = new Map<string, Record<string, LosslessValue>>();
  private whole: Record<string, LosslessValue>[] = [];
  private runKind: StateKind | null = null;
  private count = 0;

  constructor(initial: StoredState) {
    this.kind = initial.kind;
    if (initial.kind === 'STREAM') {
      for (const m of initial.states) {
        const d = descriptorOf(m);
        if (d) this.perStream.set(streamKey(d.name, d.namespace), m);
      }
    } else {
      this.whole = [...initial.states];
    }
  }

  /** Number of state messages applied in this run. */
  get applied(): number {
    return this.count;
  }

  /** Returns false when the message is empty and was ignored. */
  apply(msg: Record<string, LosslessValue>): boolean {
    const kind = kindOf(msg);
    if (kind === 'LEGACY' && isEmptyState(msg['data'])) return false;
    if (kind === 'GLOBAL' && isEmptyState(msg['global'])) return false;
    if (kind === 'STREAM' && !descriptorOf(msg)) throw new ProtocolError('a STREAM state has no stream.stream_descriptor.name');
    if (this.runKind && this.runKind !== kind) {
      throw new ProtocolError(`the connector mixed state kinds in one run: ${this.runKind} then ${kind}`);
    }
    this.runKind = kind;
    this.count++;
    if (kind !== this.kind) {
      // A connector that moved to another kind of state starts afresh.
      this.perStream.clear();
      this.whole = [];
      this.kind = kind;
    }
    if (kind === 'STREAM') {
      const d = descriptorOf(msg)!;
      const st = (msg['stream'] as Record<string, LosslessValue>)['stream_state'];
      const key = streamKey(d.name, d.namespace);
      if (st === null || st === undefined) this.perStream.delete(key);
      else this.perStream.set(key, msg);
    } else {
      this.whole = [msg];
    }
    return true;
  }

  snapshot(): { kind: StateKind | null; states: Record<string, LosslessValue>[] } {
    if (this.kind === 'STREAM') return { kind: this.kind, states: [...this.perStream.values()] };
    return { kind: this.kind, states: [...this.whole] };
  }
}
