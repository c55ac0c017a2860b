// Item 3: the private temp folders (config.json holds secrets) are removed on every exit path,
// and what a SIGKILL leaves is swept by the next start once its owner is gone.
import { describe, it, expect, afterEach } from 'vitest';
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { FIX, HOST, EXAMPLE, bad, sleep } from '../helpers.js';
import { env, leftovers, start, run, pids, gone, killQuietly, hostile, node, SECRET, type Env } from './helpers.js';

const cleanup: number[] = [];
afterEach(() => killQuietly(...cleanup.splice(0)));

const secretIn = (e: Env) => leftovers(e).some((d) => readdirSync(join(e.tmpdir, d)).some((f) => readFileSync(join(e.tmpdir, d, f), 'utf8').includes(SECRET)));

describe('temp folders after a SIGKILL of the host', () => {
  it('during read with an idle connector: left with the secret, then swept by the next start', async () => {
    const e = env();
    const sub = start(e, ['read', '--config', e.cfg, '--out', join(e.dir, 'out'), '--', node, hostile('idle'), '--pid-file', e.pidFile]);
    const p = await pids(e);
    cleanup.push(p.pid);
    sub.kill('SIGKILL');
    await sub;
    expect(leftovers(e).length).toBeGreaterThan(0); // nothing can run at SIGKILL
    expect(secretIn(e)).toBe(true);
    // any later start sweeps it (its owner is dead), whatever the command
    const r = await run(e, ['spec', '--', node, EXAMPLE.node]);
    expect(r.exitCode).toBe(0);
    expect(leftovers(e)).toEqual([]);
  });

  it('during discover (no catalog given): swept by the next start', async () => {
    const e = env();
    const sub = start(e, ['read', '--config', e.cfg, '--out', join(e.dir, 'out'), '--', node, hostile('idle'), '--in=discover', '--pid-file', e.pidFile]);
    const p = await pids(e);
    cleanup.push(p.pid);
    sub.kill('SIGKILL');
    await sub;
    expect(secretIn(e)).toBe(true);
    const r = await run(e, ['spec', '--', node, hostile('idle')]);
    expect(r.exitCode).toBe(0);
    expect(leftovers(e)).toEqual([]);
  });

  it('the sweep keeps the folders of live owners, of older hosts (no owner in the name) and of other prefixes', async () => {
    const e = env();
    const tag = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
    const dead = await execa(node, ['-e', 'console.log(process.pid)']);
    const mk = (name: string) => {
      mkdirSync(join(e.tmpdir, name));
      writeFileSync(join(e.tmpdir, name, 'config.json'), '{}');
      return name;
    };
    const deadOwner = mk(`connector-host-${dead.stdout.trim()}-0-${tag}-aaaaaa`);
    const deadShim = mk(`singer-shim-${dead.stdout.trim()}-0-${tag}-bbbbbb`);
    const liveOwner = mk(`connector-host-${process.pid}-0-${tag}-cccccc`); // this test runner
    const legacy = mk('connector-host-dddddd');
    const otherMachine = mk(`connector-host-${dead.stdout.trim()}-0-00000000-eeeeee`);
    const unrelated = mk('something-else-ffffff');
    const r = await run(e, ['spec', '--', node, EXAMPLE.node]);
    expect(r.exitCode).toBe(0);
    const now = readdirSync(e.tmpdir);
    expect(now).not.toContain(deadOwner);
    expect(now).not.toContain(deadShim);
    expect(now).toEqual(expect.arrayContaining([liveOwner, legacy, otherMachine, unrelated]));
  });
});

describe('temp folders on the other exit paths', () => {
  it('Singer-tap shim stopped after a protocol violation: no config copy left', async () => {
    const e = env();
    const r = await run(e, ['read', '--config', e.cfg, '--out', join(e.dir, 'out'), '--max-line-bytes', '10000', '--kill-grace', '3', '--protocol', 'singer', '--', node, hostile('singer-tap-long-line')]);
    expect(r.exitCode).toBe(7);
    expect(r.stderr).toContain('longer than the limit');
    expect(r.stderr).not.toContain(SECRET);
    expect(leftovers(e)).toEqual([]);
  });

  it('a hang after stdout closed (the connector still runs), then one SIGTERM: exit 143, nothing left', async () => {
    const e = env();
    const sub = start(e, ['read', '--config', e.cfg, '--out', join(e.dir, 'out'), '--kill-grace', '2', '--', node, hostile('close-stdout-keep-running'), '--pid-file', e.pidFile]);
    const p = await pids(e);
    cleanup.push(p.pid);
    sub.kill('SIGTERM');
    const t0 = Date.now();
    const r = await Promise.race([sub, sleep(15_000).then(() => undefined)]);
    expect(r?.exitCode).toBe(143);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(leftovers(e)).toEqual([]);
    await gone(p.pid);
  });

  it('SIGINT twice (stop at once, through process.exit): exit 130, nothing left, the connector gone', async () => {
    const e = env();
    // the connector ignores SIGTERM and the kill grace is long: only the second signal ends the host
    const sub = start(e, ['read', '--config', e.cfg, '--out', join(e.dir, 'out'), '--kill-grace', '60', '--', node, hostile('close-stdout-keep-running'), '--ignore-sigterm', '--pid-file', e.pidFile]);
    const p = await pids(e);
    cleanup.push(p.pid);
    sub.kill('SIGINT');
    await sleep(300);
    sub.kill('SIGINT');
    const r = await sub;
    expect(r.exitCode).toBe(130);
    expect(leftovers(e)).toEqual([]);
    await gone(p.pid);
  });

  it('out of file descriptors (ulimit -n, 1500 streams): nothing left', async () => {
    const e = env();
    const many = join(FIX, 'hostile-output', 'many-streams.mjs');
    const r = await execa('bash', ['-c', 'ulimit -n 80 && exec "$@"', 'bash', node, HOST, 'read', '--config', e.cfg, '--out', join(e.dir, 'out'), '--', node, many, '--streams', '1500'], { reject: false, env: e.env, stdin: 'ignore' });
    expect(String(r.stderr)).not.toContain(SECRET);
    expect(String(r.stderr)).not.toMatch(/\n\s+at /); // no stack trace, whatever the outcome
    expect(leftovers(e)).toEqual([]);
    expect(existsSync(join(e.dir, 'out'))).toBe(true);
  });
});
