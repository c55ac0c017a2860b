// host read --format singer: SCHEMA/RECORD/STATE for any protocol source, for `| target-x`.

import { describe, it, expect } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { host, tmp, EXAMPLE, bad, writeJson } from '../helpers.js';

const messages = (stdout: string) => stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);

describe('--format singer', () => {
  it('a SCHEMA before each stream\u2019s records, records as RECORD.record, the cumulative state keyed by stream', async () => {
    const dir = tmp();
    const state = join(dir, 'state.json');
    writeFileSync(state, JSON.stringify([{ type: 'STREAM', stream: { stream_descriptor: { name: 'other', namespace: 'ns' }, stream_state: { cursor: 'x' } } }]));
    const r = await host(['read', EXAMPLE.python, '--config', writeJson(dir, 'c.json', { api_key: 'k', event_count: 7 }), '--state', state, '--format', 'singer']);
    expect(r.exitCode).toBe(0);
    const m = messages(r.stdout);
    expect(m[0]).toEqual({ type: 'SCHEMA', stream: 'users', schema: expect.objectContaining({ type: 'object' }), key_properties: ['id'] });
    const ev = m.findIndex((x) => x.type === 'SCHEMA' && x.stream === 'events');
    expect(m[ev]).toMatchObject({ key_properties: ['id'], bookmark_properties: ['id'] });
    expect(m.findIndex((x) => x.type === 'RECORD' && x.stream === 'events')).toBeGreaterThan(ev);
    expect(m.filter((x) => x.type === 'RECORD' && x.stream === 'users').map((x) => x.record.name)).toEqual(['Ada Lovelace', 'Zoë Ångström', '李雷']);
    const states = m.filter((x) => x.type === 'STATE');
    expect(states.map((x) => x.value)).toEqual([
      { 'ns-other': { cursor: 'x' }, events: { cursor: 5 } },
      { 'ns-other': { cursor: 'x' }, events: { cursor: 7 } },
    ]);
    expect(m.every((x) => ['SCHEMA', 'RECORD', 'STATE'].includes(x.type))).toBe(true);
  });

  it('a final STATE follows the last RECORD', async () => {
    const dir = tmp();
    const state = join(dir, 'state.json');
    writeFileSync(state, JSON.stringify([{ type: 'STREAM', stream: { stream_descriptor: { name: 'events' }, stream_state: { cursor: 3 } } }]));
    // users is a full refresh that sends no state: the stored state still closes the output
    const r = await host(['read', EXAMPLE.node, '--config', writeJson(dir, 'c.json', { api_key: 'k' }), '--state', state, '--streams', 'users', '--format', 'singer']);
    const m = messages(r.stdout);
    expect(m.at(-2)!.type).toBe('RECORD');
    expect(m.at(-1)).toEqual({ type: 'STATE', value: { events: { cursor: 3 } } });
  });

  it('record bytes are the connector\u2019s: int64 and escapes unchanged', async () => {
    const dir = tmp();
    const r = await host(['read', '--config', writeJson(dir, 'c.json', {}), '--format', 'singer', '--', process.execPath, bad('int64')]);
    expect(r.exitCode).toBe(0);
    const expected = readFileSync(bad('int64').replace(/\.mjs$/, '-data.jsonl'), 'utf8').trim().split('\n');
    const records = r.stdout.split('\n').filter((l) => l.startsWith('{"type":"RECORD"'));
    expect(records).toEqual(expected.map((d) => `{"type":"RECORD","stream":"numbers","record":${d}}`));
  });

  it('is for stdout only', async () => {
    const dir = tmp();
    const r = await host(['read', EXAMPLE.node, '--config', writeJson(dir, 'c.json', { api_key: 'k' }), '--out', join(dir, 'out'), '--format', 'singer']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--format singer is for stdout');
  });
});
