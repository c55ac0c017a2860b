// Exactly once: a failed or killed run keeps the last committed state, its
// files are cut back to that state's lengths, and a re-run completes with no
// record lost or duplicated.

import { describe, it, expect } from 'vitest';
import { appendFileSync, readFileSync, statSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { host, tmp, bad, lines, jsonLines, streamState, readJson, writeJson, HOST, sleep, logLines } from '../helpers.js';

const ids = (file: string) => jsonLines(file).map((r) => r['id']);
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe('crash after a state', () => {
  it('keeps state N, truncates to N, keeps the old full-refresh file, and a re-run completes exactly once', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const cfg = writeJson(dir, 'config.json', {});
    const read = (...knobs: string[]) => host(['read', '--config', cfg, '--out', out, '--commit-interval', '0', '--', process.execPath, bad('exit-after'), ...knobs]);

    const ok = await read('--total', '5', '--snapshot-tag', 'a');
    expect(ok.exitCode).toBe(0);
    expect(ids(join(out, 'items.jsonl'))).toEqual(range(1, 5));
    expect(jsonLines(join(out, 'snapshot.jsonl')).map((r) => r['tag'])).toEqual(['a', 'a', 'a']);

    // Items 6..13 are emitted, the state after 10 is the last one, then the connector dies.
    const failed = await read('--total', '20', '--fail-after', '8', '--snapshot-tag', 'b');
    expect(failed.exitCode).toBe(3);
    expect(failed.stderr).toContain('exited with code 1');
    expect(failed.stderr).toContain('exit-after: boom after 8 records');
    expect(streamState(join(out, 'state.json'), 'items')).toEqual({ cursor: 10 });
    expect(ids(join(out, 'items.jsonl'))).toEqual(range(1, 10));
    const state = readJson(join(out, 'state.json'));
    expect(state.files['items.jsonl']).toMatchObject({ bytes: statSync(join(out, 'items.jsonl')).size, records: 10 });
    // the failed full refresh left yesterday's data alone
    expect(jsonLines(join(out, 'snapshot.jsonl')).map((r) => r['tag'])).toEqual(['a', 'a', 'a']);
    expect(existsSync(join(out, 'snapshot.jsonl.partial'))).toBe(false);

    const again = await read('--total', '20', '--snapshot-tag', 'c');
    expect(again.exitCode).toBe(0);
    expect(ids(join(out, 'items.jsonl'))).toEqual(range(1, 20));
    expect(jsonLines(join(out, 'snapshot.jsonl')).map((r) => r['tag'])).toEqual(['c', 'c', 'c']);
    expect(readJson(join(out, 'manifest.json')).streams.find((s: any) => s.name === 'items').records).toBe(20);
  });

  it('after the host itself is killed, the next start truncates the files to the committed lengths and takes over the stale lock', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const cfg = writeJson(dir, 'config.json', {});
    const slow = ['--', process.execPath, bad('slow')];
    const sub = execa(process.execPath, [HOST, 'read', '--config', cfg, '--out', out, '--commit-interval', '0', ...slow, '--records', '1000', '--delay-ms', '20'], { reject: false });
    // wait until a few states are committed
    for (let i = 0; i < 100 && !(existsSync(join(out, 'state.json')) && (streamState(join(out, 'state.json'), 'items')?.cursor ?? 0) >= 10); i++) await sleep(100);
    sub.kill('SIGKILL');
    await sub;
    expect(existsSync(join(out, 'state.json.lock'))).toBe(true); // left behind by the dead host
    const committed = streamState(join(out, 'state.json'), 'items').cursor as number;
    expect(committed).toBeGreaterThanOrEqual(10);
    const size = readJson(join(out, 'state.json')).files['items.jsonl'].bytes as number;
    // A crash mid-write leaves bytes beyond the commit: records after the state and a torn line.
    appendFileSync(join(out, 'items.jsonl'), '{"id":999999,"value":"after the commit"}\n{"id":1000000,"val');
    expect(statSync(join(out, 'items.jsonl')).size).toBeGreaterThan(size);

    const r = await host(['read', '--config', cfg, '--out', out, ...slow, '--records', '15', '--delay-ms', '0']);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain('stale lock');
    expect(r.stderr).toMatch(/truncating items\.jsonl from \d+ to \d+ bytes/);
    expect(ids(join(out, 'items.jsonl'))).toEqual(range(1, committed + 15));
    expect(existsSync(join(out, 'state.json.lock'))).toBe(false);
  });
});

describe('state file', () => {
  it('a second concurrent run on the same state file is refused while the first one runs', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const cfg = writeJson(dir, 'config.json', {});
    // the first run lasts about 10 s, so that the second one (a new node process, slow to start on a
    // loaded machine) reaches the lock while it is held
    const slow = ['--', process.execPath, bad('slow'), '--records', '200', '--delay-ms', '50'];
    const first = execa(process.execPath, [HOST, 'read', '--config', cfg, '--out', out, ...slow], { reject: false });
    for (let i = 0; i < 100 && !existsSync(join(out, 'state.json.lock')); i++) await sleep(50);
    const second = await host(['read', '--config', cfg, '--out', out, ...slow]);
    expect(second.exitCode).toBe(6);
    expect(second.stderr).toMatch(/another run \(pid \d+ .*\) holds the lock/);
    const r1 = await first;
    expect(r1.exitCode).toBe(0);
    expect(ids(join(out, 'items.jsonl'))).toEqual(range(1, 200));
  });

  it('records and state keep int64 and unicode bytes exactly', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const cfg = writeJson(dir, 'config.json', {});
    const r = await host(['read', '--config', cfg, '--out', out, '--', process.execPath, bad('int64')]);
    expect(r.exitCode).toBe(0);
    const expected = readFileSync(bad('int64').replace(/\.mjs$/, '-data.jsonl'), 'utf8');
    expect(readFileSync(join(out, 'numbers.jsonl'), 'utf8')).toBe(expected.endsWith('\n') ? expected : expected + '\n');
    const stateText = readFileSync(join(out, 'state.json'), 'utf8');
    expect(stateText).toContain('"cursor": 9223372036854775807');
    expect(stateText).toContain('"lsn": 12345678901234567890123');
  });

  it('an int64 cursor in the stored state reaches the connector byte for byte', async () => {
    const dir = tmp();
    const state = join(dir, 'state.json');
    writeFileSync(state, '[{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"},"stream_state":{"cursor":1,"lsn":9223372036854775807}}}]');
    const cfg = writeJson(dir, 'config.json', {});
    const r = await host(['read', '--config', cfg, '--out', join(dir, 'out'), '--state', state, '--streams', 'b', '--', process.execPath, bad('state-kinds')]);
    expect(r.exitCode).toBe(0);
    expect(logLines(r.stderr).join('\n')).toContain('"lsn":9223372036854775807');
    expect(readFileSync(state, 'utf8')).toContain('"lsn": 9223372036854775807');
  });

  it('an empty state never overwrites the stored one', async () => {
    const dir = tmp();
    const state = join(dir, 'state.json');
    writeFileSync(
      state,
      JSON.stringify([
        { type: 'STREAM', stream: { stream_descriptor: { name: 'a' }, stream_state: { cursor: 3 } } },
        { type: 'STREAM', stream: { stream_descriptor: { name: 'b' }, stream_state: { cursor: 3 } } },
      ]),
    );
    const cfg = writeJson(dir, 'config.json', {});
    const empty = await host(['read', '--config', cfg, '--out', join(dir, 'out'), '--state', state, '--', process.execPath, bad('state-kinds'), '--kind', 'empty']);
    expect(empty.exitCode).toBe(0);
    expect(logLines(empty.stderr).join('\n')).toContain('received-state=[{"type":"STREAM"');
    expect(streamState(state, 'a')).toEqual({ cursor: 3 });
    expect(streamState(state, 'b')).toEqual({ cursor: 3 });
  });

  it('a damaged or tampered state file is refused with a clear error, and nothing is touched', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const cfg = writeJson(dir, 'config.json', {});
    const { mkdirSync } = await import('node:fs');
    mkdirSync(out);
    writeFileSync(join(dir, 'victim.jsonl'), 'keep me\n');
    writeFileSync(
      join(out, 'state.json'),
      JSON.stringify({ connector_host_state: 1, kind: null, states: [], files: { '../victim.jsonl': { bytes: 0, records: 0, mode: 'append', stream: { name: 'x' } } }, committed_at: '2026-01-01T00:00:00Z' }),
    );
    const r = await host(['read', '--config', cfg, '--out', out, '--', process.execPath, bad('slow'), '--records', '1']);
    expect(r.exitCode).toBe(6);
    expect(r.stderr).toContain('is damaged');
    expect(r.stderr).toContain('/files: property name "../victim.jsonl" is invalid');
    expect(readFileSync(join(dir, 'victim.jsonl'), 'utf8')).toBe('keep me\n');

    writeFileSync(join(out, 'state.json'), '{"connector_host_state": 1,\n  "kind": STREAM}');
    const r2 = await host(['read', '--config', cfg, '--out', out, '--', process.execPath, bad('slow'), '--records', '1']);
    expect(r2.exitCode).toBe(6);
    expect(r2.stderr).toMatch(/state file .* is not valid JSON: .* at line 2, column 11/);
  });
});
