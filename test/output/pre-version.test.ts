// Singer ACTIVATE_VERSION in --out, with records outside the versions: records sent before a
// stream's first version are obsolete once the version completes (dropped with the rest of the
// older data), records of an older version sent after a newer one are dropped, and the version's
// copy always starts at offset 0 of its own file (no NUL bytes, committed length = file size).

import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { host, tmp, writeJson, readJson, logLines, FIX } from '../helpers.js';

const TAP = join(FIX, 'singer', 'tap-pre-version.mjs');
const MODES = [
  { name: 'incremental (append)', knobs: [], args: [] },
  { name: 'FULL_TABLE (overwrite)', knobs: ['--full-table'], args: [] },
  { name: '--full-refresh', knobs: [], args: ['--full-refresh'] },
];

async function read(cfg: Record<string, unknown>, mode: (typeof MODES)[number]) {
  const d = tmp();
  const out = join(d, 'out');
  const r = await host(['read', '--config', writeJson(d, 'c.json', cfg), '--out', out, ...mode.args, '--protocol', 'singer', '--', process.execPath, TAP, ...mode.knobs]);
  return { r, out };
}

/** rows.jsonl: no NUL byte, its committed length and record count are the file's, no .partial left; returns its rows. */
function rows(out: string): unknown[] {
  const bytes = readFileSync(join(out, 'rows.jsonl'));
  expect(bytes.includes(0), 'NUL bytes in rows.jsonl').toBe(false);
  const text = bytes.toString('utf8');
  const list = text === '' ? [] : text.replace(/\n$/, '').split('\n').map((l) => JSON.parse(l));
  const e = readJson(join(out, 'state.json')).files['rows.jsonl'];
  expect(e.bytes).toBe(statSync(join(out, 'rows.jsonl')).size);
  expect(e.records).toBe(list.length);
  expect(readdirSync(out).filter((f) => f.endsWith('.partial'))).toEqual([]);
  return list;
}

const v = (n: number, ver: number | string) => Array.from({ length: n }, (_, i) => ({ id: i + 1, v: ver }));

describe('records outside the Singer versions (incremental, FULL_TABLE, --full-refresh)', () => {
  it('records before the first ACTIVATE_VERSION are dropped when the version completes; the version starts at offset 0', async () => {
    for (const mode of MODES) {
      for (const cfg of [{ pre: 2 }, { pre: 5, rows: 1 }, { pre: 2, pre_version: 1 }, { pre: 2, versions: [2, 3] }]) {
        const { r, out } = await read(cfg, mode);
        expect(r.exitCode, r.stderr).toBe(0);
        const last = (cfg as { versions?: number[] }).versions?.at(-1) ?? 2;
        expect(rows(out), `${mode.name} ${JSON.stringify(cfg)}`).toEqual(v(cfg.rows ?? 3, last));
      }
    }
  });

  it('records of an older version sent after the newest are dropped, with a warning', async () => {
    for (const mode of MODES) {
      for (const cfg of [{ pre: 2, pre_version: 1, late: 2 }, { pre: 0, pre_version: 1, late: 3 }, { pre: 1, pre_version: 2, versions: [3], late: 1 }]) {
        const { r, out } = await read(cfg, mode);
        expect(r.exitCode, r.stderr).toBe(0);
        const last = (cfg as { versions?: number[] }).versions?.at(-1) ?? 2;
        expect(rows(out), `${mode.name} ${JSON.stringify(cfg)}`).toEqual(v(3, last));
        expect(readJson(join(out, 'state.json')).files['rows.jsonl.partial']).toBeUndefined();
        expect(logLines(r.stderr).join('\n')).toContain(`rows: records of version ${cfg.pre_version} came after version ${last}, which makes them obsolete: they are dropped`);
      }
    }
  });
});
