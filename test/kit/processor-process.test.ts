// `host process REF --sample FILE` (Nexla's "test on a sample file") and --processor-packages
// (a cached venv; the one slow test: it installs python-slugify from PyPI).

import { describe, it, expect } from 'vitest';
import { writeFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { host, tmp, FIX, bad, writeJson, jsonLines, logLines } from '../helpers.js';

const P = (f: string) => join(FIX, 'kit-processors', f);

function sample(dir: string, rows: unknown[], name = 'sample.jsonl'): string {
  const f = join(dir, name);
  writeFileSync(f, rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n');
  return f;
}

const outLines = (stdout: string) => stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

describe('host process --sample', () => {
  it('data lines in, the output records out as JSONL (changed, dropped, split); a summary on stderr; exit 0', async () => {
    const dir = tmp();
    const f = sample(dir, [{ id: 1, s: 'a' }, { id: 2, s: 'b' }, '', { id: 3, s: 'c' }]);
    const up = await host(['process', P('upper.py'), '--sample', f]);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(outLines(up.stdout)).toEqual([{ id: 1, s: 'A', seen: true }, { id: 2, s: 'B', seen: true }, { id: 3, s: 'C', seen: true }]);
    expect(up.stderr).toContain(`processed 3 records of ${f}: 3 out, 0 errors`);
    const drop = await host(['process', P('drop.py'), '--sample', f]);
    expect(outLines(drop.stdout)).toEqual([{ id: 2, s: 'b' }]);
    const batch = await host(['process', P('batch.py'), '--sample', f]);
    expect(outLines(batch.stdout)).toEqual([3, 2, 1].map((id) => ({ id, s: 'abc'[id - 1], batch_size: 3 })));
    const split = await host(['process', P('split.py'), '--sample', f]);
    expect(outLines(split.stdout).map((r) => [r['id'], r['part']])).toEqual([[1, 1], [1, 2], [2, 1], [2, 2], [3, 1], [3, 2]]);
  });

  it('an error: on stderr with its line number, stream, message and file:line; exit 7, or 0 with --processor-errors skip', async () => {
    const dir = tmp();
    const f = sample(dir, [{ id: 1 }, { id: 2 }, '', { id: 3 }, { id: 4 }]);
    const r = await host(['process', P('raises.py'), '--sample', f]);
    expect(r.exitCode).toBe(7);
    expect(outLines(r.stdout)).toEqual([{ id: 1 }, { id: 2 }, { id: 4 }]);
    expect(r.stderr).toContain(`${f} line 4, stream sample: ValueError: bad id 3 (raises.py:7 in check)`);
    expect(r.stderr).not.toMatch(/Traceback/);
    const s = await host(['process', P('raises.py'), '--sample', f, '--processor-errors', 'skip']);
    expect(s.exitCode).toBe(0);
    expect(s.stderr).toContain('3 out, 1 error (skipped: --processor-errors skip)');
  });

  it('RECORD messages in: RECORD messages out with their stream and emitted_at; a stream the processor does not apply to passes unchanged', async () => {
    const dir = tmp();
    const rec = (stream: string, id: number) => ({ type: 'RECORD', record: { stream, emitted_at: 1700000000000 + id, data: { id, s: stream } } });
    const f = sample(dir, [rec('s1', 1), rec('s2', 2), rec('s1', 3)]);
    const r = await host(['process', P('only_s1.py'), '--sample', f]);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = outLines(r.stdout) as { type: string; record: { stream: string; emitted_at: number; data: Record<string, unknown> } }[];
    expect(out.map((m) => [m.type, m.record.stream, m.record.emitted_at, m.record.data['tag'] ?? null])).toEqual([
      ['RECORD', 's1', 1700000000001, 'processed'],
      ['RECORD', 's2', 1700000000002, null],
      ['RECORD', 's1', 1700000000003, 'processed'],
    ]);
    expect(r.stdout.split('\n')[1]).toBe(JSON.stringify(rec('s2', 2)));
    expect(r.stderr).toContain('stream s2 is not one the processor applies to (s1): its records pass unchanged');
  });

  it('--stream names the stream of data lines (default: the first the processor names); --vars passes args and kwargs; JS processors too', async () => {
    const dir = tmp();
    const f = sample(dir, [{ id: 1, s: 'x' }, { id: 3, s: 'y' }]);
    const vars = writeJson(dir, 'vars.json', { args: [3], kwargs: { factor: 5 } });
    const js = await host(['process', P('clean.mjs'), '--sample', f, '--vars', vars]);
    expect(js.exitCode, js.stderr).toBe(0);
    expect(js.stdout.trim()).toBe('{"id":1,"s":"X","factor":5,"big":1152921504606846976}');
    const other = await host(['process', P('clean.mjs'), '--sample', f, '--stream', 's9']);
    expect(outLines(other.stdout)).toEqual([{ id: 1, s: 'x' }, { id: 3, s: 'y' }]);
    const py = await host(['process', P('vars.py'), '--sample', f, '--vars', writeJson(dir, 'pyvars.json', { args: [3] })]);
    expect(outLines(py.stdout)).toEqual([{ id: 1, s: 'x', scaled: 3, label: 'none' }, { id: 3, s: 'y', scaled: 9, label: 'none' }]);
  });

  it('a bad sample line is a usage error naming the line; a missing sample file too', async () => {
    const dir = tmp();
    const f = sample(dir, [{ id: 1 }, 'not json', { id: 2 }]);
    const r = await host(['process', P('upper.py'), '--sample', f]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`the sample ${f}, line 2: not JSON`);
    const arr = await host(['process', P('upper.py'), '--sample', sample(dir, ['[1,2]'], 'b.jsonl')]);
    expect(arr.exitCode).toBe(2);
    expect(arr.stderr).toContain('line 1: not a JSON object');
    const missing = await host(['process', P('upper.py'), '--sample', join(dir, 'nope.jsonl')]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('no such file');
  });
});

describe('--processor-packages', () => {
  it(
    'installs the packages once into a cached venv (keyed by the list and the python) and runs the processor with it; host process --packages uses the same venv',
    async () => {
      const dir = tmp();
      const cache = join(dir, 'cache');
      const config = writeJson(dir, 'config.json', {});
      const r = await host(['read', '--config', config, '--progress', 'off', '--cache-dir', cache, '--out', join(dir, 'out'), '--processor', P('slug.py'), '--processor-packages', 'python-slugify==8.0.4', '--', bad('endless'), '--streams', '1', '--records', '3']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(jsonLines(join(dir, 'out', 's1.jsonl'))).toEqual([1, 2, 3].map((id) => ({ id, s: 's1', slug: 's1' })));
      expect(logLines(r.stderr).some((l) => /installed the processor packages python-slugify==8\.0\.4/.test(l))).toBe(true);
      const venvs = readdirSync(join(cache, 'processor-venvs')).filter((n) => !n.includes('.lock'));
      expect(venvs).toHaveLength(1);
      expect(existsSync(join(cache, 'processor-venvs', venvs[0]!, 'bin', 'python'))).toBe(true);
      // the same list again (and from host process): nothing installed
      const f = sample(dir, [{ title: 'Héllo Wörld, again!' }]);
      const p = await host(['process', P('slug.py'), '--sample', f, '--packages', 'python-slugify==8.0.4', '--cache-dir', cache]);
      expect(p.exitCode, p.stderr).toBe(0);
      expect(outLines(p.stdout)).toEqual([{ title: 'Héllo Wörld, again!', slug: 'hello-world-again' }]);
      expect(logLines(p.stderr).some((l) => /installing/.test(l))).toBe(false);
      expect(readdirSync(join(cache, 'processor-venvs')).filter((n) => !n.includes('.lock'))).toEqual(venvs);
      // without the package: a clear import error naming the file and line, exit 2
      const without = await host(['process', P('slug.py'), '--sample', f]);
      expect(without.exitCode).toBe(2);
      expect(without.stderr).toMatch(/cannot load the processor \S*slug\.py: ModuleNotFoundError: No module named 'slugify' \(slug\.py:3 in <module>\)/);
    },
    300_000,
  );
});
