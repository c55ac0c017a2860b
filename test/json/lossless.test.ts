import { describe, it, expect } from 'vitest';
import { parseLossless, stringifyLossless, LosslessNumber } from '../../dist/json/lossless.js';

describe('lossless JSON', () => {
  it('keeps numbers a JS number cannot hold, byte for byte', () => {
    const text = '{"a":9007199254740993,"b":-9223372036854775808,"c":0.1000000000000000055511151231257827,"d":1.50,"e":1E+2,"f":12,"g":-0,"h":[18446744073709551615]}';
    const v = parseLossless(text) as Record<string, unknown>;
    expect(v['a']).toBeInstanceOf(LosslessNumber);
    expect(v['f']).toBe(12);
    expect(stringifyLossless(v)).toBe(text);
  });

  it('indents like JSON.stringify for plain data', () => {
    const v = { a: [1, { b: 'x' }], c: {}, d: [] };
    expect(stringifyLossless(v, 2)).toBe(JSON.stringify(v, null, 2));
  });

  it('throws a positioned error on bad input', () => {
    expect(() => parseLossless('{"a": tru}')).toThrow(/position 6/);
    expect(() => parseLossless('{"a":1} x')).toThrow(/after the value/);
  });
});
