// Item 12: stdout closed by a connector that keeps running, or held open by a grandchild or a
// `setsid` daemon after the connector exited. The host finishes with what arrived, stops what
// holds the pipe, and a signal to the host works the first time.
import { describe, it, expect, afterEach } from 'vitest';
import { join } from 'node:path';
import { jsonLines, readJson, sleep, streamState } from '../helpers.js';
import { env, leftovers, start, run, pids, gone, killQuietly, hostile, node } from './helpers.js';

const cleanup: number[] = [];
afterEach(() => killQuietly(...cleanup.splice(0)));

const ids = (out: string) => jsonLines(join(out, 'items.jsonl')).map((r) => r['id']);
const within = <T>(p: Promise<T>, ms: number) => Promise.race([p, sleep(ms).then(() => undefined)]);

describe('the connector exited, something else holds its stdout', () => {
  it('a grandchild in its process group: success with every record, the grandchild stopped', async () => {
    const e = env();
    const out = join(e.dir, 'out');
    const t0 = Date.now();
    const sub = start(e, ['read', '--config', e.cfg, '--out', out, '--', node, hostile('grandchild-holds-stdout'), '--records', '5', '--pid-file', e.pidFile]);
    const p = await pids(e);
    cleanup.push(p.child!);
    const r = await within(sub, 20_000);
    expect(r?.exitCode).toBe(0);
    expect(Date.now() - t0).toBeLessThan(20_000); // not the heartbeat's hours
    expect(ids(out)).toEqual([1, 2, 3, 4, 5]);
    expect(streamState(join(out, 'state.json'), 'items')).toEqual({ cursor: 5 });
    await gone(p.child);
    expect(leftovers(e)).toEqual([]);
  });

  it('a `setsid` daemon (outside its group): success, the daemon found through /proc and stopped', async () => {
    const e = env();
    const out = join(e.dir, 'out');
    const sub = start(e, ['read', '--config', e.cfg, '--out', out, '--', node, hostile('setsid-daemon-holds-stdout'), '--records', '4', '--pid-file', e.pidFile]);
    const p = await pids(e);
    expect(p.child).toBeGreaterThan(0);
    cleanup.push(p.child!);
    const r = await within(sub, 20_000);
    expect(r?.exitCode).toBe(0);
    expect(String(r?.stderr)).toMatch(/outside its process group still hold its stdout/);
    expect(ids(out)).toEqual([1, 2, 3, 4]);
    expect(streamState(join(out, 'state.json'), 'items')).toEqual({ cursor: 4 });
    await gone(p.child);
  });

  it('a `setsid` daemon, host read to stdout (no --out): the records are printed, exit 0', async () => {
    const e = env();
    const sub = start(e, ['read', '--config', e.cfg, '--', node, hostile('setsid-daemon-holds-stdout'), '--pid-file', e.pidFile]);
    const p = await pids(e);
    cleanup.push(p.child!);
    const r = await within(sub, 20_000);
    expect(r?.exitCode).toBe(0);
    const records = String(r?.stdout).split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((m) => m.type === 'RECORD');
    expect(records.map((m) => m.record.data.id)).toEqual([1, 2, 3]);
    await gone(p.child);
  });
});

describe('the connector closed its stdout and keeps running', () => {
  it('it is stopped after a short grace; the records and committed state stay; a clear failure', async () => {
    const e = env();
    const out = join(e.dir, 'out');
    const sub = start(e, ['read', '--config', e.cfg, '--out', out, '--commit-interval', '0', '--kill-grace', '2', '--', node, hostile('close-stdout-keep-running'), '--pid-file', e.pidFile]);
    const p = await pids(e);
    cleanup.push(p.pid);
    const r = await within(sub, 20_000);
    expect(r?.exitCode).toBe(3);
    expect(String(r?.stderr)).toContain('closed its stdout but was still running');
    expect(String(r?.stderr)).not.toMatch(/\n\s+at /);
    expect(ids(out)).toEqual([1, 2, 3]);
    expect(streamState(join(out, 'state.json'), 'items')).toEqual({ cursor: 3 });
    await gone(p.pid);
    expect(leftovers(e)).toEqual([]);
  });

  it('one that ignores SIGTERM is killed after --kill-grace', async () => {
    const e = env();
    const sub = start(e, ['read', '--config', e.cfg, '--out', join(e.dir, 'out'), '--kill-grace', '1', '--', node, hostile('close-stdout-keep-running'), '--ignore-sigterm', '--pid-file', e.pidFile]);
    const p = await pids(e);
    cleanup.push(p.pid);
    const r = await within(sub, 20_000);
    expect(r?.exitCode).toBe(3);
    expect(String(r?.stderr)).toContain('SIGKILL');
    await gone(p.pid);
  });
});

describe.each([
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const)('one %s to the host', (signal, code) => {
  it('works while a `setsid` daemon holds the stdout of a running, idle connector', async () => {
    const e = env();
    const out = join(e.dir, 'out');
    const sub = start(e, ['read', '--config', e.cfg, '--out', out, '--commit-interval', '0', '--kill-grace', '2', '--', node, hostile('setsid-daemon-holds-stdout'), '--stay', '--pid-file', e.pidFile]);
    const p = await pids(e);
    cleanup.push(p.pid, p.child!);
    await sleep(300);
    sub.kill(signal);
    const r = await within(sub, 15_000);
    expect(r?.exitCode).toBe(code);
    expect(String(r?.stderr)).toContain(`interrupted by ${signal}`);
    await gone(p.pid);
    await gone(p.child);
    expect(readJson(join(out, 'state.json')).connector_host_state).toBe(1);
    expect(leftovers(e)).toEqual([]);
  });

  it('works while the host waits for a connector that closed its stdout (ignoring SIGTERM)', async () => {
    const e = env();
    const sub = start(e, ['read', '--config', e.cfg, '--out', join(e.dir, 'out'), '--kill-grace', '1', '--', node, hostile('close-stdout-keep-running'), '--ignore-sigterm', '--pid-file', e.pidFile]);
    const p = await pids(e);
    cleanup.push(p.pid);
    sub.kill(signal);
    const r = await within(sub, 15_000);
    expect(r?.exitCode).toBe(code);
    await gone(p.pid);
  });
});

describe('spec, check and discover', () => {
  it('discover with a grandchild holding stdout after the catalog: exit 0 with the catalog', async () => {
    const e = env();
    const r = await within(run(e, ['discover', '--config', e.cfg, '--', node, hostile('grandchild-holds-stdout'), '--in=discover', '--pid-file', e.pidFile]), 20_000);
    expect(r?.exitCode).toBe(0);
    expect(String(r?.stdout)).toContain('"items"');
    const p = readJson(e.pidFile);
    await gone(p.child);
  });
});
