// --select: Meltano-style stream and field patterns on read and catalog; deselected fields leave
// the schema and the records (lossless), keys stay; hostile names and records (issue 11, item 5).

import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { host, tmp, EXAMPLE, FIX, writeJson, readJson } from '../helpers.js';

const CONFIG = join(EXAMPLE.node, '..', 'config.json');
const WIDE = join(FIX, 'select', 'wide.mjs');
const TAP_ALL = join(FIX, 'singer', 'tap-all-fields.mjs');
const TAP_GOOD = join(FIX, 'singer', 'tap-good.mjs');
const messages = (stdout: string) => stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
const recordsOf = (stdout: string) => messages(stdout).filter((m) => m.type === 'RECORD').map((m) => m.record);
/** stream -> the sorted set of top-level keys its records carry */
const keysByStream = (stdout: string) => {
  const out: Record<string, string[]> = {};
  for (const r of recordsOf(stdout)) out[r.stream] = [...new Set([...(out[r.stream] ?? []), ...Object.keys(r.data)])].sort();
  return out;
};
const catalogFor = async (args: string[]) => {
  const r = await host(['catalog', EXAMPLE.node, '--config', CONFIG, ...args]);
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};
const schemaProps = (cat: any, name: string) => Object.keys(cat.streams.find((s: any) => s.stream.name === name).stream.json_schema.properties).sort();

describe('--select patterns', () => {
  it('each pattern form on host catalog: stream.*, bare stream, stream.field, !exclusion, *.*, globs', async () => {
    let cat = await catalogFor(['--select', 'users.*']);
    expect(cat.streams.map((s: any) => s.stream.name)).toEqual(['users']);
    expect(schemaProps(cat, 'users')).toEqual(['email', 'id', 'name']);
    expect(cat.streams[0].selected_fields).toBeUndefined(); // nothing deselected: no filter

    cat = await catalogFor(['--select', 'users']);
    expect(cat.streams.map((s: any) => s.stream.name)).toEqual(['users']);
    expect(cat.streams[0].selected_fields).toBeUndefined();

    cat = await catalogFor(['--select', 'events.amount']);
    // id is the primary key and the cursor: kept, and said so
    expect(cat.streams[0].selected_fields).toEqual(['id', 'amount']);
    expect(schemaProps(cat, 'events')).toEqual(['amount', 'id']);

    cat = await catalogFor(['--select', '!users.email']);
    expect(cat.streams.map((s: any) => s.stream.name)).toEqual(['users', 'events']); // only exclusions: start from *.*
    expect(cat.streams[0].selected_fields).toEqual(['id', 'name']);
    expect(cat.streams[1].selected_fields).toBeUndefined();

    cat = await catalogFor(['--select', '*.*']);
    expect(cat.streams.map((s: any) => [s.stream.name, s.selected_fields])).toEqual([['users', undefined], ['events', undefined]]);

    cat = await catalogFor(['--select', 'user?.[ne]*', '--select', '!*.email', '--select', 'ev*.k?nd']);
    expect(cat.streams.map((s: any) => [s.stream.name, s.selected_fields])).toEqual([['users', ['id', 'name']], ['events', ['id', 'kind']]]);

    cat = await catalogFor(['--select', '*.*', '--select', '!events']);
    expect(cat.streams.map((s: any) => s.stream.name)).toEqual(['users']);

    cat = await catalogFor(['--streams', 'events', '--select', '*.kind']);
    expect(cat.streams.map((s: any) => [s.stream.name, s.selected_fields])).toEqual([['events', ['id', 'kind']]]);
  });

  it('the kept primary key is reported on stderr', async () => {
    const r = await host(['catalog', EXAMPLE.node, '--config', CONFIG, '--select', 'users.name']);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/users: field \\?"id\\?" kept although not selected \(primary key\)/);
  });

  it('patterns that match nothing: a usage error listing the streams or the fields', async () => {
    const noStream = await host(['read', EXAMPLE.node, '--config', CONFIG, '--select', 'orders.*', '--quiet']);
    expect(noStream.exitCode).toBe(2);
    expect(noStream.stderr).toContain('--select "orders.*" matches no stream; available streams: users, events');
    const noField = await host(['catalog', EXAMPLE.node, '--config', CONFIG, '--select', 'users.phone']);
    expect(noField.exitCode).toBe(2);
    expect(noField.stderr).toContain('--select "users.phone" matches no field of the streams it names (users: id, name, email)');
    const badExclude = await host(['catalog', EXAMPLE.node, '--config', CONFIG, '--select', '!users.emial']);
    expect(badExclude.exitCode).toBe(2);
    expect(badExclude.stderr).toContain('"!users.emial" matches no field');
    const afterStreams = await host(['catalog', EXAMPLE.node, '--config', CONFIG, '--streams', 'events', '--select', 'users.*']);
    expect(afterStreams.exitCode).toBe(2);
    expect(afterStreams.stderr).toContain('available streams: events');
    const empty = await host(['catalog', EXAMPLE.node, '--config', CONFIG, '--select', '!']);
    expect(empty.exitCode).toBe(2);
    expect(empty.stderr).toContain('is not a pattern');
  });

  it('host catalog > file, then read --catalog file: the deselected field is gone from records, stdout and --out', async () => {
    const dir = tmp();
    const file = join(dir, 'catalog.json');
    const cat = await catalogFor(['--select', '!users.email', '--select', '!events.at']);
    writeJson(dir, 'catalog.json', cat);
    const r = await host(['read', EXAMPLE.node, '--config', CONFIG, '--catalog', file, '--quiet']);
    expect(r.exitCode).toBe(0);
    expect(keysByStream(r.stdout)).toEqual({ users: ['id', 'name'], events: ['amount', 'id', 'kind'] });
    expect(r.stdout).not.toContain('@example.com');
    const out = join(dir, 'out');
    const o = await host(['read', EXAMPLE.node, '--config', CONFIG, '--catalog', file, '--out', out, '--quiet']);
    expect(o.exitCode).toBe(0);
    const users = readFileSync(join(out, 'users.jsonl'), 'utf8');
    expect(users).toBe('{"id":1,"name":"Ada Lovelace"}\n{"id":2,"name":"Zoë Ångström"}\n{"id":3,"name":"李雷"}\n');
    expect(readFileSync(join(out, 'events.jsonl'), 'utf8')).not.toContain('"at"');
    // the manifest's byte counts agree with the (smaller) files
    const m = readJson(join(out, 'manifest.json'));
    expect(m.streams.find((s: any) => s.name === 'users').bytes).toBe(Buffer.byteLength(users));
    // the Singer SCHEMA on stdout has the reduced schema
    const singer = await host(['read', EXAMPLE.node, '--config', CONFIG, '--catalog', file, '--format', 'singer', '--quiet']);
    const schema = messages(singer.stdout).find((x) => x.type === 'SCHEMA' && x.stream === 'users');
    expect(Object.keys(schema.schema.properties)).toEqual(['id', 'name']);
    expect(singer.stdout).not.toContain('email');
  });

  it('--select directly on read and run, same result as through the catalog', async () => {
    const dir = tmp();
    const r = await host(['read', EXAMPLE.node, '--config', CONFIG, '--select', 'users.name', '--quiet']);
    expect(r.exitCode).toBe(0);
    expect(keysByStream(r.stdout)).toEqual({ users: ['id', 'name'] });
    const out = join(dir, 'out');
    const run = await host(['run', EXAMPLE.node, '--config', CONFIG, '--select', 'events.kind', '--out', out, '--quiet']);
    expect(run.exitCode).toBe(0);
    const events = readFileSync(join(out, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(events).toHaveLength(12);
    expect(events.every((e) => Object.keys(e).join() === 'id,kind')).toBe(true);
  });
});

describe('the record filter (a source that sends every field)', () => {
  it('int64 beyond 2^53 exact, key order kept, escaped keys and "__proto__" filtered by name, on the byte path and the parse path', async () => {
    const dir = tmp();
    const cfg = writeJson(dir, 'c.json', {});
    for (const slow of [[], ['--slow']]) {
      const r = await host(['read', '--config', cfg, '--select', '!people.email', '--select', '!people.__proto__', '--quiet', '--', WIDE, ...slow]);
      expect(r.exitCode, r.stderr).toBe(0);
      const lines = r.stdout.split('\n').filter((l) => l.includes('"people"') && l.includes('RECORD'));
      expect(lines).toHaveLength(3);
      const people = lines.join('\n');
      expect(people).not.toContain('example.com');
      expect(people).not.toContain('polluted');
      expect(people).not.toContain('__proto__');
      expect(r.stdout).toContain('"big":9007199254740993');
      expect(r.stdout).toContain('"big":-9223372036854775808');
      expect(r.stdout).toContain('"big":12345678901234567890');
      expect(r.stdout).toContain('"nested":{"email":"inner"}'); // nested fields are not top-level: kept
      if (slow.length === 0) {
        // the byte path copies members as sent: escapes and number spellings untouched
        expect(lines[1]).toContain('"data":{"n\\u0061me":"Zo\\u00eb","id":2,"seq":20,"big":-9223372036854775808,"nested":{}}');
        expect(lines[2]).toContain('"data":{"big":12345678901234567890,"id":3,"name":"李雷","seq":30,"nested":{"a":[1,2.50,3e2]}}');
      } else {
        expect(lines[1]).toContain('"data":{"name":"Zoë","id":2,"seq":20,"big":-9223372036854775808,"nested":{}}');
      }
      // the stream without declared properties (only exclusions: every stream) is not touched
      expect(r.stdout).toContain('"data":{"text":"hi","email":"x@example.com"}');
    }
    const out = join(dir, 'out');
    const o = await host(['read', '--config', cfg, '--select', 'people.name', '--select', 'notes', '--out', out, '--quiet', '--', WIDE]);
    expect(o.exitCode).toBe(0);
    expect(readFileSync(join(out, 'app', 'people.jsonl'), 'utf8')).toBe('{"id":1,"seq":10,"name":"Ada"}\n{"n\\u0061me":"Zo\\u00eb","id":2,"seq":20}\n{"id":3,"name":"李雷","seq":30}\n');
    expect(readFileSync(join(out, 'notes.jsonl'), 'utf8')).toBe('{"text":"hi","email":"x@example.com"}\n');
    expect(readJson(join(out, 'state.json')).states[0].stream.stream_state).toEqual({ seq: 30 });
  });

  it('a field named "__proto__" can be selected and comes out as data; namespace.name patterns work', async () => {
    const dir = tmp();
    const cfg = writeJson(dir, 'c.json', {});
    const r = await host(['read', '--config', cfg, '--select', 'app.people.__proto__', '--quiet', '--', WIDE]);
    expect(r.exitCode).toBe(0);
    const recs = recordsOf(r.stdout);
    expect(recs).toHaveLength(3);
    expect(r.stdout).toContain('"data":{"id":1,"seq":10,"__proto__":{"polluted":true}}');
    expect(({} as any).polluted).toBeUndefined();
    const cat = await host(['catalog', '--config', cfg, '--select', 'app.people.name', '--', WIDE]);
    expect(JSON.parse(cat.stdout).streams.map((s: any) => [s.stream.namespace, s.stream.name, s.selected_fields])).toEqual([['app', 'people', ['id', 'seq', 'name']]]);
    expect(JSON.parse(cat.stdout).streams[0].stream.json_schema.required).toEqual(['id']); // email left `required` too
  });

  it('hostile: a pattern __proto__.* matches no stream (a usage error, no crash); a record that is not an object stops the run', async () => {
    const dir = tmp();
    const cfg = writeJson(dir, 'c.json', {});
    for (const p of ['__proto__.*', 'constructor', 'people.constructor', '[.*']) {
      const r = await host(['read', '--config', cfg, '--select', p, '--quiet', '--', WIDE]);
      expect(r.exitCode, p).toBe(2);
      expect(r.stderr).toContain(`--select ${JSON.stringify(p)} matches no`);
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    }
    const long = await host(['catalog', '--config', cfg, '--select', `${'*'.repeat(200)}x.*`, '--', WIDE]);
    expect(long.exitCode).toBe(2); // no exponential backtracking
    const r = await host(['read', '--config', cfg, '--select', 'people.name', '--out', join(dir, 'out'), '--quiet', '--', WIDE, '--not-object']);
    expect(r.exitCode).toBe(7);
    expect(r.stderr).toContain('record.data is not an object');
  });
});

describe('Singer taps (--protocol singer)', () => {
  it('a tap that ignores field metadata: the host drops the fields; int64 exact', async () => {
    const dir = tmp();
    const cfg = writeJson(dir, 'c.json', {});
    const r = await host(['read', TAP_ALL, '--protocol', 'singer', '--config', cfg, '--select', 'items.name', '--quiet']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(recordsOf(r.stdout).map((x) => x.data)).toEqual([
      { id: 1, name: 'n1' },
      { id: 2, name: 'n2' },
      { id: 3, name: 'n3' },
    ]);
    const all = await host(['read', TAP_ALL, '--protocol', 'singer', '--config', cfg, '--select', '!items.email', '--quiet']);
    expect(all.stdout).toContain('"big":9007199254740995');
    expect(all.stdout).not.toContain('@example.com');
  });

  it('a tap that honours it gets `selected` metadata from the catalog host catalog wrote', async () => {
    const dir = tmp();
    const cfg = writeJson(dir, 'c.json', { api_key: 'k-123456' });
    const cat = await host(['catalog', TAP_GOOD, '--protocol', 'singer', '--config', cfg, '--select', 'users.name']);
    expect(cat.exitCode, cat.stderr).toBe(0);
    const file = writeJson(dir, 'catalog.json', JSON.parse(cat.stdout));
    const r = await host(['read', TAP_GOOD, '--protocol', 'singer', '--config', cfg, '--catalog', file, '--quiet']);
    expect(r.exitCode, r.stderr).toBe(0);
    const recs = recordsOf(r.stdout);
    expect(recs.length).toBeGreaterThan(0);
    expect(recs.every((x) => Object.keys(x.data).sort().join() === 'id,name')).toBe(true);
  });
});
