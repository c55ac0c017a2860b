// One run per state file: `<state>.lock`, created exclusively, holding the pid
// and the process start time. A lock whose process is gone (or whose pid was
// reused by another process) is stale and taken over.

import { openSync, writeSync, closeSync, readFileSync, unlinkSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { StateError } from '../errors.js';

interface LockInfo {
  pid: number;
  host: string;
  started_at: string;
  proc_start?: string | undefined;
}

function procStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // field 22 (starttime) after the ")" that ends the command name
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19];
  } catch {
    return undefined;
  }
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

export function acquireLock(stateFile: string, onStale?: (info: LockInfo) => void): Lock {
  const file = `${stateFile}.lock`;
  mkdirSync(dirname(file), { recursive: true });
  const mine: LockInfo = { pid: process.pid, host: hostname(), started_at: new Date().toISOString(), proc_start: procStart(process.pid) };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, JSON.stringify(mine) + '\n');
      closeSync(fd);
      let released = false;
      return {
        file,
        release() {
          if (released) return;
          released = true;
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
    if (info) onStale?.(info);
    try {
      unlinkSync(file);
    } catch {
      /* someone else took it over first; retry */
    }
  }
  throw new StateError(`cannot take the lock on ${stateFile} (${file})`, { file }, 'STATE_LOCKED');
}
