// meltanolabs-tap-postgres (a real Singer SDK SQL tap, from PyPI) through the Singer-tap shim
// and the CLI (`--protocol singer`), against the PostgreSQL of scripts/postgres.sh (started and
// seeded by singer-global-setup.ts; schema shop, see scripts/pg-seed.sql): spec, check,
// discover, an incremental read into --out, reads that resume from the saved state, and the
// golden suite fixtures/suites/singer-tap-postgres.

import { describe, it, expect, beforeAll } from 'vitest';
import { join } from 'node:path';
import { host, tmp, writeJson, jsonLines, lines, readJson, ROOT } from '../helpers.js';
import { cli, pypi, singerShimArgv, PG, pgSql } from './helpers.js';

const TAP = pypi('tap_postgres');
const SUITE = join(ROOT, 'fixtures', 'suites', 'singer-tap-postgres');
const dir = tmp('ch-interop-tap-postgres-');
const config = writeJson(dir, 'config.json', { ...PG, filter_schemas: ['shop'] });
const singer = ['--protocol', 'singer'];
// the suite's configured catalog: both tables incremental on updated_at
const catalog = join(SUITE, 'default', 'catalog.json');

const ids = (file: string, key: string, from = 0) => jsonLines(file).slice(from).map((r) => r[key]);

describe(`${TAP} through the Singer-tap shim (CLI, --protocol singer)`, () => {
  beforeAll(() => void pgSql('seed'));

  it('spec: the settings of --about, password and sqlalchemy_url marked airbyte_secret', async () => {
    const r = await host(await cli('spec', TAP, singer));
    expect(r.exitCode, r.stderr).toBe(0);
    const props = JSON.parse(r.stdout).spec.connectionSpecification.properties;
    expect(Object.keys(props)).toEqual(expect.arrayContaining(['host', 'port', 'user', 'password', 'database', 'filter_schemas', 'sqlalchemy_url']));
    const secret = Object.keys(props).filter((k) => props[k].airbyte_secret === true).sort();
    // upstream marks only these: ssl_client_private_key, which may hold the key itself, is not
    expect(secret).toEqual(['password', 'sqlalchemy_url']);
  });

  it('check: a short sync that stops at the first record; a wrong password fails with the tap\'s reason and is not echoed', async () => {
    const r = await host(await cli('check', TAP, [...singer, '--config', config]));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).connectionStatus).toEqual({ status: 'SUCCEEDED', message: 'test sync: the tap sent a record (stream shop-customers); stopped there' });

    const bad = writeJson(dir, 'bad.json', { ...PG, password: 'wrong-Pa55word-x', filter_schemas: ['shop'] });
    const f = await host(await cli('check', TAP, [...singer, '--config', bad]));
    expect(f.exitCode).toBe(4);
    const status = JSON.parse(f.stdout).connectionStatus;
    expect(status.status).toBe('FAILED');
    expect(status.message).toMatch(/^discovery failed/);
    expect(status.message).toContain('password authentication failed for user "interop"');
    expect(f.stdout + f.stderr).not.toContain('wrong-Pa55word-x');
  });

  it('discover: streams <schema>-<table> in the namespace of schema-name, primary keys; incremental offered without a default cursor', async () => {
    const r = await host(await cli('discover', TAP, [...singer, '--config', config]));
    expect(r.exitCode, r.stderr).toBe(0);
    const streams = JSON.parse(r.stdout).catalog.streams;
    const plain = streams.map(({ json_schema: _s, singer_catalog_entry: _e, ...s }: any) => s);
    // SQL taps declare no valid-replication-keys (any column may be the user's replication key):
    // with the state capability the shim offers incremental without a default cursor, so the
    // default selection stays full refresh; an incremental catalog with a cursor_field works (below)
    expect(plain).toEqual([
      { name: 'shop-customers', namespace: 'shop', supported_sync_modes: ['full_refresh', 'incremental'], source_defined_cursor: false, source_defined_primary_key: [['id']] },
      { name: 'shop-orders', namespace: 'shop', supported_sync_modes: ['full_refresh', 'incremental'], source_defined_cursor: false, source_defined_primary_key: [['order_id']] },
    ]);
    expect(streams[0].json_schema.properties).toEqual({
      id: { type: ['integer'] },
      name: { type: ['string', 'null'] },
      email: { type: ['string', 'null'] },
      lifetime_cents: { type: ['integer', 'null'] },
      active: { type: ['boolean', 'null'] },
      updated_at: { format: 'date-time', type: ['string', 'null'] },
    });
    expect(streams[1].singer_catalog_entry).toMatchObject({ tap_stream_id: 'shop-orders', table_name: 'orders', key_properties: ['order_id'] });
  });

  it('reads incrementally into --out; later reads resume from the state (">=": rows at the bookmark come again)', async () => {
    const out = join(dir, 'out');
    const customers = join(out, 'shop', 'shop-customers.jsonl');
    const orders = join(out, 'shop', 'shop-orders.jsonl');
    const first = await host(await cli('read', TAP, [...singer, '--config', config, '--catalog', catalog, '--out', out]));
    expect(first.exitCode, first.stderr).toBe(0);
    expect(ids(customers, 'id')).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const rawC = lines(customers);
    expect(rawC[9]).toBe('{"id":10,"name":"Customer 10","email":"c10@example.com","lifetime_cents":9007199254741003,"active":true,"updated_at":"2024-01-01T10:00:00.000000+00:00"}');
    expect(rawC[6]).toContain('"email":null');
    const rawO = lines(orders);
    expect(rawO).toHaveLength(20);
    // bigint primary keys beyond 2^53 keep their digits; the SDK writes non-ASCII as \u escapes, kept as they are
    expect(rawO[0]).toBe('{"order_id":9007199254740993,"customer_id":8,"quantity":1,"note":"order 1","updated_at":"2024-02-02T00:00:00.000000+00:00"}');
    expect(rawO[4]).toContain('"note":"caf\\u00e9 \\u2615 #5"');
    expect(jsonLines(orders)[4]!['note']).toBe('café ☕ #5');
    const bookmarks = () => readJson(join(out, 'state.json')).states[0].data.bookmarks;
    expect(readJson(join(out, 'state.json')).kind).toBe('LEGACY');
    expect(bookmarks()).toEqual({
      'shop-customers': { replication_key: 'updated_at', replication_key_value: '2024-01-02T06:00:00.000000+00:00' },
      'shop-orders': { replication_key: 'updated_at', replication_key_value: '2024-02-20T00:00:00.000000+00:00' },
    });

    // a new customer, an updated one, a new order
    pgSql(
      "INSERT INTO shop.customers VALUES (31, 'Customer 31', NULL, 9007199254740999, true, '2024-01-03 00:00:00+00');" +
        "UPDATE shop.customers SET name = 'Customer 2 renamed', updated_at = '2024-01-03 00:00:00+00' WHERE id = 2;" +
        "INSERT INTO shop.orders VALUES (9007199254741013, 31, 21, 'order 21', '2024-03-01 00:00:00+00');",
    );
    const second = await host(await cli('read', TAP, [...singer, '--config', config, '--catalog', catalog, '--out', out]));
    expect(second.exitCode, second.stderr).toBe(0);
    // the tap selects updated_at >= the bookmark, ordered by updated_at: customer 30 (at the
    // bookmark) comes again, then 31 and 2 (same updated_at, in the order PostgreSQL returns them)
    const c2 = ids(customers, 'id', 30);
    expect(c2[0]).toBe(30);
    expect(c2.slice(1).sort()).toEqual([2, 31]);
    expect(jsonLines(customers).slice(30).find((r) => r['id'] === 2)).toMatchObject({ name: 'Customer 2 renamed' });
    expect(lines(customers).slice(30).find((l) => l.startsWith('{"id":31,'))).toContain('"lifetime_cents":9007199254740999');
    // orders 19 and 20 share the bookmark's updated_at: both come again, then the new one
    const o2 = lines(orders).slice(20).map((l) => /"order_id":(\d+)/.exec(l)![1]);
    expect(o2.slice(0, 2).sort()).toEqual(['9007199254741011', '9007199254741012']);
    expect(o2[2]).toBe('9007199254741013');
    expect(o2).toHaveLength(3);
    expect(bookmarks()).toEqual({
      'shop-customers': { replication_key: 'updated_at', replication_key_value: '2024-01-03T00:00:00.000000+00:00' },
      'shop-orders': { replication_key: 'updated_at', replication_key_value: '2024-03-01T00:00:00.000000+00:00' },
    });

    // nothing changed: only the rows at the bookmarks come again
    const third = await host(await cli('read', TAP, [...singer, '--config', config, '--catalog', catalog, '--out', out]));
    expect(third.exitCode, third.stderr).toBe(0);
    expect(ids(customers, 'id', 33).sort()).toEqual([2, 31]);
    expect(lines(orders).slice(23).map((l) => /"order_id":(\d+)/.exec(l)![1])).toEqual(['9007199254741013']);
  });

  it('the golden suite fixtures/suites/singer-tap-postgres passes with host test --profile singer', async () => {
    pgSql('seed');
    const r = await host(['test', '--suite', SUITE, '--profile', 'singer', ...(await singerShimArgv(TAP))]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/PASS case default/);
  });
});
