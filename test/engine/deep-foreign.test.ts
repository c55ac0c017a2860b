// Issue 10 item 18: a STATE (or a RECORD that needs a full parse) nested deeper than the host's
// parser goes is named as such and fails the run; a STATE for a stream not in the configured
// catalog is stored with one warning per stream.

import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { tmp, streamState, readJson } from '../helpers.js';
import { hostile, ids, itemsCursor, warnings, noStack } from './hostile-helpers.js';

describe('deep nesting', () => {
  it.each(['100000', '3000'])('a STATE %s levels deep: exit 7 "nested too deep", not "not JSON"; the last good state stays', async (depth) => {
    const dir = tmp();
    const r = await hostile(dir, 'deep', ['--what', 'state', '--depth', depth]);
    expect(r.exitCode, r.stderr).toBe(7);
    expect(r.stderr).toMatch(/stdout line 3: a STATE message nested more than 2000 levels deep/);
    expect(r.stderr).not.toMatch(/not JSON/);
    expect(noStack(r)).toBe(true);
    expect(itemsCursor(dir)).toBe(1);
  });

  it('a RECORD that needs a full parse, 100000 deep: exit 7, not lost silently', async () => {
    const dir = tmp();
    const r = await hostile(dir, 'deep', ['--what', 'record-slow']);
    expect(r.exitCode, r.stderr).toBe(7);
    expect(r.stderr).toMatch(/stdout line 3: a RECORD message nested more than 2000 levels deep/);
    expect(itemsCursor(dir)).toBe(1);
    expect(ids(dir)).toEqual([1]);
  });

  it('a plain RECORD 100000 deep takes the byte path: kept byte for byte', async () => {
    const dir = tmp();
    const r = await hostile(dir, 'deep', ['--what', 'record']);
    expect(r.exitCode, r.stderr).toBe(0);
    const file = readFileSync(join(dir, 'out', 'items.jsonl'), 'utf8').split('\n');
    expect(file[1]).toBe(`{"id":2,"deep":${'['.repeat(100000)}${']'.repeat(100000)}}`);
  });

  it('a LOG 100000 deep carries no data: a warning that says "nested too deep"', async () => {
    const dir = tmp();
    const r = await hostile(dir, 'deep', ['--what', 'log']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(warnings(r)).toMatch(/stdout line 3: a LOG message nested more than 2000 levels deep, ignored/);
    expect(ids(dir)).toEqual([1, 3]);
  });
});

describe('a STATE for a stream not in the configured catalog', () => {
  it('is stored, with one warning per stream', async () => {
    const dir = tmp();
    const r = await hostile(dir, 'foreign-state');
    expect(r.exitCode, r.stderr).toBe(0);
    const w = warnings(r);
    expect(w.match(/STATE for stream "ghost", which is not in the configured catalog/g)).toHaveLength(1);
    expect(w.match(/STATE for stream "other\.ghost2", which is not in the configured catalog/g)).toHaveLength(1);
    expect(w).toMatch(/stdout line 2: a STATE for stream "ghost"/);
    expect(w).not.toMatch(/STATE for stream "items"/);
    expect(streamState(join(dir, 'out', 'state.json'), 'ghost')).toEqual({ cursor: 2 });
    expect(itemsCursor(dir)).toBe(2);
  });

  it('GLOBAL: one warning per foreign stream in stream_states', async () => {
    const dir = tmp();
    const r = await hostile(dir, 'foreign-state', ['--global']);
    expect(r.exitCode, r.stderr).toBe(0);
    const w = warnings(r);
    expect(w.match(/STATE for stream "ghost", which is not in the configured catalog/g)).toHaveLength(1);
    expect(w.match(/STATE for stream "other\.ghost2"/g)).toHaveLength(1);
    expect(readJson(join(dir, 'out', 'state.json')).states[0].global.stream_states).toHaveLength(3);
  });
});
