import { describe, it, expect } from 'vitest';
import { LineFramer } from '../../dist/io/line-framer.js';

function frame(chunks: string[], max = 1000, overflow: 'error' | 'truncate' = 'error') {
  const out: [number, string][] = [];
  const long: [number, string][] = [];
  const f = new LineFramer({
    maxLineBytes: max,
    overflow,
    onLine: (buf, s, e, n) => out.push([n, buf.toString('utf8', s, e)]),
    onTooLong: (head, n) => long.push([n, head.toString('utf8', 0, 5)]),
  });
  for (const c of chunks) f.push(Buffer.from(c));
  f.end();
  return { out, long };
}

describe('LineFramer', () => {
  it('splits across chunk boundaries, strips CR and a leading BOM, keeps a last line without newline', () => {
    const { out } = frame(['\ufeff{"a"', ':1}\r\n{"b":2}\n\nlast']);
    expect(out).toEqual([
      [1, '{"a":1}'],
      [2, '{"b":2}'],
      [3, ''],
      [4, 'last'],
    ]);
  });

  it('reports an overlong line once, with its number and start, and goes on with the next line', () => {
    const { out, long } = frame(['ok\n', 'x'.repeat(30), 'y'.repeat(30), 'z'.repeat(30), '\nnext\n'], 50);
    expect(long).toEqual([[2, 'xxxxx']]);
    expect(out).toEqual([
      [1, 'ok'],
      [3, 'next'],
    ]);
  });

  it('an overlong line inside one chunk is reported too', () => {
    const { out, long } = frame(['a\n' + 'q'.repeat(100) + '\nb\n'], 50);
    expect(long).toEqual([[2, 'qqqqq']]);
    expect(out.map((x) => x[1])).toEqual(['a', 'b']);
  });

  it('truncate mode cuts long log lines instead', () => {
    const { out, long } = frame(['x'.repeat(80) + '\nz\n'], 50, 'truncate');
    expect(long).toEqual([]);
    expect(out).toEqual([
      [1, 'x'.repeat(50)],
      [2, 'z'],
    ]);
  });

  it('does not split multi-byte characters', () => {
    const bytes = Buffer.from('日本語\n😀\n');
    const out: string[] = [];
    const f = new LineFramer({ maxLineBytes: 100, overflow: 'error', onLine: (buf, s, e) => out.push(buf.toString('utf8', s, e)) });
    for (let i = 0; i < bytes.length; i++) f.push(bytes.subarray(i, i + 1));
    f.end();
    expect(out).toEqual(['日本語', '😀']);
  });
});
