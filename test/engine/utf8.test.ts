// Issue 10 item 11: the output is always valid UTF-8. Invalid sequences in a connector's line
// are replaced with U+FFFD and counted (a warning naming stream and line, a summary line), or
// fail the run with --on-invalid-utf8 fail.

import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { execa } from 'execa';
import { tmp, jsonLines, host, writeJson, readJson, HOST } from '../helpers.js';
import { singerTap } from '../shims/singer-tap-helpers.js';
import { hostile, ids, itemsCursor, warnings, noStack, strictUtf8, HD } from './hostile-helpers.js';

const value2 = (dir: string) => jsonLines(join(dir, 'out', 'items.jsonl')).find((x) => x['id'] === 2);

describe('invalid UTF-8 in records is replaced with U+FFFD and counted', () => {
  it.each([
    ['lone-cont', 'item-2 \uFFFD x', 1],
    ['truncated', 'item-2 \uFFFD', 1],
    ['overlong', 'item-2 \uFFFD\uFFFD', 2],
    ['surrogate', 'item-2 \uFFFD\uFFFD\uFFFD', 3],
    ['mixed', 'item-2 \uFFFD \uFFFD \uFFFD', 2],
  ])('%s: the file is valid UTF-8, the value has U+FFFD, warning and summary name stream items and line 2', async (variant, value, count) => {
    const dir = tmp();
    const r = await hostile(dir, 'bad-utf8', ['--variant', variant]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(() => strictUtf8(join(dir, 'out', 'items.jsonl'))).not.toThrow();
    expect(ids(dir)).toEqual([1, 2, 3]);
    expect(value2(dir)).toEqual({ id: 2, value });
    expect(warnings(r)).toMatch(new RegExp(`stdout line 2 \\(stream items\\): ${count} invalid UTF-8 sequences? replaced with U\\+FFFD`));
    expect(r.stderr).toMatch(new RegExp(`invalid UTF-8: ${count} sequences? in 1 line replaced with U\\+FFFD \\(items: 1 line\\)`));
    expect(itemsCursor(dir)).toBe(3);
  });

  it('valid multi-byte characters split across pipe chunks are left alone (20,000 records)', async () => {
    const dir = tmp();
    const r = await hostile(dir, 'bad-utf8', ['--variant', 'multibyte', '--records', '20000'], ['--on-invalid-utf8', 'fail']);
    expect(r.exitCode, r.stderr).toBe(0);
    const rows = jsonLines(join(dir, 'out', 'items.jsonl'));
    expect(rows).toHaveLength(20000);
    expect(rows.every((x) => x['value'] === `item-${x['id']} ${'é€😀'.repeat(10)}`)).toBe(true);
  });

  it('in a key: the key gets U+FFFD', async () => {
    const dir = tmp();
    const r = await hostile(dir, 'bad-utf8', ['--variant', 'key']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(() => strictUtf8(join(dir, 'out', 'items.jsonl'))).not.toThrow();
    expect(value2(dir)).toEqual({ id: 2, value: 'item-2', 'k\uFFFDey': 1 });
  });

  it('in a STATE: the stored state is valid UTF-8', async () => {
    const dir = tmp();
    const r = await hostile(dir, 'bad-utf8', ['--variant', 'state']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(() => strictUtf8(join(dir, 'out', 'state.json'))).not.toThrow();
    expect(readJson(join(dir, 'out', 'state.json')).states[0].stream.stream_state).toEqual({ cursor: 3, note: 'n\uFFFD' });
    expect(warnings(r)).toMatch(/stdout line 4 \(STATE\): 1 invalid UTF-8 sequence replaced/);
  });

  it('to stdout (no --out): the output is valid UTF-8', async () => {
    const dir = tmp();
    const r = await execa(process.execPath, [HOST, 'read', '--config', writeJson(dir, 'c.json', {}), '--', process.execPath, join(HD, 'bad-utf8.mjs'), '--variant', 'surrogate'], { encoding: 'buffer', reject: false, stdin: 'ignore' });
    expect(r.exitCode).toBe(0);
    const out = r.stdout as Uint8Array;
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(out)).not.toThrow();
    expect(Buffer.from(out).toString('utf8')).toContain('item-2 \uFFFD\uFFFD\uFFFD');
  });

  it('from a Singer tap: the record is replaced too', async () => {
    const dir = tmp();
    const r = await host(['read', '--config', writeJson(dir, 'c.json', {}), '--out', join(dir, 'out'), '--protocol', 'singer', '--', process.execPath, join(HD, 'tap-mistyped.mjs'), '--utf8']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(() => strictUtf8(join(dir, 'out', 'items.jsonl'))).not.toThrow();
    expect(jsonLines(join(dir, 'out', 'items.jsonl'))).toContainEqual({ id: 2, name: 'tw\uFFFDo' });
    expect(warnings(r)).toMatch(/\(stream items\): 1 invalid UTF-8 sequence replaced/);
  });
});

describe('--on-invalid-utf8 fail', () => {
  it.each(['lone-cont', 'overlong', 'key', 'state'])('%s: exit 7 naming the stream and line, no later state committed', async (variant) => {
    const dir = tmp();
    const r = await hostile(dir, 'bad-utf8', ['--variant', variant], ['--on-invalid-utf8', 'fail']);
    expect(r.exitCode, r.stderr).toBe(7);
    expect(r.stderr).toMatch(variant === 'state' ? /stdout line 4 \(STATE\) is not valid UTF-8/ : /stdout line 2 \(stream items\) is not valid UTF-8/);
    expect(noStack(r)).toBe(true);
    expect(itemsCursor(dir)).toBeUndefined();
  });

  it('from a Singer tap', async () => {
    const dir = tmp();
    const r = await host(['read', '--config', writeJson(dir, 'c.json', {}), '--out', join(dir, 'out'), '--on-invalid-utf8', 'fail', '--protocol', 'singer', '--', process.execPath, singerTap('../hostile-data/tap-mistyped'), '--utf8']);
    expect(r.exitCode, r.stderr).toBe(7);
    expect(r.stderr).toMatch(/\(stream items\) is not valid UTF-8/);
  });

  it('a valid file passes, an unknown mode is a usage error', async () => {
    const ok = await hostile(tmp(), 'bad-utf8', ['--variant', 'none'], ['--on-invalid-utf8', 'fail']);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stderr).not.toMatch(/invalid UTF-8/);
    const bad = await hostile(tmp(), 'bad-utf8', [], ['--on-invalid-utf8', 'ignore']);
    expect(bad.exitCode).toBe(2);
  });
});
