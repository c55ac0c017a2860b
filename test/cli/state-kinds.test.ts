// STREAM, GLOBAL and LEGACY state through real runs: what is stored, what the
// connector receives next time, and mixing kinds in one run.

import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { host, tmp, bad, writeJson, readJson, jsonLines, logLines } from '../helpers.js';

async function run(dir: string, kind: string) {
  const cfg = writeJson(dir, 'config.json', {});
  return host(['read', '--config', cfg, '--out', join(dir, 'out'), '--commit-interval', '0', '--', process.execPath, bad('state-kinds'), '--kind', kind]);
}
const received = (stderr: string) => logLines(stderr).find((l) => l.startsWith('received-state='))!.slice('received-state='.length);

describe('state kinds', () => {
  it('GLOBAL replaces the stored state and resumes every stream', async () => {
    const dir = tmp();
    expect((await run(dir, 'global')).exitCode).toBe(0);
    const s = readJson(join(dir, 'out', 'state.json'));
    expect(s.kind).toBe('GLOBAL');
    expect(s.states).toHaveLength(1);
    const second = await run(dir, 'global');
    expect(second.exitCode).toBe(0);
    expect(JSON.parse(received(second.stderr))[0].global.stream_states.map((x: any) => x.stream_state.cursor)).toEqual([3, 3]);
    expect(jsonLines(join(dir, 'out', 'a.jsonl')).map((r) => r['id'])).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('LEGACY is stored as a blob and passed back bare', async () => {
    const dir = tmp();
    expect((await run(dir, 'legacy')).exitCode).toBe(0);
    expect(readJson(join(dir, 'out', 'state.json')).kind).toBe('LEGACY');
    const second = await run(dir, 'legacy');
    expect(JSON.parse(received(second.stderr))).toEqual({ a: { cursor: 3 }, b: { cursor: 3 } });
    expect(jsonLines(join(dir, 'out', 'b.jsonl')).map((r) => r['id'])).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('mixing kinds in one run is a protocol error; the state before the mix is kept', async () => {
    const dir = tmp();
    expect((await run(dir, 'stream')).exitCode).toBe(0);
    const before = readJson(join(dir, 'out', 'state.json')).states;
    const r = await run(dir, 'mixed');
    expect(r.exitCode).toBe(7);
    expect(r.stderr).toContain('mixed state kinds in one run: STREAM then GLOBAL');
    const after = readJson(join(dir, 'out', 'state.json'));
    expect(after.kind).toBe('STREAM');
    // the STREAM state for `a` that came before the mix is committed; b is as before
    expect(after.states.find((m: any) => m.stream.stream_descriptor.name === 'b')).toEqual(before.find((m: any) => m.stream.stream_descriptor.name === 'b'));
  });

  it('a STREAM state with stream_state null removes that stream\u2019s entry; the others are merged', async () => {
    const dir = tmp();
    expect((await run(dir, 'stream')).exitCode).toBe(0);
    expect(readJson(join(dir, 'out', 'state.json')).states).toHaveLength(2);
    const r = await run(dir, 'reset');
    expect(r.exitCode).toBe(0);
    const states = readJson(join(dir, 'out', 'state.json')).states;
    expect(states.map((m: any) => [m.stream.stream_descriptor.name, m.stream.stream_state])).toEqual([['b', { cursor: 6 }]]);
    // and the next run starts `a` from the beginning
    const again = await run(dir, 'stream');
    expect(JSON.parse(received(again.stderr)).map((m: any) => m.stream.stream_descriptor.name)).toEqual(['b']);
    // ... and replaces its file rather than appending 1..3 again (test/output/reset.test.ts)
    expect(jsonLines(join(dir, 'out', 'a.jsonl')).map((x) => x['id'])).toEqual([1, 2, 3]);
  });
});
