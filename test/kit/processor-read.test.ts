// Record processors in `host read` and `host run` (issue 12): --processor with Python and
// JavaScript functions that change, drop and split records, per record and per batch, with
// runtime variables, limited to one stream (the others byte for byte), big integers, a
// destination's catalog carrying the output schema, and state committed only past processed
// records. The fixtures are in fixtures/connectors/kit-processors (README there).

import { describe, it, expect } from 'vitest';
import { readFileSync, existsSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { host, tmp, FIX, bad, writeJson, jsonLines, lines, readJson, streamState } from '../helpers.js';

const P = (f: string) => join(FIX, 'kit-processors', f);
const ENDLESS = bad('endless');
const INT64 = bad('int64');
const DEST = join(FIX, 'destinations', 'dest-jsonl.mjs');

/** `host read` of the endless fixture (streams s1..sN, ids 1..records each, a STATE per stream every `every` rounds). */
async function readEndless(dir: string, extra: string[], o: { streams?: number; records?: number; every?: number } = {}) {
  const config = writeJson(dir, 'config.json', {});
  return host(['read', '--config', config, '--progress', 'off', '--commit-interval', '0', ...extra, '--', ENDLESS, '--streams', String(o.streams ?? 2), '--records', String(o.records ?? 10), '--state-every', String(o.every ?? 3)]);
}

const ids = (file: string) => jsonLines(file).map((r) => r['id'] as number);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('host read --processor (Python)', () => {
  it('a plain function changes every record of every stream; the summary says what it did', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const r = await readEndless(dir, ['--out', out, '--processor', P('upper.py')]);
    expect(r.stderr).not.toMatch(/Traceback/);
    expect(r.exitCode).toBe(0);
    expect(jsonLines(join(out, 's1.jsonl'))).toEqual(range(1, 10).map((id) => ({ id, s: 'S1', seen: true })));
    expect(jsonLines(join(out, 's2.jsonl'))).toEqual(range(1, 10).map((id) => ({ id, s: 'S2', seen: true })));
    expect(r.stderr).toMatch(/processor \S*upper\.py: 20 records in, 20 records out, \d+ batch/);
    expect(streamState(join(out, 'state.json'), 's1')).toEqual({ cursor: 10 });
  });

  it('drops records (None), and splits them (a list), in order', async () => {
    const dir = tmp();
    const r1 = await readEndless(dir, ['--out', join(dir, 'drop'), '--processor', P('drop.py')], { streams: 1 });
    expect(r1.exitCode).toBe(0);
    expect(ids(join(dir, 'drop', 's1.jsonl'))).toEqual([2, 4, 6, 8, 10]);
    expect(r1.stderr).toMatch(/10 records in, 5 records out/);
    const r2 = await readEndless(dir, ['--out', join(dir, 'split'), '--processor', P('split.py')], { streams: 1, records: 4 });
    expect(r2.exitCode).toBe(0);
    expect(jsonLines(join(dir, 'split', 's1.jsonl'))).toEqual(range(1, 4).flatMap((id) => [1, 2].map((part) => ({ id, s: 's1', part }))));
  });

  it('a batch function gets whole batches (batch=True): every record comes back once', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const r = await readEndless(dir, ['--out', out, '--processor', P('batch.py')], { streams: 1, records: 3000, every: 1000 });
    expect(r.exitCode).toBe(0);
    const recs = jsonLines(join(out, 's1.jsonl'));
    expect(recs.map((x) => x['id']).sort((a, b) => (a as number) - (b as number))).toEqual(range(1, 3000));
    // batches hold at most 1000 records and never span a STATE: reversed within each batch
    for (const x of recs) expect(x['batch_size'] as number).toBeLessThanOrEqual(1000);
    // (how many records a batch holds depends on how the source's output arrives; host process
    // --sample shows one whole batch reversed, in processor-process.test.ts)
    expect(streamState(join(out, 'state.json'), 's1')).toEqual({ cursor: 3000 });
  });

  it('--processor-vars passes args and kwargs to the function', async () => {
    const dir = tmp();
    const vars = writeJson(dir, 'vars.json', { args: [10], kwargs: { label: 'L' } });
    const r = await readEndless(dir, ['--out', join(dir, 'out'), '--processor', P('vars.py'), '--processor-vars', vars], { streams: 1, records: 3 });
    expect(r.exitCode).toBe(0);
    expect(jsonLines(join(dir, 'out', 's1.jsonl'))).toEqual([1, 2, 3].map((id) => ({ id, s: 's1', scaled: id * 10, label: 'L' })));
  });

  it('limited to one stream: that stream is processed, the other streams are byte-for-byte what they are without a processor', async () => {
    const dir = tmp();
    const rounds = { streams: 3, records: 2500, every: 70 };
    const a = await readEndless(dir, ['--out', join(dir, 'with'), '--processor', P('only_s1.py')], rounds);
    const b = await readEndless(dir, ['--out', join(dir, 'without')], rounds);
    expect(a.exitCode).toBe(0);
    expect(b.exitCode).toBe(0);
    for (const s of ['s2', 's3']) expect(readFileSync(join(dir, 'with', `${s}.jsonl`)).equals(readFileSync(join(dir, 'without', `${s}.jsonl`)))).toBe(true);
    expect(jsonLines(join(dir, 'with', 's1.jsonl'))).toEqual(range(1, 2500).map((id) => ({ id, s: 's1', tag: 'processed' })));
    expect(a.stderr).toMatch(/processor \S*only_s1\.py: streams s1; output schema of s1 from the processor/);
    expect(a.stderr).toMatch(/2500 records in, 2500 records out/);
  });

  it('on stdout a STATE comes after every record before it and before every record after it (records of a processed stream never move past a STATE)', async () => {
    const dir = tmp();
    const r = await readEndless(dir, ['--processor', P('only_s1.py')], { streams: 2, records: 3000, every: 7 });
    expect(r.exitCode).toBe(0);
    const seen: Record<string, number> = { s1: 0, s2: 0 };
    let states = 0;
    for (const l of r.stdout.split('\n').filter(Boolean)) {
      const m = JSON.parse(l) as { type: string; record?: { stream: string; data: { id: number; tag?: string }; emitted_at: number }; state?: { stream: { stream_descriptor: { name: string }; stream_state: { cursor: number } } } };
      if (m.type === 'RECORD') {
        const s = m.record!.stream;
        expect(m.record!.data.id).toBe(++seen[s]!);
        expect(typeof m.record!.emitted_at).toBe('number');
        if (s === 's1') expect(m.record!.data.tag).toBe('processed');
      } else if (m.type === 'STATE') {
        states++;
        const st = m.state!.stream;
        expect(seen[st.stream_descriptor.name]).toBe(st.stream_state.cursor);
      }
    }
    expect(seen).toEqual({ s1: 3000, s2: 3000 });
    expect(states).toBeGreaterThan(800);
  });

  it('big integers (beyond 2^53, int64, u64, 30 digits) go through a Python and a JavaScript processor digit for digit', async () => {
    const dir = tmp();
    const config = writeJson(dir, 'config.json', {});
    const source = readFileSync(join(FIX, 'misbehaving', 'int64-data.jsonl'), 'utf8');
    const bigs = [...source.matchAll(/(?<![.\d])-?\d{16,}(?![.\deE])/g)].map((m) => m[0]);
    expect(bigs.length).toBeGreaterThanOrEqual(8);
    for (const p of ['touch.py', 'touch.mjs']) {
      const out = join(dir, p);
      const r = await host(['read', '--config', config, '--progress', 'off', '--out', out, '--processor', P(p), '--', INT64]);
      expect(r.exitCode, r.stderr).toBe(0);
      const text = readFileSync(join(out, 'numbers.jsonl'), 'utf8');
      for (const n of bigs) expect(text, `${p}: ${n}`).toContain(n);
      expect(lines(join(out, 'numbers.jsonl')).every((l) => l.includes('"touched":true'))).toBe(true);
      expect(lines(join(out, 'numbers.jsonl'))).toHaveLength(10);
    }
  });

  it('--limit applies to what the processor puts out', async () => {
    const dir = tmp();
    const config = writeJson(dir, 'config.json', {});
    const r = await host(['read', '--config', config, '--progress', 'off', '--limit', '4', '--processor', P('split.py'), '--', ENDLESS, '--streams', '1']);
    expect(r.exitCode).toBe(0);
    const recs = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; record?: { data: { id: number; part: number } } });
    expect(recs.filter((m) => m.type === 'RECORD').map((m) => [m.record!.data.id, m.record!.data.part])).toEqual([[1, 1], [1, 2], [2, 1], [2, 2]]);
  });
});

describe('host read --processor (JavaScript)', () => {
  it('a defineProcessor .mjs (importing connector-host/kit from outside the package): its stream processed, kwargs, BigInt written exactly, a record dropped; the other stream unchanged', async () => {
    const dir = tmp();
    const vars = writeJson(dir, 'vars.json', { kwargs: { factor: 7 } });
    const out = join(dir, 'out');
    // a copy in a folder with no node_modules: the import resolves to the host's own kit
    copyFileSync(P('clean.mjs'), join(dir, 'clean.mjs'));
    const r = await readEndless(dir, ['--out', out, '--processor', `${join(dir, 'clean.mjs')}:default`, '--processor-vars', vars], { streams: 2, records: 5 });
    expect(r.exitCode, r.stderr).toBe(0);
    const text = readFileSync(join(out, 's1.jsonl'), 'utf8');
    expect(ids(join(out, 's1.jsonl'))).toEqual([1, 2, 4, 5]);
    expect(text).toContain('"big":4611686018427387904'); // 4 * 2^60, beyond 2^53
    expect(jsonLines(join(out, 's1.jsonl'))[0]).toMatchObject({ id: 1, s: 'S1', factor: 7 });
    expect(jsonLines(join(out, 's2.jsonl'))).toEqual(range(1, 5).map((id) => ({ id, s: 's2' })));
  });

  it('a plain exported async function splits records; a throw fails the run naming the record and file:line', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const r = await readEndless(dir, ['--out', out, '--processor', P('plain.mjs')], { streams: 1, records: 6, every: 2 });
    expect(r.exitCode).toBe(0);
    expect(jsonLines(join(out, 's1.jsonl')).map((x) => [x['id'], x['part'] ?? 0])).toEqual([[1, 0], [2, 1], [2, 2], [3, 0], [4, 1], [4, 2], [5, 0], [6, 1], [6, 2]]);
    const f = await readEndless(dir, ['--out', join(dir, 'f'), '--processor', P('plain.mjs')], { streams: 1, records: 9, every: 2 });
    expect(f.exitCode).toBe(7);
    expect(f.stderr).toMatch(/failed on record 7 of stream s1: TypeError: no sevens \(7\) \(plain\.mjs:4 in process\)/);
    expect(f.stderr).not.toMatch(/\n\s+at /); // no raw stack trace
    expect(streamState(join(dir, 'f', 'state.json'), 's1').cursor).toBeLessThanOrEqual(6);
  });
});

describe('other forms of processor', () => {
  it('a .ts file (through tsx) and a Python package folder (DIR:NAME)', async () => {
    const dir = tmp();
    const ts = await readEndless(dir, ['--out', join(dir, 'ts'), '--processor', P('typed.ts')], { streams: 1, records: 2 });
    expect(ts.exitCode, ts.stderr).toBe(0);
    expect(jsonLines(join(dir, 'ts', 's1.jsonl'))).toEqual([1, 2].map((id) => ({ id, s: 's1', length: 2 })));
    const pkg = await readEndless(dir, ['--out', join(dir, 'pkg'), '--processor', `${P('pkgproc')}:shout`], { streams: 1, records: 2 });
    expect(pkg.exitCode, pkg.stderr).toBe(0);
    expect(jsonLines(join(dir, 'pkg', 's1.jsonl'))).toEqual([1, 2].map((id) => ({ id, s: 's1!' })));
  });
});

describe('backpressure and stopping', () => {
  it('a slow destination behind a processor: every record arrives, in order', async () => {
    const dir = tmp();
    const config = writeJson(dir, 'config.json', {});
    const dest = join(dir, 'dest');
    const destConfig = writeJson(dir, 'dest.json', { path: dest });
    const r = await host(['run', '--config', config, '--progress', 'off', '--destination', DEST, '--destination-arg=--slow', '--destination-arg=5', '--destination-config', destConfig, '--state', join(dir, 'state.json'), '--processor', P('split.py'), '--', ENDLESS, '--streams', '1', '--records', '5000', '--state-every', '100']);
    expect(r.exitCode, r.stderr).toBe(0);
    const recs = jsonLines(join(dest, 's1.jsonl'));
    expect(recs).toHaveLength(10000);
    expect(recs.map((x) => `${x['id']}.${x['part']}`)).toEqual(range(1, 5000).flatMap((id) => [`${id}.1`, `${id}.2`]));
  });

  it('SIGTERM to the host during a run: the processor is stopped with the connector, exit 143', async () => {
    const dir = tmp();
    const config = writeJson(dir, 'config.json', {});
    const { execa } = await import('execa');
    const { HOST } = await import('../helpers.js');
    // a copy of its own: the hang test of processor-errors.test.ts may run at the same time
    const hangs = join(dir, 'hangs.py');
    copyFileSync(P('hangs.py'), hangs);
    const sub = execa(process.execPath, [HOST, 'read', '--config', config, '--progress', 'off', '--out', join(dir, 'out'), '--processor', hangs, '--', ENDLESS, '--streams', '1', '--records', '10'], { reject: false, env: { CONNECTOR_HOST_LOG_FORMAT: 'json' } });
    // wait until the processor is running (it hangs at id 5)
    const { execFileSync } = await import('node:child_process');
    const running = () => execFileSync('ps', ['-eo', 'args']).toString().includes(`connector_host.processor ${hangs}`);
    for (let k = 0; k < 300 && !running(); k++) await new Promise((res) => setTimeout(res, 100));
    expect(running()).toBe(true);
    sub.kill('SIGTERM');
    const r = await sub;
    expect(r.exitCode).toBe(143);
    expect(running()).toBe(false);
  });
});

describe('logs from a processor', () => {
  it('connector_host.log() (Python) and ctx.log() (JavaScript) become log entries at their level, tagged with the processor', async () => {
    const dir = tmp();
    for (const [p, word] of [['logs.py', 'python'], ['logs.mjs', 'js']] as const) {
      const r = await readEndless(dir, ['--processor', P(p)], { streams: 1, records: 2 });
      expect(r.exitCode, r.stderr).toBe(0);
      const entries = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: number; msg: string; processor?: string });
      const mine = entries.filter((e) => e.msg.startsWith(`${word} saw id`));
      expect(mine.map((e) => e.msg)).toEqual([`${word} saw id 1`, `${word} saw id 2`]);
      expect(mine.every((e) => e.level === 40 && e.processor?.endsWith(p))).toBe(true);
      expect(r.stdout).not.toContain('saw id');
    }
  });
});

describe('host run --processor into a destination', () => {
  it("the destination's configured catalog carries the processor's output schema; records processed; states acknowledged and committed", async () => {
    const dir = tmp();
    const config = writeJson(dir, 'config.json', {});
    const dest = join(dir, 'dest');
    const destConfig = writeJson(dir, 'dest.json', { path: dest });
    const state = join(dir, 'state.json');
    const r = await host(['run', '--config', config, '--progress', 'off', '--destination', DEST, '--destination-config', destConfig, '--state', state, '--processor', P('only_s1.py'), '--', ENDLESS, '--streams', '2', '--records', '20', '--state-every', '5']);
    expect(r.exitCode, r.stderr).toBe(0);
    const cat = readJson(join(dest, '_catalog.json')) as { streams: { stream: { name: string; json_schema: { properties: Record<string, unknown>; required?: string[] } } }[] };
    const s1 = cat.streams.find((s) => s.stream.name === 's1')!;
    const s2 = cat.streams.find((s) => s.stream.name === 's2')!;
    expect(Object.keys(s1.stream.json_schema.properties)).toEqual(['id', 's', 'tag']);
    expect(s1.stream.json_schema.required).toEqual(['id', 'tag']);
    expect(Object.keys(s2.stream.json_schema.properties)).toEqual(['id', 's']);
    expect(jsonLines(join(dest, 's1.jsonl'))).toEqual(range(1, 20).map((id) => ({ id, s: 's1', tag: 'processed' })));
    expect(jsonLines(join(dest, 's2.jsonl'))).toEqual(range(1, 20).map((id) => ({ id, s: 's2' })));
    expect(streamState(state, 's1')).toEqual({ cursor: 20 });
  });

  it('host discover --processor: the catalog carries the output schema of the streams it changes, the others as discovered', async () => {
    const dir = tmp();
    const config = writeJson(dir, 'config.json', {});
    const r = await host(['discover', '--config', config, '--processor', P('only_s1.py'), '--', ENDLESS, '--streams', '2']);
    expect(r.exitCode, r.stderr).toBe(0);
    const cat = (JSON.parse(r.stdout) as { catalog: { streams: { name: string; json_schema: { properties: object; required?: string[] } }[] } }).catalog;
    expect(Object.keys(cat.streams[0]!.json_schema.properties)).toEqual(['id', 's', 'tag']);
    expect(cat.streams[0]!.json_schema.required).toEqual(['id', 'tag']);
    expect(Object.keys(cat.streams[1]!.json_schema.properties)).toEqual(['id', 's']);
  });

  it('--validate fail checks records against the output schema (the processed records match it)', async () => {
    const dir = tmp();
    const r = await readEndless(dir, ['--out', join(dir, 'out'), '--validate', 'fail', '--processor', P('only_s1.py')], { streams: 1, records: 5 });
    expect(r.exitCode, r.stderr).toBe(0);
  });
});

describe('state is committed only past processed records', () => {
  it('a processor failing mid-run, then a re-run: every record exactly once in --out', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const vars = writeJson(dir, 'vars.json', { kwargs: { fail_at: 25 } });
    const first = await readEndless(dir, ['--out', out, '--processor', P('fail_at.py'), '--processor-vars', vars], { streams: 2, records: 50, every: 4 });
    expect(first.exitCode).toBe(7);
    expect(first.stderr).toMatch(/failed on record 25 of stream s1: RuntimeError: refused record 25 \(fail_at\.py:5 in process\)/);
    expect(first.stderr).not.toMatch(/Traceback/);
    const cursor = (s: string) => (streamState(join(out, 'state.json'), s)?.cursor as number | undefined) ?? 0;
    const committed = { s1: cursor('s1'), s2: cursor('s2') };
    expect(committed.s1).toBeLessThan(25);
    const again = await readEndless(dir, ['--out', out, '--processor', P('fail_at.py')], { streams: 2, records: 50, every: 4 });
    expect(again.exitCode, again.stderr).toBe(0);
    for (const s of ['s1', 's2']) {
      const recs = jsonLines(join(out, `${s}.jsonl`));
      // the fixture resumes after the committed cursor and sends 50 more: none lost, none twice
      expect(recs.map((x) => x['id'])).toEqual(range(1, committed[s as 's1' | 's2'] + 50));
      expect(recs.every((x) => x['checked'] === true)).toBe(true);
    }
    expect(existsSync(join(out, 'state.json'))).toBe(true);
  });
});
