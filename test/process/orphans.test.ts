// Item 13: a SIGKILL of the host leaves its connector running (idle, it would never notice).
// The lock and the host's private folder record the connector's process group; the next run
// (stale-lock takeover) or the next start of any command stops it, and never a process that
// merely got a recycled pid.
import { describe, it, expect, afterEach } from 'vitest';
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { EXAMPLE, bad, pidAlive, readJson, sleep, jsonLines } from '../helpers.js';
import { env, start, run, pids, gone, killQuietly, hostile, node, waitFor, leftovers, type Env } from './helpers.js';

const cleanup: number[] = [];
afterEach(() => killQuietly(...cleanup.splice(0)));

/** A process unrelated to any host: detached (its own group), sleeping. */
const procStart = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(')').pop()!.trim().split(' ')[19];

function bystander(): number {
  const sub = execa(node, ['-e', 'setInterval(() => {}, 1 << 30)'], { detached: true, stdio: 'ignore', reject: false });
  sub.unref();
  cleanup.push(sub.pid!);
  return sub.pid!;
}

/** `host <args>` until the connector wrote its pid file, then SIGKILL of the host: the connector is still there. */
async function orphanOf(e: Env, args: string[], check?: () => void): Promise<number> {
  const sub = start(e, [...args, '--pid-file', e.pidFile]);
  const p = await pids(e);
  cleanup.push(p.pid);
  check?.();
  sub.kill('SIGKILL');
  await sub;
  await sleep(300);
  expect(pidAlive(p.pid)).toBe(true); // the orphan: nothing stopped it
  return p.pid;
}

describe('SIGKILL of the host leaves an idle connector', () => {
  it('during read with --out: the lock records its group; the next run takes the lock over and stops it', async () => {
    const e = env();
    const out = join(e.dir, 'out');
    const lockFile = join(out, 'state.json.lock');
    let groups: unknown;
    const pid = await orphanOf(e, ['read', '--config', e.cfg, '--out', out, '--', node, hostile('idle'), '--records', '2'], () => (groups = readJson(lockFile).groups));
    expect(groups).toEqual([expect.objectContaining({ pgid: pid })]);
    const r = await run(e, ['read', '--config', e.cfg, '--out', out, '--', node, bad('exit-after'), '--total', '3']);
    expect(r.exitCode).toBe(0);
    await gone(pid, 5000);
    expect(jsonLines(join(out, 'items.jsonl')).map((x) => x['id'])).toEqual([1, 2, 3]);
    expect(existsSync(lockFile)).toBe(false);
  });

  it('the stale-lock takeover stops it by itself (the dead host\u2019s temp folders already gone)', async () => {
    const e = env();
    const out = join(e.dir, 'out');
    const pid = await orphanOf(e, ['read', '--config', e.cfg, '--out', out, '--', node, hostile('idle')]);
    const other = env(); // another TMPDIR: the sweep cannot see the dead host's folders
    const r = await run(other, ['read', '--config', e.cfg, '--out', out, '--', node, bad('exit-after'), '--total', '3']);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain('stopped the connector it left running');
    await gone(pid, 5000);
  });

  it.each([
    ['during read to stdout (no lock)', ['read'], ['--records', '2']],
    ['during discover', ['discover'], ['--in=discover']],
    ['during check', ['check'], ['--in=check']],
  ])('%s: the next start of any command stops it', async (_what, command, knobs) => {
    const e = env();
    const pid = await orphanOf(e, [...command, '--config', e.cfg, '--', node, hostile('idle'), ...knobs]);
    const r = await run(e, ['spec', '--', node, EXAMPLE.node]);
    expect(r.exitCode).toBe(0);
    await gone(pid, 5000);
    expect(leftovers(e)).toEqual([]);
  });

  it('a connector that ignores SIGTERM is SIGKILLed by the next start', async () => {
    const e = env();
    const pid = await orphanOf(e, ['read', '--config', e.cfg, '--', node, hostile('close-stdout-keep-running'), '--ignore-sigterm']);
    await run(e, ['spec', '--', node, EXAMPLE.node]);
    await gone(pid, 5000);
  });
});

describe('a recycled pid is never killed', () => {
  it('a stale lock naming a group whose leader pid now belongs to another process: that process lives, a true group is stopped', async () => {
    const e = env();
    const out = join(e.dir, 'out');
    mkdirSync(out);
    const recycled = bystander();
    const left = bystander();
    const dead = Number((await execa(node, ['-e', 'console.log(process.pid)'])).stdout);
    // the dead host "ran" two connectors: one pid (= group id) now belongs to a process started at another time
    const groups = [
      { pgid: recycled, start: '1' },
      { pgid: left, start: procStart(left) },
    ];
    writeFileSync(join(out, 'state.json.lock'), JSON.stringify({ pid: dead, host: hostname(), started_at: new Date().toISOString(), proc_start: '1', groups }));
    const r = await run(e, ['read', '--config', e.cfg, '--out', out, '--', node, bad('exit-after'), '--total', '2']);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain('taking over a stale lock');
    await gone(left, 5000);
    expect(pidAlive(recycled)).toBe(true);
  });

  it('a dead host\u2019s folder recording such a group: swept, the process lives', async () => {
    const e = env();
    const other = bystander();
    const dead = Number((await execa(node, ['-e', 'console.log(process.pid)'])).stdout);
    const tag = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
    const d = join(e.tmpdir, `connector-host-${dead}-0-${tag}-zzzzzz`);
    mkdirSync(d);
    writeFileSync(join(d, `group-${other}.json`), JSON.stringify({ pgid: other, start: '1' }));
    const r = await run(e, ['spec', '--', node, EXAMPLE.node]);
    expect(r.exitCode).toBe(0);
    await waitFor(() => !existsSync(d), 5000, 'the sweep');
    expect(pidAlive(other)).toBe(true);
    // and the same record with the right start time: stopped
    const d2 = join(e.tmpdir, `connector-host-${dead}-0-${tag}-yyyyyy`);
    mkdirSync(d2);
    writeFileSync(join(d2, `group-${other}.json`), JSON.stringify({ pgid: other, start: procStart(other) }));
    await run(e, ['spec', '--', node, EXAMPLE.node]);
    await gone(other, 5000);
  });
});
