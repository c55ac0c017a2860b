// Issue 10 item 7: an unusable STATE fails the run (exit 7) naming the line and what is wrong,
// instead of a warning after which no state is ever committed.

import { describe, it, expect } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmp, readJson } from '../helpers.js';
import { hostile, ids, noStack } from './hostile-helpers.js';

describe('an unusable STATE is a protocol violation', () => {
  it.each([
    ['no-descriptor', /a STREAM state without stream\.stream_descriptor/],
    ['no-name', /stream\.stream_descriptor\.name is missing/],
    ['name-number', /stream\.stream_descriptor\.name is not a string/],
    ['stream-global', /a STREAM state without "stream" \(it has "global": is its type GLOBAL\?\)/],
    ['no-stream-states', /a GLOBAL state without global\.stream_states/],
    ['global-entry', /global\.stream_states\[0\] has no stream_descriptor/],
    ['unknown-kind', /unknown state type "PARTIAL" \(expected STREAM, GLOBAL or LEGACY\)/],
    ['not-object', /"state" is not an object/],
    ['stream-string', /a STREAM state whose "stream" is not an object/],
  ])('%s: exit 7 naming line 4 and what is wrong; nothing committed, the next run reads the records again', async (variant, what) => {
    const dir = tmp();
    const r = await hostile(dir, 'bad-state', ['--variant', variant]);
    expect(r.exitCode, r.stderr).toBe(7);
    expect(r.stderr).toMatch(/stdout line 4: unusable STATE message: /);
    expect(r.stderr).toMatch(what);
    expect(r.stderr).toContain('It starts: "{\\"type\\":\\"STATE\\"');
    expect(noStack(r)).toBe(true);
    const st = join(dir, 'out', 'state.json');
    if (existsSync(st)) expect(readJson(st).states ?? []).toEqual([]);
    expect(ids(dir)).toEqual([]);
  });
});
