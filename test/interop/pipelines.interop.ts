// `host run` with real Singer targets and taps from PyPI (installed by scripts/install-interop.mjs):
// a fixture protocol source into target-jsonl, meltanolabs-target-csv and target-duckdb, each with
// its acknowledged state stored and a second run that resumes; a real tap into a fixture protocol
// destination; a real tap into a real target; and the reverse shim feeding a real target in a
// plain shell pipe.

import { describe, it, expect } from 'vitest';
import { execa } from 'execa';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { host, tmp, writeJson, jsonLines, lines, readJson, streamState, FIX, ROOT } from '../helpers.js';
import { pypi, CACHE } from './helpers.js';
import { resolveConnector } from '../../dist/connector/resolve.js';

const EXAMPLE = join(FIX, 'example', 'source.mjs');
const DEST = join(FIX, 'destinations', 'dest-jsonl.mjs');

function source(dir: string, events: number): string {
  return writeJson(dir, `source-${events}.json`, { api_key: 'interop-key-5150', event_count: events });
}

/** `host run` of the example source into a pypi: Singer target. */
function runIntoTarget(target: string, dir: string, destConfig: string, events = 12) {
  return host(['run', EXAMPLE, '--config', source(dir, events), '--cache-dir', CACHE, '--destination', target, '--destination-protocol', 'singer', '--destination-config', destConfig, '--state', join(dir, 'state.json')]);
}

const eventIds = (rows: { id: unknown }[]) => rows.map((r) => Number(r.id)).sort((a, b) => a - b);
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe('a protocol source into real Singer targets (host run, Singer-target shim)', () => {
  it(`${pypi('target_jsonl')}: every record, the state it writes at exit stored, the next run resumes`, async () => {
    const dir = tmp('ch-interop-tjsonl-');
    const outDir = join(dir, 'out');
    mkdirSync(outDir);
    const cfg = writeJson(dir, 'target.json', { destination_path: outDir });
    const r = await runIntoTarget(pypi('target_jsonl'), dir, cfg);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('1 state acknowledged');
    expect(streamState(join(dir, 'state.json'), 'events')).toEqual({ cursor: 12 });
    const read = (prefix: string) => readdirSync(outDir).filter((f) => f.startsWith(prefix)).flatMap((f) => jsonLines(join(outDir, f)));
    expect(eventIds(read('events') as { id: unknown }[])).toEqual(range(1, 12));
    expect(read('users')).toHaveLength(3);
    // the second run reads only events 13..15 (target-jsonl names its files by time: wait a second)
    await new Promise((res) => setTimeout(res, 1100));
    const again = await runIntoTarget(pypi('target_jsonl'), dir, cfg, 15);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(eventIds(read('events') as { id: unknown }[])).toEqual(range(1, 15));
    expect(streamState(join(dir, 'state.json'), 'events')).toEqual({ cursor: 15 });
    expect(again.stderr).not.toContain('interop-key-5150');
  });

  it(`${pypi('target_csv')}: CSV files, the state stored, the next run resumes`, async () => {
    const dir = tmp('ch-interop-tcsv-');
    const outDir = join(dir, 'out');
    const cfg = writeJson(dir, 'target.json', { output_path: outDir });
    const r = await runIntoTarget(pypi('target_csv'), dir, cfg);
    expect(r.exitCode, r.stderr).toBe(0);
    const csv = lines(join(outDir, 'events.csv')).map((l) => l.replace(/\r$/, '')); // CRLF, as Python's csv writes
    expect(csv[0]).toBe('id,kind,at,amount');
    expect(csv.slice(1).map((l) => Number(l.split(',')[0]))).toEqual(range(1, 12));
    expect(streamState(join(dir, 'state.json'), 'events')).toEqual({ cursor: 12 });
    const again = await runIntoTarget(pypi('target_csv'), dir, cfg, 14);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(streamState(join(dir, 'state.json'), 'events')).toEqual({ cursor: 14 });

  });

  it(`${pypi('target_duckdb')}: rows in the database, the state stored, the next run resumes`, async () => {
    const dir = tmp('ch-interop-tduck-');
    const db = join(dir, 'warehouse.duckdb');
    const cfg = writeJson(dir, 'target.json', { filepath: db, default_target_schema: 'main' });
    const r = await runIntoTarget(pypi('target_duckdb'), dir, cfg);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(streamState(join(dir, 'state.json'), 'events')).toEqual({ cursor: 12 });
    const ref = await resolveConnector(pypi('target_duckdb'), { cacheDir: CACHE });
    const python = join(dirname(ref.command), 'python');
    const query = async (sql: string) => String((await execa(python, ['-c', 'import duckdb,sys,json; print(json.dumps(duckdb.connect(sys.argv[1]).execute(sys.argv[2]).fetchall()))', db, sql])).stdout);
    expect(JSON.parse(await query('select id from main.events order by id')).map((x: number[]) => x[0])).toEqual(range(1, 12));
    expect(JSON.parse(await query('select count(*) from main.users'))).toEqual([[3]]);
    const again = await runIntoTarget(pypi('target_duckdb'), dir, cfg, 13);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(JSON.parse(await query('select id from main.events order by id')).map((x: number[]) => x[0])).toEqual(range(1, 13));
    expect(streamState(join(dir, 'state.json'), 'events')).toEqual({ cursor: 13 });
  });
  it(`${pypi('target_jsonl')}: int64 values beyond 2^53 arrive digit for digit`, async () => {
    const d2 = tmp('ch-interop-int64-');
    const outDir = join(d2, 'out');
    mkdirSync(outDir);
    const cfg2 = writeJson(d2, 'target.json', { destination_path: outDir });
    const r2 = await host(['run', '--config', writeJson(d2, 's.json', {}), '--cache-dir', CACHE, '--destination', pypi('target_jsonl'), '--destination-protocol', 'singer', '--destination-config', cfg2, '--state', join(d2, 'state.json'), '--', process.execPath, join(FIX, 'misbehaving', 'int64.mjs')]);
    expect(r2.exitCode, r2.stderr).toBe(0);
    const text = readdirSync(outDir).map((f) => readFileSync(join(outDir, f), 'utf8')).join('\n');
    const bigs = readFileSync(join(FIX, 'misbehaving', 'int64-data.jsonl'), 'utf8').match(/-?\d{16,}/g) ?? [];
    expect(bigs.length).toBeGreaterThan(0);
    for (const big of bigs) expect(text).toContain(big);
  });
});

describe('a real Singer tap in a pipeline', () => {
  function jsonlTap(dir: string) {
    const data = join(dir, 'data');
    mkdirSync(data);
    writeFileSync(join(data, 'a.jsonl'), '{"id": 1, "amount": 9007199254740993}\n{"id": 2, "amount": 2}\n');
    return writeJson(dir, 'tap.json', { path: join(data, '*.jsonl'), stream_name: 'orders', primary_keys: ['id'] });
  }

  it(`${pypi('tap_jsonl')} into a fixture protocol destination: records, the acknowledged Singer state stored`, async () => {
    const dir = tmp('ch-interop-tap-dest-');
    const tapCfg = jsonlTap(dir);
    const destCfg = writeJson(dir, 'dest.json', { path: join(dir, 'out') });
    const args = ['run', pypi('tap_jsonl'), '--protocol', 'singer', '--config', tapCfg, '--cache-dir', CACHE, '--destination', DEST, '--destination-config', destCfg, '--state', join(dir, 'state.json')];
    const r = await host(args);
    expect(r.exitCode, r.stderr).toBe(0);
    const rows = lines(join(dir, 'out', 'orders.jsonl'));
    expect(rows).toHaveLength(2);
    expect(rows.join('\n')).toContain('"id":1');
    const st = readJson(join(dir, 'state.json'));
    expect(st.kind).toBe('LEGACY');
    expect(JSON.stringify(st.states[0].data)).toContain('bookmarks');
    const cat = readJson(join(dir, 'out', '_catalog.json'));
    expect(cat.streams[0]).toMatchObject({ sync_id: 1, generation_id: 0 });
    const statuses = jsonLines(join(dir, 'out', '_control.jsonl')).filter((m) => m['type'] === 'TRACE');
    expect(statuses.map((m: any) => m.trace.stream_status.status)).toEqual(['COMPLETE']);
  });

  it(`${pypi('tap_jsonl')} into ${pypi('target_csv')}: a real tap into a real target through both shims`, async () => {
    const dir = tmp('ch-interop-tap-target-');
    const tapCfg = jsonlTap(dir);
    const cfg = writeJson(dir, 'target.json', { output_path: join(dir, 'out') });
    const r = await host(['run', pypi('tap_jsonl'), '--protocol', 'singer', '--config', tapCfg, '--cache-dir', CACHE, '--destination', pypi('target_csv'), '--destination-protocol', 'singer', '--destination-config', cfg, '--state', join(dir, 'state.json')]);
    expect(r.exitCode, r.stderr).toBe(0);
    const csv = lines(join(dir, 'out', 'orders.csv'));
    expect(csv).toHaveLength(3);
    expect(csv.join('\n')).toContain('9007199254740993');
    expect(readJson(join(dir, 'state.json')).kind).toBe('LEGACY');
    expect(r.stderr).toContain('1 state acknowledged');
  });
});

/**
 * `<left> | target-jsonl --config …` in bash with pipefail: the target's stdout (its state lines),
 * stderr and exit code, and the event ids it wrote.
 */
async function pipeIntoTargetJsonl(left: string[]) {
  const dir = tmp('ch-interop-pipe-');
  const outDir = join(dir, 'out');
  mkdirSync(outDir);
  const target = await resolveConnector(pypi('target_jsonl'), { cacheDir: CACHE });
  const cfg = writeJson(dir, 'target.json', { destination_path: outDir });
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const pipe = `${left.map(q).join(' ')} | ${[target.command, ...target.args].map(q).join(' ')} --config ${q(cfg)}`;
  const r = await execa('bash', ['-o', 'pipefail', '-c', pipe], { reject: false, env: target.env });
  const stateLines = String(r.stdout).trim().split('\n');
  const events = readdirSync(outDir).filter((f) => f.startsWith('events')).flatMap((f) => jsonLines(join(outDir, f)));
  return { exitCode: r.exitCode, stderr: String(r.stderr), lastState: JSON.parse(stateLines[stateLines.length - 1] || 'null'), eventIds: eventIds(events as { id: unknown }[]) };
}

describe('plain shell pipes into a real target', () => {
  it(`host read … --format singer | ${pypi('target_jsonl')}`, async () => {
    const r = await pipeIntoTargetJsonl([process.execPath, join(ROOT, 'bin', 'host.js'), 'read', EXAMPLE, '--config', source(tmp(), 12), '--format', 'singer', '--log-level', 'warn']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.lastState).toEqual({ events: { cursor: 12 } });
    expect(r.eventIds).toEqual(range(1, 12));
  });

  it(`connector-host-tap … | ${pypi('target_jsonl')} (the reverse shim): the target's state is the cumulative one`, async () => {
    const r = await pipeIntoTargetJsonl([process.execPath, join(ROOT, 'shims', 'protocol-tap.mjs'), '--config', source(tmp(), 12), '--', process.execPath, EXAMPLE]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.lastState).toEqual({ events: { cursor: 12 } });
    expect(r.eventIds).toEqual(range(1, 12));
    expect(r.stderr).not.toContain('interop-key-5150');
  });
});
