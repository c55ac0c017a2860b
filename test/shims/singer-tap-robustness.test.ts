// Singer taps that misbehave on their side, run through the CLI (`host read --protocol singer --out D`).
import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { tmp, writeJson, jsonLines, readJson } from '../helpers.js';
import { hostSinger } from './singer-tap-helpers.js';

const ids = (file: string) => jsonLines(file).map((x) => x['id']);
const stored = (out: string) => readJson(join(out, 'state.json'));

describe('Singer taps misbehaving (tap side)', () => {
  it('STATE only at the very end: committed with every record; a tap dying before it commits nothing, keeps no record, and the next run reads everything once', async () => {
    const d = tmp();
    const cfg = writeJson(d, 'c.json', {});
    const ok = await hostSinger('read', 'tap-state-at-end', ['--config', cfg, '--out', join(d, 'ok')]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ids(join(d, 'ok', 'items.jsonl'))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(stored(join(d, 'ok')).states[0].data).toEqual({ bookmarks: { items: { id: 6 } } });

    const out = join(d, 'out');
    const died = await hostSinger('read', 'tap-state-at-end', ['--config', cfg, '--out', out], ['--die-before-state']);
    expect(died.exitCode).toBe(3);
    expect(died.stderr).toContain('killed before the final bookmark');
    expect(died.stderr).toMatch(/6 records after the last committed state dropped/);
    expect(ids(join(out, 'items.jsonl'))).toEqual([]);
    expect(stored(out)).toMatchObject({ kind: null, states: [], files: { 'items.jsonl': { bytes: 0, records: 0 } } });

    const again = await hostSinger('read', 'tap-state-at-end', ['--config', cfg, '--out', out]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(ids(join(out, 'items.jsonl'))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(stored(out).states[0].data).toEqual({ bookmarks: { items: { id: 6 } } });
  });

  it('non-JSON text and JSON that is no Singer message on stdout: a warning naming the line, every record kept, exit 0', async () => {
    const d = tmp();
    const out = join(d, 'out');
    const r = await hostSinger('read', 'tap-noise', ['--config', writeJson(d, 'c.json', {}), '--out', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(ids(join(out, 'items.jsonl'))).toEqual([1, 2, 3, 4]);
    expect(stored(out).states[0].data).toEqual({ bookmarks: { items: { id: 4 } } });
    const warnings = r.stderr.split('\n').filter((l) => l.includes('"level":40')).map((l) => JSON.parse(l).msg as string);
    expect(warnings).toEqual([
      `the Singer tap's stdout line 1 is not JSON; ignored: "Starting sync of items..."`,
      `the Singer tap's stdout line 4 is not JSON; ignored: "{'page': 1, 'next': None}"`,
      `the Singer tap's stdout line 6 is JSON but not a Singer message (an object without "type"); ignored: "{\\"debug\\":\\"response\\",\\"status\\":200}"`,
      `the Singer tap's stdout line 9 is JSON but not a Singer message (not an object); ignored: "[1, 2, 3]"`,
      `the Singer tap's stdout line 10 is JSON but not a Singer message (not an object); ignored: "42"`,
      `the Singer tap's stdout line 13 is not JSON; ignored: "done."`,
    ]);
    // a flood of such lines: the first 20 named, the rest counted
    const many = await hostSinger('read', 'tap-noise', ['--config', writeJson(d, 'c.json', {}), '--out', join(d, 'many')], ['--many']);
    expect(many.exitCode, many.stderr).toBe(0);
    expect(ids(join(d, 'many', 'items.jsonl'))).toEqual([1, 2, 3, 4]);
    expect(many.stderr.match(/stdout line \d+ /g)).toHaveLength(20);
    expect(many.stderr).toContain('further such lines are only counted');
    expect(many.stderr).toContain('the Singer tap printed 36 lines on stdout that are not Singer messages');
  });

  it('a final empty STATE {} does not wipe the stored state', async () => {
    const d = tmp();
    const out = join(d, 'out');
    const r = await hostSinger('read', 'tap-empty-state', ['--config', writeJson(d, 'c.json', {}), '--out', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(ids(join(out, 'items.jsonl'))).toEqual([1, 2, 3]);
    expect(stored(out).states).toEqual([{ type: 'LEGACY', data: { bookmarks: { items: { id: 3 } } } }]);
    // the next run resumes from the real bookmark (and its own final {} changes nothing either)
    const r2 = await hostSinger('read', 'tap-empty-state', ['--config', writeJson(d, 'c2.json', { more: 2 }), '--out', out]);
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(ids(join(out, 'items.jsonl'))).toEqual([1, 2, 3, 4, 5]);
    expect(stored(out).states).toEqual([{ type: 'LEGACY', data: { bookmarks: { items: { id: 5 } } } }]);
  });
});
