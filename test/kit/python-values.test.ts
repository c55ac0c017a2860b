// Python values that JSON has no type for, through the real CLI: written as JSON (a Decimal digit
// for digit, also as a cursor in the state), typed in an inferred schema, and the values JSON
// cannot hold at all (NaN, an arbitrary object) fail naming the resource, not json's own code.

import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { host, tmp, writeJson, FIX } from '../helpers.js';

const ref = join(FIX, 'kit-python', 'values.py:values_source');

describe('Python kit: values beyond JSON', () => {
  it('datetime, date, Decimal, UUID, tuple, set and bytes are written as JSON; a Decimal keeps its digits', async () => {
    const d = tmp('ch-kit-values-');
    const r = await host(['read', ref, '--config', writeJson(d, 'c.json', {}), '--out', join(d, 'out')]);
    expect(r.exitCode, r.stderr).toBe(0);
    const line = readFileSync(join(d, 'out', 'values.jsonl'), 'utf8').trim();
    expect(line).toContain('"price":12345678901234567890.123456789');
    expect(line).toContain('"half":-0.5');
    expect(line).toContain('"big":1E+30');
    expect(line).toContain('"amount":5.00');
    expect(line).toContain('"at":"2024-01-02T03:04:05+00:00"');
    expect(line).toContain('"day":"2024-01-02"');
    expect(line).toContain('"u":"00000000-0000-0000-0000-000000000005"');
    expect(line).toContain('"pair":[1,2]');
    expect(line).toContain('"tags":[3]');
    expect(line).toContain('"raw":"AP8="');
    // a string that looks like the marker stays a string
    expect(line).toContain('"lookalike":"\\u0000ch0:1\\u0000 a string');
    const state = readFileSync(join(d, 'out', 'state.json'), 'utf8');
    expect(state).toMatch(/"amount":\s*5\.00/);
  });

  it('discover infers number for a Decimal, array for a set, a date-time and a date format', async () => {
    const d = tmp('ch-kit-values-');
    const r = await host(['discover', ref, '--config', writeJson(d, 'c.json', {})]);
    expect(r.exitCode, r.stderr).toBe(0);
    const props = JSON.parse(r.stdout).catalog.streams[0].json_schema.properties;
    expect(props.price).toEqual({ type: 'number' });
    expect(props.tags).toEqual({ type: 'array', items: { type: 'integer' } });
    expect(props.at).toEqual({ type: 'string', format: 'date-time' });
    expect(props.day).toEqual({ type: 'string', format: 'date' });
    expect(props.lookalike).toEqual({ type: 'string' });
  });

  it.each([
    ['nan', /a record or state holds a float NaN or Infinity, which JSON cannot hold/],
    ['object', /a record holds a value of type object, which cannot be written as JSON/],
  ])('a record with %s: the run fails (exit 3) naming the resource, with no json internals shown', async (bad, re) => {
    const d = tmp('ch-kit-values-');
    const r = await host(['read', ref, '--config', writeJson(d, 'c.json', { bad }), '--out', join(d, 'out')]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(re);
    expect(r.stderr).toContain("resource 'values' failed");
    expect(r.stderr).not.toMatch(/json[/\\]encoder\.py/);
    expect(r.stderr).not.toContain('_out.py');
  });
});

describe('Python processor: values beyond JSON', () => {
  it('a processor returning a date and a Decimal: written as the source kit writes them', async () => {
    const d = tmp('ch-kit-values-');
    const sample = join(d, 's.jsonl');
    writeFileSync(sample, '{"id":1}\n{"id":12345678901234567890}\n');
    const r = await host(['process', join(FIX, 'kit-processors', 'values.py:process'), '--sample', sample]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.split('\n')).toEqual(['{"id":1,"day":"2024-01-01","price":1.10}', '{"id":12345678901234567890,"day":"2024-01-01","price":1.10}']);
  });
});
