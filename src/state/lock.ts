// One run per state file: `<state>.lock`, created exclusively, holding the pid
// and the process start time. A lock whose process is gone (or whose pid was
// reused by another process) is stale and taken over. The lock also lists the
// connector process groups the run started, so that the takeover stops a
// connector that a killed host left running.

import { openSync, writeSync, closeSync, readFileSync, unlinkSync, mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { StateError } from '../errors.js';
import { procStart, stopLeftGroup, type GroupRecord } from '../io/proc.js';

interface LockInfo {
  pid: number;
  host: string;
  started_at: string;
  proc_start?: string | undefined;
  /** The connector process groups running for this run. */
  groups?: GroupRecord[] | undefined;
}

// The locks this process holds, and the connector groups it runs (ConnectorProcess tells).
const held = new Map<string, LockInfo>();
const groups = new Map<number, GroupRecord>();

function rewrite(file: string, info: LockInfo): void {
  // the lock is ours: replace its content atomically, so a reader never sees half of it
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, JSON.stringify({ ...info, groups: [...groups.values()] }) + '\n', { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      /* not made */
    }
  }
}

/** A connector process group started (or, with `ended`, finished): recorded in every lock this process holds. */
export function noteConnectorGroup(g: GroupRecord, ended = false): void {
  if (ended) groups.delete(g.pgid);
  else groups.set(g.pgid, g);
  for (const [file, info] of held) rewrite(file, info);
}

/** Stop the connector groups a dead lock holder recorded; how many were still running. */
function stopLeftGroups(info: LockInfo): number {
  let n = 0;
  for (const g of Array.isArray(info.groups) ? info.groups : []) if (Number.isInteger(g?.pgid) && stopLeftGroup({ pgid: g.pgid, start: typeof g.start === 'string' ? g.start : undefined }).length > 0) n++;
  return n;
}

function alive(info: LockInfo): boolean {
  if (info.host !== hostname()) return true; // cannot tell for another machine: respect it
  try {
    process.kill(info.pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  const now = procStart(info.pid);
  return !(info.proc_start && now && now !== info.proc_start);
}

export interface Lock {
  file: string;
  release(): void;
}

export function acquireLock(stateFile: string, onStale?: (info: LockInfo & { stoppedGroups: number }) => void): Lock {
  const file = `${stateFile}.lock`;
  mkdirSync(dirname(file), { recursive: true });
  const mine: LockInfo = { pid: process.pid, host: hostname(), started_at: new Date().toISOString(), proc_start: procStart(process.pid) };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, JSON.stringify(mine) + '\n');
      closeSync(fd);
      held.set(file, mine);
      if (groups.size > 0) rewrite(file, mine);
      let released = false;
      return {
        file,
        release() {
          if (released) return;
          released = true;
          held.delete(file);
          try {
            const cur = JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
            if (cur.pid === process.pid) unlinkSync(file);
          } catch {
            /* gone already */
          }
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new StateError(`cannot create the lock file ${file}: ${(e as Error).message}`, { file }, 'STATE_LOCKED');
    }
    let info: LockInfo | undefined;
    try {
      info = JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
    } catch {
      info = undefined; // half-written or unreadable: treat as stale only if it stays so
    }
    if (info && alive(info)) {
      throw new StateError(
        `another run (pid ${info.pid} on ${info.host}, started ${info.started_at}) holds the lock on ${stateFile}; wait for it to finish, or remove ${file} if you are sure it is not running`,
        { file, pid: info.pid },
        'STATE_LOCKED',
      );
    }
    // a connector the dead holder left running (idle, it would never notice) goes first
    if (info) onStale?.({ ...info, stoppedGroups: stopLeftGroups(info) });
    try {
      unlinkSync(file);
    } catch {
      /* someone else took it over first; retry */
    }
  }
  throw new StateError(`cannot take the lock on ${stateFile} (${file})`, { file }, 'STATE_LOCKED');
}
