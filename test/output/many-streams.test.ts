// Many streams, few descriptors: a file is opened on its first record and a bounded set of them
// is kept open, so the number of streams is not limited by the descriptor limit. A stream that
// got no record gets no file (no empty .partial), except a full refresh, whose zero records
// replace yesterday's data with an empty file. Every file written is durable at the commit.

import { describe, it, expect } from 'vitest';
import { execa } from 'execa';
import { join } from 'node:path';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { HOST, tmp, writeJson, readJson, FIX } from '../helpers.js';

const MANY = join(FIX, 'hostile-output', 'many-streams.mjs');

/** `host read` under a descriptor limit of `fds` (a shell only to set the limit: `ulimit -n`). */
async function readLimited(fds: number, out: string, ...knobs: string[]) {
  const d = tmp();
  const r = await execa('sh', ['-c', `ulimit -n ${fds} && exec "$0" "$@"`, process.execPath, HOST, 'read', '--config', writeJson(d, 'c.json', {}), '--out', out, '--', process.execPath, MANY, ...knobs], { reject: false, stdin: 'ignore', env: { NO_COLOR: '1' } });
  return { exitCode: r.exitCode ?? -1, stderr: String(r.stderr) };
}

/** Every stream file: its committed length is its size; the lines of each. */
function files(out: string): Map<string, string[]> {
  const s = readJson(join(out, 'state.json'));
  const m = new Map<string, string[]>();
  for (const [rel, e] of Object.entries<any>(s.files)) {
    const p = join(out, rel);
    if (!existsSync(p)) continue;
    expect(statSync(p).size, rel).toBe(e.bytes);
    const t = readFileSync(p, 'utf8');
    m.set(rel, t === '' ? [] : t.replace(/\n$/, '').split('\n'));
  }
  return m;
}

const partials = (out: string) => readdirSync(out).filter((f) => f.endsWith('.partial'));

describe('many streams', () => {
  it('1,500 incremental streams read round-robin under a limit of 200 descriptors; streams without records get no file', async () => {
    const out = join(tmp(), 'out');
    const r = await readLimited(200, out, '--streams', '1500', '--records', '3', '--empty-every', '5');
    expect(r.exitCode, r.stderr.slice(-2000)).toBe(0);
    const f = files(out);
    expect(f.size).toBe(1200);
    expect(f.get('s1.jsonl')).toEqual([1, 2, 3].map((id) => `{"id":${id},"s":"s1"}`));
    for (const [rel, l] of f) expect(l.length, rel).toBe(3);
    expect(existsSync(join(out, 's5.jsonl'))).toBe(false);
    expect(partials(out)).toEqual([]);
    // a second run appends to every one of them again
    const r2 = await readLimited(200, out, '--streams', '1500', '--records', '1', '--empty-every', '5');
    expect(r2.exitCode, r2.stderr.slice(-2000)).toBe(0);
    const f2 = files(out);
    expect(f2.get('s1499.jsonl')).toEqual([1, 2, 3, 4].map((id) => `{"id":${id},"s":"s1499"}`));
    for (const [rel, l] of f2) expect(l.length, rel).toBe(4);
  });

  it('1,500 full refresh streams: swapped in at the end; a stream with zero records this time is replaced by an empty file', async () => {
    const out = join(tmp(), 'out');
    const r = await readLimited(200, out, '--streams', '1500', '--records', '2', '--mode', 'full_refresh');
    expect(r.exitCode, r.stderr.slice(-2000)).toBe(0);
    expect(files(out).get('s3.jsonl')).toEqual(['{"id":1,"s":"s3"}', '{"id":2,"s":"s3"}']);
    const r2 = await readLimited(200, out, '--streams', '1500', '--records', '1', '--mode', 'full_refresh', '--empty-every', '3');
    expect(r2.exitCode, r2.stderr.slice(-2000)).toBe(0);
    const f = files(out);
    expect(f.size).toBe(1500);
    expect(f.get('s3.jsonl')).toEqual([]); // zero records: yesterday's rows are gone
    expect(f.get('s4.jsonl')).toEqual(['{"id":1,"s":"s4"}']);
    expect(partials(out)).toEqual([]);
  });

  it('a failed run over 1,500 streams: every file cut back to its committed length and no .partial left', async () => {
    const out = join(tmp(), 'out');
    expect((await readLimited(200, out, '--streams', '1500', '--records', '1')).exitCode).toBe(0);
    const r = await readLimited(200, out, '--streams', '1500', '--records', '2', '--fail');
    expect(r.exitCode).toBe(3);
    expect(r.stderr).not.toContain('EMFILE');
    const f = files(out);
    for (const [rel, l] of f) expect(l.length, rel).toBe(1);
    expect(partials(out)).toEqual([]);
  });

  it('30,000 streams', async () => {
    const out = join(tmp(), 'out');
    const t0 = Date.now();
    const r = await readLimited(20000, out, '--streams', '30000', '--records', '2');
    const ms = Date.now() - t0;
    expect(r.exitCode, r.stderr.slice(-2000)).toBe(0);
    expect(r.stderr).toContain('60000');
    const s = readJson(join(out, 'state.json'));
    expect(Object.keys(s.files)).toHaveLength(30000);
    expect(s.states).toHaveLength(30000);
    const f = files(out);
    expect(f.get('s30000.jsonl')).toEqual(['{"id":1,"s":"s30000"}', '{"id":2,"s":"s30000"}']);
    for (const [rel, l] of f) expect(l.length, rel).toBe(2);
    expect(partials(out)).toEqual([]);
    console.log(`30,000 streams, 60,000 records: ${(ms / 1000).toFixed(1)} s`);
  }, 240_000);
});
