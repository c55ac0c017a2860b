// Private 0700 temp folders for files that hold secrets (configs, catalogs, states). Each
// folder's name says which process owns it: `<prefix><pid>-<start>-<host>-XXXXXX`. Every exit
// path that runs JavaScript removes them (finally blocks, and an 'exit' hook for
// process.exit, a second Ctrl-C and uncaught errors); what a SIGKILL leaves behind is swept
// by the next start, which removes the folders of owners that are gone, after stopping the
// connector process groups recorded in them. Node builtins only (the shims use this too).

import { mkdtempSync, readdirSync, readFileSync, rmSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive, procStart, stopLeftGroup, type GroupRecord } from './proc.js';

/** The prefixes of every temp folder the host and its shims make. Only these are swept. */
export const TEMP_PREFIXES = ['connector-host-', 'singer-shim-', 'ch-state-'] as const;
export type TempPrefix = (typeof TEMP_PREFIXES)[number];

/** A file in a private folder recording a connector process group started by the folder's owner. */
export const GROUP_FILE_PREFIX = 'group-';

const hostTag = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
let ownerTag: string | undefined;
const owner = () => (ownerTag ??= `${process.pid}-${procStart(process.pid) ?? '0'}-${hostTag}-`);

const OWNED = /^(\d+)-(\d+)-([0-9a-f]{8})-[A-Za-z0-9]{6}$/;

const live = new Set<PrivateDir>();
let hookInstalled = false;
let swept = false;

export class PrivateDir {
  readonly dir: string;
  private readonly names = new Set<string>();
  constructor(prefix: TempPrefix) {
    if (!swept) {
      swept = true;
      sweepTempDirs();
    }
    this.dir = mkdtempSync(join(tmpdir(), `${prefix}${owner()}`)); // mkdtemp: mode 0700
    live.add(this);
    if (!hookInstalled) {
      hookInstalled = true;
      // process.exit (a second Ctrl-C), an uncaught error: no finally block runs, this does
      process.on('exit', () => {
        for (const d of live) d.remove();
      });
    }
  }

  /** Write a file (mode 0600) and return its path. */
  write(name: string, content: string): string {
    const p = join(this.dir, name);
    writeFileSync(p, content, { mode: 0o600 });
    this.names.add(name);
    return p;
  }

  /** Remove a file written here (ignored when gone). */
  unlink(name: string): void {
    this.names.delete(name);
    try {
      unlinkSync(join(this.dir, name));
    } catch {
      /* gone */
    }
  }

  /**
   * Remove the folder. The files written here go by name first: unlink needs no descriptor,
   * so this works when the process is out of them (EMFILE), where a recursive rm fails.
   */
  remove(): void {
    if (!live.delete(this)) return;
    for (const n of this.names) {
      try {
        unlinkSync(join(this.dir, n));
      } catch {
        /* gone, or removed below */
      }
    }
    try {
      rmdirSync(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      try {
        rmSync(this.dir, { recursive: true, force: true }); // something else was put in it
      } catch {
        /* nothing more to try now; the next start's sweep removes it */
      }
    }
  }
}

/** The process groups recorded in a folder (written by ConnectorProcess). */
function recordedGroups(dir: string, entries: string[]): GroupRecord[] {
  const out: GroupRecord[] = [];
  for (const n of entries) {
    if (!n.startsWith(GROUP_FILE_PREFIX)) continue;
    try {
      const g = JSON.parse(readFileSync(join(dir, n), 'utf8')) as GroupRecord;
      if (Number.isInteger(g.pgid)) out.push({ pgid: g.pgid, start: typeof g.start === 'string' ? g.start : undefined });
    } catch {
      /* half-written: its process had not been started */
    }
  }
  return out;
}

export interface SweepResult {
  removed: number;
  stoppedGroups: number;
}

/**
 * Remove the temp folders (ours only: our prefixes, our uid, this machine) whose owning
 * process is gone, after stopping any connector process group recorded in them.
 */
export function sweepTempDirs(root = tmpdir()): SweepResult {
  const res: SweepResult = { removed: 0, stoppedGroups: 0 };
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return res;
  }
  const uid = process.getuid?.();
  for (const name of names) {
    const prefix = TEMP_PREFIXES.find((p) => name.startsWith(p));
    if (!prefix) continue;
    const m = OWNED.exec(name.slice(prefix.length));
    if (!m || m[3] !== hostTag) continue; // an older host's folder (no owner in its name), or another machine's
    const pid = Number(m[1]);
    if (isAlive(pid, m[2] === '0' ? undefined : m[2])) continue;
    const dir = join(root, name);
    try {
      const st = statSync(dir);
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
      const groups = recordedGroups(dir, readdirSync(dir));
      for (const g of groups) if (stopLeftGroup(g).length > 0) res.stoppedGroups++;
      rmSync(dir, { recursive: true, force: true });
      res.removed++;
    } catch {
      /* another sweep got there first, or not ours to remove */
    }
  }
  return res;
}
