// Issue 10 item 6: a line that is a RECORD or STATE in all but its type (or shape) is a protocol
// violation that stops the run before any later STATE is committed; a truly unknown type stays
// a warning (forward compatibility).

import { describe, it, expect } from 'vitest';
import { tmp, writeJson } from '../helpers.js';
import { hostile, ids, itemsCursor, warnings, noStack } from './hostile-helpers.js';

describe('a mistyped RECORD or STATE stops the run before a later state is committed', () => {
  it.each([
    ['RECROD', 'record'],
    ['record', 'record'],
    ['Record', 'record'],
    ['RECORDS', 'record'],
    ['XYZ', 'record'],
    ['-', 'record'],
    ['null', 'record'],
    ['RECROD', 'flat'],
    ['STATES', 'state'],
    ['state', 'state'],
    ['STAET', 'state'],
    ['CHECKPOINT', 'state'],
  ])('type %s carrying a %s: exit 7 at line 3, state stays at cursor 1, the next run reads item 2', async (type, payload) => {
    const dir = tmp();
    const r = await hostile(dir, 'mistyped', ['--type', type, '--payload', payload]);
    expect(r.exitCode, r.stderr).toBe(7);
    expect(r.stderr).toMatch(/stdout line 3: /);
    expect(r.stderr).toMatch(payload === 'state' ? /a STATE in all but its type/ : /a RECORD in all but its type/);
    expect(r.stderr).toContain('It starts: "{');
    expect(noStack(r)).toBe(true);
    expect(itemsCursor(dir)).toBe(1);
    expect(ids(dir)).toEqual([1]);
    // the connector fixed: the next run resumes after cursor 1, so item 2 is not lost
    const again = await hostile(dir, 'mistyped', ['--type', payload === 'state' ? 'STATE' : 'RECORD', '--payload', payload === 'state' ? 'state' : 'record']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(ids(dir)).toEqual(payload === 'state' ? [1, 3] : [1, 2, 3]);
    expect(itemsCursor(dir)).toBe(3);
  });

  it('the start of the line in the error is masked', async () => {
    const dir = tmp();
    writeJson(dir, 'config.json', { password: 'hunter2-very-secret' });
    const r = await hostile(dir, 'mistyped', ['--leak']);
    expect(r.exitCode, r.stderr).toBe(7);
    expect(r.stderr).toMatch(/a RECORD in all but its type \("RECROD"\).*\*\*\*\*/);
    expect(r.stderr).not.toContain('hunter2');
  });

  it.each(['NOPE', 'FUTURE_MESSAGE', 'RECORD_BATCH_HINT'])('a truly unknown type %s without a record or state stays a warning', async (type) => {
    const dir = tmp();
    const r = await hostile(dir, 'mistyped', ['--type', type, '--payload', 'none']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(warnings(r)).toMatch(new RegExp(`stdout line 3: unknown message type "${type}", ignored`));
    expect(ids(dir)).toEqual([1, 3]);
    expect(itemsCursor(dir)).toBe(3);
  });
});

describe('a RECORD of type RECORD that is not a valid RECORD is lost data: a protocol violation', () => {
  it.each([
    ['no-stream', /record\.stream is missing/],
    ['no-data', /record\.data is missing/],
    ['data-array', /record\.data is not an object/],
    ['data-string', /record\.data is not an object/],
    ['stream-number', /record\.stream is not a string/],
    ['record-string', /record is not an object/],
  ])('%s: exit 7 naming line 3 and what is wrong, no later state committed', async (variant, what) => {
    const dir = tmp();
    const r = await hostile(dir, 'invalid-record', ['--variant', variant]);
    expect(r.exitCode, r.stderr).toBe(7);
    expect(r.stderr).toMatch(/stdout line 3: invalid RECORD message/);
    expect(r.stderr).toMatch(what);
    expect(noStack(r)).toBe(true);
    expect(itemsCursor(dir)).toBe(1);
    expect(ids(dir)).toEqual([1]);
  });

  it.each([
    ['truncated', 'RECORD'],
    ['truncated-state', 'STATE'],
    ['garbled', 'RECORD'],
    ['single-quoted', 'RECORD'],
  ])('%s (not JSON, but a %s by its start): exit 7 naming line 3, no later state committed', async (variant, kind) => {
    const dir = tmp();
    const r = await hostile(dir, 'invalid-record', ['--variant', variant]);
    expect(r.exitCode, r.stderr).toBe(7);
    expect(r.stderr).toMatch(new RegExp(`stdout line 3: a ${kind} message that is not valid JSON`));
    expect(noStack(r)).toBe(true);
    expect(itemsCursor(dir)).toBe(1);
    expect(ids(dir)).toEqual([1]);
  });
});
