// airbyte-source-hardcoded-records (real, from PyPI): a large read through the host, for
// throughput. Prints records/s.

import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { host, tmp, writeJson, lines, readJson } from '../helpers.js';
import { cli, pypi, CLI_HAS_CACHE_DIR } from './helpers.js';

const HC = pypi('hardcoded');
const COUNT = 200_000;

describe(`${HC}${CLI_HAS_CACHE_DIR ? '' : ' (-- form)'}`, () => {
  it(`reads ${COUNT} records of one stream into --out`, async () => {
    const dir = tmp('ch-interop-hc-');
    const config = writeJson(dir, 'config.json', { count: COUNT });
    const out = join(dir, 'out');
    const t0 = Date.now();
    const r = await host(await cli('read', HC, ['--config', config, '--out', out, '--streams', 'products', '--log-level', 'warn']));
    const ms = Date.now() - t0;
    expect(r.exitCode, r.stderr).toBe(0);
    expect(lines(join(out, 'products.jsonl')).length).toBe(COUNT);
    const m = readJson(join(out, 'manifest.json'));
    expect(JSON.stringify(m)).toContain(`${COUNT}`);
    const summary = r.stderr.split('\n').find((l) => /read \d+ records in/.test(l));
    console.log(`hardcoded-records: ${COUNT} records in ${(ms / 1000).toFixed(2)} s wall (process start included) = ${Math.round(COUNT / (ms / 1000))} records/s; host summary: ${summary?.trim() ?? '(none at this log level)'}`);
  });

  it('customers and dummy_fields too (full refresh, no state)', async () => {
    const dir = tmp('ch-interop-hc2-');
    const config = writeJson(dir, 'config.json', { count: 1000 });
    const out = join(dir, 'out');
    const r = await host(await cli('read', HC, ['--config', config, '--out', out]));
    expect(r.exitCode, r.stderr).toBe(0);
    for (const s of ['products', 'customers', 'dummy_fields']) expect(lines(join(out, `${s}.jsonl`)).length).toBe(1000);
  });
});
