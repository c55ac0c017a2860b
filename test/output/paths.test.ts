// Stream identity is (namespace, name); files never leave DIR; collisions are refused.

import { describe, it, expect } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { host, tmp, bad, writeJson, jsonLines } from '../helpers.js';

const odd = ['--', process.execPath, bad('odd-names')];

describe('--out file names', () => {
  it('namespaces become folders; unsafe names are made safe and stay inside DIR', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const r = await host(['read', '--config', writeJson(dir, 'c.json', {}), '--out', out, '--streams', 'sales.orders,hr.orders,../../escape,a/b', ...odd]);
    expect(r.exitCode).toBe(0);
    expect(jsonLines(join(out, 'sales', 'orders.jsonl'))).toEqual([{ ns: 'sales', name: 'orders' }]);
    expect(jsonLines(join(out, 'hr', 'orders.jsonl'))).toEqual([{ ns: 'hr', name: 'orders' }]);
    expect(jsonLines(join(out, '_._.._escape.jsonl'))).toEqual([{ ns: null, name: '../../escape' }]);
    expect(jsonLines(join(out, 'a_b.jsonl'))).toEqual([{ ns: null, name: 'a/b' }]);
    expect(readdirSync(dir).sort()).toEqual(['c.json', 'out']); // nothing escaped
  });

  it('a bare name selects that name in every namespace', async () => {
    const dir = tmp();
    const r = await host(['read', '--config', writeJson(dir, 'c.json', {}), '--out', join(dir, 'out'), '--streams', 'orders', ...odd]);
    expect(r.exitCode).toBe(0);
    expect(readdirSync(join(dir, 'out')).filter((f) => !f.endsWith('.json')).sort()).toEqual(['hr', 'sales']);
  });

  it('two streams that would share a file (differing only in case) are refused before reading', async () => {
    const dir = tmp();
    const r = await host(['read', '--config', writeJson(dir, 'c.json', {}), '--out', join(dir, 'out'), '--streams', 'sales.orders,SALES.Orders', ...odd]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('streams "sales.orders" and "SALES.Orders" would both be written to SALES/Orders.jsonl');
  });
});
