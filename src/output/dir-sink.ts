// The embedded default output: DIR/<stream>.jsonl (or DIR/<namespace>/<stream>.jsonl),
// one line per record holding its `data` bytes, and a state file committed
// exactly once with the byte length of every file (see protocol/README.md).

import { existsSync, mkdirSync, statSync, renameSync, unlinkSync, openSync, readSync, closeSync, truncateSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import type { Logger } from '../log/logger.js';
import { fsyncDir, writeFileAtomic } from '../io/atomic.js';
import { StreamFile } from './stream-file.js';
import { assignPaths } from './paths.js';
import { StateMerger, writeStateFile, fullRefreshStart, type StoredState, type FileEntry } from '../state/state.js';
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
  incomplete: boolean;
  /**
   * An ACTIVATE_VERSION replacement under way (append streams): records go to `rel`.partial,
   * which is committed with its own length (so a resumed run goes on with it) and renamed
   * over the stream's file when the version completes.
   */
  replacing?: { version: string; file: StreamFile; rel: string; abs: string };
}

type Lengths = Map<Target, { bytes: number; records: number; replacing?: { version: string; bytes: number; records: number } }>;

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

export class DirSink implements ReadSink {
  private readonly opts: DirSinkOptions;
  private readonly targets = new Map<RunStream, Target>();
  private readonly merger: StateMerger;
  private files: Record<string, FileEntry>;
  private pending: { states: ReturnType<StateMerger['snapshot']>; lengths: Lengths } | undefined;
  private committed: { states: ReturnType<StateMerger['snapshot']>; lengths: Lengths };
  private lastCommitAt = 0;
  private commits = 0;
  // A commit whose data fsync runs in the background while reading goes on; its state is
  // published (written) only when the fsync is done.
  private inflight: Promise<void> | undefined;
  private asyncError: unknown;
  readonly closed = false;

  constructor(opts: DirSinkOptions) {
    this.opts = opts;
    this.merger = new StateMerger(opts.fullRefresh ? fullRefreshStart(opts.stored, opts.streams) : opts.stored);
    this.files = { ...opts.stored.files };
    const paths = assignPaths(opts.streams); // refuse colliding names before touching anything
    mkdirSync(opts.dir, { recursive: true });
    this.recover();
    for (const s of opts.streams) {
      const rel = paths.get(s)!;
      const abs = join(opts.dir, rel);
      mkdirSync(dirname(abs), { recursive: true });
      const finalMode = s.configured.destination_sync_mode === 'overwrite' ? 'overwrite' : 'append';
      const mode = opts.fullRefresh ? 'overwrite' : finalMode;
      if (mode === 'overwrite') {
        const partial = `${abs}.partial`;
        this.targets.set(s, { stream: s, rel, abs, mode, finalMode, partial, file: new StreamFile(partial, { truncate: true }), swapped: false, incomplete: false });
      } else {
        const known = this.files[rel];
        let records = known?.mode === 'append' ? known.records : 0;
        if (!known && existsSync(abs)) records = countLines(abs, statSync(abs).size);
        const file = new StreamFile(abs, { truncate: false, records });
        const t: Target = { stream: s, rel, abs, mode, finalMode, file, swapped: false, incomplete: false };
        this.targets.set(s, t);
        this.files[rel] = { bytes: file.bytes, records: file.records, mode, stream: this.descriptor(s), ...this.syncModes(s) };
        const rep = this.files[`${rel}.partial`];
        if (rep?.activate_version !== undefined && existsSync(`${abs}.partial`)) {
          // a replacement (ACTIVATE_VERSION) left unfinished by the last run goes on
          t.replacing = { version: rep.activate_version, rel: `${rel}.partial`, abs: `${abs}.partial`, file: new StreamFile(`${abs}.partial`, { truncate: false, records: rep.records }) };
        } else delete this.files[`${rel}.partial`];
      }
    }
    // Commit the starting point: from here on a crash is undone by truncating
    // every file this run appends to back to these lengths.
    const lengths = this.lengthsNow();
    this.committed = { states: this.merger.snapshot(), lengths };
    // (a full refresh leaves the stored state as it is until it succeeds)
    if (!opts.fullRefresh) this.writeState(this.committed);
  }

  private descriptor(s: RunStream): FileEntry['stream'] {
    return s.namespace ? { name: s.name, namespace: s.namespace } : { name: s.name };
  }

  private syncModes(s: RunStream): Record<string, string> {
    return { sync_mode: s.configured.sync_mode, destination_sync_mode: s.configured.destination_sync_mode };
  }

  /** After a crash: cut append files back to their committed lengths; drop stale partial files. */
  private recover(): void {
    const pending = this.opts.stored.swap_pending ?? [];
    if (pending.length) {
      // a --full-refresh commit stopped half-way: its state is written, finish its renames
      for (const rel of pending) {
        const abs = join(this.opts.dir, rel);
        if (existsSync(`${abs}.partial`)) renameSync(`${abs}.partial`, abs);
      }
      fsyncDir(this.opts.dir);
      this.opts.logger.warn(`finished the swap of a full refresh that was interrupted: ${pending.join(', ')}`);
      writeStateFile(this.opts.stateFile, { ...this.opts.stored, swap_pending: undefined });
    }
    for (const [rel, e] of Object.entries(this.files)) {
      const abs = join(this.opts.dir, rel);
      if (existsSync(`${abs}.partial`) && !this.files[`${rel}.partial`]) unlinkSync(`${abs}.partial`);
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
        truncateSync(abs, e.bytes);
      } else if (size < e.bytes) {
        throw new StateError(
          `output file ${abs} is shorter (${size} bytes) than the state says was committed (${e.bytes} bytes); it was changed outside the host. Remove the state file to start over.`,
          { file: abs },
          'STATE_INVALID',
        );
      }
    }
  }

  private lengthsNow(): Lengths {
    const m: Lengths = new Map();
    for (const t of this.targets.values()) {
      if (t.mode !== 'append') continue;
      m.set(t, { bytes: t.file.bytes, records: t.file.records, ...(t.replacing ? { replacing: { version: t.replacing.version, bytes: t.replacing.file.bytes, records: t.replacing.file.records } } : {}) });
    }
    return m;
  }

  /** The files a commit must make durable. */
  private appendFiles(): StreamFile[] {
    const files: StreamFile[] = [];
    for (const t of this.targets.values()) {
      if (t.mode !== 'append') continue;
      files.push(t.file);
      if (t.replacing) files.push(t.replacing.file);
    }
    return files;
  }

  record(stream: RunStream, data: Uint8Array, ds: number, de: number): void {
    const t = this.targets.get(stream)!;
    (t.replacing?.file ?? t.file).append(data, ds, de);
  }

  state(msg: StateMessage): void {
    if (!this.merger.apply(msg)) return;
    if (this.opts.fullRefresh) return; // committed once, at the end
    this.pending = { states: this.merger.snapshot(), lengths: this.lengthsNow() };
    const now = Date.now();
    if (!this.inflight && now - this.lastCommitAt >= this.opts.commitIntervalMs) this.commitInBackground();
  }

  /**
   * Write the buffered data now, fsync it on the thread pool, and publish the state when the
   * fsync is done. Reading goes on meanwhile, so a STATE every 1,000 records costs little.
   */
  private commitInBackground(): void {
    const c = this.pending!;
    this.pending = undefined;
    this.lastCommitAt = Date.now();
    const files = this.appendFiles();
    for (const f of files) f.flush();
    this.inflight = Promise.all(files.map((f) => f.fsync()))
      .then(() => this.publish(c))
      .catch((e: unknown) => {
        this.asyncError ??= e;
      })
      .finally(() => {
        this.inflight = undefined;
      });
  }

  private async commitPending(): Promise<void> {
    await this.inflight;
    if (!this.pending) return;
    const c = this.pending;
    this.pending = undefined;
    this.writeState(c);
  }

  /** Make the data durable, then the state (with the file lengths it covers). */
  private writeState(c: { states: ReturnType<StateMerger['snapshot']>; lengths: Lengths }): void {
    for (const f of this.appendFiles()) f.sync();
    this.publish(c);
  }

  /** Write the state file for a commit whose data is already durable. */
  private publish(c: { states: ReturnType<StateMerger['snapshot']>; lengths: Lengths }): void {
    for (const [t, l] of c.lengths) {
      this.files[t.rel] = { bytes: l.bytes, records: l.records, mode: 'append', stream: this.descriptor(t.stream), ...this.syncModes(t.stream) };
      if (l.replacing) this.files[`${t.rel}.partial`] = { bytes: l.replacing.bytes, records: l.replacing.records, mode: 'append', stream: this.descriptor(t.stream), activate_version: l.replacing.version };
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
    if (this.opts.fullRefresh) {
      if (status === 'INCOMPLETE') t.incomplete = true;
      return; // every file is swapped in at the end, together
    }
    if (activateVersion !== undefined) return this.activateVersion(t, status, activateVersion);
    if (status === 'INCOMPLETE') t.incomplete = true;
    if (status === 'COMPLETE' && t.mode === 'overwrite' && !t.swapped) {
      this.swap(t);
      // record the swapped file now; the append files keep their committed lengths
      this.writeState(this.committed);
    }
  }

  /**
   * Singer ACTIVATE_VERSION (through the shim): STARTED begins replacing the stream's data with
   * the records that follow; COMPLETE makes the replacement take effect. A full refresh stream
   * already writes a .partial file: a new version starts it over.
   */
  private activateVersion(t: Target, status: string, version: string): void {
    if (status === 'STARTED') {
      if (t.mode === 'overwrite') {
        if (t.swapped) {
          // a second version in one run: the swapped file is replaced again
          t.file = new StreamFile(t.partial!, { truncate: true });
          t.swapped = false;
        } else if (t.file.records > 0) t.file.truncateTo(0, 0);
        return;
      }
      if (t.replacing?.version === version) return; // the same version goes on (a resumed run)
      if (t.replacing) t.replacing.file.close();
      const rel = `${t.rel}.partial`;
      const abs = `${t.abs}.partial`;
      t.replacing = { version, rel, abs, file: new StreamFile(abs, { truncate: true }) };
      this.opts.logger.debug(`${t.stream.display}: version ${version} started; its records replace the stream's data when it completes`);
      return;
    }
    if (status !== 'COMPLETE') return;
    if (t.mode === 'overwrite') {
      if (!t.swapped) {
        this.swap(t);
        this.writeState(this.committed);
      }
      return;
    }
    const rep = t.replacing;
    if (!rep || rep.version !== version) {
      this.opts.logger.warn(`${t.stream.display}: ACTIVATE_VERSION ${version} completed without having started in the data kept here; the stream's data is left as it is`);
      return;
    }
    // Everything up to here is committed with the state so far, then the replacement takes
    // effect: the partial file becomes the stream's file, recorded in the same commit.
    rep.file.sync();
    t.file.sync();
    t.file.close();
    renameSync(rep.abs, t.abs);
    fsyncDir(dirname(t.abs));
    t.file = rep.file;
    t.replacing = undefined;
    this.committed = { states: this.committed.states, lengths: new Map([...this.committed.lengths].map(([k, v]) => [k, k === t ? { bytes: t.file.bytes, records: t.file.records } : v])) };
    if (this.pending) this.pending.lengths.set(t, { bytes: t.file.bytes, records: t.file.records });
    this.writeState(this.committed);
    this.opts.logger.info(`${t.stream.display}: version ${version} complete: its ${t.file.records} records replaced the stream's earlier data`);
  }

  private swap(t: Target): void {
    t.file.sync();
    t.file.close();
    renameSync(t.partial!, t.abs);
    fsyncDir(dirname(t.abs));
    t.swapped = true;
    this.files[t.rel] = { bytes: t.file.bytes, records: t.file.records, mode: t.finalMode, stream: this.descriptor(t.stream), ...this.syncModes(t.stream) };
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
        }
      }
      // Success: everything read is kept, with the latest state.
      this.committed = { states: this.merger.snapshot(), lengths: this.lengthsNow() };
      this.pending = undefined;
      this.writeState(this.committed);
      stateCommitted = stateCommitted || this.merger.applied > 0;
    } else {
      // Failure: keep what the last state covers, drop what came after it.
      if (this.pending) {
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
            if (r && r.version === t.replacing.version) t.replacing.file.truncateTo(r.bytes, r.records);
            else {
              // the replacement began after the last commit: nothing of it is kept
              t.replacing.file.close();
              unlinkSync(t.replacing.abs);
              t.replacing = undefined;
            }
          }
        }
      }
    }
    for (const t of this.targets.values()) {
      if (!t.swapped) t.file.close();
      t.replacing?.file.close();
      if (t.mode === 'overwrite' && !t.swapped && existsSync(t.partial!)) unlinkSync(t.partial!);
    }
    this.writeManifest();
    return { stateFile: this.opts.stateFile, stateCommitted, output: this.opts.dir };
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
      return { stateFile: this.opts.stateFile, stateCommitted: false, output: this.opts.dir };
    }
    const rels: string[] = [];
    for (const t of this.targets.values()) {
      t.file.sync();
      t.file.close();
      this.files[t.rel] = { bytes: t.file.bytes, records: t.file.records, mode: t.finalMode, stream: this.descriptor(t.stream), ...this.syncModes(t.stream) };
      rels.push(t.rel);
    }
    const snap = this.merger.snapshot();
    writeStateFile(this.opts.stateFile, { kind: snap.kind, states: snap.states, files: this.files, swap_pending: rels });
    for (const t of this.targets.values()) {
      renameSync(t.partial!, t.abs);
      t.swapped = true;
    }
    fsyncDir(this.opts.dir);
    for (const t of this.targets.values()) if (dirname(t.abs) !== this.opts.dir) fsyncDir(dirname(t.abs));
    writeStateFile(this.opts.stateFile, { kind: snap.kind, states: snap.states, files: this.files });
    this.writeManifest();
    return { stateFile: this.opts.stateFile, stateCommitted: true, output: this.opts.dir };
  }

  private writeManifest(): void {
    const streams = Object.entries(this.files)
      .filter(([file]) => !file.endsWith('.partial'))
      .map(([file, e]) => ({
        name: e.stream.name,
        ...(e.stream.namespace ? { namespace: e.stream.namespace } : {}),
        file,
        sync_mode: (e as unknown as Record<string, unknown>)['sync_mode'] ?? (e.mode === 'overwrite' ? 'full_refresh' : 'incremental'),
        destination_sync_mode: (e as unknown as Record<string, unknown>)['destination_sync_mode'] ?? e.mode,
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
