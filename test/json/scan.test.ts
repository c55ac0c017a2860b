// The byte-level classifier must agree with a full parse on every shape, and
// hand back the exact bytes of `data`.

import { describe, it, expect } from 'vitest';
import { classifyLine, lastRecord, skipValue, RECORD, NOT_RECORD, MALFORMED } from '../../dist/json/scan.js';

const b = (s: string) => Buffer.from(s);
function classify(s: string) {
  const buf = b(s);
  const r = classifyLine(buf, 0, buf.length);
  if (r !== RECORD) return r;
  return { stream: lastRecord.stream, namespace: lastRecord.namespace, data: buf.toString('utf8', lastRecord.dataStart, lastRecord.dataEnd) };
}

describe('classifyLine', () => {
  it('finds stream, namespace and the exact data bytes whatever the key order and spacing', () => {
    const data = '{"id":9007199254740993,"s":"caf\\u00e9 \\"q\\" }{","n":[1,{"x":null}],"f":1.50}';
    const shapes = [
      `{"type":"RECORD","record":{"stream":"s1","data":${data},"emitted_at":1}}`,
      `{"record":{"emitted_at":1,"data":${data},"namespace":"ns","stream":"s1"},"type":"RECORD"}`,
      ` { "type" : "RECORD" , "record" : { "data" : ${data} , "stream" : "s1" , "meta" : {"changes":[]} } } `,
      `{"type":"RECORD","extra":{"type":"STATE"},"record":{"stream":"s1","namespace":null,"data":${data}}}`,
    ];
    for (const line of shapes) {
      const r = classify(line);
      expect(r).toMatchObject({ stream: 's1', data });
    }
    expect(classify(shapes[1]!)).toMatchObject({ namespace: 'ns' });
  });

  it('decodes escaped stream names', () => {
    expect(classify('{"type":"RECORD","record":{"stream":"caf\\u00e9","data":{}}}')).toMatchObject({ stream: 'café' });
  });

  it('sends every other shape to the full parser', () => {
    expect(classify('{"type":"STATE","state":{"data":{}}}')).toBe(NOT_RECORD);
    expect(classify('{"type":"RECORD","record":{"data":{"id":1}}}')).toBe(NOT_RECORD); // no stream
    expect(classify('{"type":"RECORD","record":{"stream":"s","data":[1]}}')).toBe(NOT_RECORD); // data not an object
    expect(classify('{"type":"RECORD","record":{"stream":"s","data":{},"data":{}}}')).toBe(NOT_RECORD); // duplicate
    expect(classify('{"t\\u0079pe":"STATE","type":"RECORD","record":{"stream":"s","data":{}}}')).toBe(NOT_RECORD); // escaped key
    expect(classify('{"type":"RECORD","record":{"stream":1,"data":{}}}')).toBe(NOT_RECORD);
  });

  it('rejects what is not a single JSON object', () => {
    for (const s of ['hello', '[1,2]', '{"type":"RECORD"', '{"a":1} x', '{"a":tru}', '{"a":01}', '{"a":"\u0001"}', '{"a":1,}', '']) {
      expect(classify(s)).toBe(MALFORMED);
    }
  });

  it('agrees with JSON.parse on valid and invalid values', () => {
    const cases = ['0', '-0', '1.5e+10', '"a\\\\"', '[[[]]]', '{"a":[true,false,null]}', '1.', '.5', '-', '"\\"', '[1 2]', '{"a" 1}', 'nul', '{"a":1}}'];
    for (const c of cases) {
      let valid = true;
      try {
        JSON.parse(c);
      } catch {
        valid = false;
      }
      const buf = b(c);
      expect(skipValue(buf, 0, buf.length) === buf.length, c).toBe(valid);
    }
  });

  it('handles deep nesting without overflowing the stack', () => {
    const deep = '['.repeat(100000) + ']'.repeat(100000);
    const buf = b(deep);
    expect(skipValue(buf, 0, buf.length)).toBe(buf.length);
  });
});

describe('string escapes are checked as JSON defines them', () => {
  const rec = (inner: string) => `{"type":"RECORD","record":{"stream":"s","data":{"v":"${inner}"},"emitted_at":1}}`;
  it('every escape JSON allows is a RECORD, its bytes unchanged', () => {
    for (const e of ['\\"', '\\\\', '\\/', '\\b', '\\f', '\\n', '\\r', '\\t', '\\u0041', '\\uD83D\\uDE00', 'a\\u00e9b']) {
      const r = classify(rec(e));
      expect(r, e).toEqual({ stream: 's', namespace: undefined, data: `{"v":"${e}"}` });
      expect(JSON.parse(rec(e)).record.data.v).toBeTypeOf('string');
    }
  });
  it('an escape JSON does not allow is MALFORMED (JSON.parse agrees), never a RECORD written out as it came', () => {
    for (const e of ['\\x41', '\\u12', '\\u12G4', '\\a', '\\0', '\\U0041', '\\']) {
      expect(() => JSON.parse(rec(e)), e).toThrow();
      expect(classify(rec(e)), e).toBe(MALFORMED);
    }
  });
  it('a bad escape in a key, in the stream name, or outside data too', () => {
    for (const line of [
      '{"type":"RECORD","record":{"stream":"s","data":{"k\\x":1},"emitted_at":1}}',
      '{"type":"RECORD","record":{"stream":"s\\q","data":{},"emitted_at":1}}',
      '{"type":"RECORD","record":{"stream":"s","data":{},"emitted_at":1,"extra":"\\z"}}',
    ]) {
      expect(() => JSON.parse(line), line).toThrow();
      expect(classify(line), line).toBe(MALFORMED);
    }
  });
});
