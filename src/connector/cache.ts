// The cache of installed connectors (pypi: virtualenvs, npm: prefixes).
//
// Where: ResolveOptions.cacheDir, else $CONNECTOR_HOST_CACHE, else
// $XDG_CACHE_HOME/connector-host, else ~/.cache/connector-host.
//
// One entry is one folder (e.g. <root>/pypi/airbyte-source-faker/7.2.1-cp311). It is
// complete when its marker file (written last) is there. An install:
//   1. takes the entry's lock, <entry>.lock (exclusive create, pid, stale detection:
//      src/state/lock.ts); a second run installing the same entry waits for the first,
//      then finds the entry complete and installs nothing;
//   2. installs into a temp sibling, <entry>.tmp-<pid>-<random>, and writes the marker;
//   3. renames the temp folder onto <entry> (atomic on one filesystem);
// so a failed or killed install leaves no half-made entry behind (its temp folder is
// removed on failure, or by the next install of that entry if the process died).
//
// An entry whose key is only known after the install (pypi: without a version: the folder is
// named by the version installed) is built in a temp folder under another lock, then placed
// with placeEntry (the entry's own lock; an entry already complete wins and the temp folder
// goes), and found again through a pointer: a small JSON file beside the entries
// (e.g. pypi/<name>/latest-cpython-311 -> {"target": "7.2.1-cpython-311"}), written
// atomically. A pointer whose target is gone is stale: readPointer still returns it, and the
// caller installs again.

import { existsSync, readFileSync, readdirSync, renameSync, rmSync, rmdirSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { acquireLock, type Lock } from '../state/lock.js';
import { HostError, ConfigError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { silentLogger } from '../log/logger.js';

/** The marker of a complete entry, written last. */
export const MARKER = '.connector-host.json';

export interface CacheMarker {
  kind: string;
  name: string;
  /** What was asked for (undefined: the latest). */
  requested: string | undefined;
  /** The version actually installed. */
  version: string;
  installed_at: string;
  [key: string]: unknown;
}

/** The cache root folder (absolute). */
export function cacheRoot(opts: { cacheDir?: string | undefined } = {}, env: NodeJS.ProcessEnv = process.env): string {
  if (opts.cacheDir) return resolve(opts.cacheDir);
  if (env['CONNECTOR_HOST_CACHE']) return resolve(env['CONNECTOR_HOST_CACHE']);
  const xdg = env['XDG_CACHE_HOME'];
  if (xdg) return join(resolve(xdg), 'connector-host');
  return join(homedir(), '.cache', 'connector-host');
}

/** The marker of a complete entry, or undefined when the entry is missing or incomplete. */
export function readMarker<M extends CacheMarker = CacheMarker>(entryDir: string): M | undefined {
  try {
    return JSON.parse(readFileSync(join(entryDir, MARKER), 'utf8')) as M;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Take the entry's lock, waiting (polling) while another live process holds it. */
export async function lockEntry(entryDir: string, o: { logger?: Logger | undefined; timeoutMs?: number | undefined; what?: string | undefined } = {}): Promise<Lock> {
  const logger = o.logger ?? silentLogger();
  const deadline = Date.now() + (o.timeoutMs ?? 20 * 60_000);
  let told = false;
  let vanished = 0;
  for (;;) {
    try {
      mkdirSync(dirname(entryDir), { recursive: true });
      return acquireLock(entryDir, (info) => logger.warn({ lock: `${entryDir}.lock`, pid: info.pid }, `taking over a stale install lock left by pid ${info.pid}`));
    } catch (e) {
      // the folder removed under us by a failed install that cleaned up: try again
      if (e instanceof HostError && e.code === 'STATE_LOCKED' && !existsSync(dirname(entryDir)) && vanished++ < 5) continue;
      if (!(e instanceof HostError) || e.code !== 'STATE_LOCKED' || !existsSync(`${entryDir}.lock`)) {
        throw new ConfigError(`cannot lock the cache entry ${entryDir}: ${(e as Error).message}`, { file: `${entryDir}.lock` }, 'CONNECTOR_NOT_FOUND');
      }
      if (Date.now() > deadline) {
        throw new ConfigError(`${o.what ?? entryDir}: another run has been installing it for too long (${e.message})`, { file: `${entryDir}.lock` }, 'CONNECTOR_NOT_FOUND');
      }
      if (!told) {
        told = true;
        logger.info({ entry: entryDir }, `waiting for another run installing ${o.what ?? basename(entryDir)}`);
      }
      await sleep(250);
    }
  }
}

export interface EnsureOptions<M extends CacheMarker> {
  logger?: Logger | undefined;
  what?: string | undefined;
  /** Is this complete entry usable as it is? Default: a marker is there. */
  accept?: ((marker: M) => boolean) | undefined;
  /**
   * Install into `tmpDir` (it does not exist yet) and return the marker to write; the
   * folder is renamed to the entry afterwards, so nothing may record tmpDir's path.
   */
  install: (tmpDir: string) => Promise<M>;
  lockTimeoutMs?: number | undefined;
}

export interface EnsureResult<M extends CacheMarker> {
  dir: string;
  marker: M;
  /** False when the entry was already there (nothing was installed). */
  installed: boolean;
}

/** Make sure a cache entry exists: reuse it, or install it atomically under its lock. */
export async function ensureEntry<M extends CacheMarker>(entryDir: string, o: EnsureOptions<M>): Promise<EnsureResult<M>> {
  const accept = o.accept ?? (() => true);
  const found = completeEntry(entryDir, accept);
  if (found) return { dir: entryDir, marker: found, installed: false };

  const lock = await lockEntry(entryDir, { logger: o.logger, timeoutMs: o.lockTimeoutMs, what: o.what });
  try {
    const again = completeEntry(entryDir, accept); // another run may have finished it while we waited
    if (again) return { dir: entryDir, marker: again, installed: false };
    removeLeftovers(entryDir);
    const tmp = tempSibling(entryDir);
    try {
      const marker = await o.install(tmp);
      moveIntoPlace(tmp, entryDir, marker);
      return { dir: entryDir, marker, installed: true };
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    } finally {
      lock.release();
      removeEmptyParent(entryDir);
    }
  } finally {
    lock.release();
  }
}

/** The marker of a complete entry that `accept` takes, else undefined. */
export function completeEntry<M extends CacheMarker>(entryDir: string, accept: (m: M) => boolean = () => true): M | undefined {
  const m = readMarker<M>(entryDir);
  return m && accept(m) ? m : undefined;
}

/** A fresh temp folder name beside `entryDir` (removed by removeLeftovers under the entry's lock if its process dies). */
export function tempSibling(entryDir: string): string {
  return `${entryDir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

// Write the marker into the finished temp folder and rename it onto the entry (an incomplete
// or unaccepted entry there is moved aside first: a rename over a non-empty folder fails).
function moveIntoPlace(tmp: string, entryDir: string, marker: CacheMarker): void {
  writeMarker(tmp, marker);
  if (existsSync(entryDir)) {
    const old = `${entryDir}.old-${process.pid}-${randomBytes(4).toString('hex')}`;
    renameSync(entryDir, old);
    rmSync(old, { recursive: true, force: true });
  }
  renameSync(tmp, entryDir);
}

// nothing of a failed first install stays behind, not even the empty parent folder
function removeEmptyParent(entryDir: string): void {
  try {
    if (!existsSync(entryDir) && readdirSync(dirname(entryDir)).length === 0) rmdirSync(dirname(entryDir));
  } catch {
    /* not empty, or gone */
  }
}

/**
 * Place a folder built elsewhere (a temp folder beside `entryDir`, same filesystem) as the
 * entry, under the entry's lock. When the entry is already complete (another run, or a pinned
 * install of the same version) it is kept and `tmp` is removed: installed is false.
 */
export async function placeEntry<M extends CacheMarker>(
  entryDir: string,
  tmp: string,
  marker: M,
  o: { logger?: Logger | undefined; what?: string | undefined; accept?: ((m: M) => boolean) | undefined; lockTimeoutMs?: number | undefined } = {},
): Promise<EnsureResult<M>> {
  const lock = await lockEntry(entryDir, { logger: o.logger, timeoutMs: o.lockTimeoutMs, what: o.what });
  try {
    const there = completeEntry(entryDir, o.accept);
    if (there) {
      rmSync(tmp, { recursive: true, force: true });
      return { dir: entryDir, marker: there, installed: false };
    }
    removeLeftovers(entryDir);
    moveIntoPlace(tmp, entryDir, marker);
    return { dir: entryDir, marker, installed: true };
  } finally {
    lock.release();
  }
}

/** Rewrite a complete entry's marker (atomic; e.g. to record a repair). */
export function rewriteMarker(entryDir: string, marker: CacheMarker): void {
  writeMarker(entryDir, marker);
}

function writeMarker(dir: string, marker: CacheMarker): void {
  const p = join(dir, MARKER);
  const tmp = `${p}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, JSON.stringify(marker, null, 2) + '\n');
  renameSync(tmp, p);
}

// ---------------------------------------------------------------------------------------------
// pointers

export interface CachePointer {
  /** The entry's folder name, a sibling of the pointer file. */
  target: string;
  version: string;
  resolved_at: string;
}

/** A pointer file's content; undefined when there is none, or it is not a pointer (a folder, garbage). */
export function readPointer(file: string): CachePointer | undefined {
  try {
    if (!statSync(file).isFile()) return undefined;
    const p = JSON.parse(readFileSync(file, 'utf8')) as Partial<CachePointer>;
    if (typeof p.target !== 'string' || !/^[A-Za-z0-9._+@-]+$/.test(p.target) || p.target === '.' || p.target === '..') return undefined;
    return { target: p.target, version: String(p.version ?? ''), resolved_at: String(p.resolved_at ?? '') };
  } catch {
    return undefined;
  }
}

/** Write a pointer atomically (a reader sees the old one or the new one). */
export function writePointer(file: string, p: CachePointer): void {
  const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.ptr-tmp`;
  writeFileSync(tmp, JSON.stringify(p) + '\n');
  renameSync(tmp, file);
}

/** Under the entry's lock: remove temp folders (and pointer temp files) left by installs that died. */
export function removeLeftovers(entryDir: string): void {
  const parent = dirname(entryDir);
  const base = basename(entryDir);
  let names: string[] = [];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  for (const n of names) {
    if (n.startsWith(`${base}.tmp-`) || n.startsWith(`${base}.old-`) || (n.startsWith(`${base}.`) && n.endsWith('.ptr-tmp'))) rmSync(join(parent, n), { recursive: true, force: true });
  }
}

/** A safe folder name for a cache key part (names and versions are validated before; this is a second fence). */
export function safeSegment(s: string): string {
  const out = s.replace(/[^A-Za-z0-9._+@-]/g, '_');
  if (out === '' || out === '.' || out === '..') throw new ConfigError(`invalid cache key "${s}"`);
  return out;
}
