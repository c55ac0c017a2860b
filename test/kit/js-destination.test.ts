// The kit as a destination (defineDestination), through the real CLI and through the runner's
// stdin directly: batches per stream, a STATE echoed only after commit() returned, commit and
// close at the end; integers beyond 2^53 and odd keys exact from source to file.

import { describe, it, expect } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { host, tmp, FIX, jsonLines, lines, writeJson, streamState } from '../helpers.js';
import { kitCommand } from '../../dist/kit/command.js';

const KIT = join(FIX, 'kit-js');
const DEST = join(KIT, 'dest-jsonl.mjs');

async function write(file: string, config: string, catalog: string, input: string) {
  const c = kitCommand(file);
  const r = await execa(c.command, [...c.args, 'write', '--config', config, '--catalog', catalog], { reject: false, input });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

function catalogOf(dir: string, names: string[], mode = 'append'): string {
  return writeJson(dir, 'catalog.json', {
    streams: names.map((name) => ({ stream: { name, json_schema: { type: 'object' }, supported_sync_modes: ['full_refresh'] }, sync_mode: 'full_refresh', destination_sync_mode: mode })),
  });
}

const rec = (stream: string, data: string) => `{"type":"RECORD","record":{"stream":"${stream}","data":${data},"emitted_at":1}}`;

describe('kit-js destination: write', () => {
  it('records batched per stream; each STATE echoed byte for byte after a commit; commit and close at the end', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const config = writeJson(dir, 'config.json', { path: out });
    const catalog = catalogOf(dir, ['users', 'events']);
    const s1 = '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"events"},"stream_state":{"id":2}}},"id":7}';
    const s2 = '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"events"},"stream_state":{"id":3}}},"id":8}';
    const input = [rec('users', '{"id":1}'), rec('events', '{"id":1}'), rec('users', '{"id":2}'), rec('events', '{"id":2}'), 'not json', s1, '{"type":"LOG","log":{"level":"INFO","message":"x"}}', rec('events', '{"id":3}'), s2, ''].join('\n');
    const r = await write(DEST, config, catalog, input);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const out1 = r.stdout.split('\n').filter(Boolean);
    expect(out1.filter((l) => l.includes('"STATE"'))).toEqual([s1, s2]);
    expect(out1.some((l) => l.includes('is not JSON'))).toBe(true); // a LOG WARN for the bad line
    expect(jsonLines(join(out, '_log.jsonl'))).toEqual([
      { event: 'batch', stream: 'users', n: 2 },
      { event: 'batch', stream: 'events', n: 2 },
      { event: 'commit', records: 4 },
      { event: 'batch', stream: 'events', n: 1 },
      { event: 'commit', records: 5 },
      { event: 'commit', records: 5 },
      { event: 'close', records: 5 },
    ]);
    expect(jsonLines(join(out, 'events.jsonl'))).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
  });

  it('writeBatch gets at most batchSize (1000) records: 2500 records of one stream in 1000 + 1000 + 500', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const input = Array.from({ length: 2500 }, (_, i) => rec('s', `{"id":${i}}`)).join('\n') + '\n';
    const r = await write(DEST, writeJson(dir, 'config.json', { path: out }), catalogOf(dir, ['s']), input);
    expect(r.exitCode).toBe(0);
    expect(jsonLines(join(out, '_log.jsonl')).filter((e) => e['event'] === 'batch').map((e) => e['n'])).toEqual([1000, 1000, 500]);
    expect(lines(join(out, 's.jsonl')).length).toBe(2500);
  });

  it('a STATE is not echoed before commit() returned: a destination that dies in writeBatch acknowledges nothing after it', async () => {
    const dir = tmp();
    const config = writeJson(dir, 'config.json', {});
    const catalog = catalogOf(dir, ['s']);
    const s1 = '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"s"},"stream_state":{"n":1}}}}';
    const s2 = '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"s"},"stream_state":{"n":2}}}}';
    const r = await write(join(KIT, 'dest-fails.mjs'), config, catalog, [rec('s', '{"id":1}'), s1, rec('s', '{"id":2,"fail":true}'), s2].join('\n') + '\n');
    expect(r.exitCode).toBe(1);
    const m = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(m.filter((x) => x.type === 'STATE').map((x) => x.state.stream.stream_state.n)).toEqual([1]);
    const err = m.find((x) => x.type === 'TRACE').trace.error;
    expect(err.failure_type).toBe('system_error');
    expect(err.message).toBe('writeBatch (stream s): Error: cannot store record 2 (at dest-fails.mjs:5 in store)');
    expect(r.stderr).not.toMatch(/node:internal|dist\/kit/);
  });

  it('a record of a stream the configured catalog does not list fails the write, naming it', async () => {
    const dir = tmp();
    const r = await write(DEST, writeJson(dir, 'config.json', { path: join(dir, 'o') }), catalogOf(dir, ['users']), rec('ghost', '{"id":1}') + '\n');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('a record of stream "ghost", which the configured catalog does not list');
  });

  it('host run static.mjs into the kit destination: overwrite per stream, state acknowledged, commit then close', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const r = await host(['run', join(KIT, 'static.mjs'), '--config', writeJson(dir, 'c.json', { api_key: 'k-1234' }), '--destination', DEST, '--destination-config', writeJson(dir, 'd.json', { path: out }), '--state', join(dir, 'state.json'), '--progress', 'off']);
    expect(r.exitCode).toBe(0);
    expect(jsonLines(join(out, 'users.jsonl')).map((u) => u['id'])).toEqual([1, 2, 3]);
    expect(jsonLines(join(out, 'colors.jsonl')).map((u) => u['color'])).toEqual(['red', 'green', 'blue']);
    const log = jsonLines(join(out, '_log.jsonl'));
    expect(log.at(-1)).toEqual({ event: 'close', records: 6 });
    expect(log.at(-2)).toEqual({ event: 'commit', records: 6 });
  });
});

describe('kit-js: big integers and odd keys end to end', () => {
  it('BigInt records beyond 2^63 through host run into the kit destination: exact digits, exact state, the next run continues exactly', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const state = join(dir, 'state.json');
    const args = ['run', join(KIT, 'bigint.mjs'), '--config', writeJson(dir, 'c.json', { count: 3 }), '--destination', DEST, '--destination-config', writeJson(dir, 'd.json', { path: out }), '--state', state, '--progress', 'off'];
    const first = await host(args);
    expect(first.exitCode).toBe(0);
    const base = 2n ** 63n - 10n;
    expect(lines(join(out, 'ledger.jsonl'))).toEqual([0n, 1n, 2n].map((i) => `{"id":${base + i},"nested":{"big":${-(base + i)},"small":1},"amount":12345678901234567890.123456789}`));
    expect(readFileSync(state, 'utf8')).toContain(`"id": ${base + 2n}`);
    const second = await host(args);
    expect(second.stderr).not.toContain('came back as');
    expect(second.exitCode).toBe(0);
    expect(lines(join(out, 'ledger.jsonl')).map((l) => /"id":(\d+)/.exec(l)![1])).toEqual([0n, 1n, 2n, 3n, 4n, 5n].map((i) => String(base + i)));
  });

  it('big integers and long decimals a destination receives are exact (BigInt / LosslessNumber) and written back verbatim', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const data = '{"big":123456789012345678901234567890,"neg":-9007199254740993,"safe":9007199254740991,"dec":0.1000000000000000000000000001,"exp":1e400,"plain":1.5,"__proto__":{"polluted":true},"constructor":{"x":1}}';
    const r = await write(DEST, writeJson(dir, 'config.json', { path: out }), catalogOf(dir, ['n']), rec('n', data) + '\n');
    expect(r.exitCode).toBe(0);
    expect(lines(join(out, 'n.jsonl'))).toEqual([data]);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('`__proto__`, `constructor` and `prototype` keys from a source arrive in --out as data', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const r = await host(['read', join(KIT, 'proto-keys.mjs'), '--config', writeJson(dir, 'c.json', {}), '--out', out, '--progress', 'off']);
    expect(r.exitCode).toBe(0);
    expect(lines(join(out, 'odd.jsonl'))).toEqual(['{"id":1,"__proto__":{"polluted":true},"constructor":"c","prototype":{"x":1}}', '{"id":2,"polluted":"no"}']);
    expect(existsSync(join(out, 'state.json'))).toBe(true);
    expect(streamState(join(out, 'state.json'), 'odd')).toBeUndefined();
  });
});
