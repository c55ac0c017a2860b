// Issue 10 item 8: a destination (or Singer target) that leaves before the end of its input is a
// failure (exit 3, DESTINATION_ERROR), whatever the input's size; nothing it did not acknowledge
// is committed.
import { describe, it, expect } from 'vitest';
import { existsSync } from 'node:fs';
import { streamState } from '../helpers.js';
import { setup, runInto } from './helpers.js';

const noStateCommitted = (file: string) => !existsSync(file) || streamState(file, 'events') === undefined;

describe('a destination that exits 0 before the end of its input', () => {
  for (const [k, events] of [
    [5, undefined],
    [1, undefined],
    [14, undefined],
    [2000, 50000],
  ] as const) {
    it(`exits 0 after ${k} of ${events ?? 15} records: exit 3, nothing unacknowledged committed`, async () => {
      const s = setup();
      const r = await runInto('exit-early.mjs', s, ['--after', String(k)], events);
      expect(r.exitCode, r.stderr).toBe(3);
      expect(r.stderr).toContain('exited with code 0 before the end of its input');
      expect(noStateCommitted(s.state)).toBe(true);
      expect(r.stderr).not.toMatch(/\n\s+at .*\.js:\d+/); // no stack trace
    });
  }

  it('exits 0 without reading anything: exit 3', async () => {
    const s = setup();
    const r = await runInto('exit-early.mjs', s, ['--after', '0']);
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.stderr).toContain('before the end of its input');
    expect(noStateCommitted(s.state)).toBe(true);
  });

  it('closes its stdin but keeps running, then exits 0: exit 3', async () => {
    const s = setup();
    const r = await runInto('close-stdin.mjs', s, ['--linger', '1500']);
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.stderr).toContain('exited with code 0 before the end of its input');
    expect(noStateCommitted(s.state)).toBe(true);
  });
});

describe('a Singer target that exits 0 before the end of its input', () => {
  for (const [k, events] of [
    [0, undefined],
    [4, undefined],
    [3000, 50000],
  ] as const) {
    it(`exits 0 after ${k} of ${events ?? 15} records: exit 3`, async () => {
      const s = setup();
      const r = await runInto('target-exit-early.mjs', s, ['--after', String(k)], events, ['--destination-protocol', 'singer']);
      expect(r.exitCode, r.stderr).toBe(3);
      expect(r.stderr).toContain('exited with code 0 before the end of its input');
      expect(noStateCommitted(s.state)).toBe(true);
    });
  }
});
