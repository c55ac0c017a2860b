// tap-jsonl (a real Singer SDK tap, from PyPI) through the Singer-tap shim and the CLI
// (`--protocol singer`): spec, check, discover, a read into --out, a second read from the
// saved state, and the golden suite fixtures/suites/singer-tap-jsonl.

import { describe, it, expect } from 'vitest';
import { mkdirSync, writeFileSync, appendFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { host, tmp, writeJson, jsonLines, lines, readJson, ROOT } from '../helpers.js';
import { cli, pypi, singerShimArgv } from './helpers.js';

const TAP = pypi('tap_jsonl');
const dir = tmp('ch-interop-tap-jsonl-');
const data = join(dir, 'data');
mkdirSync(data);
// file modification times are tap-jsonl's replication key (_sdc_last_modified): fixed ones
const JAN1 = new Date('2024-01-01T00:00:00Z');
const JAN2 = new Date('2024-01-02T00:00:00Z');
const JAN3 = new Date('2024-01-03T00:00:00Z');
function file(name: string, rows: string[], mtime: Date, append = false): void {
  const p = join(data, name);
  (append ? appendFileSync : writeFileSync)(p, rows.map((r) => r + '\n').join(''));
  utimesSync(p, mtime, mtime);
}
file('a.jsonl', ['{"id": 1, "amount": 9007199254740993, "name": "Zoë"}', '{"id": 2, "amount": 2, "name": "b"}', '{"id": 3, "amount": -9007199254740995, "name": "c"}'], JAN1);
file('b.jsonl', ['{"id": 4, "amount": 4, "name": "d"}', '{"id": 5, "amount": 18446744073709551615, "name": "e"}'], JAN2);
const config = writeJson(dir, 'config.json', { path: join(data, '*.jsonl'), stream_name: 'events', primary_keys: ['id'] });
const singer = ['--protocol', 'singer'];

describe(`${TAP} through the Singer-tap shim (CLI, --protocol singer)`, () => {
  it('spec: the settings of --about --format json (nothing secret)', async () => {
    const r = await host(await cli('spec', TAP, singer));
    expect(r.exitCode, r.stderr).toBe(0);
    const spec = JSON.parse(r.stdout).spec.connectionSpecification;
    expect(Object.keys(spec.properties)).toEqual(expect.arrayContaining(['path', 'stream_name', 'primary_keys', 'encoding', 'batch_config']));
    expect(spec.required).toEqual(['path']);
    expect(spec.properties.stream_name.default).toBe('jsonl');
    expect(r.stdout).not.toContain('airbyte_secret');
    // the SDK's settings put a bare "null" in anyOf: the shim makes it a schema, so the spec is valid
    expect(spec.properties.stream_maps.properties.__else__.anyOf).toEqual([{ const: '__NULL__' }, { type: 'null' }, { type: 'null' }]);
  });

  it('check: a short sync that stops at the first record', async () => {
    const r = await host(await cli('check', TAP, [...singer, '--config', config]));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).connectionStatus).toEqual({ status: 'SUCCEEDED', message: 'test sync: the tap sent a record (stream events); stopped there' });
  });

  it('discover: one stream named by stream_name, its key, the mtime cursor forced by the tap', async () => {
    const r = await host(await cli('discover', TAP, [...singer, '--config', config]));
    expect(r.exitCode, r.stderr).toBe(0);
    const streams = JSON.parse(r.stdout).catalog.streams;
    expect(streams).toHaveLength(1);
    const { singer_catalog_entry: entry, json_schema: schema, ...s } = streams[0];
    expect(s).toEqual({ name: 'events', supported_sync_modes: ['full_refresh', 'incremental'], default_cursor_field: ['_sdc_last_modified'], source_defined_cursor: true, source_defined_primary_key: [['id']] });
    expect(Object.keys(schema.properties).sort()).toEqual(['_sdc_filename', '_sdc_last_modified', '_sdc_stream', 'amount', 'id', 'name']);
    expect(entry.tap_stream_id).toBe('events');
  });

  it('reads into --out; a read from the saved state gets every file again, once per file in that state (the tap ignores its bookmarks)', async () => {
    const out = join(dir, 'out');
    const first = await host(await cli('read', TAP, [...singer, '--config', config, '--out', out]));
    expect(first.exitCode, first.stderr).toBe(0);
    const raw = lines(join(out, 'events.jsonl'));
    expect(raw).toHaveLength(5);
    // int64 beyond 2^53 and beyond 2^64 - 1 keep their digits: the shim forwards the record bytes
    expect(raw[0]).toContain('"amount":9007199254740993');
    expect(raw[2]).toContain('"amount":-9007199254740995');
    expect(raw[4]).toContain('"amount":18446744073709551615');
    const recs = jsonLines(join(out, 'events.jsonl'));
    expect(recs.map((x) => x['id'])).toEqual([1, 2, 3, 4, 5]);
    expect(recs[0]).toMatchObject({ name: 'Zoë', _sdc_last_modified: '2024-01-01T00:00:00+00:00', _sdc_filename: join(data, 'a.jsonl'), _sdc_stream: 'events' });
    expect(recs[4]).toMatchObject({ _sdc_last_modified: '2024-01-02T00:00:00+00:00', _sdc_filename: join(data, 'b.jsonl') });
    const state = readJson(join(out, 'state.json'));
    expect(state.kind).toBe('LEGACY');
    const bm = state.states[0].data.bookmarks.events;
    expect(bm.replication_key_value).toBe('2024-01-02T00:00:00+00:00');
    expect(bm.partitions.map((p: any) => [p.context._sdc_filename, p.replication_key_value])).toEqual([
      [join(data, 'a.jsonl'), '2024-01-01T00:00:00+00:00'],
      [join(data, 'b.jsonl'), '2024-01-02T00:00:00+00:00'],
    ]);

    // one line appended to b, a new file c
    file('b.jsonl', ['{"id": 6, "amount": 6, "name": "f"}'], JAN3, true);
    file('c.jsonl', ['{"id": 7, "amount": 7, "name": "g"}'], JAN3);
    const second = await host(await cli('read', TAP, [...singer, '--config', config, '--out', out]));
    expect(second.exitCode, second.stderr).toBe(0);
    // tap-jsonl 0.3.1 looks its per-file bookmark up under "_sdc_last_modified" while the SDK
    // stores it as "replication_key_value", so no file is ever skipped; and the SDK calls
    // get_records once per partition found in the state (2 here), which reads every file each
    // time. So all 7 rows arrive twice: the state did reach the tap (without it, once; below).
    const again = jsonLines(join(out, 'events.jsonl')).slice(5);
    expect(again.map((x) => x['id'])).toEqual([1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 4, 5, 6, 7]);
    expect(again.filter((x) => x['id'] === 6).map((x) => x['_sdc_last_modified'])).toEqual(['2024-01-03T00:00:00+00:00', '2024-01-03T00:00:00+00:00']);
    const bm2 = readJson(join(out, 'state.json')).states[0].data.bookmarks.events;
    // reading by the partitions of its state, the SDK moves only their bookmarks, not the stream's
    expect(bm2.replication_key_value).toBe('2024-01-02T00:00:00+00:00');
    expect(bm2.partitions.map((p: any) => p.replication_key_value)).toEqual(['2024-01-01T00:00:00+00:00', '2024-01-03T00:00:00+00:00', '2024-01-03T00:00:00+00:00']);

    // control: the same read without a state reads each row once
    const fresh = join(dir, 'fresh');
    const third = await host(await cli('read', TAP, [...singer, '--config', config, '--out', fresh]));
    expect(third.exitCode, third.stderr).toBe(0);
    expect(jsonLines(join(fresh, 'events.jsonl')).map((x) => x['id'])).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('the golden suite fixtures/suites/singer-tap-jsonl passes with host test --profile singer', async () => {
    // the suite's config names its data relative to the repository root
    const r = await host(['test', '--suite', join(ROOT, 'fixtures', 'suites', 'singer-tap-jsonl'), '--profile', 'singer', ...(await singerShimArgv(TAP))], { cwd: ROOT });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/PASS case default/);
  });
});
