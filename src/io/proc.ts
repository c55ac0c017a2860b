// What /proc tells about other processes (Linux; elsewhere every answer is "unknown"), and
// stopping a process group we started without ever hitting a recycled pid. Node builtins only:
// the Singer shims use this too and must start fast.

import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

interface Stat {
  pgrp: number;
  start: string;
}

function stat(pid: number): Stat | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the fields after the ")" that ends the command name: state(3) ppid(4) pgrp(5) ... starttime(22)
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    if (rest[0] === 'Z' || rest[0] === 'X') return undefined; // a zombie holds nothing and runs nothing
    return { pgrp: Number(rest[2]), start: rest[19]! };
  } catch {
    return undefined;
  }
}

/** The process's start time (clock ticks since boot, /proc/PID/stat field 22), or undefined. */
export function procStart(pid: number): string | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Is `pid` running, and (when `start` is known and /proc can tell) still the process that started then? */
export function isAlive(pid: number, start?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = procStart(pid);
  return !(start && now && now !== start);
}

function pids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((n) => /^\d+$/.test(n))
      .map(Number);
  } catch {
    return [];
  }
}

/** The inodes of a process's sockets and pipes on the given fds (`socket:[123]`), as read now. */
export function fdTargets(pid: number, fds: number[]): string[] {
  const out: string[] = [];
  for (const fd of fds) {
    try {
      const t = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (/^(socket|pipe):\[\d+\]$/.test(t)) out.push(t);
    } catch {
      /* closed already, or no /proc */
    }
  }
  return out;
}

/** Processes (readable by us, other than this one) holding any of `targets` open. */
export function holdersOf(targets: string[]): number[] {
  if (targets.length === 0) return [];
  const want = new Set(targets);
  const found: number[] = [];
  for (const pid of pids()) {
    if (pid === process.pid) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // another user's process, or gone
    }
    for (const fd of fds) {
      try {
        if (want.has(readlinkSync(`/proc/${pid}/fd/${fd}`))) {
          found.push(pid);
          break;
        }
      } catch {
        /* closed meanwhile */
      }
    }
  }
  return found;
}

/** A process group this host started: its leader's pid (= the group id) and start time. */
export interface GroupRecord {
  pgid: number;
  start?: string | undefined;
}

/**
 * The live members of a recorded group, or [] when it is not ours any more: the leader's pid
 * now belongs to a process that started at another time. While any member lives the kernel
 * does not hand the group id out again, so members of a leaderless group are ours.
 */
export function groupMembers(g: GroupRecord): number[] {
  const leader = stat(g.pgid);
  if (leader && g.start && leader.start !== g.start) return [];
  const members = pids().filter((p) => stat(p)?.pgrp === g.pgid);
  return members;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
export function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/**
 * Stop a group left by a host that is gone: SIGTERM, then SIGKILL after `graceMs`. Only on
 * Linux, where /proc shows that the group is still the one we started. Returns the member
 * pids that were found (none: nothing was signalled).
 */
export function stopLeftGroup(g: GroupRecord, graceMs = 2000): number[] {
  if (!Number.isInteger(g.pgid) || g.pgid <= 1) return [];
  const members = groupMembers(g);
  if (members.length === 0) return [];
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-g.pgid, sig);
    } catch {
      /* gone */
    }
  };
  signal('SIGTERM');
  const end = Date.now() + graceMs;
  while (Date.now() < end && groupMembers(g).length > 0) sleepSync(50);
  if (groupMembers(g).length > 0) signal('SIGKILL');
  return members;
}
