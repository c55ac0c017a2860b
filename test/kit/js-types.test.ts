// The kit's TypeScript types are real: tsc compiles the fixtures against `connector-host/kit`
// (package exports → dist/kit/index.d.ts) with every ts-expect-error line an actual error; a
// TypeScript source's runtime error names the .ts file and its own line.

import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { execa } from 'execa';
import { host, tmp, FIX, ROOT, writeJson } from '../helpers.js';

const KIT = join(FIX, 'kit-js');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

describe('kit-js types', () => {
  it('tsc --noEmit --strict: types-check.ts and typed.ts compile; each expected type error happens', async () => {
    const r = await execa(process.execPath, [TSC, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--skipLibCheck', join(KIT, 'types-check.ts'), join(KIT, 'typed.ts')], { reject: false, cwd: ROOT });
    expect(String(r.stdout) + String(r.stderr)).toBe('');
    expect(r.exitCode).toBe(0);
  });

  it('a .ts source raising in read: the message names raises.ts, the function and the TypeScript line', async () => {
    const dir = tmp();
    const r = await host(['read', join(KIT, 'raises.ts'), '--config', writeJson(dir, 'c.json', {}), '--progress', 'off']);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('stream rows: RangeError: not a number: x (at raises.ts:9 in parseRow)');
  });
});
