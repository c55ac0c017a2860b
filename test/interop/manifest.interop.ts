// manifest:PATH: a declarative YAML source run by source-declarative-manifest
// (airbyte-source-declarative-manifest from PyPI), against a local HTTP server.

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { host, tmp, writeJson, jsonLines, ROOT } from '../helpers.js';
import { cli, CACHE, CLI_HAS_CACHE_DIR } from './helpers.js';
import { resolveConnector } from '../../dist/connector/resolve.js';

const MANIFEST = `manifest:${join(ROOT, 'fixtures', 'interop', 'items-manifest.yaml')}`;
let server: Server;
let baseUrl = '';
const seenAuth: string[] = [];

beforeAll(async () => {
  // the runner is pinned like the others (the manifest: resolver takes the latest by default)
  process.env['CONNECTOR_HOST_MANIFEST_RUNNER'] = JSON.parse((await import('node:fs')).readFileSync(join(ROOT, 'fixtures', 'interop', 'packages.json'), 'utf8')).manifest_runner;
  server = createServer((req, res) => {
    seenAuth.push(String(req.headers.authorization));
    if (req.headers.authorization !== 'Bearer s3cret-token') {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: [1, 2, 3].map((id) => ({ id, name: `item ${id}` })) }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address() as { port: number };
  baseUrl = `http://127.0.0.1:${addr.port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe(`manifest: references${CLI_HAS_CACHE_DIR ? '' : ' (-- form)'}`, () => {
  it('resolves to the runner with --manifest-path <abs> in the args', async () => {
    const ref = await resolveConnector(MANIFEST, { cacheDir: CACHE });
    expect(ref.name).toBe('items-manifest');
    expect(ref.command).toMatch(/airbyte-source-declarative-manifest\/[^/]+\/bin\/python$/);
    expect(ref.args.slice(2)).toEqual([expect.stringMatching(/bin\/source-declarative-manifest$/), '--manifest-path', join(ROOT, 'fixtures', 'interop', 'items-manifest.yaml')]);
  });

  it("spec is the manifest's own spec; check, discover and read work against the server", async () => {
    const dir = tmp('ch-interop-manifest-');
    const s = await host(await cli('spec', MANIFEST, []));
    expect(s.exitCode, s.stderr).toBe(0);
    const spec = JSON.parse(s.stdout).spec;
    expect(spec.connectionSpecification.required).toEqual(['base_url', 'api_key']);
    expect(spec.documentationUrl).toBe('https://example.com/items');

    // the config is validated against that spec (not the runner's generic one)
    const bad = writeJson(dir, 'bad.json', { base_url: baseUrl });
    const b = await host(await cli('check', MANIFEST, ['--config', bad]));
    expect(b.exitCode).toBe(2);
    expect(b.stderr).toMatch(/api_key/);

    const config = writeJson(dir, 'config.json', { base_url: baseUrl, api_key: 's3cret-token' });
    const c = await host(await cli('check', MANIFEST, ['--config', config]));
    expect(c.exitCode, c.stderr).toBe(0);
    expect(JSON.parse(c.stdout).connectionStatus.status).toBe('SUCCEEDED');

    const d = await host(await cli('discover', MANIFEST, ['--config', config]));
    expect(d.exitCode, d.stderr).toBe(0);
    expect(JSON.parse(d.stdout).catalog.streams.map((x: { name: string }) => x.name)).toEqual(['items']);

    const out = join(dir, 'out');
    const r = await host(await cli('read', MANIFEST, ['--config', config, '--out', out]));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(jsonLines(join(out, 'items.jsonl'))).toEqual([1, 2, 3].map((id) => ({ id, name: `item ${id}` })));
    expect(seenAuth).toContain('Bearer s3cret-token');
    // the secret never shows in the host's logs
    expect(r.stderr).not.toContain('s3cret-token');
  });
});
