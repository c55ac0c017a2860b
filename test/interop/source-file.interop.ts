// airbyte-source-file (real, from PyPI) reading a local CSV written here. Config from its
// spec: dataset_name, format, url, provider {storage: "local"} (the pip-installed run.py uses
// SourceFile, which allows local storage; the cloud image's SourceFileSecure does not).

import { describe, it, expect } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { host, tmp, writeJson, jsonLines, readJson } from '../helpers.js';
import { cli, pypi, CLI_HAS_CACHE_DIR } from './helpers.js';

const FILE = pypi('file');

describe(`${FILE}${CLI_HAS_CACHE_DIR ? '' : ' (-- form)'}`, () => {
  it('check, discover and read a local CSV', async () => {
    const dir = tmp('ch-interop-file-');
    const csv = join(dir, 'people.csv');
    const rows = Array.from({ length: 500 }, (_, i) => `${i + 1},name ${i + 1},${(i * 1.5).toFixed(1)},"a, ""quoted"" ${i}"`);
    writeFileSync(csv, `id,name,amount,note\n${rows.join('\n')}\n`);
    const config = writeJson(dir, 'config.json', { dataset_name: 'people', format: 'csv', url: csv, provider: { storage: 'local' } });

    const c = await host(await cli('check', FILE, ['--config', config]));
    expect(c.exitCode, c.stderr).toBe(0);
    expect(JSON.parse(c.stdout).connectionStatus.status).toBe('SUCCEEDED');

    const d = await host(await cli('discover', FILE, ['--config', config]));
    expect(d.exitCode, d.stderr).toBe(0);
    const [stream] = JSON.parse(d.stdout).catalog.streams;
    expect(stream.name).toBe('people');
    expect(Object.keys(stream.json_schema.properties).sort()).toEqual(['amount', 'id', 'name', 'note']);
    expect(stream.supported_sync_modes).toEqual(['full_refresh']);

    const out = join(dir, 'out');
    const r = await host(await cli('read', FILE, ['--config', config, '--out', out]));
    expect(r.exitCode, r.stderr).toBe(0);
    const recs = jsonLines(join(out, 'people.jsonl'));
    expect(recs.length).toBe(500);
    expect(recs[0]).toEqual({ id: 1, name: 'name 1', amount: 0, note: 'a, "quoted" 0' });
    expect(recs[499]).toMatchObject({ id: 500, note: 'a, "quoted" 499' });
    // an old-CDK full-refresh source: no STATE at all; the host still commits its files
    const state = readJson(join(out, 'state.json'));
    expect(state.states).toEqual([]);
    expect(state.files['people.jsonl'].records).toBe(500);
  });

  it('a missing file: check reports FAILED (exit 4), not a crash', async () => {
    const dir = tmp('ch-interop-file2-');
    const config = writeJson(dir, 'config.json', { dataset_name: 'people', format: 'csv', url: join(dir, 'nope.csv'), provider: { storage: 'local' } });
    const c = await host(await cli('check', FILE, ['--config', config]));
    expect(c.exitCode, c.stderr).toBe(4);
  });
});
