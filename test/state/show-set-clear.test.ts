// host state show|set|clear on state files written by real runs (STREAM, GLOBAL, LEGACY),
// and the lock refusal while a run holds the state file.

import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { readFileSync, statSync, existsSync } from 'node:fs';
import { execa } from 'execa';
import { host, tmp, jsonLines, sleep, HOST, bad, writeJson } from '../helpers.js';
import { exampleRun, kindsRun, received, state, stateFile, stored } from './helpers.js';

const ids = (dir: string, name: string) => jsonLines(join(dir, 'out', `${name}.jsonl`)).map((r) => r['id']);

describe('host state show', () => {
  it('STREAM: per stream its state, the commit time and the files committed with it', async () => {
    const dir = tmp();
    expect((await exampleRun(dir)).exitCode).toBe(0);
    const s = stored(dir);
    const r = await state(dir, ['show']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`kind: STREAM, committed at ${s.committed_at}`);
    expect(r.stdout).toMatch(/events\n {2}state: \{\n {4}"cursor": 12\n {2}\}\n {2}file events\.jsonl: \d+ bytes, 12 records \(append\)/);
    expect(r.stdout).toMatch(/users\n {2}state: none\n {2}file users\.jsonl: \d+ bytes, 3 records \(overwrite\)/);

    const j = JSON.parse((await state(dir, ['show', '--json'])).stdout);
    expect(j).toMatchObject({ exists: true, kind: 'STREAM', committed_at: s.committed_at });
    const events = j.streams.find((x: any) => x.stream === 'events');
    expect(events.state).toEqual({ cursor: 12 });
    expect(events.files['events.jsonl'].bytes).toBe(statSync(join(dir, 'out', 'events.jsonl')).size);
    expect(events.files['events.jsonl'].records).toBe(12);

    const one = JSON.parse((await state(dir, ['show', '--json', '--stream', 'events'])).stdout);
    expect(one.streams.map((x: any) => x.stream)).toEqual(['events']);
    const none = await state(dir, ['show', '--stream', 'nope']);
    expect(none.exitCode).toBe(0);
    expect(none.stdout).toContain('no state and no files for stream nope');
  });

  it('a missing state file: "no state yet", exit 0', async () => {
    const dir = tmp();
    const r = await host(['state', 'show', '--state', join(dir, 'none.json')]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('no state yet');
    const j = await host(['state', 'show', '--json', '--state', join(dir, 'none.json')]);
    expect(JSON.parse(j.stdout)).toMatchObject({ exists: false, kind: null, streams: [] });
    expect(existsSync(join(dir, 'none.json'))).toBe(false);
  });

  it('GLOBAL: the shared state and every stream state', async () => {
    const dir = tmp();
    expect((await kindsRun(dir, 'global')).exitCode).toBe(0);
    const j = JSON.parse((await state(dir, ['show', '--json'])).stdout);
    expect(j.kind).toBe('GLOBAL');
    expect(Object.keys(j.shared_state)).toEqual(['run']);
    expect(j.streams.map((x: any) => [x.stream, x.state])).toEqual([
      ['a', { cursor: 3 }],
      ['b', { cursor: 3 }],
    ]);
    expect((await state(dir, ['show'])).stdout).toMatch(/shared state: \{\n {4}"run": "\d+"\n {2}\}/);
  });

  it('LEGACY: the blob', async () => {
    const dir = tmp();
    expect((await kindsRun(dir, 'legacy')).exitCode).toBe(0);
    const j = JSON.parse((await state(dir, ['show', '--json'])).stdout);
    expect(j.kind).toBe('LEGACY');
    expect(j.legacy).toEqual({ a: { cursor: 3 }, b: { cursor: 3 } });
    expect(JSON.parse((await state(dir, ['show', '--json', '--stream', 'b'])).stdout).streams[0].state).toEqual({ cursor: 3 });
    expect((await state(dir, ['show'])).stdout).toContain('state (LEGACY, one blob for every stream)');
  });
});

describe('host state set and clear', () => {
  it('STREAM: set one stream (int64 kept, files untouched), and the next run resumes from it', async () => {
    const dir = tmp();
    expect((await exampleRun(dir)).exitCode).toBe(0);
    const before = stored(dir);
    const big = await state(dir, ['set', '--stream', 'events', '--value', '{"cursor": 12345678901234567890}']);
    expect(big.exitCode).toBe(0);
    expect(readFileSync(stateFile(dir), 'utf8')).toContain('"cursor": 12345678901234567890');
    const r = await state(dir, ['set', '--stream', 'events', '--value', '{"cursor": 5}']);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain('state set --stream events: committed to');
    const after = stored(dir);
    expect(after.files).toEqual(before.files);
    expect(after.states.find((m: any) => m.stream.stream_descriptor.name === 'events').stream.stream_state).toEqual({ cursor: 5 });
    expect(statSync(stateFile(dir)).mode & 0o777).toBe(0o600);
    expect((await exampleRun(dir)).exitCode).toBe(0);
    expect(ids(dir, 'events')).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('STREAM: clear one stream, then everything (files kept)', async () => {
    const dir = tmp();
    expect((await exampleRun(dir, { api_key: 'k', event_count: 4 })).exitCode).toBe(0);
    const files = stored(dir).files;
    expect((await state(dir, ['clear', '--stream', 'events'])).exitCode).toBe(0);
    expect(stored(dir)).toMatchObject({ kind: null, states: [], files });
    const again = await state(dir, ['clear', '--stream', 'events']);
    expect(again.exitCode).toBe(0);
    expect(again.stderr).toContain('nothing to change');
    expect((await exampleRun(dir, { api_key: 'k', event_count: 4 })).exitCode).toBe(0);
    expect(ids(dir, 'events')).toEqual([1, 2, 3, 4]); // read again from the start: the file replaced, not appended to
    expect((await state(dir, ['clear'])).exitCode).toBe(0);
    const s = stored(dir);
    expect(s).toMatchObject({ kind: null, states: [] });
    expect(Object.keys(s.files).sort()).toEqual(['events.jsonl', 'users.jsonl']);
    expect((await state(dir, ['show'])).stdout).toContain('kind: none (no state committed)');
  });

  it('GLOBAL: set a stream inside stream_states, the shared state, clear a stream', async () => {
    const dir = tmp();
    expect((await kindsRun(dir, 'global')).exitCode).toBe(0);
    expect((await state(dir, ['set', '--stream', 'a', '--value', '{"cursor": 10}'])).exitCode).toBe(0);
    expect((await state(dir, ['set', '--value', '{"run": "by hand"}'])).exitCode).toBe(0);
    let s = stored(dir);
    expect(s.kind).toBe('GLOBAL');
    expect(s.states[0].global).toEqual({ shared_state: { run: 'by hand' }, stream_states: [{ stream_descriptor: { name: 'a' }, stream_state: { cursor: 10 } }, { stream_descriptor: { name: 'b' }, stream_state: { cursor: 3 } }] });
    const run = await kindsRun(dir, 'global');
    expect(run.exitCode).toBe(0);
    expect(received(run)[0].global.shared_state).toEqual({ run: 'by hand' });
    expect(ids(dir, 'a')).toEqual([1, 2, 3, 11, 12, 13]);
    expect((await state(dir, ['clear', '--stream', 'b'])).exitCode).toBe(0);
    s = stored(dir);
    expect(s.states[0].global.stream_states.map((e: any) => e.stream_descriptor.name)).toEqual(['a']);
  });

  it('LEGACY: --value replaces the blob, --stream sets its entry', async () => {
    const dir = tmp();
    expect((await kindsRun(dir, 'legacy')).exitCode).toBe(0);
    expect((await state(dir, ['set', '--value', '{"a": {"cursor": 7}, "b": {"cursor": 1}}'])).exitCode).toBe(0);
    expect((await state(dir, ['set', '--stream', 'b', '--value', '{"cursor": 2}'])).exitCode).toBe(0);
    expect(stored(dir).states).toEqual([{ type: 'LEGACY', data: { a: { cursor: 7 }, b: { cursor: 2 } } }]);
    const run = await kindsRun(dir, 'legacy');
    expect(received(run)).toEqual({ a: { cursor: 7 }, b: { cursor: 2 } });
    expect(ids(dir, 'b')).toEqual([1, 2, 3, 3, 4, 5]);
    expect((await state(dir, ['clear', '--stream', 'a'])).exitCode).toBe(0);
    expect(Object.keys(stored(dir).states[0].data)).toEqual(['b']);
  });

  it('usage errors: exit 2, the state untouched', async () => {
    const dir = tmp();
    expect((await exampleRun(dir)).exitCode).toBe(0);
    const text = readFileSync(stateFile(dir), 'utf8');
    const cases: [string[], string][] = [
      [['set', '--value', '{"cursor": 1}'], 'name the stream with --stream'],
      [['set', '--stream', 'events', '--value', '{"cursor": '], '--value is not valid JSON'],
      [['set', '--stream', 'events', '--value', '[1]'], '--value must be a JSON object'],
      [['set', '--stream', 'events'], 'needs --value'],
      [['show', '--value', '{}'], 'does not take --value'],
      [['import', '--from', 'airbyte'], 'needs the FILE'],
    ];
    for (const [args, msg] of cases) {
      const r = await state(dir, args);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(msg);
    }
    expect((await host(['state', 'show'])).exitCode).toBe(2);
    expect(readFileSync(stateFile(dir), 'utf8')).toBe(text);
  });
});

describe('the lock', () => {
  it('set, clear and import are refused (exit 6) while a run holds the state file; show still works', async () => {
    const dir = tmp();
    expect((await exampleRun(dir)).exitCode).toBe(0);
    const pidFile = join(dir, 'pid.json');
    const cfg = writeJson(dir, 'hang-config.json', {});
    const run = execa(process.execPath, [HOST, 'read', '--config', cfg, '--out', join(dir, 'out'), '--', process.execPath, bad('hang'), '--only=read', '--pid-file', pidFile], { reject: false, stdin: 'ignore' });
    try {
      for (let i = 0; i < 200 && !existsSync(pidFile); i++) await sleep(50);
      expect(existsSync(`${stateFile(dir)}.lock`)).toBe(true);
      const text = readFileSync(stateFile(dir), 'utf8');
      const src = writeJson(dir, 'singer.json', { events: { cursor: 1 } });
      for (const args of [['set', '--stream', 'events', '--value', '{"cursor": 1}'], ['clear'], ['import', '--from', 'singer', src]]) {
        const r = await state(dir, args);
        expect(r.exitCode, args.join(' ')).toBe(6);
        expect(r.stderr).toMatch(/another run \(pid \d+ on .*\) holds the lock/);
      }
      expect((await state(dir, ['show'])).exitCode).toBe(0);
      expect(readFileSync(stateFile(dir), 'utf8')).toBe(text);
    } finally {
      run.kill('SIGTERM');
      await run;
    }
    // the lock is gone with the run: a change goes through now
    expect((await state(dir, ['clear'])).exitCode).toBe(0);
  });
});
