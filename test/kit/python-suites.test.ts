// Golden suites of the Python kit's seed-shaped examples (issue 12), run with the real CLI
// (`host test`): the API source against a local HTTP server this file starts, the
// multi-resource source (replace + append), the incremental resource, the offset-paginated
// class and the Reader. Each suite has a `default` case and a case that starts from a state
// (state.json in the case folder) and reads fewer records. Every suite passes as committed
// (CI=true: no golden is ever created here) and fails once a golden in a tmp copy is changed.
// Fixtures: fixtures/connectors/kit-python (see its README); suites: fixtures/suites/kit-*.

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpSync, readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { host, tmp, FIX, ROOT, lines } from '../helpers.js';

const K = join(FIX, 'kit-python');
const SUITES = join(ROOT, 'fixtures', 'suites');
const T = { timeout: 180_000 };

// The API: 8 items, pages of 3 (`GET /items?page=N` → {"items": [...], "next_page": N+1 | null}),
// the same data as the server of test/kit/python-sources.test.ts; anything else is a 404.
let server: Server;
let apiUrl = '';
const hits: string[] = [];
beforeAll(async () => {
  const items = Array.from({ length: 8 }, (_, i) => ({ id: i + 1, name: `item ${i + 1}` }));
  server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const page = Number(u.searchParams.get('page') ?? '1');
    hits.push(`${u.pathname}?page=${page}`);
    if (u.pathname !== '/items') {
      res.writeHead(404).end();
      return;
    }
    const next = page * 3 < items.length ? page + 1 : null;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ items: items.slice((page - 1) * 3, page * 3), next_page: next }));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

interface Suite {
  suite: string;
  ref: string;
  /** A golden file of the suite (case/golden/file), a text in it, what it becomes, and the difference the report shows. */
  change: [file: string, from: string, to: string, shown: string];
}

const suites: Suite[] = [
  { suite: 'kit-api', ref: 'api_source.py:api_source', change: ['default/golden/read.jsonl', '"name":"item 5"', '"name":"item five"', 'golden read: stream items, record id=5: /name: expected "item five", got "item 5"'] },
  { suite: 'kit-multi', ref: 'multi_resource.py:multi_resource', change: ['from-state/golden/read.jsonl', '"name":"Japan"', '"name":"Nippon"', 'golden read: stream countries, record code="JP": /name: expected "Nippon", got "Japan"'] },
  { suite: 'kit-incremental', ref: 'incremental.py:changes', change: ['from-state/golden/read-state.json', '"runs": 2', '"runs": 7', 'golden read: final state: /streams/changes/runs: expected 7, got 2'] },
  { suite: 'kit-offset', ref: 'paginated_offset.py:ProductsSource', change: ['resume/golden/read.jsonl', '"sku":"P007"', '"sku":"P077"', 'golden read: stream products: 1 record(s) missing (in the golden file, not read): {"price":10.5,"sku":"P077","tags":["a"]}'] },
  { suite: 'kit-reader', ref: 'jsonl_reader.py:RowsReader', change: ['from-state/golden/read.jsonl', '"square":64', '"square":65', 'golden read: stream rows, record n=8: /square: expected 65, got 64'] },
];

const env = () => ({ CI: 'true', KIT_API_URL: apiUrl });
const runTest = (suite: string, ref: string, extra: string[] = [], e: Record<string, string> = env()) =>
  host(['test', '--suite', suite, ...extra, join(K, ref)], { env: e });

describe('Python kit golden suites (host test)', () => {
  it.each(suites)('$suite passes as committed with $ref (both cases, every step)', T, async ({ suite, ref }) => {
    const r = await runTest(join(SUITES, suite), ref);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('2 case(s), 0 failed');
    expect(r.stdout).not.toMatch(/FAIL|updated/);
    // an incremental stream gets its second read; the offset class has no cursor, so it has none
    if (suite === 'kit-offset') expect(r.stdout).not.toMatch(/ok\s+incremental/);
    else expect(r.stdout).toMatch(/ok\s+incremental\s+\d+\/\d+ checks/);
  });

  it.each(suites)('$suite fails (exit 8) once a golden in a tmp copy is changed, and names the difference', T, async ({ suite, ref, change: [file, from, to, shown] }) => {
    const dir = join(tmp(), suite);
    cpSync(join(SUITES, suite), dir, { recursive: true });
    const p = join(dir, file);
    const before = readFileSync(p, 'utf8');
    expect(before).toContain(from);
    writeFileSync(p, before.replace(from, to));
    const r = await runTest(dir, ref);
    expect(r.exitCode).toBe(8);
    const [caseName] = file.split('/');
    expect(r.stdout).toContain(`FAIL case ${caseName}`);
    expect(r.stdout).toContain('2 case(s), 1 failed');
    expect(r.stdout).toMatch(/FAIL read\s+6\/6 checks, \d golden difference\(s\)/);
    // the expected value is the changed golden's, the actual one the connector's
    expect(r.stdout).toContain(shown);
  });
});

describe('the suites themselves', () => {
  it('a case with a state reads fewer records than the default case, all above the state\'s cursor', () => {
    const ids = (suite: string, c: string, stream: string, key: string) =>
      lines(join(SUITES, suite, c, 'golden', 'read.jsonl'))
        .map((l) => JSON.parse(l) as { stream: string; data: Record<string, unknown> })
        .filter((x) => x.stream === stream)
        .map((x) => x.data[key]);
    expect(ids('kit-api', 'default', 'items', 'id')).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(ids('kit-api', 'from-state', 'items', 'id')).toEqual([6, 7, 8]); // state {"id": 5}
    expect(ids('kit-multi', 'from-state', 'orders', 'id')).toEqual([3, 4, 5, 6]); // state {"id": 2}, 6 orders
    expect(ids('kit-multi', 'from-state', 'countries', 'code')).toEqual(['FR', 'JP', 'NZ']); // replace: all, whatever the state
    expect(ids('kit-incremental', 'default', 'changes', 'id')).toEqual([1, 2, 3, 4, 5]);
    expect(ids('kit-incremental', 'from-state', 'changes', 'id')).toEqual([6, 7, 8]); // after 2024-01-05
    expect(ids('kit-offset', 'default', 'products', 'sku')).toEqual(Array.from({ length: 10 }, (_, i) => `P${String(i + 1).padStart(3, '0')}`));
    expect(ids('kit-offset', 'resume', 'products', 'sku')).toEqual(['P005', 'P006', 'P007', 'P008', 'P009', 'P010']); // pagination {"offset": 4}
    expect(ids('kit-reader', 'from-state', 'rows', 'n')).toEqual([7, 8, 9, 10]); // {"offset": 6}
  });

  it('the API suite asks the server for every page, and the goldens hold neither the URL nor its port', T, async () => {
    hits.length = 0;
    const r = await runTest(join(SUITES, 'kit-api'), 'api_source.py:api_source', ['--case', 'default', '--reporter', 'json']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    // read (3 pages) and the incremental read (3 pages again: the API has no filter)
    expect(hits.filter((h) => h === '/items?page=1')).toHaveLength(2);
    expect(hits).toContain('/items?page=3');
    const port = apiUrl.split(':').pop()!;
    expect(r.stdout + r.stderr).not.toContain(apiUrl);
    for (const f of ['spec.json', 'discover.json', 'read.jsonl', 'read-state.json', 'incremental.jsonl', 'incremental-state.json']) {
      expect(readFileSync(join(SUITES, 'kit-api', 'default', 'golden', f), 'utf8')).not.toContain(port);
    }
    expect(readFileSync(join(SUITES, 'kit-api', 'default', 'config.json'), 'utf8')).toContain('${KIT_API_URL}');
  });

  it('the API suite without KIT_API_URL stops before any connector starts (exit 2), naming the variable and the file', T, async () => {
    hits.length = 0;
    // execa merges process.env: undefined removes the variable even when the shell set it
    const r = await host(['test', '--suite', join(SUITES, 'kit-api'), join(K, 'api_source.py:api_source')], { env: { CI: 'true', KIT_API_URL: undefined } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/kit-api\/(default|from-state)\/config\.json uses environment variable that is not set: \$\{KIT_API_URL\} \(\/base_url\)/);
    expect(hits).toEqual([]);
  });

  it('a missing golden fails under CI and is not created', T, async () => {
    const dir = join(tmp(), 'kit-reader');
    cpSync(join(SUITES, 'kit-reader'), dir, { recursive: true });
    const p = join(dir, 'default', 'golden', 'incremental-state.json');
    rmSync(p);
    const r = await runTest(dir, 'jsonl_reader.py:RowsReader', ['--case', 'default']);
    expect(r.exitCode).toBe(8);
    expect(r.stdout).toMatch(/incremental-state\.json is missing; run with --update to create it/);
    expect(existsSync(p)).toBe(false);
  });
});
