// A bounded history of previous states beside the state file: `<state>.history/`,
// one file per entry (`000042.json`, so they sort), the state file's content as it
// was before a change, with the reason and the time. Every `host state set|clear|import`
// and every run records one first, so a bad run can be undone.

import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { isPlainObject, parseLossless, stringifyLossless, type LosslessValue } from '../json/lossless.js';
import { StateError } from '../errors.js';

/** How many entries are kept (the oldest are removed). */
export const HISTORY_LIMIT = 10;
const MARKER = 'connector_host_state_history';
const NAME_RE = /^(\d{6,})\.json$/;

export interface HistoryEntry {
  /** Stable number of the entry (grows with every entry; `set --from-history N`). */
  seq: number;
  reason: string;
  recorded_at: string;
  /** The state file's content at that moment (lossless). */
  state: LosslessValue;
  file: string;
}

export function historyDir(stateFile: string): string {
  return `${stateFile}.history`;
}

function entryFiles(dir: string): { seq: number; file: string }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((n) => ({ m: NAME_RE.exec(n), n }))
    .filter((x) => x.m)
    .map((x) => ({ seq: Number(x.m![1]), file: join(dir, x.n) }))
    .sort((a, b) => a.seq - b.seq);
}

function readEntry(seq: number, file: string): HistoryEntry | undefined {
  try {
    const v = parseLossless(readFileSync(file, 'utf8'));
    if (!isPlainObject(v) || v[MARKER] === undefined) return undefined;
    return { seq, reason: String(v['reason'] ?? ''), recorded_at: String(v['recorded_at'] ?? ''), state: v['state'] as LosslessValue, file };
  } catch {
    return undefined; // a damaged entry is skipped, never fatal
  }
}

/** Every readable entry, oldest first. */
export function listHistory(stateFile: string): HistoryEntry[] {
  return entryFiles(historyDir(stateFile))
    .map((e) => readEntry(e.seq, e.file))
    .filter((e): e is HistoryEntry => e !== undefined);
}

export function historyEntry(stateFile: string, seq: number): HistoryEntry {
  const e = listHistory(stateFile).find((x) => x.seq === seq);
  if (!e) {
    const have = listHistory(stateFile).map((x) => x.seq);
    throw new StateError(`no history entry ${seq} for ${stateFile}; ${have.length ? `there are ${have.join(', ')}` : 'the history is empty'} (see host state show --history)`, { file: stateFile }, 'STATE_INVALID');
  }
  return e;
}

// The same state committed at another moment is the same state.
function comparable(v: LosslessValue): string {
  if (!isPlainObject(v)) return stringifyLossless(v);
  const { committed_at: _at, ...rest } = v;
  return stringifyLossless(rest);
}

/**
 * Records the state file's current content (call it with the lock held, before a change).
 * Nothing happens when the file does not exist or holds what the newest entry holds.
 * Returns the new entry's number.
 */
export function recordHistory(stateFile: string, reason: string, opts: { limit?: number; onError?: (e: Error) => void } = {}): number | undefined {
  try {
    if (!existsSync(stateFile)) return undefined;
    let state: LosslessValue;
    try {
      state = parseLossless(readFileSync(stateFile, 'utf8'));
    } catch {
      return undefined; // damaged: the caller's read of it reports that
    }
    const dir = historyDir(stateFile);
    const files = entryFiles(dir);
    const last = files.length ? readEntry(files[files.length - 1]!.seq, files[files.length - 1]!.file) : undefined;
    if (last && comparable(last.state) === comparable(state)) return undefined;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const seq = (files.length ? files[files.length - 1]!.seq : 0) + 1;
    const body = { [MARKER]: 1, seq, reason, recorded_at: new Date().toISOString(), state };
    writeFileAtomic(join(dir, `${String(seq).padStart(6, '0')}.json`), stringifyLossless(body, 2) + '\n', { mode: 0o600 });
    const limit = opts.limit ?? HISTORY_LIMIT;
    const all = entryFiles(dir);
    for (const old of all.slice(0, Math.max(0, all.length - limit))) unlinkSync(old.file);
    try {
      chmodSync(dir, 0o700);
    } catch {
      /* not ours to change */
    }
    return seq;
  } catch (e) {
    const err = e instanceof StateError ? e : new StateError(`cannot record the state history of ${stateFile}: ${(e as Error).message}`, { file: stateFile });
    if (opts.onError) {
      opts.onError(err);
      return undefined;
    }
    throw err;
  }
}
