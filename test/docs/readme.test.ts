// The README's quick start and contents are true: the connector it shows is the file in
// fixtures/, its shell steps run as written (with `host` on PATH, as `npm link` gives), and
// the table of contents lists every section. (Step 4, into a real Singer target from PyPI, runs
// in test/interop/quickstart.interop.ts.)

import { describe, it, expect } from 'vitest';
import { readFileSync, writeFileSync, mkdirSync, chmodSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { ROOT, HOST, FIX, tmp, lines } from '../helpers.js';
import { readmeContents, quickstartBlocks, shimHostOnPath } from './readme.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

describe('README quick start', () => {
  it('shows numbers.py exactly as it is in fixtures/connectors/example', () => {
    const code = /<!-- quickstart:numbers\.py -->\n```python\n([\s\S]*?)```/.exec(README)?.[1];
    expect(code).toBe(readFileSync(join(FIX, 'example', 'numbers.py'), 'utf8'));
    expect(code!.trimEnd().split('\n').length).toBeLessThanOrEqual(25);
  });

  it('steps 2 and 3 run as written: resume from state, golden update then compare', async () => {
    const dir = tmp('ch-readme-');
    copyFileSync(join(FIX, 'example', 'numbers.py'), join(dir, 'numbers.py'));
    chmodSync(join(dir, 'numbers.py'), 0o755);
    const env = { PATH: shimHostOnPath(dir, HOST), NO_COLOR: '1' };
    const blocks = quickstartBlocks(README).filter((b) => b.includes('host ') && !b.includes('singer'));
    const step2 = blocks.find((b) => b.includes('./numbers.py --config'));
    const step3 = blocks.find((b) => b.includes('host test'));
    const r2 = await execa('bash', ['-euo', 'pipefail', '-c', step2!], { cwd: dir, env, reject: false });
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(lines(join(dir, 'out', 'numbers.jsonl'))).toEqual(['{"n": 1}', '{"n": 2}', '{"n": 3}', '{"n": 4}', '{"n": 5}']);
    expect(r2.stderr).toMatch(/read 3 records[\s\S]*read 2 records/);
    const r3 = await execa('bash', ['-euo', 'pipefail', '-c', step3!], { cwd: dir, env, reject: false });
    expect(r3.exitCode, r3.stdout + r3.stderr).toBe(0);
    expect(r3.stdout).toMatch(/1 case\(s\), 0 failed[\s\S]*1 case\(s\), 0 failed/);
    // the goldens hold what was read, so a changed connector fails the compare
    writeFileSync(join(dir, 'numbers.py'), readFileSync(join(dir, 'numbers.py'), 'utf8').replace('"n": n}', '"n": n * 2}'));
    const r4 = await execa('bash', ['-c', 'host test ./numbers.py --suite tests/golden'], { cwd: dir, env, reject: false });
    expect(r4.exitCode).toBe(8);
  });
});

describe('README quick start, the kit version', () => {
  it('shows numbers_kit.py exactly as it is in fixtures/connectors/example, and its command resumes as numbers.py does', async () => {
    const code = /<!-- quickstart:numbers_kit\.py -->\n```python\n([\s\S]*?)```/.exec(README)?.[1];
    expect(code).toBe(readFileSync(join(FIX, 'example', 'numbers_kit.py'), 'utf8'));
    const cmd = quickstartBlocks(README).find((b) => b.includes('numbers_kit.py'))!;
    expect(cmd).toBeDefined();
    const dir = tmp('ch-readme-kit-');
    copyFileSync(join(FIX, 'example', 'numbers_kit.py'), join(dir, 'numbers_kit.py'));
    const env = { PATH: shimHostOnPath(dir, HOST), NO_COLOR: '1' };
    for (const count of [3, 5]) {
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ count }));
      const r = await execa('bash', ['-euo', 'pipefail', '-c', cmd], { cwd: dir, env, reject: false });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stderr).toContain(`read ${count === 3 ? 3 : 2} records`);
    }
    expect(lines(join(dir, 'out', 'numbers.jsonl'))).toEqual(['{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}', '{"n":5}']);
  });
});

describe('README contents', () => {
  it('lists every ## and ### section below it, in order, with working anchors', () => {
    const { listed, actual } = readmeContents(README);
    expect(listed).toEqual(actual);
  });
});
