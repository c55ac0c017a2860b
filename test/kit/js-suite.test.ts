// The golden suite of the static kit source passes with `host test`, and fails when the
// source's output no longer matches a golden file.

import { describe, it, expect } from 'vitest';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { host, tmp, FIX, ROOT } from '../helpers.js';

const SUITE = join(ROOT, 'fixtures', 'suites', 'kit-js-static');
const STATIC = join(FIX, 'kit-js', 'static.mjs');

describe('kit-js golden suite', () => {
  it('host test ./static.mjs --suite fixtures/suites/kit-js-static passes', async () => {
    const r = await host(['test', STATIC, '--suite', SUITE]);
    expect(r.stdout).toContain('PASS case default');
    expect(r.exitCode).toBe(0);
  });

  it('the incremental source\'s suite passes too: the second read resumes from the first one\'s state', async () => {
    const r = await host(['test', join(FIX, 'kit-js', 'incremental.mjs'), '--suite', join(ROOT, 'fixtures', 'suites', 'kit-js-incremental')]);
    expect(r.stdout).toMatch(/ok\s+incremental/);
    expect(r.exitCode).toBe(0);
  });

  it('a changed golden record fails the suite (exit 8) and shows the difference', async () => {
    const dir = join(tmp(), 'suite');
    cpSync(SUITE, dir, { recursive: true });
    const golden = join(dir, 'default', 'golden', 'read.jsonl');
    writeFileSync(golden, readFileSync(golden, 'utf8').replace('"color":"blue"', '"color":"navy"'));
    const r = await host(['test', STATIC, '--suite', dir]);
    expect(r.exitCode).toBe(8);
    expect(r.stdout).toContain('FAIL case default');
    expect(r.stdout).toMatch(/navy|blue/);
  });
});
