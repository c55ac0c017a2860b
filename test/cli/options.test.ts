// Issue 10 item 14: every numeric option rejects a value that is not a finite number in range
// with a usage error (exit 2) naming the option and the value, instead of a silent default.
import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { host, tmp, EXAMPLE, FIX } from '../helpers.js';

const CONFIG = join(FIX, 'example', 'config.json');
const BAD = ['abc', '-1', '0', '1.5', '1e400', '99999999999'];
// which of the values each option accepts (0: "every state" / "at once"; 1.5 seconds)
const OPTIONS: Record<string, { args: string[]; ok: string[] }> = {
  timeout: { args: ['spec', EXAMPLE.node], ok: ['1.5'] },
  'kill-grace': { args: ['spec', EXAMPLE.node], ok: ['0', '1.5'] },
  'max-line-bytes': { args: ['spec', EXAMPLE.node], ok: [] },
  'heartbeat-timeout': { args: ['read', EXAMPLE.node, '--config', CONFIG, '--quiet'], ok: ['1.5'] },
  'commit-interval': { args: ['read', EXAMPLE.node, '--config', CONFIG, '--quiet'], ok: ['0', '1.5'] },
  'from-history': { args: ['state', 'set'], ok: ['99999999999'] }, // a whole entry number: "no history entry" (exit 6)
};

describe('numeric options', () => {
  for (const [option, { args, ok }] of Object.entries(OPTIONS)) {
    for (const v of BAD.filter((x) => !ok.includes(x))) {
      it(`--${option} ${v}: exit 2 naming the option and the value`, async () => {
        const extra = option === 'from-history' ? ['--state', join(tmp(), 'state.json')] : [];
        const r = await host([...args, ...extra, `--${option}`, v]);
        expect(r.exitCode, r.stderr).toBe(2);
        expect(r.stderr).toContain(`--${option} "${v}"`);
        expect(r.stderr).not.toContain('internal error');
      });
    }
  }

  it('valid values still work', async () => {
    const r = await host(['spec', EXAMPLE.node, '--timeout', '1.5', '--kill-grace', '0', '--max-line-bytes', '100000']);
    expect(r.exitCode, r.stderr).toBe(0);
  });

  it.each([
    ['singer-target', '--target-json'],
    ['singer-tap', '--tap-json'],
  ])('the %s shim checks --check-timeout', async (name, flag) => {
    const { execa } = await import('execa');
    const shim = join(FIX, '..', '..', 'shims', `${name}.mjs`);
    for (const v of BAD.filter((x) => x !== '1.5')) {
      const r = await execa(process.execPath, [shim, flag, JSON.stringify({ command: process.execPath, args: ['-e', ''] }), 'check', '--config', CONFIG, '--check-timeout', v], { reject: false });
      expect(r.exitCode, `${v}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`--check-timeout "${v}"`);
    }
  });
});
