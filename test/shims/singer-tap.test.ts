import { describe, it, expect } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { host, tmp, writeJson, jsonLines, lines, readJson, FIX } from '../helpers.js';
import { SHIM } from './singer-tap-helpers.js';

const GOOD = join(FIX, 'singer', 'tap-good.mjs');
const LEGACY = join(FIX, 'singer', 'tap-legacy.mjs');
const shim = (tap: string) => ['--', process.execPath, SHIM, '--tap-json', JSON.stringify({ command: process.execPath, args: [tap] })];
const last = (s: string) => JSON.parse(s.trim().split('\n').pop()!);

describe('singer-tap shim', () => {
  it('spec: settings become the connectionSpecification, secrets marked', async () => {
    const r = await host(['spec', ...shim(GOOD)]);
    expect(r.exitCode).toBe(0);
    const p = last(r.stdout).spec.connectionSpecification.properties;
    expect(p.api_key.airbyte_secret).toBe(true);
    expect(p.password.airbyte_secret).toBe(true);
    expect(p.event_count.airbyte_secret).toBeUndefined();
  });

  it('discover: pk, cursor, incremental, namespace; the Singer entry kept', async () => {
    const d = tmp();
    const cfg = writeJson(d, 'c.json', { api_key: 'k' });
    const r = await host(['discover', '--config', cfg, ...shim(GOOD)]);
    expect(r.exitCode).toBe(0);
    const [users, events] = last(r.stdout).catalog.streams;
    expect(users).toMatchObject({ name: 'users', supported_sync_modes: ['full_refresh'], source_defined_primary_key: [['id']] });
    expect(users.default_cursor_field).toBeUndefined();
    expect(events).toMatchObject({ name: 'events', namespace: 'app', supported_sync_modes: ['full_refresh', 'incremental'], default_cursor_field: ['id'], source_defined_primary_key: [['id']] });
    expect(events.singer_catalog_entry.tap_stream_id).toBe('events');
  });

  it('check: a short sync, SUCCEEDED; FAILED carries the stderr', async () => {
    const d = tmp();
    const ok = await host(['check', '--config', writeJson(d, 'c.json', { api_key: 'k' }), ...shim(GOOD)]);
    expect(ok.exitCode).toBe(0);
    expect(last(ok.stdout).connectionStatus).toMatchObject({ status: 'SUCCEEDED' });
    expect(last(ok.stdout).connectionStatus.message).toMatch(/test sync/);
    const bad = await host(['check', '--config', writeJson(d, 'f.json', { api_key: 'k', fail: true }), ...shim(GOOD)]);
    expect(bad.exitCode).toBe(4);
    expect(last(bad.stdout).connectionStatus.message).toMatch(/authentication failed/);
  });

  it('read with selection, then resume from the stored Singer state', async () => {
    const d = tmp();
    const log = join(d, 'state.log');
    const cfgFile = writeJson(d, 'c.json', { api_key: 'k', event_count: 3, state_log: log });
    const disc = last((await host(['discover', '--config', cfgFile, ...shim(GOOD)])).stdout).catalog.streams;
    const users = disc[0];
    const events = disc[1];
    // users without secret_note; events incremental on id
    const catalog = writeJson(d, 'cat.json', {
      streams: [
        { stream: { ...users, json_schema: { type: 'object', properties: { id: {}, name: {} } } }, sync_mode: 'full_refresh', destination_sync_mode: 'overwrite' },
        { stream: events, sync_mode: 'incremental', destination_sync_mode: 'append', cursor_field: ['id'] },
      ],
    });
    const out = join(d, 'out');
    const r1 = await host(['read', '--config', cfgFile, '--catalog', catalog, '--out', out, ...shim(GOOD)]);
    expect(r1.exitCode, r1.stderr).toBe(0);
    expect(jsonLines(join(out, 'users.jsonl'))).toEqual([{ id: 1, name: 'ada' }, { id: 2, name: 'bob' }]);
    expect(lines(join(out, 'app', 'events.jsonl'))).toEqual(['{"id":1,"amount":9007199254740991}', '{"id":2,"amount":9007199254740992}', '{"id":3,"amount":9007199254740993}']);
    expect(readJson(join(out, 'state.json')).states[0].data).toEqual({ bookmarks: { events: { id: 3 } } });

    writeFileSync(cfgFile, JSON.stringify({ api_key: 'k', event_count: 5, state_log: log }));
    const r2 = await host(['read', '--config', cfgFile, '--catalog', catalog, '--out', out, ...shim(GOOD)]);
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(lines(log)).toEqual(['<none>', '{"bookmarks":{"events":{"id":3}}}']);
    expect(lines(join(out, 'app', 'events.jsonl'))).toHaveLength(5);
    expect(readJson(join(out, 'state.json')).states[0].data).toEqual({ bookmarks: { events: { id: 5 } } });
  });

  it('only the selected stream is read (the host selects with --streams)', async () => {
    const d = tmp();
    const out = join(d, 'out');
    const r = await host(['read', '--config', writeJson(d, 'c.json', { api_key: 'k' }), '--streams', 'users', '--out', out, ...shim(GOOD)]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(lines(join(out, 'users.jsonl'))).toHaveLength(2);
    expect(lines(join(out, 'app', 'events.jsonl'))).toEqual([]);
  });

  it('legacy tap: no --about (permissive spec), --properties, lower-case types, record before schema', async () => {
    const d = tmp();
    const spec = await host(['spec', ...shim(LEGACY)]);
    expect(spec.exitCode).toBe(0);
    expect(last(spec.stdout).spec.connectionSpecification.type).toBe('object');
    const out = join(d, 'out');
    const r = await host(['read', '--config', writeJson(d, 'c.json', {}), '--out', out, ...shim(LEGACY)]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(lines(join(out, 'things.jsonl'))).toEqual(['{"k":"a","v":1.50}', '{"k":"b","v":2}']);
    expect(readFileSync(join(out, 'state.json'), 'utf8')).toContain('"done"');
  });

  it('a tap that ignores --catalog: TRACE ERROR suggesting --properties', async () => {
    const d = tmp();
    const shimCat = ['--', process.execPath, SHIM, '--tap-json', JSON.stringify({ command: process.execPath, args: [LEGACY], capabilities: ['catalog'] })];
    const r = await host(['read', '--config', writeJson(d, 'c.json', {}), ...shimCat]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/--properties/);
  });

  it('a tap exiting non-zero: the shim fails with a TRACE ERROR carrying its stderr', async () => {
    const d = tmp();
    const r = await host(['read', '--config', writeJson(d, 'c.json', { api_key: 'k', fail: true }), '--streams', 'users', ...shim(GOOD)]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/authentication failed/);
  });
});

describe('--protocol singer', () => {
  it('runs any tap reference through the shim: the same records and the Singer state as the explicit shim', async () => {
    const d = tmp();
    const cfg = writeJson(d, 'c.json', { api_key: 'k' });
    const viaFlag = await host(['read', '--config', cfg, '--out', join(d, 'a'), '--protocol', 'singer', '--', process.execPath, GOOD]);
    const viaShim = await host(['read', '--config', cfg, '--out', join(d, 'b'), ...shim(GOOD)]);
    expect(viaFlag.exitCode).toBe(0);
    expect(viaShim.exitCode).toBe(0);
    expect(lines(join(d, 'a', 'users.jsonl'))).toEqual(lines(join(d, 'b', 'users.jsonl')));
    expect(lines(join(d, 'a', 'app', 'events.jsonl'))).toEqual(lines(join(d, 'b', 'app', 'events.jsonl')));
    expect(readJson(join(d, 'a', 'state.json')).states).toEqual(readJson(join(d, 'b', 'state.json')).states);
    expect(readJson(join(d, 'a', 'state.json')).kind).toBe('LEGACY');
  });
});

describe('Singer-tap shim: BATCH and failures', () => {
  it('BATCH file:// JSONL files (gzip or not) are streamed as records, bytes kept; another URL scheme is a clear error', async () => {
    const d = tmp();
    const tap = join(FIX, 'singer', 'tap-batch.mjs');
    const r = await host(['read', '--config', writeJson(d, 'c.json', { batch_dir: d, rows: 3 }), '--out', join(d, 'out'), '--protocol', 'singer', '--', process.execPath, tap]);
    expect(r.exitCode).toBe(0);
    expect(lines(join(d, 'out', 'rows.jsonl'))).toEqual([1, 2, 3, 4, 5, 6].map((id) => `{"id":${id},"big":9007199254740993}`));
    expect(readJson(join(d, 'out', 'state.json')).states[0].data).toEqual({ bookmarks: { rows: { id: 6 } } });
    const bad = await host(['read', '--config', writeJson(d, 'b.json', { batch_dir: d, bad_url: true }), '--out', join(d, 'out2'), '--protocol', 'singer', '--', process.execPath, tap]);
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toContain('only file:// URLs are supported');
  });

  it('a tap that fails mid-sync: the run fails with its stderr, the state before the failure is kept, and the next run resumes from it', async () => {
    const d = tmp();
    const tap = join(FIX, 'singer', 'tap-fail-midway.mjs');
    const run = () => host(['read', '--config', writeJson(d, 'c.json', {}), '--out', join(d, 'out'), '--protocol', 'singer', '--', process.execPath, tap]);
    const first = await run();
    expect(first.exitCode).toBe(3);
    expect(first.stderr).toContain('connection reset by peer');
    expect(first.stderr).toMatch(/2 records after the last committed state dropped/);
    expect(jsonLines(join(d, 'out', 'items.jsonl')).map((x) => x['id'])).toEqual([1, 2, 3, 4, 5]);
    expect(readJson(join(d, 'out', 'state.json')).states[0].data).toEqual({ bookmarks: { items: { id: 5 } } });
    const second = await run();
    expect(second.exitCode).toBe(3);
    expect(jsonLines(join(d, 'out', 'items.jsonl')).map((x) => x['id'])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(readJson(join(d, 'out', 'state.json')).states[0].data).toEqual({ bookmarks: { items: { id: 10 } } });
  });
});
