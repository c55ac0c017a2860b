// host state import --from meltano|airbyte|singer: each format into a state file, and the
// example source's next run resumes its events cursor from the imported state.

import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmp, jsonLines, writeJson } from '../helpers.js';
import { exampleRun, state, stateFile, stored } from './helpers.js';

const events = (dir: string) => jsonLines(join(dir, 'out', 'events.jsonl')).map((r) => r['id']);
const from = (n: number) => Array.from({ length: 12 - n }, (_, i) => n + 1 + i);

async function importThenRun(from: string, value: unknown, kind: string): Promise<string> {
  const dir = tmp();
  const src = writeJson(dir, 'import.json', value);
  const r = await state(dir, ['import', '--from', from, src]);
  expect(r.exitCode, r.stderr).toBe(0);
  expect(r.stderr).toContain(`state import --from ${from}: committed to`);
  expect(stored(dir).kind).toBe(kind);
  expect((await exampleRun(dir)).exitCode).toBe(0);
  return dir;
}

describe('host state import', () => {
  it('meltano: the `meltano state get` export', async () => {
    const dir = await importThenRun('meltano', { singer_state: { events: { cursor: 4 } } }, 'LEGACY');
    expect(events(dir)).toEqual(from(4));
  });

  it('meltano: a state backend record, partial merged over completed', async () => {
    const dir = await importThenRun('meltano', { completed: { singer_state: { events: { cursor: 2 }, users: { x: 1 } } }, partial: { singer_state: { events: { cursor: 6 } } } }, 'LEGACY');
    expect(events(dir)).toEqual(from(6));
  });

  it('airbyte: an array of state messages (and STATE envelopes)', async () => {
    const dir = await importThenRun('airbyte', [{ type: 'STATE', state: { type: 'STREAM', stream: { stream_descriptor: { name: 'events' }, stream_state: { cursor: 8 } } } }], 'STREAM');
    expect(events(dir)).toEqual(from(8));
  });

  it('airbyte: the API export, stream state', async () => {
    const dir = await importThenRun('airbyte', { stateType: 'stream', connectionId: 'c0ffee', streamState: [{ streamDescriptor: { name: 'events' }, streamState: { cursor: 3 } }] }, 'STREAM');
    expect(events(dir)).toEqual(from(3));
  });

  it('airbyte: the API export, global state', async () => {
    const dir = await importThenRun('airbyte', { stateType: 'global', globalState: { shared_state: { lsn: '0/16B3748' }, streamStates: [{ streamDescriptor: { name: 'events' }, streamState: { cursor: 9 } }] } }, 'GLOBAL');
    expect(events(dir)).toEqual(from(9));
  });

  it('airbyte: the API export, legacy state', async () => {
    const dir = await importThenRun('airbyte', { stateType: 'legacy', state: { events: { cursor: 10 } } }, 'LEGACY');
    expect(events(dir)).toEqual(from(10));
  });

  it('singer: a plain state blob', async () => {
    const dir = await importThenRun('singer', { events: { cursor: 11 } }, 'LEGACY');
    expect(events(dir)).toEqual([12]);
  });

  it('keeps int64 cursors digit for digit, and the committed file lengths', async () => {
    const dir = tmp();
    expect((await exampleRun(dir)).exitCode).toBe(0);
    const files = stored(dir).files;
    const src = join(dir, 'big.json');
    writeFileSync(src, '[{"type":"STREAM","stream":{"stream_descriptor":{"name":"events"},"stream_state":{"cursor":9007199254740993}}}]');
    expect((await state(dir, ['import', '--from', 'airbyte', src])).exitCode).toBe(0);
    expect(readFileSync(stateFile(dir), 'utf8')).toContain('"cursor": 9007199254740993');
    expect(stored(dir).files).toEqual(files);
  });

  it('refuses what is not in the named format (exit 2), the state untouched', async () => {
    const dir = tmp();
    const cases: [string, unknown, string][] = [
      ['meltano', { events: { cursor: 1 } }, 'not a Meltano state export'],
      ['singer', { singer_state: {} }, 'use --from meltano'],
      ['airbyte', { events: { cursor: 1 } }, 'is not Airbyte state'],
      ['airbyte', [{ type: 'STREAM', stream: { stream_descriptor: { name: 'a' }, stream_state: {} } }, { type: 'LEGACY', data: {} }], 'mixes state kinds'],
      ['airbyte', { stateType: 'not_set' }, 'holds no state'],
      ['singer', {}, 'holds no state'],
    ];
    for (const [fmt, value, msg] of cases) {
      const r = await state(dir, ['import', '--from', fmt, writeJson(dir, 'in.json', value)]);
      expect(r.exitCode, msg).toBe(2);
      expect(r.stderr).toContain(msg);
    }
    const r = await state(dir, ['import', '--from', 'singer', join(dir, 'missing.json')]);
    expect(r.exitCode).toBe(2);
    expect((await state(dir, ['show'])).stdout).toContain('no state yet');
  });
});
