// Process handling: Ctrl-C / SIGTERM to the host, a closed stdout.

import { describe, it, expect } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { tmp, bad, writeJson, readJson, HOST, sleep, pidAlive, streamState, jsonLines, host } from '../helpers.js';

const node = process.execPath;

async function waitFor(cond: () => boolean, ms = 10_000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(50);
  }
}

describe.each([
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const)('%s to the host', (signal, code) => {
  it('stops the connector\u2019s whole process group, leaves no orphan, keeps the last committed state', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const pidFile = join(dir, 'pids.json');
    const cfg = writeJson(dir, 'config.json', {});
    const sub = execa(node, [HOST, 'read', '--config', cfg, '--out', out, '--kill-grace', '2', '--', node, bad('hang'), '--only=read', '--records', '3', '--spawn-child', '--pid-file', pidFile], { reject: false });
    await waitFor(() => existsSync(pidFile));
    const pids = readJson(pidFile);
    expect(pidAlive(pids.pid)).toBe(true);
    expect(pidAlive(pids.child)).toBe(true);
    sub.kill(signal);
    const r = await sub;
    expect(r.exitCode).toBe(code);
    expect(String(r.stderr)).toContain(`interrupted by ${signal}; the last committed state is kept`);
    await waitFor(() => !pidAlive(pids.pid) && !pidAlive(pids.child), 5000);
    // the state file is intact JSON, the lock is released, the uncommitted records were dropped
    expect(readJson(join(out, 'state.json')).connector_host_state).toBe(1);
    expect(existsSync(join(out, 'state.json.lock'))).toBe(false);
    expect(jsonLines(join(out, 'items.jsonl'))).toEqual([]);
  });
});

describe('closed stdout', () => {
  it('`host read ... | head` exits quietly and commits nothing beyond what was written', async () => {
    const dir = tmp();
    const state = join(dir, 'state.json');
    const cfg = writeJson(dir, 'config.json', {});
    // a pipeline, as a user would type it (the shell is the test's, not the host's)
    const r = await execa('bash', ['-c', `set -o pipefail; "${node}" "${HOST}" read --config "${cfg}" --state "${state}" --commit-interval 0 -- "${node}" "${bad('exit-after')}" --total 200000 --state-every 1000 | head -n 3`], {
      reject: false,
    });
    expect(r.exitCode).toBe(0);
    expect(String(r.stdout).split('\n')).toHaveLength(3);
    expect(String(r.stderr)).not.toMatch(/EPIPE|error/i);
    // it stopped when head closed the pipe, long before the connector's 200,000 records
    const read = Number(/read (\d+) records/.exec(String(r.stderr))?.[1]);
    expect(read).toBeGreaterThanOrEqual(3);
    expect(read).toBeLessThan(200000);
    // a state, if one was committed, is one whose line reached the pipe: never the end of the read
    if (existsSync(state)) {
      const cursor = streamState(state, 'items')?.cursor ?? 0;
      expect(cursor % 1000).toBe(0);
      expect(cursor).toBeLessThan(200000);
    }
  });

  it('a full read to stdout resumes from the state file it committed', async () => {
    const dir = tmp();
    const state = join(dir, 'state.json');
    const cfg = writeJson(dir, 'config.json', {});
    const first = await host(['read', '--config', cfg, '--state', state, '--', node, bad('exit-after'), '--total', '12']);
    expect(first.exitCode).toBe(0);
    expect(first.stdout.trim().split('\n').filter((l) => l.includes('"RECORD"'))).toHaveLength(15); // 12 items + 3 snapshot rows
    expect(streamState(state, 'items')).toEqual({ cursor: 12 });
    const second = await host(['read', '--config', cfg, '--state', state, '--streams', 'items', '--', node, bad('exit-after'), '--total', '14']);
    const recs = second.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((m) => m.type === 'RECORD');
    expect(recs.map((m) => m.record.data.id)).toEqual([13, 14]);
  });
});
