// airbyte-source-faker (real, from PyPI) through the host: spec, check, discover, a read of
// every stream into --out, and a second incremental read that resumes from its state.

import { describe, it, expect } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { host, tmp, writeJson, jsonLines, readJson, ROOT } from '../helpers.js';
import { cli, pypi, CACHE, CLI_HAS_CACHE_DIR } from './helpers.js';
import { readWith, spec as specOf } from '../../dist/index.js';

const FAKER = pypi('faker');
const COUNT = 25;
const dir = tmp('ch-interop-faker-');
const config = writeJson(dir, 'config.json', { count: COUNT, seed: 7, records_per_slice: 10, parallelism: 1, always_updated: false });

describe(`${FAKER} via the CLI${CLI_HAS_CACHE_DIR ? '' : ' (-- form: the CLI has no --cache-dir yet)'}`, () => {
  it('spec', async () => {
    const r = await host(await cli('spec', FAKER, []));
    expect(r.exitCode, r.stderr).toBe(0);
    const msg = JSON.parse(r.stdout);
    expect(msg.type).toBe('SPEC');
    expect(Object.keys(msg.spec.connectionSpecification.properties)).toEqual(expect.arrayContaining(['count', 'seed', 'records_per_slice', 'always_updated', 'parallelism']));
  });

  it('check', async () => {
    const r = await host(await cli('check', FAKER, ['--config', config]));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).connectionStatus.status).toBe('SUCCEEDED');
  });

  it('discover', async () => {
    const r = await host(await cli('discover', FAKER, ['--config', config]));
    expect(r.exitCode, r.stderr).toBe(0);
    const streams = JSON.parse(r.stdout).catalog.streams;
    expect(streams.map((s: { name: string }) => s.name).sort()).toEqual(['products', 'purchases', 'users']);
    for (const s of streams) {
      expect(s.source_defined_cursor).toBe(true);
      expect(s.default_cursor_field).toEqual(['updated_at']);
    }
  });

  it('reads every stream into --out, then a second read resumes from the state and re-reads nothing', async () => {
    const out = join(dir, 'out');
    const first = await host(await cli('read', FAKER, ['--config', config, '--out', out]));
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stdout).toBe('');
    const users = jsonLines(join(out, 'users.jsonl'));
    expect(users.map((u) => u['id'])).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1));
    expect(users[0]).toMatchObject({ id: 1, email: expect.any(String), address: expect.any(Object) });
    expect(jsonLines(join(out, 'purchases.jsonl')).length).toBeGreaterThan(0);
    expect(jsonLines(join(out, 'products.jsonl')).length).toBeGreaterThan(0);
    const state = readJson(join(out, 'state.json'));
    expect(state.kind).toBe('STREAM');
    const byName = Object.fromEntries(state.states.map((s: any) => [s.stream.stream_descriptor.name, s.stream.stream_state]));
    expect(byName.users).toMatchObject({ seed: 7, loop_offset: COUNT, updated_at: expect.any(String) });
    expect(byName.purchases).toMatchObject({ seed: 7, updated_at: expect.any(String) });
    const manifest = readJson(join(out, 'manifest.json'));
    expect(JSON.stringify(manifest)).toContain('users.jsonl');
    const sizes = Object.fromEntries(['users', 'purchases', 'products'].map((n) => [n, statSync(join(out, `${n}.jsonl`)).size]));

    // the second read gets the state: with always_updated=false, faker emits nothing after it
    const second = await host(await cli('read', FAKER, ['--config', config, '--out', out]));
    expect(second.exitCode, second.stderr).toBe(0);
    for (const n of ['users', 'purchases', 'products']) expect(statSync(join(out, `${n}.jsonl`)).size).toBe(sizes[n]);
    const state2 = readJson(join(out, 'state.json'));
    const byName2 = Object.fromEntries(state2.states.map((s: any) => [s.stream.stream_descriptor.name, s.stream.stream_state]));
    expect(byName2.users).toEqual(byName.users);

    // control: without the state the same config reads everything again
    const fresh = join(dir, 'fresh');
    const third = await host(await cli('read', FAKER, ['--config', config, '--out', fresh, '--streams', 'users']));
    expect(third.exitCode, third.stderr).toBe(0);
    expect(jsonLines(join(fresh, 'users.jsonl')).length).toBe(COUNT);
  });

  it('the golden suite fixtures/suites/interop-faker passes with host test', async () => {
    const r = await host(await cli('test', FAKER, ['--suite', join(ROOT, 'fixtures', 'suites', 'interop-faker')]));
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/PASS case default/);
  });
});

describe(`${FAKER} via the library (readWith, resolve.cacheDir)`, () => {
  it('spec and a read of one stream', async () => {
    const s = await specOf(FAKER, { resolve: { cacheDir: CACHE } });
    expect(s['type']).toBe('SPEC');
    const out = join(dir, 'lib-out');
    const result = await readWith(FAKER, { configFile: config, out, streams: ['users'], resolve: { cacheDir: CACHE } });
    expect(result.ok).toBe(true);
    expect(result.streams.map((x) => [x.display, x.records])).toEqual([['users', COUNT]]);
    expect(readFileSync(join(out, 'users.jsonl'), 'utf8').split('\n').filter(Boolean).length).toBe(COUNT);
  });
});
