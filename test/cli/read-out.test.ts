// The README's main job: the example source into --out, and the resume.

import { describe, it, expect } from 'vitest';
import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { host, tmp, EXAMPLE, lines, jsonLines, readJson, streamState, writeJson } from '../helpers.js';

const USERS = [
  '{"id":1,"name":"Ada Lovelace","email":"ada@example.com"}',
  '{"id":2,"name":"Zoë Ångström","email":"zoe@example.com"}',
  '{"id":3,"name":"李雷","email":"li@example.com"}',
];

describe.each(Object.entries(EXAMPLE))('example source (%s) into --out', (_lang, source) => {
  it('writes JSONL per stream, a manifest and a state; a second run reads only what is new', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const config = writeJson(dir, 'config.json', { api_key: 'k-123', event_count: 7 });

    const first = await host(['read', source, '--config', config, '--out', out]);
    expect(first.stderr).toContain('state committed to');
    expect(first.exitCode).toBe(0);
    expect(lines(join(out, 'users.jsonl'))).toEqual(USERS);
    expect(jsonLines(join(out, 'events.jsonl')).map((r) => r['id'])).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(streamState(join(out, 'state.json'), 'events')).toEqual({ cursor: 7 });
    const manifest = readJson(join(out, 'manifest.json'));
    expect(manifest.streams).toEqual([
      expect.objectContaining({ name: 'events', file: 'events.jsonl', sync_mode: 'incremental', records: 7 }),
      expect.objectContaining({ name: 'users', file: 'users.jsonl', sync_mode: 'full_refresh', records: 3 }),
    ]);

    // Same config: nothing new for the incremental stream; the full refresh replaces, not duplicates.
    const second = await host(['read', source, '--config', config, '--out', out]);
    expect(second.exitCode).toBe(0);
    expect(lines(join(out, 'users.jsonl'))).toEqual(USERS);
    expect(jsonLines(join(out, 'events.jsonl')).map((r) => r['id'])).toEqual([1, 2, 3, 4, 5, 6, 7]);

    // More events available: only the new ones are read and appended.
    writeFileSync(config, JSON.stringify({ api_key: 'k-123', event_count: 10 }));
    const third = await host(['read', source, '--config', config, '--out', out]);
    expect(third.exitCode).toBe(0);
    // the summary table: stream, mode, status, records, ...
    expect(third.stderr).toMatch(/^ {2}events\s+incremental\/append\s+complete\s+3\s/m);
    expect(jsonLines(join(out, 'events.jsonl')).map((r) => r['id'])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(streamState(join(out, 'state.json'), 'events')).toEqual({ cursor: 10 });
    expect(readJson(join(out, 'manifest.json')).streams[0].records).toBe(10);
    expect(existsSync(join(out, 'users.jsonl.partial'))).toBe(false);
    expect(existsSync(join(out, 'state.json.lock'))).toBe(false);
  });
});

describe('read options', () => {
  it('--streams selects by name; a run over one stream keeps the other streams\u2019 state', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const state = join(dir, 'state.json');
    // a stored state for a stream this run does not touch
    writeFileSync(state, JSON.stringify([{ type: 'STREAM', stream: { stream_descriptor: { name: 'other', namespace: 'ns' }, stream_state: { cursor: 12345678901234567890 } } }]).replace('12345678901234567000', '12345678901234567890'));
    const config = writeJson(dir, 'config.json', { api_key: 'k', event_count: 4 });
    const r = await host(['read', EXAMPLE.node, '--config', config, '--out', out, '--state', state, '--streams', 'events']);
    expect(r.exitCode).toBe(0);
    expect(existsSync(join(out, 'users.jsonl'))).toBe(false);
    expect(lines(join(out, 'events.jsonl'))).toHaveLength(4);
    const text = readFileSync(state, 'utf8');
    expect(text).toContain('12345678901234567890'); // the other stream's int64 cursor, byte for byte
    expect(streamState(state, 'events')).toEqual({ cursor: 4 });
    expect(readJson(state).states.map((s: any) => s.stream.stream_descriptor.name).sort()).toEqual(['events', 'other']);
  });

  it('--streams with an unknown name is a usage error listing the streams', async () => {
    const dir = tmp();
    const config = writeJson(dir, 'config.json', { api_key: 'k' });
    const r = await host(['read', EXAMPLE.node, '--config', config, '--out', join(dir, 'out'), '--streams', 'nope']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('"nope"');
    expect(r.stderr).toContain('available: users, events');
  });

  it('without --out writes RECORD and STATE lines as NDJSON on stdout', async () => {
    const dir = tmp();
    const config = writeJson(dir, 'config.json', { api_key: 'k', event_count: 5 });
    const r = await host(['read', '--config', config, '--', 'python3', EXAMPLE.python]);
    expect(r.exitCode).toBe(0);
    const msgs = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(new Set(msgs.map((m) => m.type))).toEqual(new Set(['RECORD', 'STATE']));
    expect(msgs.filter((m) => m.type === 'RECORD')).toHaveLength(8);
    expect(r.stderr).toContain('state not saved');
  });

  it('a user catalog that is not a configured catalog is a clear error', async () => {
    const dir = tmp();
    const config = writeJson(dir, 'config.json', { api_key: 'k' });
    const catalog = writeJson(dir, 'catalog.json', { streams: [{ stream: { name: 'users' } }] });
    const r = await host(['read', EXAMPLE.node, '--config', config, '--catalog', catalog, '--out', join(dir, 'out')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('not a valid configured catalog');
    expect(r.stderr).toMatch(/\/streams\/0/);
  });
});
