// The kits with real third-party connectors from PyPI (installed by scripts/install-interop.mjs):
// a Python kit resource into the real target-jsonl (Singer) with its state acknowledged and
// resumed, and the real tap-jsonl into a Python kit Writer (a protocol destination), integers
// beyond 2^53 exact.

import { describe, it, expect } from 'vitest';
import { mkdirSync, readdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { host, tmp, writeJson, jsonLines, streamState, FIX } from '../helpers.js';
import { pypi, CACHE } from './helpers.js';

const KIT = join(FIX, 'kit-python');

describe('the Python kit with real Singer connectors', () => {
  it(`a kit @resource into ${pypi('target_jsonl')}: every record, the state acknowledged, the next run resumes`, async () => {
    const dir = tmp('ch-interop-kit-target-');
    const outDir = join(dir, 'out');
    mkdirSync(outDir);
    const target = writeJson(dir, 'target.json', { destination_path: outDir });
    const run = (available: number) =>
      host(['run', join(KIT, 'incremental.py:changes'), '--config', writeJson(dir, `src-${available}.json`, { available }), '--cache-dir', CACHE, '--destination', pypi('target_jsonl'), '--destination-protocol', 'singer', '--destination-config', target, '--state', join(dir, 'state.json')]);
    const r = await run(5);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(streamState(join(dir, 'state.json'), 'changes')).toEqual({ updated_at: '2024-01-05T00:00:00Z', runs: 1 });
    const ids = () => readdirSync(outDir).flatMap((f) => jsonLines(join(outDir, f))).map((x) => Number((x as { id: unknown }).id)).sort((a, b) => a - b);
    expect(ids()).toEqual([1, 2, 3, 4, 5]);
    await new Promise((res) => setTimeout(res, 1100)); // target-jsonl names its files by the second
    const again = await run(8);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(ids()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(streamState(join(dir, 'state.json'), 'changes')).toEqual({ updated_at: '2024-01-08T00:00:00Z', runs: 2 });
  });

  it(`${pypi('tap_jsonl')} into a kit Writer (--destination file.py:Class): rows committed, big integers exact, the Singer state stored`, async () => {
    const dir = tmp('ch-interop-tap-kitwriter-');
    const data = join(dir, 'data');
    mkdirSync(data);
    writeFileSync(join(data, 'a.jsonl'), '{"id": 1, "amount": 9007199254740993}\n{"id": 2, "amount": 2}\n{"id": 3, "amount": 123456789012345678901234567890}\n');
    const tap = writeJson(dir, 'tap.json', { path: join(data, '*.jsonl'), stream_name: 'orders', primary_keys: ['id'] });
    const folder = join(dir, 'written');
    mkdirSync(folder);
    const r = await host(['run', pypi('tap_jsonl'), '--protocol', 'singer', '--config', tap, '--cache-dir', CACHE, '--destination', join(KIT, 'jsonl_writer.py:JsonlWriter'), '--destination-config', writeJson(dir, 'w.json', { folder }), '--state', join(dir, 'state.json')]);
    expect(r.exitCode, r.stderr).toBe(0);
    const text = readFileSync(join(folder, 'orders.jsonl'), 'utf8');
    expect(text).toContain('9007199254740993');
    expect(text).toContain('123456789012345678901234567890');
    expect(text.trim().split('\n')).toHaveLength(3);
    const st = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
    expect(JSON.stringify(st)).toContain('bookmarks');
  });
});
