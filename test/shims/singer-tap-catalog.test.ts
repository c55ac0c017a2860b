// The Singer-tap shim's catalog translation: stream names two selected streams share, SQL taps
// without valid-replication-keys, and the capabilities discover hands on to read.
import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { host, tmp, writeJson, jsonLines, readJson, lines } from '../helpers.js';
import { hostSinger, runShim, singerTap } from './singer-tap-helpers.js';

const stored = (out: string) => readJson(join(out, 'state.json')).states[0].data;

describe('Singer-tap shim: a stream name two selected streams share', () => {
  it('both selected: a RECORD sent under the shared name is a clear error naming it and both streams', async () => {
    const d = tmp();
    const out = join(d, 'out');
    const r = await hostSinger('read', 'tap-two-schemas', ['--config', writeJson(d, 'c.json', {}), '--out', out]);
    expect(r.exitCode).toBe(2); // a config_error: the selection is the user's to fix
    expect(r.stderr).toMatch(/RECORD for stream "users", a name that 2 selected streams share \(a-users, b-users\)/);
    expect(lines(join(out, 'a-users.jsonl'))).toEqual([]);
    expect(lines(join(out, 'b-users.jsonl'))).toEqual([]);
  });

  it('only one selected: its records go to it', async () => {
    const d = tmp();
    const out = join(d, 'out');
    const r = await hostSinger('read', 'tap-two-schemas', ['--config', writeJson(d, 'c.json', {}), '--streams', 'b-users', '--out', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(jsonLines(join(out, 'b-users.jsonl'))).toEqual([{ id: 1, src: 'b' }, { id: 2, src: 'b' }]);
    expect(stored(out)).toEqual({ done: true });
  });
});

describe('Singer-tap shim: a SQL tap without valid-replication-keys', () => {
  const discover = async (knobs: string[] = []) => {
    const d = tmp();
    const r = await runShim('tap-sql', knobs, ['discover', '--config', writeJson(d, 'c.json', {})]);
    expect(r.exitCode, r.stderr).toBe(0);
    return r.messages.find((m) => m.type === 'CATALOG').catalog.streams.map(({ json_schema: _s, singer_catalog_entry: _e, ...s }: any) => s);
  };

  it('discover: with the state capability, incremental without a default cursor; a stream forced to FULL_TABLE stays full refresh', async () => {
    expect(await discover()).toEqual([
      { name: 'items', namespace: 'public', supported_sync_modes: ['full_refresh', 'incremental'], source_defined_cursor: false, source_defined_primary_key: [['id']] },
      { name: 'audit', namespace: 'public', supported_sync_modes: ['full_refresh'], source_defined_primary_key: [['id']] },
    ]);
    // a tap without `state` cannot resume: full refresh only
    expect((await discover(['--no-state'])).map((s: any) => s.supported_sync_modes)).toEqual([['full_refresh'], ['full_refresh']]);
  });

  it('read: full refresh by default; incremental on the cursor the configured catalog names, resuming from the state', async () => {
    const d = tmp();
    const cfg = writeJson(d, 'c.json', {});
    const plain = join(d, 'plain');
    const r = await hostSinger('read', 'tap-sql', ['--config', cfg, '--streams', 'items', '--out', plain]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(stored(plain)).toEqual({ bookmarks: { items: { replication_method: 'FULL_TABLE' } } });

    const [items] = (await runShim('tap-sql', [], ['discover', '--config', cfg])).messages.find((m) => m.type === 'CATALOG').catalog.streams;
    const catalog = writeJson(d, 'cat.json', { streams: [{ stream: items, sync_mode: 'incremental', destination_sync_mode: 'append', cursor_field: ['updated'] }] });
    const out = join(d, 'out');
    for (let run = 0; run < 2; run++) {
      const inc = await hostSinger('read', 'tap-sql', ['--config', cfg, '--catalog', catalog, '--out', out]);
      expect(inc.exitCode, inc.stderr).toBe(0);
      expect(jsonLines(join(out, 'public', 'items.jsonl'))).toEqual([{ id: 1, updated: 10 }, { id: 2, updated: 20 }, { id: 3, updated: 30 }]);
      expect(stored(out)).toEqual({ bookmarks: { items: { replication_method: 'INCREMENTAL', replication_key: 'updated', replication_key_value: 30 } } });
    }
  });
});

describe('Singer-tap shim: the capabilities travel from discover to read', () => {
  it('host read starts the tap for --about twice (spec, discover), not three times; a catalog without them still works', async () => {
    const d = tmp();
    const log = join(d, 'calls.log');
    const env = { NO_COLOR: '1', SINGER_TAP_CALL_LOG: log };
    const cfg = writeJson(d, 'c.json', {});
    const r = await host(['read', '--config', cfg, '--streams', 'items', '--out', join(d, 'out'), '--protocol', 'singer', '--', process.execPath, singerTap('tap-sql')], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(lines(log).sort()).toEqual(['about', 'about', 'discover', 'sync']);

    // a configured catalog from elsewhere, without the capabilities: read asks --about
    const [items] = (await runShim('tap-sql', [], ['discover', '--config', cfg])).messages.find((m) => m.type === 'CATALOG').catalog.streams;
    expect(items.singer_catalog_entry['x-tap-capabilities']).toEqual(['catalog', 'discover', 'state', 'about']);
    delete items.singer_catalog_entry['x-tap-capabilities'];
    const catalog = writeJson(d, 'cat.json', { streams: [{ stream: items, sync_mode: 'full_refresh', destination_sync_mode: 'overwrite' }] });
    const r2 = await runShim('tap-sql', [], ['read', '--config', cfg, '--catalog', catalog]);
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(r2.messages.filter((m) => m.type === 'RECORD')).toHaveLength(3);
  });
});
