// The Python kit's source shapes through the real CLI (issue 12): @resource/@source, the
// paginated classes, a package folder with several sources, and the golden suites with `host
// test`. Fixtures: fixtures/connectors/kit-python (see its README).

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { host, tmp, FIX, ROOT, writeJson, jsonLines, readJson, streamState, logLines } from '../helpers.js';

const K = join(FIX, 'kit-python');
const at = (name: string) => join(K, name);
const T = { timeout: 60_000 };

type Msg = { type: string; record?: { stream: string; data: Record<string, any> }; state?: any };
const msgs = (stdout: string) =>
  stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Msg);
const recs = (stdout: string, stream?: string) =>
  msgs(stdout)
    .filter((m) => m.type === 'RECORD' && (!stream || m.record!.stream === stream))
    .map((m) => m.record!.data);

describe('@resource / @source', () => {
  it('host read ./static_source.py:static_source (relative, from its folder): both resources, integers beyond 2^53 exact', T, async () => {
    const d = tmp();
    const config = writeJson(d, 'config.json', { event_count: 3 });
    const r = await host(['read', '--config', config, '--progress', 'off', './static_source.py:static_source'], { cwd: K });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(recs(r.stdout, 'users').map((u) => u['id'])).toEqual([1, 2, 3]);
    expect(recs(r.stdout, 'events')).toEqual([
      { id: 1, kind: 'click' },
      { id: 2, kind: 'view' },
      { id: 3, kind: 'click' },
    ]);
    // the exact digits, as the connector wrote them (JSON.parse would round them)
    expect(r.stdout).toContain('"big":9007199254740993');
    expect(r.stdout).toContain('"big":12345678901234567890123');
    expect(r.stdout).toContain('"big":-9007199254740993');
    expect(r.stdout).toContain('Zoë Ångström');
  });

  it('the same file as a script (its __main__ block: `host read static_source.py`) gives the same records', T, async () => {
    const d = tmp();
    const config = writeJson(d, 'config.json', { event_count: 3 });
    const named = await host(['read', '--config', config, '--progress', 'off', at('static_source.py:static_source')]);
    const script = await host(['read', '--config', config, '--progress', 'off', at('static_source.py')]);
    expect(script.exitCode, script.stderr).toBe(0);
    const strip = (s: string) => s.replace(/"emitted_at":\d+/g, '');
    expect(strip(script.stdout)).toBe(strip(named.stdout));
    expect(recs(script.stdout)).toHaveLength(6);
  });

  it('discover: schemas inferred from the first records, said so; sync modes from cursor and write_disposition; a spec default reaches the config', T, async () => {
    const d = tmp();
    const config = writeJson(d, 'config.json', {});
    const r = await host(['discover', '--config', config, at('static_source.py:static_source')]);
    expect(r.exitCode, r.stderr).toBe(0);
    const cat = JSON.parse(r.stdout).catalog as { streams: any[] };
    const [users, events] = cat.streams;
    expect(users.name).toBe('users');
    expect(users.json_schema.description).toBe('inferred by connector_host from the first 3 records');
    expect(users.json_schema['x-connector-host-inferred']).toBe(true);
    expect(users.json_schema.properties).toEqual({ id: { type: 'integer' }, name: { type: 'string' }, big: { type: 'integer' } });
    expect(users.supported_sync_modes).toEqual(['full_refresh']);
    expect(users.source_defined_primary_key).toEqual([['id']]);
    // event_count has a default of 5 in the spec: 5 records sampled
    expect(events.json_schema.description).toBe('inferred by connector_host from the first 5 records');
    expect(events.supported_sync_modes).toEqual(['full_refresh', 'incremental']);
    expect(events.default_cursor_field).toEqual(['id']);
    expect(events.source_defined_cursor).toBe(true);
  });

  it('a declared schema is used as it is (no sampling)', T, async () => {
    const d = tmp();
    const r = await host(['discover', '--config', writeJson(d, 'c.json', {}), at('incremental.py:changes')]);
    expect(r.exitCode, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout).catalog.streams[0];
    expect(s.json_schema).toEqual({ type: 'object', properties: { id: { type: 'integer' }, updated_at: { type: 'string', format: 'date-time' } } });
  });

  it('multi-resource: `countries` (replace) is rewritten each run, `orders` (append, cursor id) grows by the new records only', T, async () => {
    const d = tmp();
    const out = join(d, 'out');
    const r1 = await host(['read', '--config', writeJson(d, 'c1.json', { orders: 4 }), '--out', out, '--progress', 'off', at('multi_resource.py:multi_resource')]);
    expect(r1.exitCode, r1.stderr).toBe(0);
    const r2 = await host(['read', '--config', writeJson(d, 'c2.json', { orders: 6 }), '--out', out, '--progress', 'off', at('multi_resource.py:multi_resource')]);
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(jsonLines(join(out, 'countries.jsonl')).map((c) => c['code'])).toEqual(['FR', 'JP', 'NZ']);
    expect(jsonLines(join(out, 'orders.jsonl')).map((o) => o['id'])).toEqual([1, 2, 3, 4, 5, 6]);
    const manifest = readJson(join(out, 'manifest.json'));
    const modes = Object.fromEntries(manifest.streams.map((s: any) => [s.name, `${s.sync_mode}/${s.destination_sync_mode}`]));
    expect(modes).toEqual({ countries: 'full_refresh/overwrite', orders: 'incremental/append' });
    expect(streamState(join(out, 'state.json'), 'orders')).toEqual({ id: 6 });
  });

  it('an incremental resource resumes from its state: the kit keeps the cursor max, the author\'s own keys are kept too', T, async () => {
    const d = tmp();
    const state = join(d, 'state.json');
    const r1 = await host(['read', '--config', writeJson(d, 'c1.json', { available: 5 }), '--state', state, '--progress', 'off', at('incremental.py:changes')]);
    expect(r1.exitCode, r1.stderr).toBe(0);
    expect(recs(r1.stdout).map((x) => x['id'])).toEqual([1, 2, 3, 4, 5]);
    expect(streamState(state, 'changes')).toEqual({ updated_at: '2024-01-05T00:00:00Z', runs: 1 });
    const r2 = await host(['read', '--config', writeJson(d, 'c2.json', { available: 8 }), '--state', state, '--progress', 'off', at('incremental.py:changes')]);
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(recs(r2.stdout).map((x) => x['id'])).toEqual([6, 7, 8]);
    expect(streamState(state, 'changes')).toEqual({ updated_at: '2024-01-08T00:00:00Z', runs: 2 });
    // nothing new: no records, the state stays
    const r3 = await host(['read', '--config', writeJson(d, 'c3.json', { available: 8 }), '--state', state, '--progress', 'off', at('incremental.py:changes')]);
    expect(recs(r3.stdout)).toEqual([]);
    expect(streamState(state, 'changes')).toEqual({ updated_at: '2024-01-08T00:00:00Z', runs: 3 });
  });
});

describe('an API source against a local HTTP server', () => {
  let server: Server;
  let base = '';
  const items = Array.from({ length: 8 }, (_, i) => ({ id: i + 1, name: `item ${i + 1}` }));
  const hits: string[] = [];
  let fail503 = new Set<number>();
  beforeAll(async () => {
    server = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      const page = Number(u.searchParams.get('page') ?? '1');
      hits.push(`${u.pathname}?page=${page}`);
      if (fail503.has(page)) {
        fail503.delete(page);
        res.writeHead(503, { 'content-type': 'text/plain' }).end('busy, try again');
        return;
      }
      if (u.pathname !== '/items') {
        res.writeHead(404).end();
        return;
      }
      const slice = items.slice((page - 1) * 3, page * 3);
      const next = page * 3 < items.length ? page + 1 : null;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ items: slice, next_page: next }));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

  it('reads every page, retries a 503 once (a WARN log), checkpoints per page; the next run asks only for what is new', T, async () => {
    const d = tmp();
    const config = writeJson(d, 'config.json', { base_url: base, backoff: 0.01 });
    const state = join(d, 'state.json');
    hits.length = 0;
    fail503 = new Set([2]);
    const r = await host(['read', '--config', config, '--state', state, '--progress', 'off', at('api_source.py:api_source')]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(recs(r.stdout).map((x) => x['id'])).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(hits).toEqual(['/items?page=1', '/items?page=2', '/items?page=2', '/items?page=3']);
    const warn = logLines(r.stderr).find((l) => l.includes('retrying in'));
    expect(warn).toMatch(/fetch failed \(HTTPError: HTTP Error 503: Service Unavailable\), attempt 1 of 4; retrying in \d/);
    expect(msgs(r.stdout).filter((m) => m.type === 'STATE')).toHaveLength(4); // one per page and the final one
    expect(streamState(state, 'items')).toEqual({ id: 8 });

    items.push({ id: 9, name: 'item 9' });
    const r2 = await host(['read', '--config', config, '--state', state, '--progress', 'off', at('api_source.py:api_source')]);
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(recs(r2.stdout).map((x) => x['id'])).toEqual([9]);
    expect(streamState(state, 'items')).toEqual({ id: 9 });
  });

  it('a server that keeps failing: the retries give up and the run fails naming the call and the author\'s line', T, async () => {
    const d = tmp();
    const config = writeJson(d, 'config.json', { base_url: `${base}/nowhere`, backoff: 0.01 });
    const r = await host(['read', '--config', config, '--progress', 'off', at('api_source.py:api_source')]);
    expect(r.exitCode).not.toBe(0);
    // a 404 is not transient: no retry
    expect(logLines(r.stderr).filter((l) => l.includes('retrying in'))).toEqual([]);
    expect(r.stderr).toMatch(/resource 'items' failed: HTTPError: HTTP Error 404: Not Found \(at [^)]*api_source\.py:\d+ in fetch\)/);
  });
});

describe('paginated source classes', () => {
  it('cursor pagination: a crash on page 3 keeps pages 1–2 and the pagination in the state; the next run resumes on page 3', T, async () => {
    const d = tmp();
    const out = join(d, 'out');
    const r1 = await host(['read', '--config', writeJson(d, 'c1.json', { total: 10, fail_on_page: 3 }), '--out', out, '--progress', 'off', at('paginated_cursor.py:MessagesSource')]);
    expect(r1.exitCode).not.toBe(0);
    expect(r1.stderr).toMatch(/MessagesSource\.get\('messages', pagination=\{"token":"after-6"\}\) failed: RuntimeError: the API failed on page 3 \(at [^)]*paginated_cursor\.py:\d+ in _page\)/);
    expect(jsonLines(join(out, 'messages.jsonl')).map((m) => m['id'])).toEqual([1, 2, 3, 4, 5, 6]);
    // the cursor state the pagination started from (empty: a first run) and the max seen so far
    expect(streamState(join(out, 'state.json'), 'messages')).toEqual({ pagination: { token: 'after-6' }, cursor_state: {}, cursor_seen: { ts: 1006 } });

    const r2 = await host(['read', '--config', writeJson(d, 'c2.json', { total: 10 }), '--out', out, '--progress', 'off', at('paginated_cursor.py:MessagesSource')]);
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(jsonLines(join(out, 'messages.jsonl')).map((m) => m['id'])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // finished: no pagination left, the cursor max kept
    expect(streamState(join(out, 'state.json'), 'messages')).toEqual({ cursor_state: { ts: 1010 } });

    // incremental from there: get_records_after with the cursor state, only new messages
    const r3 = await host(['read', '--config', writeJson(d, 'c3.json', { total: 12 }), '--out', out, '--progress', 'off', at('paginated_cursor.py:MessagesSource')]);
    expect(r3.exitCode, r3.stderr).toBe(0);
    expect(jsonLines(join(out, 'messages.jsonl')).map((m) => m['id'])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(streamState(join(out, 'state.json'), 'messages')).toEqual({ cursor_state: { ts: 1012 } });

    // an incremental run that crashes mid-pagination resumes from the same filtered query
    const r4 = await host(['read', '--config', writeJson(d, 'c4.json', { total: 20, fail_on_page: 2 }), '--out', out, '--progress', 'off', at('paginated_cursor.py:MessagesSource')]);
    expect(r4.exitCode).not.toBe(0);
    expect(streamState(join(out, 'state.json'), 'messages')).toEqual({ pagination: { token: 'after-3' }, cursor_state: { ts: 1012 }, cursor_seen: { ts: 1015 } });
    const r5 = await host(['read', '--config', writeJson(d, 'c5.json', { total: 20 }), '--out', out, '--progress', 'off', at('paginated_cursor.py:MessagesSource')]);
    expect(r5.exitCode, r5.stderr).toBe(0);
    expect(jsonLines(join(out, 'messages.jsonl')).map((m) => m['id'])).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(streamState(join(out, 'state.json'), 'messages')).toEqual({ cursor_state: { ts: 1020 } });
  });

  it('offset pagination (duck-typed class, pages as objects with .records/.next_pagination): every record once, a STATE per page', T, async () => {
    const d = tmp();
    const state = join(d, 'state.json');
    const r = await host(['read', '--config', writeJson(d, 'c.json', { count: 10, page_size: 4 }), '--state', state, '--progress', 'off', at('paginated_offset.py:ProductsSource')]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(recs(r.stdout).map((p) => p['sku'])).toEqual(Array.from({ length: 10 }, (_, i) => `P${String(i + 1).padStart(3, '0')}`));
    expect(recs(r.stdout)[2]).toEqual({ sku: 'P003', price: 4.5, tags: ['a'] });
    const states = msgs(r.stdout).filter((m) => m.type === 'STATE').map((m) => m.state.stream.stream_state);
    expect(states).toEqual([{ pagination: { offset: 4 }, cursor_state: {} }, { pagination: { offset: 8 }, cursor_state: {} }, { cursor_state: {} }]);
  });

  it('check: check_connection returning (False, why) is a FAILED check with that reason', T, async () => {
    const d = tmp();
    const ok = await host(['check', '--config', writeJson(d, 'ok.json', { total: 3 }), at('paginated_cursor.py:MessagesSource')]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ type: 'CONNECTION_STATUS', connectionStatus: { status: 'SUCCEEDED' } });
    const bad = await host(['check', '--config', writeJson(d, 'bad.json', { total: -1 }), at('paginated_cursor.py:MessagesSource')]);
    expect(bad.exitCode).not.toBe(0);
    expect(JSON.parse(bad.stdout).connectionStatus).toEqual({ status: 'FAILED', message: 'total must not be negative' });
  });
});

describe('a package folder with several sources (folder:Name)', () => {
  it('kit_pkg:crm_source and kit_pkg:billing_source, each found in its submodule', T, async () => {
    const d = tmp();
    const config = writeJson(d, 'c.json', {});
    const crm = await host(['read', '--config', config, '--progress', 'off', at('kit_pkg:crm_source')]);
    expect(crm.exitCode, crm.stderr).toBe(0);
    expect(recs(crm.stdout, 'contacts').map((c) => c['name'])).toEqual(['Ada', 'Grace']);
    const billing = await host(['read', '--config', config, '--progress', 'off', at('kit_pkg:billing_source')]);
    expect(billing.exitCode, billing.stderr).toBe(0);
    expect(recs(billing.stdout)).toEqual([{ invoice: 'INV-1', amount: 120 }]);
  });

  it('a name defined in two submodules is an error naming both; no name lists the candidates', T, async () => {
    const two = await host(['spec', at('kit_pkg:shared')]);
    expect(two.exitCode).not.toBe(0);
    expect(two.stderr).toMatch(/'shared' is defined in both .*kit_pkg\/(billing|crm)\.py and .*kit_pkg\/(billing|crm)\.py/);
    const none = await host(['spec', `${at('kit_pkg')}:`.replace(/:$/, ':nothing_here')]);
    expect(none.exitCode).not.toBe(0);
    expect(none.stderr).toMatch(/has no 'nothing_here'; its kit objects: .*crm_source \(@source\)/);
    expect(none.stderr).toContain('billing_source (@source)');
  });
});

describe('golden suites (host test)', () => {
  it.each([
    ['kit-static', 'static_source.py:static_source'],
    ['kit-paginated', 'paginated_cursor.py:MessagesSource'],
  ])('%s passes with %s', { timeout: 120_000 }, async (suite, ref) => {
    const r = await host(['test', '--suite', join(ROOT, 'fixtures', 'suites', suite), at(ref)]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/1 case\(s\), 0 failed/);
  });

  it('a changed connector fails its golden suite (the suite can fail)', { timeout: 120_000 }, async () => {
    // the static suite run against the multi-resource source: other streams and records
    const r = await host(['test', '--suite', join(ROOT, 'fixtures', 'suites', 'kit-static'), at('multi_resource.py:multi_resource')]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stdout).toMatch(/FAIL case default/);
  });
});
