// The state history: an entry before every run and every state change, at most 10,
// listed by `host state show --history`; `host state set --from-history N` undoes a bad run.

import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { readdirSync, statSync } from 'node:fs';
import { tmp, jsonLines } from '../helpers.js';
import { exampleRun, state, stateFile, stored } from './helpers.js';

const events = (dir: string) => jsonLines(join(dir, 'out', 'events.jsonl')).map((r) => r['id']);
const history = async (dir: string) => JSON.parse((await state(dir, ['show', '--history', '--json'])).stdout);
const cursor = (s: any) => s.states.find((m: any) => m.stream.stream_descriptor.name === 'events').stream.stream_state.cursor;

describe('state history', () => {
  it('undo a bad run: set --from-history N, and the next run resumes from the restored state', async () => {
    const dir = tmp();
    const good = { api_key: 'k', event_count: 6 };
    expect((await exampleRun(dir, good)).exitCode).toBe(0);
    expect(await history(dir)).toEqual([]); // no state file before the first run
    const goodState = stored(dir);
    // the bad run: read too far
    expect((await exampleRun(dir, { api_key: 'k', event_count: 9 })).exitCode).toBe(0);
    expect(cursor(stored(dir))).toBe(9);

    const list = await history(dir);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ seq: 1, reason: 'before run' });
    expect(list[0].summary).toContain('events {"cursor":6}');
    const text = (await state(dir, ['show', '--history'])).stdout;
    expect(text).toMatch(/^1 {2}\d{4}-\d\d-\d\dT[\d:.]+Z {2}before run {2}STREAM events \{"cursor":6\}/m);

    const r = await state(dir, ['set', '--from-history', '1']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('the previous state is history entry 2');
    const restored = stored(dir);
    expect(cursor(restored)).toBe(6);
    expect(restored.files['events.jsonl']).toEqual(goodState.files['events.jsonl']);
    expect((await history(dir)).map((h: any) => [h.seq, h.reason])).toEqual([
      [2, 'before state set --from-history 1'],
      [1, 'before run'],
    ]);

    // the next run truncates the bad run's records and reads on from 6
    expect((await exampleRun(dir, { api_key: 'k', event_count: 8 })).exitCode).toBe(0);
    expect(events(dir)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // and the undo itself can be undone
    expect((await state(dir, ['set', '--from-history', '2'])).exitCode).toBe(0);
    expect(cursor(stored(dir))).toBe(9);
  });

  it('keeps the last 10 entries, 0600, skips an entry identical to the newest, refuses an unknown N', async () => {
    const dir = tmp();
    expect((await exampleRun(dir, { api_key: 'k', event_count: 2 })).exitCode).toBe(0);
    // a run that changes nothing but the commit time adds no entry after the first
    expect((await exampleRun(dir, { api_key: 'k', event_count: 2 })).exitCode).toBe(0);
    expect((await exampleRun(dir, { api_key: 'k', event_count: 2 })).exitCode).toBe(0);
    expect((await history(dir)).map((h: any) => h.seq)).toEqual([1]);
    // the first set records nothing: the state is still the one entry 1 holds
    for (let i = 1; i <= 12; i++) expect((await state(dir, ['set', '--stream', 'events', '--value', `{"cursor": ${i}}`])).exitCode).toBe(0);
    const list = await history(dir);
    expect(list.map((h: any) => h.seq)).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3]);
    expect(list[0].reason).toBe('before state set --stream events');
    const hdir = `${stateFile(dir)}.history`;
    expect(readdirSync(hdir).sort()).toEqual(['000003.json', '000004.json', '000005.json', '000006.json', '000007.json', '000008.json', '000009.json', '000010.json', '000011.json', '000012.json']);
    for (const f of readdirSync(hdir)) expect(statSync(join(hdir, f)).mode & 0o777).toBe(0o600);
    expect(statSync(hdir).mode & 0o777).toBe(0o700);
    const r = await state(dir, ['set', '--from-history', '1']);
    expect(r.exitCode).toBe(6);
    expect(r.stderr).toContain('no history entry 1');
  });
});
