// The Singer tap reader (src/dialect/singer-source.ts) in process, with a collecting emitter: the
// translator core that the standalone shim and (next) the read engine share. Hostile lines.
import { describe, it, expect } from 'vitest';
import { StreamRoutes, SingerTapReader, SingerTapError } from '../../dist/dialect/singer-source.js';

function reader(entries: { tap_stream_id?: string; stream?: string; name: string }[], opts: { strict?: boolean } = { strict: true }) {
  const routes = new StreamRoutes();
  for (const e of entries) routes.add(e, { name: e.name });
  const got: string[] = [];
  const r = new SingerTapReader(
    routes,
    {
      record: (t, data, ds, de, line) => void got.push(`R ${t.name} ${data.toString('utf8', ds, de)}${line ? ' as-written' : ''}`),
      state: (raw) => void got.push(`S ${raw}`),
      streamStatus: (t, status, v) => void got.push(`${status} ${t.name} ${v}`),
      other: (kind, _l, _s, _e, t) => void got.push(`${kind} ${t?.name ?? '?'}`),
      log: (level, m) => void got.push(`${level} ${m}`),
    },
    opts,
  );
  let n = 0;
  const feed = (...lines: string[]) => {
    for (const l of lines) {
      const b = Buffer.from(`xx${l}yy`); // the line inside a larger buffer, as the framer gives it
      r.line(b, 2, b.length - 2, ++n);
    }
  };
  return { r, got, feed };
}

describe('Singer tap reader (in process)', () => {
  it('plain RECORD lines are handed on as written, data in place; STATE raw; noise warned', () => {
    const { got, feed, r } = reader([{ tap_stream_id: 'users', stream: 'users', name: 'users' }]);
    feed('{"type":"SCHEMA","stream":"users","schema":{},"key_properties":[]}', '{"type":"RECORD","stream":"users","record":{"id":1,"n":1.50}}', 'hello', '{"type":"STATE","value":{"b":{"id":1}}}', '[1]');
    r.finish(true);
    expect(got).toEqual([
      'SCHEMA users',
      'R users {"id":1,"n":1.50} as-written',
      `WARN the Singer tap's stdout line 3 is not JSON; ignored: "hello"`,
      'S {"b":{"id":1}}',
      `WARN the Singer tap's stdout line 5 is JSON but not a Singer message (not an object); ignored: "[1]"`,
    ]);
  });

  it('an alias routes to its stream (not as written); an alias two streams share is a config error', () => {
    const { got, feed } = reader([{ tap_stream_id: 'public-items', stream: 'items', name: 'public-items' }]);
    feed('{"type":"RECORD","stream":"items","record":{"id":1}}');
    expect(got).toEqual(['R public-items {"id":1}']);
    const two = reader([
      { tap_stream_id: 'a-users', stream: 'users', name: 'a-users' },
      { tap_stream_id: 'b-users', stream: 'users', name: 'b-users' },
    ]);
    let err: unknown;
    try {
      two.feed('{"type":"RECORD","stream":"users","record":{"id":1}}');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SingerTapError);
    expect((err as SingerTapError).failureType).toBe('config_error');
    expect((err as Error).message).toMatch(/2 selected streams share \(a-users, b-users\)/);
  });

  it('a RECORD for a stream not in the catalog keeps its name (the engine rejects it); a mistyped RECORD stops the sync', () => {
    const { got, feed } = reader([{ tap_stream_id: 'users', name: 'users' }]);
    feed('{"type":"RECORD","stream":"ghost","record":{"id":1}}');
    expect(got).toEqual(['R ghost {"id":1} as-written']);
    expect(() => feed('{"type":"RECROD","stream":"users","record":{"id":2}}')).toThrow(/RECORD in all but its type/);
  });

  it('strict: a garbled record object is not passed on; a "record" that is no object is a violation', () => {
    const { got, feed } = reader([{ tap_stream_id: 'users', name: 'users' }]);
    feed('{"type":"RECORD","stream":"users","record":{"id":01}}'); // not JSON: noise, nothing stored
    expect(got).toHaveLength(1);
    expect(got[0]).toMatch(/line 1 is not JSON/);
    expect(() => feed('{"type":"RECORD","stream":"users","record":[1]}')).toThrow(SingerTapError);
  });

  it('table versions: STARTED at the first versioned record, COMPLETE at the closing ACTIVATE_VERSION', () => {
    const { got, feed, r } = reader([{ tap_stream_id: 'rows', name: 'rows' }]);
    feed('{"type":"RECORD","stream":"rows","record":{"id":1},"version":7}', '{"type":"RECORD","stream":"rows","record":{"id":2},"version":7}', '{"type":"ACTIVATE_VERSION","stream":"rows","version":7}');
    r.finish(true);
    expect(got).toEqual(['STARTED rows 7', 'R rows {"id":1}', 'R rows {"id":2} as-written', 'COMPLETE rows 7', 'ACTIVATE_VERSION rows']);
  });

  it('a huge line and a flood of noise: every line handled, the warnings capped at 20', () => {
    const { got, feed, r } = reader([{ tap_stream_id: 'users', name: 'users' }]);
    const big = 'x'.repeat(8 * 1024 * 1024);
    feed(`{"type":"RECORD","stream":"users","record":{"blob":"${big}"}}`);
    for (let i = 0; i < 100; i++) feed(`noise ${i}`);
    r.finish(true);
    expect(got[0]!.length).toBeGreaterThan(8 * 1024 * 1024);
    expect(got.filter((g) => g.startsWith('WARN'))).toHaveLength(21);
    expect(got.at(-1)).toBe('WARN the Singer tap printed 100 lines on stdout that are not Singer messages (ignored)');
  });
});
