// --full-refresh on read and run: the stored state is ignored for the streams read, their data
// is replaced, and the stored state is replaced only when the run succeeds; a failed full
// refresh leaves the old data and state as they were.

import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { existsSync, readFileSync, writeFileSync, copyFileSync, statSync } from 'node:fs';
import { host, tmp, writeJson, jsonLines, readJson, streamState, EXAMPLE, FIX, bad } from '../helpers.js';

const CONFIG = join(FIX, 'example', 'config.json');
const ids = (file: string) => jsonLines(file).map((r) => r['id']);
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe('--full-refresh with --out', () => {
  it('re-reads from the start and replaces the files (incremental ones too); the new state replaces the old', async () => {
    const d = tmp();
    const out = join(d, 'out');
    expect((await host(['read', EXAMPLE.node, '--config', CONFIG, '--out', out])).exitCode).toBe(0);
    const more = writeJson(d, 'more.json', { event_count: 15 });
    const r = await host(['read', EXAMPLE.node, '--config', CONFIG, '--config', more, '--out', out, '--full-refresh']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(ids(join(out, 'events.jsonl'))).toEqual(range(1, 15)); // replaced, not appended after 12
    expect(ids(join(out, 'users.jsonl'))).toEqual([1, 2, 3]);
    expect(streamState(join(out, 'state.json'), 'events')).toEqual({ cursor: 15 });
    const st = readJson(join(out, 'state.json'));
    expect(st.files['events.jsonl']).toMatchObject({ mode: 'append', records: 15 });
    expect(st.swap_pending).toBeUndefined();
    expect(existsSync(join(out, 'events.jsonl.partial'))).toBe(false);
    // and the next ordinary run resumes after 15 and appends
    const more2 = writeJson(d, 'more2.json', { event_count: 17 });
    expect((await host(['read', EXAMPLE.node, '--config', CONFIG, '--config', more2, '--out', out])).exitCode).toBe(0);
    expect(ids(join(out, 'events.jsonl'))).toEqual(range(1, 17));
  });

  it('a failed full refresh leaves the old data and state exactly as they were', async () => {
    const d = tmp();
    const out = join(d, 'out');
    const cfg = writeJson(d, 'c.json', {});
    expect((await host(['read', '--config', cfg, '--out', out, '--', process.execPath, bad('exit-after')])).exitCode).toBe(0);
    const before = { items: readFileSync(join(out, 'items.jsonl'), 'utf8'), snapshot: readFileSync(join(out, 'snapshot.jsonl'), 'utf8'), state: readJson(join(out, 'state.json')) };
    const r = await host(['read', '--config', cfg, '--out', out, '--full-refresh', '--', process.execPath, bad('exit-after'), '--fail-after', '7', '--snapshot-tag', 'b']);
    expect(r.exitCode).toBe(3);
    expect(readFileSync(join(out, 'items.jsonl'), 'utf8')).toBe(before.items);
    expect(readFileSync(join(out, 'snapshot.jsonl'), 'utf8')).toBe(before.snapshot);
    const after = readJson(join(out, 'state.json'));
    expect(after.states).toEqual(before.state.states);
    expect(after.files).toEqual(before.state.files);
    expect(existsSync(join(out, 'items.jsonl.partial'))).toBe(false);
    expect(existsSync(join(out, 'snapshot.jsonl.partial'))).toBe(false);
  });

  it('only the streams read are refreshed: the others keep their state and data', async () => {
    const d = tmp();
    const out = join(d, 'out');
    expect((await host(['read', EXAMPLE.node, '--config', CONFIG, '--out', out])).exitCode).toBe(0);
    const eventsBefore = readFileSync(join(out, 'events.jsonl'), 'utf8');
    const r = await host(['read', EXAMPLE.node, '--config', CONFIG, '--out', out, '--streams', 'users', '--full-refresh']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(streamState(join(out, 'state.json'), 'events')).toEqual({ cursor: 12 });
    expect(readFileSync(join(out, 'events.jsonl'), 'utf8')).toBe(eventsBefore);
    expect(ids(join(out, 'users.jsonl'))).toEqual([1, 2, 3]);
  });

  it('a full refresh interrupted between its state and its renames is finished by the next run', async () => {
    const d = tmp();
    const out = join(d, 'out');
    expect((await host(['read', EXAMPLE.node, '--config', CONFIG, '--out', out])).exitCode).toBe(0);
    const more = writeJson(d, 'more.json', { event_count: 15 });
    expect((await host(['read', EXAMPLE.node, '--config', CONFIG, '--config', more, '--out', out, '--full-refresh'])).exitCode).toBe(0);
    // make it look as if the host died after writing the state but before renaming events.jsonl:
    // the new file back in .partial, the old 12-record file in place, swap_pending in the state
    const stateFile = join(out, 'state.json');
    copyFileSync(join(out, 'events.jsonl'), join(out, 'events.jsonl.partial'));
    writeFileSync(join(out, 'events.jsonl'), readFileSync(join(out, 'events.jsonl'), 'utf8').split('\n').slice(0, 12).join('\n') + '\n');
    const st = readJson(stateFile);
    writeFileSync(stateFile, JSON.stringify({ ...st, swap_pending: ['events.jsonl'] }, null, 2));
    expect(statSync(join(out, 'events.jsonl')).size).toBeLessThan(st.files['events.jsonl'].bytes);
    const r = await host(['read', EXAMPLE.node, '--config', CONFIG, '--config', more, '--out', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('finished the swap of a full refresh that was interrupted');
    expect(ids(join(out, 'events.jsonl'))).toEqual(range(1, 15));
    expect(readJson(stateFile).swap_pending).toBeUndefined();
  });
});

describe('--full-refresh without --out and with host run', () => {
  it('stdout: the connector gets no state; a failure keeps the stored state', async () => {
    const d = tmp();
    const state = join(d, 'state.json');
    const cfg = writeJson(d, 'c.json', {});
    expect((await host(['read', '--config', cfg, '--state', state, '--', process.execPath, bad('exit-after')])).exitCode).toBe(0);
    expect(streamState(state, 'items')).toEqual({ cursor: 20 });
    const fail = await host(['read', '--config', cfg, '--state', state, '--full-refresh', '--', process.execPath, bad('exit-after'), '--fail-after', '7']);
    expect(fail.exitCode).toBe(3);
    expect(fail.stdout.split('\n').filter((l) => l.includes('"stream":"items"'))[0]).toContain('"id":1,'); // from the start
    expect(streamState(state, 'items')).toEqual({ cursor: 20 });
    const ok = await host(['read', '--config', cfg, '--state', state, '--full-refresh', '--', process.execPath, bad('exit-after'), '--total', '8']);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(streamState(state, 'items')).toEqual({ cursor: 8 });
  });

  it('host run: every stream overwrites in the destination with a new generation; the state is replaced only on success', async () => {
    const d = tmp();
    const state = join(d, 'state.json');
    const dc = writeJson(d, 'dest.json', { path: join(d, 'dest') });
    const DEST = join(FIX, 'destinations', 'dest-jsonl.mjs');
    const run = (...extra: string[]) => host(['run', EXAMPLE.node, '--config', CONFIG, '--destination', DEST, '--destination-config', dc, '--state', state, ...extra]);
    expect((await run()).exitCode).toBe(0);
    const failed = await run('--full-refresh', '--destination-arg=--die-after', '--destination-arg=9');
    expect(failed.exitCode).toBe(3);
    expect(streamState(state, 'events')).toEqual({ cursor: 12 });
    const r = await run('--full-refresh');
    expect(r.exitCode, r.stderr).toBe(0);
    const cat = readJson(join(d, 'dest', '_catalog.json'));
    const events = cat.streams.find((c: any) => c.stream.name === 'events');
    expect(events).toMatchObject({ destination_sync_mode: 'overwrite', generation_id: 1, minimum_generation_id: 1 });
    expect(ids(join(d, 'dest', 'events.jsonl'))).toEqual(range(1, 12)); // overwritten by the destination
    expect(streamState(state, 'events')).toEqual({ cursor: 12 });
  });
});
