// Issue 10 item 6 for Singer taps (the Singer-tap shim): a mistyped RECORD or STATE stops the
// sync (the shim reports it as the tap's failure, exit 3) before a later STATE is forwarded; a
// truly unknown type is ignored.

import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { tmp, host, writeJson, readJson, jsonLines } from '../helpers.js';
import { HD, noStack } from './hostile-helpers.js';

const singer = (dir: string, knobs: string[]) =>
  host(['read', '--config', writeJson(dir, 'c.json', {}), '--out', join(dir, 'out'), '--protocol', 'singer', '--', process.execPath, join(HD, 'tap-mistyped.mjs'), ...knobs]);
const bookmark = (dir: string) => readJson(join(dir, 'out', 'state.json')).states[0]?.data?.bookmarks?.items?.id;

describe('Singer tap: a mistyped message that carries a record or a state', () => {
  it.each([
    [[], /line 4 is a RECORD in all but its type \("RECROD"\)/],
    [['--flat'], /line 4 is a RECORD in all but its type \("RECROD"\)/],
    [['--states'], /line 4 is a STATE in all but its type \("STATES"\)/],
  ])('%j: the run fails naming the line; the bookmark stays at 1', async (knobs, what) => {
    const dir = tmp();
    const r = await singer(dir, knobs);
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.stderr).toMatch(what);
    expect(noStack(r)).toBe(true);
    expect(bookmark(dir)).toBe(1);
    expect(jsonLines(join(dir, 'out', 'items.jsonl')).map((x) => x['id'])).toEqual([1]);
  });

  it('a truly unknown type is ignored', async () => {
    const dir = tmp();
    const r = await singer(dir, ['--nope']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(bookmark(dir)).toBe(3);
  });
});
