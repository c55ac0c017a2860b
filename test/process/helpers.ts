// Shared by the process suites: the host as a child with its own TMPDIR (so leftover temp
// folders can be counted), the hostile-process fixtures, waiting for pid files.
import { execa, type ResultPromise } from 'execa';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FIX, HOST, tmp, writeJson, readJson, sleep, pidAlive, host, type HostResult } from '../helpers.js';

export const node = process.execPath;
export const hostile = (name: string) => join(FIX, 'hostile-process', `${name}.mjs`);
export const SECRET = 'p@ss-w0rd-for-process-tests';

export interface Env {
  dir: string;
  /** The host's TMPDIR. */
  tmpdir: string;
  cfg: string;
  pidFile: string;
  env: Record<string, string>;
}

/** A test folder with a private TMPDIR and a config holding a secret. */
export function env(): Env {
  const dir = tmp('ch-proc-');
  const tmpdir = join(dir, 'tmp');
  mkdirSync(tmpdir);
  return { dir, tmpdir, cfg: writeJson(dir, 'config.json', { password: SECRET }), pidFile: join(dir, 'pids.json'), env: { TMPDIR: tmpdir, NO_COLOR: '1' } };
}

/** The temp folders the host (and its shims) left in the test's TMPDIR. */
export function leftovers(e: Env): string[] {
  return readdirSync(e.tmpdir).filter((n) => /^(connector-host-|singer-shim-|ch-state-)/.test(n));
}

const started: number[] = [];

/** Start `host <args>` without waiting for it (killQuietly() ends it if a test fails). */
export function start(e: Env, args: string[]): ResultPromise<{ reject: false; stdin: 'ignore' }> {
  const sub = execa(node, [HOST, ...args], { reject: false, stdin: 'ignore', env: e.env });
  if (sub.pid) started.push(sub.pid);
  return sub as never;
}

/** Run `host <args>` to the end, with the test's TMPDIR. */
export function run(e: Env, args: string[]): Promise<HostResult> {
  return host(args, { env: e.env });
}

export async function waitFor(cond: () => boolean, ms = 15_000, what = 'a condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The pids a fixture wrote to its pid file, once it is there. */
export async function pids(e: Env): Promise<{ pid: number; child?: number | null }> {
  await waitFor(() => existsSync(e.pidFile), 20_000, 'the pid file');
  return readJson(e.pidFile);
}

export const gone = (pid: number | null | undefined, ms = 10_000) => waitFor(() => !pid || !pidAlive(pid), ms, `pid ${pid} to end`);

/** Kill processes a failing test may leave (never the test's own). */
export function killQuietly(...list: (number | null | undefined)[]): void {
  for (const p of [...list, ...started.splice(0)]) {
    if (!p) continue;
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}
