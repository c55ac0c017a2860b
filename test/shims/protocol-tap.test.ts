import { describe, it, expect } from 'vitest';
import { execa } from 'execa';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmp, writeJson, jsonLines, logLines, bad, FIX, ROOT, EXAMPLE } from '../helpers.js';

const TAP = join(ROOT, 'shims', 'protocol-tap.mjs');
const TARGET = join(FIX, 'reverse', 'target-collect.mjs');
const NAMESPACED = join(FIX, 'reverse', 'namespaced.mjs');
const STATE_KINDS = bad('state-kinds');

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Run the reverse shim; never throws on a non-zero exit. */
async function tap(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const r = await execa(process.execPath, [TAP, ...args], { reject: false, stdin: 'ignore', env: { NO_COLOR: '1', CONNECTOR_HOST_LOG_FORMAT: 'json', ...env } }); // logs read as data
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

const messages = (stdout: string): any[] => stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
const rootMeta = (entry: any) => entry.metadata.find((m: any) => m.breadcrumb.length === 0).metadata;
const fieldMeta = (entry: any, f: string) => entry.metadata.find((m: any) => m.breadcrumb[1] === f)?.metadata;
const lastState = (msgs: any[]) => msgs.filter((m) => m.type === 'STATE').at(-1)?.value;
const receivedState = (stderr: string) => logLines(stderr).find((l) => l.startsWith('received-state='))!.slice('received-state='.length);

/** Discover through the shim, then edit the Singer catalog as a user (or Meltano) would. */
async function singerCatalog(dir: string, config: string, source: string[], edit: (streams: any[]) => void): Promise<string> {
  const r = await tap(['--config', config, '--discover', ...source]);
  expect(r.exitCode, r.stderr).toBe(0);
  const cat = JSON.parse(r.stdout);
  edit(cat.streams);
  return writeJson(dir, 'catalog.json', cat);
}

/** Select `events` only, incremental, without its `amount` field (and `id` deselected in vain). */
function eventsWithoutAmount(streams: any[]): void {
  for (const s of streams) rootMeta(s).selected = s.stream === 'events';
  const events = streams.find((s) => s.stream === 'events');
  rootMeta(events)['replication-method'] = 'INCREMENTAL';
  fieldMeta(events, 'amount').selected = false;
  fieldMeta(events, 'id').selected = false; // the key stays: automatic
}

describe('protocol-tap (a protocol source as a Singer tap)', () => {
  it('--about --format json: capabilities, and the spec as settings with secrets marked', async () => {
    const r = await tap(['--about', '--format', 'json', '--source', EXAMPLE.node]);
    expect(r.exitCode, r.stderr).toBe(0);
    const about = JSON.parse(r.stdout);
    expect(about.capabilities).toEqual(['catalog', 'discover', 'state', 'about']);
    expect(about.name).toBe('source');
    expect(about.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(about.settings.required).toEqual(['api_key']);
    expect(about.settings.properties.api_key).toMatchObject({ type: 'string', airbyte_secret: true, secret: true, writeOnly: true });
    expect(about.settings.properties.event_count.secret).toBeUndefined();

    // a nested secret; the source named after --
    const n = await tap(['--about', '--format', 'json', '--', process.execPath, NAMESPACED]);
    expect(n.exitCode, n.stderr).toBe(0);
    const settings = JSON.parse(n.stdout).settings;
    expect(settings.properties.auth.properties.token).toMatchObject({ secret: true, writeOnly: true });
    expect(settings.properties.count.writeOnly).toBeUndefined();

    const md = await tap(['--about', '--format', 'markdown', '--source', NAMESPACED]);
    expect(md.stdout).toMatch(/^# `namespaced`/);
    expect(md.stdout).toContain('* `catalog`');
    expect(md.stdout).toContain('| count | False | 3 | orders per run |');
    const text = await tap(['--about', '--source', NAMESPACED]);
    expect(text.stdout).toContain('Capabilities: [catalog, discover, state, about]');
  });

  it('--discover: one indented JSON document with Singer metadata', async () => {
    const d = tmp();
    const cfg = writeJson(d, 'c.json', { api_key: 'k' });
    const r = await tap(['--config', cfg, '--discover', '--source', EXAMPLE.node]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.split('\n').length).toBeGreaterThan(20);
    const [users, events] = JSON.parse(r.stdout).streams;
    expect(users).toMatchObject({ tap_stream_id: 'users', stream: 'users', schema: { type: 'object' } });
    expect(rootMeta(users)).toEqual({ inclusion: 'available', 'selected-by-default': true, 'table-key-properties': ['id'], 'forced-replication-method': 'FULL_TABLE' });
    expect(rootMeta(events)).toEqual({ inclusion: 'available', 'selected-by-default': true, 'table-key-properties': ['id'], 'valid-replication-keys': ['id'] });
    expect(fieldMeta(events, 'id').inclusion).toBe('automatic');
    expect(fieldMeta(events, 'kind').inclusion).toBe('available');
    expect(events.metadata.filter((m: any) => m.breadcrumb.length === 2).map((m: any) => m.breadcrumb[1])).toEqual(['id', 'kind', 'at', 'amount']);

    // a namespace: namespace-name as the stream id, the namespace as schema-name
    const n = await tap(['--config', writeJson(d, 'n.json', {}), '--discover', '--source', NAMESPACED]);
    const [orders, audit] = JSON.parse(n.stdout).streams;
    expect(orders).toMatchObject({ tap_stream_id: 'shop-orders', stream: 'orders' });
    expect(rootMeta(orders)['schema-name']).toBe('shop');
    expect(rootMeta(audit)).toMatchObject({ 'schema-name': 'shop', 'forced-replication-method': 'FULL_TABLE', 'table-key-properties': ['seq'] });
  });

  it('sync: only the selected stream, the deselected field gone, SCHEMA first, a final STATE; then resumes from it', async () => {
    const d = tmp();
    const cfg = writeJson(d, 'c.json', { api_key: 'k', event_count: 12 });
    const catalog = await singerCatalog(d, cfg, ['--source', EXAMPLE.node], eventsWithoutAmount);
    const r1 = await tap(['--config', cfg, '--catalog', catalog, '--source', EXAMPLE.node]);
    expect(r1.exitCode, r1.stderr).toBe(0);
    const m1 = messages(r1.stdout);
    expect(m1[0]).toMatchObject({ type: 'SCHEMA', stream: 'events', key_properties: ['id'], bookmark_properties: ['id'] });
    expect(Object.keys(m1[0].schema.properties)).toEqual(['id', 'kind', 'at']);
    expect(new Set(m1.map((m) => m.stream).filter(Boolean))).toEqual(new Set(['events']));
    const records = m1.filter((m) => m.type === 'RECORD').map((m) => m.record);
    expect(records.map((x) => x.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(records.every((x) => !('amount' in x) && x.kind !== undefined)).toBe(true);
    expect(m1.at(-1)).toEqual({ type: 'STATE', value: { events: { cursor: 12 } } });

    // the last STATE value as --state; a second config file (deep merge, later wins) adds events
    const state = writeJson(d, 'state.json', lastState(m1));
    const more = writeJson(d, 'more.json', { event_count: 15 });
    const r2 = await tap(['--config', cfg, '--config', more, '--catalog', catalog, '--state', state, '--source', EXAMPLE.node]);
    expect(r2.exitCode, r2.stderr).toBe(0);
    const m2 = messages(r2.stdout);
    expect(m2.filter((m) => m.type === 'RECORD').map((m) => m.record.id)).toEqual([13, 14, 15]);
    expect(m2.at(-1)).toEqual({ type: 'STATE', value: { events: { cursor: 15 } } });
    expect(logLines(r2.stderr)).toContain('resuming from --state: STREAM state for events');
  });

  it("Meltano's {\"singer_state\": ...} and a wrapped STATE message, with --properties; the state of other streams is kept", async () => {
    const d = tmp();
    const cfg = writeJson(d, 'c.json', { api_key: 'k', event_count: 8 });
    const props = await singerCatalog(d, cfg, ['--source', EXAMPLE.node], eventsWithoutAmount);
    const meltano = writeJson(d, 'meltano.json', { singer_state: { events: { cursor: 6 }, users: { seen: true } } });
    const r1 = await tap(['--config', cfg, '--properties', props, '--state', meltano, '--source', EXAMPLE.node]);
    expect(r1.exitCode, r1.stderr).toBe(0);
    const m1 = messages(r1.stdout);
    expect(m1.filter((m) => m.type === 'RECORD').map((m) => m.record.id)).toEqual([7, 8]);
    // cumulative: the unselected stream's state travels on
    expect(lastState(m1)).toEqual({ events: { cursor: 8 }, users: { seen: true } });

    const wrapped = writeJson(d, 'wrapped.json', { type: 'STATE', value: { events: { cursor: 7 } } });
    const r2 = await tap(['--config', cfg, '--catalog', props, '--state', wrapped, '--source', EXAMPLE.node]);
    expect(messages(r2.stdout).filter((m) => m.type === 'RECORD').map((m) => m.record.id)).toEqual([8]);

    // an empty state file (a first Meltano run) is no state
    writeFileSync(join(d, 'empty.json'), '');
    const r3 = await tap(['--config', cfg, '--catalog', props, '--state', join(d, 'empty.json'), '--source', EXAMPLE.node]);
    expect(r3.exitCode, r3.stderr).toBe(0);
    expect(messages(r3.stdout).filter((m) => m.type === 'RECORD')).toHaveLength(8);
  });

  it('state kinds: a namespaced stream and GLOBAL state go back as they came; a foreign blob is LEGACY', async () => {
    const d = tmp();
    const cfg = writeJson(d, 'c.json', {});
    // namespaced: the stream id shop-orders maps back to (shop, orders)
    const r1 = await tap(['--config', cfg, '--source', NAMESPACED]);
    expect(r1.exitCode, r1.stderr).toBe(0);
    const m1 = messages(r1.stdout);
    expect(m1.filter((m) => m.type === 'SCHEMA').map((m) => m.stream)).toEqual(['shop-orders', 'shop-audit']);
    expect(lastState(m1)).toEqual({ 'shop-orders': { cursor: 3 } });
    const r2 = await tap(['--config', cfg, '--state', writeJson(d, 's1.json', lastState(m1)), '--source', NAMESPACED]);
    expect(JSON.parse(receivedState(r2.stderr))).toEqual([{ type: 'STREAM', stream: { stream_descriptor: { name: 'orders', namespace: 'shop' }, stream_state: { cursor: 3 } } }]);
    expect(messages(r2.stdout).filter((m) => m.stream === 'shop-orders' && m.type === 'RECORD').map((m) => m.record.id)).toEqual([4, 5, 6]);

    // GLOBAL: __shared_state and the per-stream states
    const g1 = await tap(['--config', cfg, '--', process.execPath, STATE_KINDS, '--kind', 'global']);
    expect(g1.exitCode, g1.stderr).toBe(0);
    const gv = lastState(messages(g1.stdout));
    expect(Object.keys(gv).sort()).toEqual(['__shared_state', 'a', 'b']);
    const g2 = await tap(['--config', cfg, '--state', writeJson(d, 'g.json', gv), '--', process.execPath, STATE_KINDS, '--kind', 'global']);
    expect(g2.exitCode, g2.stderr).toBe(0);
    const got = JSON.parse(receivedState(g2.stderr));
    expect(got).toEqual([{ type: 'GLOBAL', global: { shared_state: gv.__shared_state, stream_states: [{ stream_descriptor: { name: 'a' }, stream_state: gv.a }, { stream_descriptor: { name: 'b' }, stream_state: gv.b }] } }]);
    expect(messages(g2.stdout).filter((m) => m.type === 'RECORD' && m.stream === 'a').map((m) => m.record.id)).toEqual([4, 5, 6]);

    // not ours (no key is a stream id): handed to the source unchanged, as LEGACY state
    const blob = { bookmarks: { a: { cursor: 9 } } };
    const l = await tap(['--config', cfg, '--state', writeJson(d, 'l.json', blob), '--', process.execPath, STATE_KINDS]);
    expect(JSON.parse(receivedState(l.stderr))).toEqual(blob);
  });

  it('without --catalog, or with a catalog that selects nothing explicitly: every stream', async () => {
    const d = tmp();
    const cfg = writeJson(d, 'c.json', { api_key: 'k', event_count: 2 });
    const r = await tap(['--config', cfg], { CONNECTOR_HOST_SOURCE: EXAMPLE.node });
    expect(r.exitCode, r.stderr).toBe(0);
    const m = messages(r.stdout);
    expect(m.filter((x) => x.type === 'SCHEMA').map((x) => x.stream)).toEqual(['users', 'events']);
    expect(m.filter((x) => x.type === 'RECORD')).toHaveLength(5);

    const plain = await singerCatalog(d, cfg, ['--source', EXAMPLE.node], () => {});
    const r2 = await tap(['--config', cfg, '--catalog', plain, '--source', EXAMPLE.node]);
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(messages(r2.stdout).filter((x) => x.type === 'RECORD')).toHaveLength(5);
    expect(logLines(r2.stderr).some((l) => /no stream in the catalog .* has "selected" metadata: reading every stream \(2\)/.test(l))).toBe(true);

    // the old string form of `selected`, and `selected` inside the schema
    const old = await singerCatalog(d, cfg, ['--source', EXAMPLE.node], (streams) => {
      rootMeta(streams[0]).selected = 'true';
      streams[1].schema.selected = false;
    });
    const r3 = await tap(['--config', cfg, '--properties', old, '--source', EXAMPLE.node]);
    expect(messages(r3.stdout).filter((x) => x.type === 'RECORD').map((x) => x.stream)).toEqual(['users', 'users', 'users']);
  });

  it('a real pipe into a Singer target: the records land, the target keeps the last STATE', async () => {
    const d = tmp();
    const cfg = writeJson(d, 'c.json', { api_key: 'k', event_count: 7, state_every: 3 });
    const records = join(d, 'records.jsonl');
    const target = await execa(process.execPath, [TAP, '--config', cfg, '--source', EXAMPLE.node], { stdin: 'ignore', reject: false }).pipe(process.execPath, [TARGET, records], { reject: false });
    expect(target.exitCode, String(target.stderr)).toBe(0);
    const got = jsonLines(records);
    expect(got.filter((x) => x['stream'] === 'users')).toHaveLength(3);
    expect(got.filter((x) => x['stream'] === 'events').map((x) => (x['record'] as { id: number }).id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(JSON.parse(String(target.stdout))).toEqual({ events: { cursor: 7 } });
  });

  it('a failing source: non-zero exit, one error line on stderr, no stack trace; stdout stays Singer', async () => {
    const d = tmp();
    const r = await tap(['--config', writeJson(d, 'c.json', {}), '--', process.execPath, bad('exit-after'), '--fail-after', '3']);
    expect(r.exitCode).toBe(3);
    const last = r.stderr.trim().split('\n').at(-1)!;
    expect(last).toMatch(/^protocol-tap: the connector exited with code 1; its last stderr lines: exit-after: boom after 3 records$/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(messages(r.stdout).every((m) => ['SCHEMA', 'RECORD', 'STATE'].includes(m.type))).toBe(true);

    // a config the spec refuses
    const c = await tap(['--config', writeJson(d, 'bad.json', { event_count: 3 }), '--discover', '--source', EXAMPLE.node]);
    expect(c.exitCode).toBe(2);
    expect(c.stderr.trim().split('\n').at(-1)).toMatch(/^protocol-tap: the config .* does not match the connector's spec: .*api_key/);
    expect(c.stdout).toBe('');
  });

  it('secrets never reach stdout or stderr', async () => {
    const d = tmp();
    const leaky = await tap(['--config', writeJson(d, 'l.json', { user: 'u', password: 'pw-PLANTED-4711', credentials: { token: 'tok-PLANTED-0815' } }), '--', process.execPath, bad('leaky')]);
    expect(leaky.exitCode).toBe(3);
    expect(leaky.stderr).toContain('**********');
    for (const out of [leaky.stdout, leaky.stderr]) {
      expect(out).not.toContain('pw-PLANTED-4711');
      expect(out).not.toContain('tok-PLANTED-0815');
    }
    const cfg = writeJson(d, 'c.json', { api_key: 'key-PLANTED-2024', event_count: 1 });
    for (const args of [['--discover'], []]) {
      const r = await tap(['--config', cfg, ...args, '--log-level', 'debug', '--source', EXAMPLE.node]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout + r.stderr).not.toContain('key-PLANTED-2024');
    }
  });

  it('usage: help, and clear errors for a missing source or --config', async () => {
    const h = await tap(['--help']);
    expect(h.exitCode).toBe(0);
    expect(h.stdout).toContain('--catalog FILE');
    const cases: [string[], RegExp][] = [
      [['--config', 'c.json'], /no protocol source: name it with --source REF/],
      [['--discover', '--source', EXAMPLE.node], /--discover needs --config FILE/],
      [['--source', EXAMPLE.node], /a sync needs --config FILE/],
      [['--config', 'c.json', '--catalog', 'a', '--properties', 'b', '--source', EXAMPLE.node], /give --catalog or --properties, not both/],
      [['--config', 'c.json', '--test', '--source', EXAMPLE.node], /unknown option --test/],
      [['--about', '--format', 'yaml', '--source', EXAMPLE.node], /--format must be json or markdown/],
      [['--config'], /--config needs a value/],
    ];
    for (const [args, re] of cases) {
      const r = await tap(args);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(re);
      expect(r.stdout).toBe('');
    }
    const missing = await tap(['--config', join(tmp(), 'nope.json'), '--discover', '--source', EXAMPLE.node]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/^protocol-tap: .*nope\.json/m);
  });
});
