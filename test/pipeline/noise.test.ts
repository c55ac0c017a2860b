// Issue 10 item 17: a destination's (and a Singer target's) stdout noise is capped like a
// source's: the first lines are logged, the rest only counted (in the summary).
import { describe, it, expect } from 'vitest';
import { setup, runInto } from './helpers.js';

const ignoredLines = (stderr: string) => stderr.split('\n').filter((l) => l.includes('ignored')).length;

describe('destination stdout noise', () => {
  for (const kind of ['text', 'untyped']) {
    it(`200,000 ${kind} lines: at most a few dozen logged, the count in the summary, exit 0`, async () => {
      const s = setup();
      const r = await runInto('noise.mjs', s, ['--lines', '200000', '--kind', kind]);
      expect(r.exitCode, r.stderr.slice(-2000)).toBe(0);
      expect(ignoredLines(r.stderr)).toBeLessThanOrEqual(60);
      expect(r.stderr.length).toBeLessThan(100_000);
      expect(r.stderr).toContain('200000 destination stdout lines ignored');
    });
  }

  it('200,000 lines from a Singer target: capped, exit 0', async () => {
    const s = setup();
    const r = await runInto('target-noise.mjs', s, ['--lines', '200000'], undefined, ['--destination-protocol', 'singer']);
    expect(r.exitCode, r.stderr.slice(-2000)).toBe(0);
    expect(ignoredLines(r.stderr)).toBeLessThanOrEqual(60);
    expect(r.stderr.length).toBeLessThan(100_000);
    expect(r.stderr).toContain('200000 lines of the target');
  });
});
