// The embedded default output: DIR/<stream>.jsonl (or DIR/<namespace>/<stream>.jsonl),
// one line per record holding its `data` bytes, and a state file committed
// exactly once with the byte length of every file (see protocol/README.md).

import { existsSync, mkdirSync, statSync, renameSync, unlinkSync, openSync, readSync, closeSync, truncateSync } from 'node:fs';
import { join, dirname, relative, isAbsolute } from 'node:path';
import type { Logger } from '../log/logger.js';
import { fsyncDir, writeFileAtomic } from '../io/atomic.js';
import { StreamFile, fsyncAll } from './stream-file.js';
import { assignPaths, checkOutputTree, ensureOutDir } from './paths.js';
import { StateMerger, writeStateFile, fullRefreshStart, streamKey, kindOf, type StoredState, type FileEntry, type StateKind } from '../state/state.js';
import { isPlainObject, defineOwn, type LosslessValue } from '../json/lossless.js';
import type { ReadSink, SinkResult } from '../run/sink.js';
import type { RunStream, StateMessage } from '../run/streams.js';
import { StateError } from '../errors.js';

export interface DirSinkOptions {
  dir: string;
  stateFile: string;
  stored: StoredState;
  streams: RunStream[];
  logger: Logger;
  /** Coalesce commits: at most one per this many ms (0: commit every state). */
  commitIntervalMs: number;
  /**
   * `--full-refresh`: every stream is written to a .partial file; nothing is committed during
   * the run; on success all files are swapped in and the new state written (journaled in
   * `swap_pending`); on failure the old files and state stay as they were.
   */
  fullRefresh?: boolean | undefined;
}

/**
 * A replacement of an append stream's data, written to `<file>.partial` and committed with its
 * own length (so a resumed run goes on with it), renamed over the stream's file when it
 * completes: a Singer version (ACTIVATE_VERSION), or a reset (the stream's state was cleared).
 */
interface Replacement {
  /** ACTIVATE_VERSION: the version; undefined for a reset. */
  version?: string | undefined;
  /** Which replacement (a committed length belongs to one). */
  id: number;
  file: StreamFile;
  rel: string;
  abs: string;
  /** A reset begun in this run by a cleared state, with nothing (no record, no state of the stream) since: not swapped in at completion, but left to the next run. */
  idle: boolean;
  /** What the file held before this run (a replacement resumed from the last run), for the summary's counts. */
  before: { bytes: number; records: number };
}

interface Target {
  stream: RunStream;
  rel: string;
  abs: string;
  mode: 'append' | 'overwrite';
  /** The mode of the file entry once swapped in (append for an incremental stream refreshed in full). */
  finalMode: 'append' | 'overwrite';
  file: StreamFile;
  /** overwrite: the .partial being written; swapped in on completion */
  partial?: string;
  swapped: boolean;
  /** overwrite: records (of the version that completed) came after the swap and were appended to the swapped file */
  extended: boolean;
  incomplete: boolean;
  replacing?: Replacement | undefined;
  /** The stream's state was cleared: its data is replaced, never appended to (durable as `replace` in its file entry until the replacement is swapped in). */
  replace: boolean;
  /** ACTIVATE_VERSION: versions seen in this run, and the newest one. */
  versions: Set<string>;
  newest?: string | undefined;
  /** Records of this (obsolete) version are dropped. */
  dropping?: string | undefined;
  /** What `file` held before this run (what of it this run wrote is the rest), for the summary's counts. */
  before: { bytes: number; records: number };
}

interface Commit {
  seq: number;
  states: ReturnType<StateMerger['snapshot']>;
  lengths: Lengths;
}
type Lengths = Map<Target, { bytes: number; records: number; replace: boolean; replacing?: { id: number; version?: string | undefined; bytes: number; records: number } }>;

function countLines(path: string, limit: number): number {
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  let n = 0;
  let off = 0;
  try {
    while (off < limit) {
      const r = readSync(fd, buf, 0, Math.min(buf.length, limit - off), off);
      if (r === 0) break;
      for (let i = buf.indexOf(10, 0); i >= 0 && i < r; i = buf.indexOf(10, i + 1)) n++;
      off += r;
    }
  } finally {
    closeSync(fd);
  }
  return n;
}

/** A filesystem change of the output, with a clear error naming the path. */
function fsStep<T>(what: string, path: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof StateError) throw e;
    throw new StateError(`cannot ${what} ${path}: ${(e as Error).message}`, { file: path }, 'OUTPUT_WRITE');
  }
}

/** Version texts that are integers compare as numbers (Singer versions are usually epoch milliseconds). */
function olderVersion(v: string, than: string): boolean {
  return /^-?\d+$/.test(v) && /^-?\d+$/.test(than) && BigInt(v) < BigInt(than);
}

function descriptorKey(d: LosslessValue | undefined): string | undefined {
  if (!isPlainObject(d) || typeof d['name'] !== 'string') return undefined;
  return streamKey(d['name'], typeof d['namespace'] === 'string' ? d['namespace'] : undefined);
}

/** The streams a STREAM or GLOBAL state message speaks of: key -> whether it has a state (false: cleared). */
function streamsOf(msg: StateMessage, kind: StateKind): Map<string, boolean> {
  const out = new Map<string, boolean>();
  const take = (e: LosslessValue | undefined) => {
    if (!isPlainObject(e)) return;
    const k = descriptorKey(e['stream_descriptor']);
    if (k !== undefined) out.set(k, e['stream_state'] !== null && e['stream_state'] !== undefined);
  };
  if (kind === 'STREAM') take(msg['stream']);
  else if (kind === 'GLOBAL') {
    const g = msg['global'];
    const list = isPlainObject(g) ? g['stream_states'] : undefined;
    if (Array.isArray(list)) list.forEach(take);
  }
  return out;
}

export class DirSink implements ReadSink {
  private readonly opts: DirSinkOptions;
  private readonly targets = new Map<RunStream, Target>();
  private readonly byKey = new Map<string, Target>();
  private readonly merger: StateMerger;
  private files: Record<string, FileEntry>;
  private pending: Commit | undefined;
  /** A state arrived since `pending` was taken: take it again before the files change. */
  private stale = false;
  private committed: Commit;
  private seq = 0;
  private replacements = 0;
  private lastCommitAt = 0;
  private commits = 0;
  /** The streams that have a state now (STREAM and GLOBAL state), to see when one is cleared. */
  private withState: Set<string>;
  private stateKind: StateKind | null;
  // A commit whose data fsync runs in the background while reading goes on; its state is
  // published (written) only when the fsync is done.
  private inflight: Promise<void> | undefined;
  /** The commit `inflight` publishes. */
  private flying: Commit | undefined;
  private asyncError: unknown;
  readonly closed = false;

  constructor(opts: DirSinkOptions) {
    this.opts = opts;
    this.merger = new StateMerger(opts.fullRefresh ? fullRefreshStart(opts.stored, opts.streams) : opts.stored);
    this.files = { ...opts.stored.files };
    this.stateKind = opts.stored.kind;
    this.withState = new Set();
    for (const m of opts.stored.states) for (const [k, has] of streamsOf(m, kindOf(m))) if (has) this.withState.add(k);
    // refuse colliding names, and what on disk is in the way, before touching anything
    const stateRel = relative(opts.dir, opts.stateFile);
    const inDir = stateRel !== '' && !stateRel.startsWith('..') && !isAbsolute(stateRel);
    const paths = assignPaths(opts.streams, ['manifest.json', ...(inDir ? [stateRel.split(/[\\/]/)[0]!] : [])]);
    ensureOutDir(opts.dir);
    const owners = new Map<string, string>();
    for (const rel of Object.keys(this.files)) owners.set(rel, `the entry ${rel} of the state file ${opts.stateFile}`);
    for (const s of opts.streams) {
      owners.set(paths.get(s)!, `stream ${s.display}`);
      owners.set(`${paths.get(s)!}.partial`, `stream ${s.display}`);
    }
    checkOutputTree(opts.dir, owners.keys(), (rel) => owners.get(rel)!);
    this.recover();
    const folders = new Set<string>();
    for (const s of opts.streams) {
      const rel = paths.get(s)!;
      const abs = join(opts.dir, rel);
      const folder = dirname(abs);
      if (!folders.has(folder)) fsStep('create the folder', folder, () => mkdirSync(folder, { recursive: true }));
      folders.add(folder);
      const finalMode = s.configured.destination_sync_mode === 'overwrite' ? 'overwrite' : 'append';
      const mode = opts.fullRefresh ? 'overwrite' : finalMode;
      const base = { stream: s, rel, abs, mode, finalMode, swapped: false, extended: false, incomplete: false, versions: new Set<string>(), before: { bytes: 0, records: 0 } } as const;
      // the modes this run uses: a --full-refresh replaces every stream's data
      s.mode = { sync: opts.fullRefresh ? 'full_refresh' : s.configured.sync_mode, destination: mode };
      let t: Target;
      if (mode === 'overwrite') {
        const partial = `${abs}.partial`;
        t = { ...base, partial, file: new StreamFile(partial, { truncate: true }), replace: false };
      } else {
        const known = this.files[rel];
        let records = known?.mode === 'append' ? known.records : 0;
        if (!known && existsSync(abs)) records = countLines(abs, statSync(abs).size);
        const file = new StreamFile(abs, { truncate: false, records });
        t = { ...base, file, replace: known?.mode === 'append' && known.replace === true, before: { bytes: file.bytes, records: file.records } };
        const rep = this.files[`${rel}.partial`];
        if (rep && existsSync(`${abs}.partial`) && (rep.activate_version !== undefined || (rep.replace === true && t.replace))) {
          // a replacement left unfinished by the last run goes on
          t.replacing = this.replacement(t, { truncate: false, records: rep.records, version: rep.activate_version });
          t.replacing.idle = false;
          if (rep.activate_version !== undefined) {
            t.newest = rep.activate_version;
            t.versions.add(rep.activate_version);
          }
        } else {
          delete this.files[`${rel}.partial`];
          // the stream's state was cleared: this run replaces its data (as a full refresh)
          if (t.replace) {
            t.replacing = this.replacement(t, { truncate: true });
            t.replacing.idle = false;
            opts.logger.info(`${s.display}: its state was cleared, so this run replaces ${rel} (written to ${rel}.partial and swapped in when the stream completes)`);
          }
        }
        this.files[rel] = this.entry(t, file.bytes, file.records, t.replace);
      }
      this.targets.set(s, t);
      this.byKey.set(s.key, t);
    }
    // Commit the starting point: from here on a crash is undone by truncating
    // every file this run appends to back to these lengths.
    this.committed = this.snapshot();
    // (a full refresh leaves the stored state as it is until it succeeds)
    if (!opts.fullRefresh) this.writeState(this.committed);
  }

  private replacement(t: Target, o: { truncate: boolean; records?: number; version?: string | undefined }): Replacement {
    const rel = `${t.rel}.partial`;
    const abs = `${t.abs}.partial`;
    const file = new StreamFile(abs, { truncate: o.truncate, records: o.records ?? 0 });
    return { version: o.version, id: ++this.replacements, rel, abs, idle: true, file, before: { bytes: file.bytes, records: file.records } };
  }

  private descriptor(s: RunStream): FileEntry['stream'] {
    return s.namespace ? { name: s.name, namespace: s.namespace } : { name: s.name };
  }

  private entry(t: Target, bytes: number, records: number, replace: boolean): FileEntry {
    const s = t.stream;
    return { bytes, records, mode: 'append', stream: this.descriptor(s), sync_mode: s.configured.sync_mode, destination_sync_mode: s.configured.destination_sync_mode, ...(replace ? { replace: true } : {}) };
  }

  /** After a crash: cut append files back to their committed lengths; drop stale partial files. */
  private recover(): void {
    const pending = this.opts.stored.swap_pending ?? [];
    if (pending.length) {
      // a --full-refresh commit stopped half-way: its state is written, finish its renames
      for (const rel of pending) {
        const abs = join(this.opts.dir, rel);
        if (existsSync(`${abs}.partial`)) fsStep('rename', `${abs}.partial`, () => renameSync(`${abs}.partial`, abs));
      }
      fsyncDir(this.opts.dir);
      this.opts.logger.warn(`finished the swap of a full refresh that was interrupted: ${pending.join(', ')}`);
      writeStateFile(this.opts.stateFile, { ...this.opts.stored, swap_pending: undefined });
    }
    for (const [rel, e] of Object.entries(this.files)) {
      const abs = join(this.opts.dir, rel);
      if (existsSync(`${abs}.partial`) && !this.files[`${rel}.partial`]) fsStep('remove the stale file', `${abs}.partial`, () => unlinkSync(`${abs}.partial`));
      if (e.mode !== 'append') continue;
      if (!existsSync(abs)) {
        if (e.bytes > 0) this.opts.logger.warn({ file: abs }, `output file ${rel} is missing (the state says ${e.bytes} bytes were committed)`);
        continue;
      }
      const size = statSync(abs).size;
      if (size > e.bytes) {
        this.opts.logger.warn(
          { file: abs, committed: e.bytes, found: size },
          `truncating ${rel} from ${size} to ${e.bytes} bytes: records after the last committed state are read again`,
        );
        fsStep('truncate', abs, () => truncateSync(abs, e.bytes));
      } else if (size < e.bytes) {
        throw new StateError(
          `output file ${abs} is shorter (${size} bytes) than the state says was committed (${e.bytes} bytes); it was changed outside the host. Remove the state file to start over.`,
          { file: abs },
          'STATE_INVALID',
        );
      }
    }
  }

  /** The state so far and every append file's length: what a commit now would write. */
  private snapshot(): Commit {
    const m: Lengths = new Map();
    for (const t of this.targets.values()) {
      if (t.mode !== 'append') continue;
      const r = t.replacing;
      m.set(t, { bytes: t.file.bytes, records: t.file.records, replace: t.replace, ...(r ? { replacing: { id: r.id, version: r.version, bytes: r.file.bytes, records: r.file.records } } : {}) });
    }
    this.stale = false;
    return { seq: ++this.seq, states: this.merger.snapshot(), lengths: m };
  }

  /** `pending` as of the last state, taken before anything changes the files after it. */
  private settle(): void {
    if (this.stale) this.pending = this.snapshot();
  }

  /** The files a commit must make durable. */
  private appendFiles(): StreamFile[] {
    const files: StreamFile[] = [];
    for (const t of this.targets.values()) {
      if (t.mode !== 'append') {
        if (t.extended) files.push(t.file);
        continue;
      }
      files.push(t.file);
      if (t.replacing) files.push(t.replacing.file);
    }
    return files;
  }

  record(stream: RunStream, data: Uint8Array, ds: number, de: number): void {
    if (this.stale) this.settle();
    const t = this.targets.get(stream)!;
    if (t.dropping !== undefined) return;
    const r = t.replacing;
    if (r) {
      r.idle = false;
      r.file.append(data, ds, de);
      return;
    }
    if (t.swapped && !t.extended) {
      // a full refresh stream swapped in at its version's completion, whose version goes on
      t.file = new StreamFile(t.abs, { truncate: false, records: t.file.records });
      t.extended = true;
    }
    t.file.append(data, ds, de);
  }

  state(msg: StateMessage): void {
    if (!this.merger.apply(msg)) return;
    if (this.opts.fullRefresh) return; // committed once, at the end
    if (this.trackCleared(msg)) return; // committed already
    this.stale = true;
    const now = Date.now();
    if (!this.inflight && now - this.lastCommitAt >= this.opts.commitIntervalMs) this.commitInBackground();
  }

  /**
   * A state that clears a stream's state (STREAM `stream_state: null`; a GLOBAL state that no
   * longer lists a stream, or lists it with a null state) is a reset: the connector reads the
   * stream from the start again, so its records replace the stream's file instead of being
   * appended to it. Returns true when it committed (a reset is committed at once).
   */
  private trackCleared(msg: StateMessage): boolean {
    const kind = kindOf(msg);
    const sameKind = kind === this.stateKind;
    this.stateKind = kind;
    if (kind === 'LEGACY') {
      this.withState.clear(); // one blob: what it holds per stream is the connector's business
      return false;
    }
    const now = streamsOf(msg, kind);
    const cleared: Target[] = [];
    let others = false;
    const clear = (k: string) => {
      const t = this.byKey.get(k);
      if (t) {
        if (t.mode === 'append') cleared.push(t);
        return;
      }
      // a stream not read in this run: its file is replaced by the run that reads it
      for (const [rel, e] of Object.entries(this.files)) {
        if (e.mode !== 'append' || rel.endsWith('.partial') || streamKey(e.stream.name, e.stream.namespace) !== k) continue;
        defineOwn(this.files, rel, { ...e, replace: true }); // (rel is from the state file: `__proto__` stays data)
        delete this.files[`${rel}.partial`];
        others = true;
      }
    };
    // GLOBAL says everything: a stream it no longer lists has no state now. (A change of kind
    // is a migration the connector made from the state it was given, not a reset.)
    if (kind === 'GLOBAL' && sameKind) for (const k of this.withState) if (!now.has(k)) clear(k);
    if (!(kind === 'STREAM' && sameKind)) this.withState = new Set();
    for (const [k, has] of now) {
      if (has) {
        this.withState.add(k);
        const r = this.byKey.get(k)?.replacing;
        if (r) r.idle = false; // a state of the stream after its reset: the new copy is under way
      } else {
        this.withState.delete(k);
        clear(k);
      }
    }
    if (cleared.length === 0 && !others) return false;
    let restart: Replacement[] = [];
    for (const t of cleared) {
      t.replace = true;
      if (t.replacing?.version !== undefined) continue; // a new version replaces the data anyway
      if (t.replacing) restart.push(t.replacing); // reset again: this copy starts over
      t.replacing = undefined;
    }
    // Commit now, with the replacement marked and no copy under way: a crash from here on
    // leaves the next run to replace the file.
    this.pending = this.snapshot();
    this.writeState(this.pending);
    this.pending = undefined;
    for (const r of restart) {
      r.file.close();
      if (existsSync(r.abs)) fsStep('remove', r.abs, () => unlinkSync(r.abs));
    }
    restart = [];
    for (const t of cleared) {
      if (t.replacing) continue;
      t.replacing = this.replacement(t, { truncate: true });
      this.opts.logger.info(`${t.stream.display}: its state was cleared (a reset): the records from here on replace ${t.rel} when the stream completes; its earlier records are not appended to again`);
    }
    return true;
  }

  /**
   * Write the buffered data now, fsync it on the thread pool, and publish the state when the
   * fsync is done. Reading goes on meanwhile, so a STATE every 1,000 records costs little.
   */
  private commitInBackground(): void {
    this.settle();
    const c = this.pending!;
    this.pending = undefined;
    this.lastCommitAt = Date.now();
    this.flying = c;
    this.inflight = fsyncAll(this.appendFiles())
      .then(() => this.publish(c))
      .catch((e: unknown) => {
        this.asyncError ??= e;
      })
      .finally(() => {
        this.inflight = undefined;
        this.flying = undefined;
      });
  }

  private async commitPending(): Promise<void> {
    await this.inflight;
    this.settle();
    if (!this.pending) return;
    const c = this.pending;
    this.pending = undefined;
    this.writeState(c);
  }

  /** Make the data durable, then the state (with the file lengths it covers). */
  private writeState(c: Commit): void {
    for (const f of this.appendFiles()) f.sync();
    this.publish(c);
  }

  /** Write the state file for a commit whose data is already durable. */
  private publish(c: Commit): void {
    // a commit that waited for its fsync while a later one was written is out of date
    if (c.seq < this.committed?.seq) return;
    for (const [t, l] of c.lengths) {
      this.files[t.rel] = this.entry(t, l.bytes, l.records, l.replace);
      const r = l.replacing;
      if (r) this.files[`${t.rel}.partial`] = { bytes: r.bytes, records: r.records, mode: 'append', stream: this.descriptor(t.stream), ...(r.version !== undefined ? { activate_version: r.version } : { replace: true }) };
      else delete this.files[`${t.rel}.partial`];
    }
    writeStateFile(this.opts.stateFile, { kind: c.states.kind, states: c.states.states, files: this.files });
    this.committed = c;
    this.lastCommitAt = Date.now();
    this.commits++;
  }

  streamStatus(stream: RunStream, status: string, activateVersion?: string): void {
    const t = this.targets.get(stream);
    if (!t) return;
    this.settle();
    if (activateVersion !== undefined) return this.activateVersion(t, status, activateVersion);
    if (status === 'INCOMPLETE') t.incomplete = true;
    if (this.opts.fullRefresh) return; // every file is swapped in at the end, together
    if (status !== 'COMPLETE') return;
    if (t.mode === 'overwrite' && !t.swapped) {
      this.swap(t);
      // record the swapped file now; the append files keep their committed lengths
      this.writeState(this.committed);
    } else if (t.replacing?.version === undefined && t.replacing && !t.incomplete) this.completeReset(t);
  }

  /** A stream whose state was cleared completed: its new copy replaces its file (unless nothing came since the reset: then the next run does). */
  private completeReset(t: Target): void {
    const r = t.replacing!;
    if (r.idle) {
      r.file.close();
      if (existsSync(r.abs)) fsStep('remove', r.abs, () => unlinkSync(r.abs));
      t.replacing = undefined;
      this.rebase(t);
      this.opts.logger.info(`${t.stream.display}: nothing was read since its state was cleared: the next run replaces ${t.rel}`);
    } else {
      t.replace = false;
      this.takeReplacement(t);
      this.opts.logger.info(`${t.stream.display}: read again from the start: its ${t.file.records} records replaced ${t.rel}`);
    }
    this.writeState(this.committed);
  }

  /**
   * Everything up to here is committed with the state so far, then the replacement takes
   * effect: the partial file becomes the stream's file, recorded in the same commit.
   */
  private takeReplacement(t: Target): void {
    const rep = t.replacing!;
    rep.file.materialise();
    rep.file.sync();
    t.file.sync();
    t.file.close();
    rep.file.close();
    fsStep('rename', rep.abs, () => renameSync(rep.abs, t.abs));
    fsyncDir(dirname(t.abs));
    t.file = new StreamFile(t.abs, { truncate: false, records: rep.file.records });
    t.before = rep.before;
    t.replacing = undefined;
    this.rebase(t);
  }

  /** The stream's file changed under the commits taken before (a replacement swapped in or given up): they record it as it is now. */
  private rebase(t: Target): void {
    const now = { bytes: t.file.bytes, records: t.file.records, replace: t.replace };
    this.committed = { ...this.committed, lengths: new Map([...this.committed.lengths].map(([k, v]) => [k, k === t ? now : v])) };
    // (commits taken before the swap, not yet written, see the swapped file too)
    this.pending?.lengths.set(t, now);
    this.flying?.lengths.set(t, now);
  }

  /**
   * Singer ACTIVATE_VERSION (through the shim): STARTED begins replacing the stream's data with
   * the records that follow; COMPLETE makes the replacement take effect. A full refresh stream
   * already writes a .partial file: a new version starts it over. Records sent before a stream's
   * first version (none) go where the stream's records go, and are replaced with the rest when
   * the version completes. A version older than the newest one seen (an integer below it, or
   * one that a later version followed in this run) is obsolete: its records are dropped.
   */
  private activateVersion(t: Target, status: string, version: string): void {
    if (status === 'STARTED') {
      const newest = t.newest;
      if (newest !== undefined && version !== newest && (t.versions.has(version) || olderVersion(version, newest))) {
        if (t.dropping !== version) this.opts.logger.warn(`${t.stream.display}: records of version ${version} came after version ${newest}, which makes them obsolete: they are dropped`);
        t.dropping = version;
        return;
      }
      t.dropping = undefined;
      if (version === newest) return; // the newest version goes on (a resumed run, or its records after its ACTIVATE_VERSION)
      t.versions.add(version);
      t.newest = version;
      if (t.mode === 'overwrite') {
        if (t.swapped) {
          // a second version in one run: the swapped file is replaced again
          if (t.extended) t.file.close();
          t.file = new StreamFile(t.partial!, { truncate: true });
          t.swapped = false;
          t.extended = false;
        } else if (t.file.bytes > 0) t.file.truncateTo(0, 0); // what came before the version is obsolete
        return;
      }
      if (t.replacing) {
        t.replacing.file.close();
        if (existsSync(t.replacing.abs)) fsStep('remove', t.replacing.abs, () => unlinkSync(t.replacing!.abs));
      }
      t.replacing = this.replacement(t, { truncate: true, version });
      t.replacing.idle = false;
      this.opts.logger.debug(`${t.stream.display}: version ${version} started; its records replace the stream's data when it completes`);
      return;
    }
    if (status !== 'COMPLETE') return;
    if (version !== t.newest) {
      this.opts.logger.warn(`${t.stream.display}: ACTIVATE_VERSION ${version} completed, but the version in progress here is ${t.newest ?? 'none'}; the stream's data is left as it is`);
      return;
    }
    if (t.mode === 'overwrite') {
      if (!t.swapped && !this.opts.fullRefresh) {
        this.swap(t);
        this.writeState(this.committed);
      }
      return;
    }
    if (t.replacing?.version !== version) return; // completed already
    t.replace = false;
    this.takeReplacement(t);
    this.writeState(this.committed);
    this.opts.logger.info(`${t.stream.display}: version ${version} complete: its ${t.file.records} records replaced the stream's earlier data`);
  }

  private swap(t: Target): void {
    t.file.materialise(); // a full refresh with no records replaces the data with an empty file
    t.file.sync();
    t.file.close();
    fsStep('rename', t.partial!, () => renameSync(t.partial!, t.abs));
    fsyncDir(dirname(t.abs));
    t.swapped = true;
    this.files[t.rel] = { bytes: t.file.bytes, records: t.file.records, mode: t.finalMode, stream: this.descriptor(t.stream), sync_mode: t.stream.configured.sync_mode, destination_sync_mode: t.stream.configured.destination_sync_mode };
    this.opts.logger.debug({ file: t.abs }, `full refresh of ${t.stream.display} complete: ${t.file.records} records`);
  }

  drain(): void {
    if (this.asyncError) throw this.asyncError;
  }

  async finish(ok: boolean): Promise<SinkResult> {
    await this.inflight;
    if (this.asyncError) throw this.asyncError;
    if (this.opts.fullRefresh) return this.finishFullRefresh(ok);
    let stateCommitted = this.commits > 1;
    if (ok) {
      for (const t of this.targets.values()) {
        if (t.mode === 'overwrite' && !t.swapped) {
          if (t.incomplete) this.opts.logger.warn(`stream ${t.stream.display} reported INCOMPLETE: its previous file is kept`);
          else this.swap(t);
        } else if (t.replacing && t.replacing.version === undefined) {
          if (t.incomplete) this.opts.logger.warn(`stream ${t.stream.display} reported INCOMPLETE: the copy that replaces ${t.rel} goes on in the next run`);
          else this.completeReset(t);
        }
      }
      for (const t of this.targets.values()) {
        if (t.extended) {
          t.file.sync();
          this.files[t.rel] = { ...this.files[t.rel]!, bytes: t.file.bytes, records: t.file.records };
        }
      }
      // Success: everything read is kept, with the latest state.
      this.committed = this.snapshot();
      this.pending = undefined;
      this.writeState(this.committed);
      stateCommitted = stateCommitted || this.merger.applied > 0;
    } else {
      // Failure: keep what the last state covers, drop what came after it.
      if (this.pending || this.stale) {
        await this.commitPending();
        stateCommitted = true;
      }
      for (const t of this.targets.values()) {
        if (t.mode === 'append') {
          const l = this.committed.lengths.get(t)!;
          if (t.file.bytes !== l.bytes) {
            this.opts.logger.info(`${t.stream.display}: ${t.file.records - l.records} records after the last committed state dropped; the next run reads them again`);
            t.file.truncateTo(l.bytes, l.records);
          }
          if (t.replacing) {
            const r = l.replacing;
            if (r && r.id === t.replacing.id) t.replacing.file.truncateTo(r.bytes, r.records);
            else {
              // the replacement began after the last commit: nothing of it is kept
              t.replacing.file.close();
              if (existsSync(t.replacing.abs)) unlinkSync(t.replacing.abs);
              t.replacing = undefined;
            }
          }
        }
      }
    }
    for (const t of this.targets.values()) {
      t.file.close();
      t.replacing?.file.close();
      if (t.mode === 'overwrite' && !t.swapped && existsSync(t.partial!)) unlinkSync(t.partial!);
    }
    this.writeManifest();
    this.reportKept();
    return { stateFile: this.opts.stateFile, stateCommitted, output: this.opts.dir };
  }

  /**
   * Each stream's `kept`: what its files hold of this run's records now (a swapped-in full
   * refresh, the appended lines, an unfinished replacement that the next run goes on with),
   * bytes with their newlines. The rest of what was read was dropped: after the last commit of
   * a failed run, a full refresh that did not complete, an obsolete version, a reset.
   */
  private reportKept(): void {
    for (const t of this.targets.values()) {
      let records = 0;
      let bytes = 0;
      if (t.mode === 'append' || t.swapped) {
        records += t.file.records - t.before.records;
        bytes += t.file.bytes - t.before.bytes;
      }
      const r = t.replacing;
      if (r && existsSync(r.abs)) {
        records += r.file.records - r.before.records;
        bytes += r.file.bytes - r.before.bytes;
      }
      t.stream.kept = { records: Math.max(0, records), bytes: Math.max(0, bytes) };
    }
  }

  /**
   * The end of a --full-refresh run. Success: the data made durable, the new state written with
   * every file's new length and `swap_pending`, the renames, then the state again without it
   * (a crash in between is finished by the next run's recover()). Failure: nothing changes.
   */
  private finishFullRefresh(ok: boolean): SinkResult {
    const incomplete = [...this.targets.values()].filter((t) => t.incomplete).map((t) => t.stream.display);
    if (ok && incomplete.length) this.opts.logger.warn(`--full-refresh: ${incomplete.join(', ')} reported INCOMPLETE; nothing is replaced`);
    if (!ok || incomplete.length) {
      for (const t of this.targets.values()) {
        t.file.close();
        if (existsSync(t.partial!)) unlinkSync(t.partial!);
      }
      this.opts.logger.info('--full-refresh did not complete: the previous files and state are kept');
      this.reportKept();
      return { stateFile: this.opts.stateFile, stateCommitted: false, output: this.opts.dir };
    }
    const rels: string[] = [];
    for (const t of this.targets.values()) {
      t.file.materialise();
      t.file.sync();
      t.file.close();
      // (a full refresh replaces the data: a `replace` left by a cleared state is done with)
      this.files[t.rel] = { bytes: t.file.bytes, records: t.file.records, mode: t.finalMode, stream: this.descriptor(t.stream), sync_mode: t.stream.configured.sync_mode, destination_sync_mode: t.stream.configured.destination_sync_mode };
      delete this.files[`${t.rel}.partial`];
      rels.push(t.rel);
    }
    const snap = this.merger.snapshot();
    writeStateFile(this.opts.stateFile, { kind: snap.kind, states: snap.states, files: this.files, swap_pending: rels });
    for (const t of this.targets.values()) {
      fsStep('rename', t.partial!, () => renameSync(t.partial!, t.abs));
      t.swapped = true;
    }
    fsyncDir(this.opts.dir);
    for (const d of new Set([...this.targets.values()].map((t) => dirname(t.abs)))) if (d !== this.opts.dir) fsyncDir(d);
    writeStateFile(this.opts.stateFile, { kind: snap.kind, states: snap.states, files: this.files });
    this.writeManifest();
    this.reportKept();
    return { stateFile: this.opts.stateFile, stateCommitted: true, output: this.opts.dir };
  }

  private writeManifest(): void {
    const streams = Object.entries(this.files)
      .filter(([file]) => !file.endsWith('.partial'))
      .map(([file, e]) => ({
        name: e.stream.name,
        ...(e.stream.namespace ? { namespace: e.stream.namespace } : {}),
        file,
        sync_mode: e.sync_mode ?? (e.mode === 'overwrite' ? 'full_refresh' : 'incremental'),
        destination_sync_mode: e.destination_sync_mode ?? e.mode,
        records: e.records,
        bytes: e.bytes,
      }))
      .sort((a, b) => a.file.localeCompare(b.file));
    const manifest = {
      generated_by: 'connector-host',
      updated_at: new Date().toISOString(),
      state_file: relative(this.opts.dir, this.opts.stateFile) || this.opts.stateFile,
      streams,
    };
    writeFileAtomic(join(this.opts.dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n', { fsync: false });
  }
}
