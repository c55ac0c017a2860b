// `host run`: a source into a protocol destination or a Singer target, state committed only
// when the destination acknowledges it. Real processes: the example source, the misbehaving
// fixtures, dest-jsonl (a protocol destination) and target-file (a Singer target).

import { describe, it, expect } from 'vitest';
import { execa } from 'execa';
import { join } from 'node:path';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { host, tmp, writeJson, jsonLines, lines, readJson, streamState, logLines, EXAMPLE, FIX, HOST, ROOT, bad, sleep } from '../helpers.js';

const DEST = join(FIX, 'destinations', 'dest-jsonl.mjs');
const TARGET = join(FIX, 'singer-targets', 'target-file.mjs');
const EXAMPLE_CONFIG = join(FIX, 'example', 'config.json');
const DEST_SECRET = 'dest-secret-4242-xyz';
const SOURCE_SECRET = 'demo-key-123';

function setup(destCfg: Record<string, unknown> = {}) {
  const dir = tmp('ch-run-');
  const out = join(dir, 'd');
  const dc = writeJson(dir, 'dest.json', { path: out, api_key: DEST_SECRET, token: DEST_SECRET, ...destCfg });
  return { dir, out, dc, state: join(dir, 'state.json') };
}

const destArgs = (...a: string[]) => a.flatMap((x) => [`--destination-arg=${x}`]);

async function runInto(dest: string, s: ReturnType<typeof setup>, extra: string[] = [], source = EXAMPLE.node, config = EXAMPLE_CONFIG) {
  return host(['run', source, '--config', config, '--destination', dest, '--destination-config', s.dc, '--state', s.state, '--log-level', 'info', ...extra]);
}

function assertNoSecret(r: { stdout: string; stderr: string }, ...files: string[]) {
  for (const text of [r.stdout, r.stderr, ...files.filter(existsSync).map((f) => readFileSync(f, 'utf8'))]) {
    expect(text).not.toContain(DEST_SECRET);
    expect(text).not.toContain(SOURCE_SECRET);
  }
}

describe('host run into a protocol destination', () => {
  it('delivers every record, commits the acknowledged state, and sets the platform fields in the catalog', async () => {
    const s = setup();
    const r = await runInto(DEST, s);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(jsonLines(join(s.out, 'users.jsonl')).map((u) => u['id'])).toEqual([1, 2, 3]);
    expect(jsonLines(join(s.out, 'events.jsonl')).map((e) => e['id'])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(streamState(s.state, 'events')).toEqual({ cursor: 12 });

    // the configured catalog the destination got
    const cat = readJson(join(s.out, '_catalog.json'));
    const byName = Object.fromEntries(cat.streams.map((c: any) => [c.stream.name, c]));
    expect(byName.users).toMatchObject({ sync_mode: 'full_refresh', destination_sync_mode: 'overwrite', generation_id: 0, minimum_generation_id: 0, sync_id: 1 });
    expect(byName.events).toMatchObject({ sync_mode: 'incremental', destination_sync_mode: 'append', generation_id: 0, minimum_generation_id: 0, sync_id: 1 });

    // states carry the host's id; STREAM_STATUS COMPLETE for each stream comes last, after the source exited 0
    const control = jsonLines(join(s.out, '_control.jsonl')) as any[];
    const states = control.filter((m) => m.type === 'STATE');
    expect(states.map((m) => m.state.id)).toEqual([1, 2, 3]);
    expect(states.map((m) => m.state.stream.stream_state.cursor)).toEqual([5, 10, 12]);
    const statuses = control.filter((m) => m.type === 'TRACE');
    expect(control.slice(-2)).toEqual(statuses);
    expect(statuses.map((m) => [m.trace.stream_status.stream_descriptor.name, m.trace.stream_status.status])).toEqual([
      ['users', 'COMPLETE'],
      ['events', 'COMPLETE'],
    ]);
    expect(r.stderr).toContain('3 states acknowledged');
    assertNoSecret(r, s.state, join(s.dir, 'd', '_control.jsonl'));
  });

  it('resumes on the next run; a full refresh + overwrite starts a new generation, sync_id counts runs', async () => {
    const s = setup();
    expect((await runInto(DEST, s)).exitCode).toBe(0);
    const more = writeJson(s.dir, 'more.json', { event_count: 15 });
    // the same config again: nothing new for events, users rewritten
    const r = await runInto(DEST, s);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(jsonLines(join(s.out, 'events.jsonl'))).toHaveLength(12);
    const r2 = await host(['run', EXAMPLE.node, '--config', EXAMPLE_CONFIG, '--config', more, '--destination', DEST, '--destination-config', s.dc, '--state', s.state]);
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(jsonLines(join(s.out, 'events.jsonl')).map((e) => e['id'])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    expect(jsonLines(join(s.out, 'users.jsonl'))).toHaveLength(3); // overwritten, not appended
    expect(streamState(s.state, 'events')).toEqual({ cursor: 15 });
    const cat = readJson(join(s.out, '_catalog.json'));
    const users = cat.streams.find((c: any) => c.stream.name === 'users');
    const events = cat.streams.find((c: any) => c.stream.name === 'events');
    expect(users).toMatchObject({ generation_id: 2, minimum_generation_id: 2, sync_id: 3 });
    expect(events).toMatchObject({ generation_id: 0, minimum_generation_id: 0, sync_id: 3 });
    expect(readJson(s.state).destination).toEqual({ sync_id: 3, generations: { users: 2, events: 0 } });
  });

  it.each([
    ['end', 12],
    ['strip-id', 12],
  ])('accepts acknowledgements given --ack %s (matched by id or by content)', async (ack, cursor) => {
    const s = setup();
    const r = await runInto(DEST, s, destArgs('--ack', ack));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(streamState(s.state, 'events')).toEqual({ cursor });
  });

  it('commits nothing when the destination acknowledges nothing, and says so', async () => {
    const s = setup();
    const r = await runInto(DEST, s, destArgs('--ack', 'none'));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(jsonLines(join(s.out, 'events.jsonl'))).toHaveLength(12);
    expect(existsSync(s.state) ? readJson(s.state).states : []).toEqual([]);
    expect(r.stderr).toContain('0 states acknowledged');
    expect(r.stderr).toContain('no new state committed');
  });

  it('a destination that dies mid-stream: exit 3, the source stopped, only the acknowledged state kept, the last source message printed, no secret', async () => {
    const s = setup();
    const r = await runInto(DEST, s, destArgs('--die-after', '10', '--secret-in-error'));
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('host: the destination');
    expect(r.stderr).toContain('exited with code 1');
    expect(r.stderr).toContain('dest-jsonl: disk full after 10 records');
    expect(r.stderr).toMatch(/the last source message sent to it \(\d+ records had been sent\): \{"type":/);
    // the state after event 5 (8 records) was acknowledged; the one after 10 never was
    expect(streamState(s.state, 'events')).toEqual({ cursor: 5 });
    assertNoSecret(r, s.state);
    // the next run resumes after 5: events 6.. arrive again (at-least-once into the destination)
    const again = await runInto(DEST, s);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(jsonLines(join(s.out, 'events.jsonl')).map((e) => e['id'])).toEqual([1, 2, 3, 4, 5, 6, 7, 6, 7, 8, 9, 10, 11, 12]);
    expect(streamState(s.state, 'events')).toEqual({ cursor: 12 });
  });

  it('a destination that exits 0 before the end of its input is a failure, not a quiet success', async () => {
    const s = setup();
    const cfg = writeJson(s.dir, 'big.json', { api_key: 'k-1234567', event_count: 50000, state_every: 1000 });
    const r = await runInto(DEST, s, destArgs('--exit-early', '2000'), EXAMPLE.node, cfg);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('exited with code 0 before the end of its input');
    // only what it acknowledged before it left is committed
    expect(streamState(s.state, 'events').cursor).toBeLessThan(2000);
  });

  it('a source that fails: the destination drains, gets INCOMPLETE, and the state it acknowledges is kept', async () => {
    const s = setup();
    const cfg = writeJson(s.dir, 'src.json', {});
    const r = await host(['run', '--config', cfg, '--destination', DEST, '--destination-arg=--ack', '--destination-arg=end', '--destination-config', s.dc, '--state', s.state, '--', process.execPath, bad('exit-after'), '--fail-after', '12']);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('exit-after: boom after 12 records');
    expect(jsonLines(join(s.out, 'items.jsonl')).map((e) => e['id'])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(streamState(s.state, 'items')).toEqual({ cursor: 10 });
    const statuses = (jsonLines(join(s.out, '_control.jsonl')) as any[]).filter((m) => m.type === 'TRACE').map((m) => m.trace.stream_status.status);
    expect(statuses).toEqual(['INCOMPLETE', 'INCOMPLETE']);
  });

  it('keeps pace with a slow destination (backpressure) and loses nothing', async () => {
    const s = setup();
    const cfg = writeJson(s.dir, 'big.json', { api_key: 'k-1234567', event_count: 20000, state_every: 1000 });
    const r = await runInto(DEST, s, destArgs('--slow', '2'), EXAMPLE.node, cfg);
    expect(r.exitCode, r.stderr).toBe(0);
    const ids = lines(join(s.out, 'events.jsonl')).map((l) => JSON.parse(l).id as number);
    expect(ids.length).toBe(20000);
    expect(ids[0]).toBe(1);
    expect(ids[19999]).toBe(20000);
    expect(streamState(s.state, 'events')).toEqual({ cursor: 20000 });
  });

  it('more states than are remembered (100,000) before a late acknowledgement: the newest is kept and committed', async () => {
    const s = setup();
    const cfg = writeJson(s.dir, 'many.json', { api_key: 'k-1234567', event_count: 120000, state_every: 1 });
    const r = await runInto(DEST, s, destArgs('--ack', 'end', '--discard'), EXAMPLE.node, cfg);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(streamState(s.state, 'events')).toEqual({ cursor: 120000 });
    expect(r.stderr).toContain('1 state acknowledged');
  });

  it('usage: --destination with --out, or neither, is exit 2', async () => {
    const s = setup();
    const both = await host(['run', EXAMPLE.node, '--config', EXAMPLE_CONFIG, '--destination', DEST, '--destination-config', s.dc, '--out', join(s.dir, 'o')]);
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toContain('either --destination or --out');
    const none = await host(['run', EXAMPLE.node, '--config', EXAMPLE_CONFIG]);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toContain('name a --destination');
  });

  it('checks the destination config against its spec before anything runs', async () => {
    const s = setup();
    const bad = writeJson(s.dir, 'bad.json', { api_key: DEST_SECRET });
    const r = await host(['run', EXAMPLE.node, '--config', EXAMPLE_CONFIG, '--destination', DEST, '--destination-config', bad, '--state', s.state]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("must have required property 'path'");
    expect(existsSync(s.out)).toBe(false);
    assertNoSecret(r);
  });

  it('--out without a destination is the built-in output (the same as read --out)', async () => {
    const s = setup();
    const out = join(s.dir, 'o');
    const r = await host(['run', EXAMPLE.node, '--config', EXAMPLE_CONFIG, '--out', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(lines(join(out, 'events.jsonl'))).toHaveLength(12);
    expect(streamState(join(out, 'state.json'), 'events')).toEqual({ cursor: 12 });
  });
});

describe('host run into a Singer target (written to by the host itself; the standalone shim for spec and check)', () => {
  it.each(['each', 'wrapped', 'end', 'late'])('--state-mode %s: records arrive with their SCHEMA, the state the target writes is committed', async (mode) => {
    const s = setup();
    const r = await runInto(TARGET, s, ['--destination-protocol', 'singer', ...destArgs('--state-mode', mode)]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(jsonLines(join(s.out, 'events.jsonl')).map((e) => e['id'])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const schemas = jsonLines(join(s.out, '_schemas.jsonl')) as any[];
    expect(schemas.map((m) => [m.stream, m.key_properties])).toEqual([
      ['users', ['id']],
      ['events', ['id']],
    ]);
    expect(schemas[1].bookmark_properties).toEqual(['id']);
    expect(streamState(s.state, 'events')).toEqual({ cursor: 12 });
    assertNoSecret(r, s.state);
  });

  it('a target that writes no state: nothing committed; stdout noise from a target is a warning', async () => {
    const s = setup();
    const r = await runInto(TARGET, s, ['--destination-protocol', 'singer', ...destArgs('--state-mode', 'never', '--noise')]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(existsSync(s.state) ? readJson(s.state).states : []).toEqual([]);
    expect(logLines(r.stderr).some((l) => /target stdout line \d+ is not a state, ignored: "loaded 5 rows"/.test(l))).toBe(true);
  });

  it('the shim answers spec from --about (secrets marked) and check by starting the target on an empty input', async () => {
    const SHIM = join(ROOT, 'shims', 'singer-target.mjs');
    const tj = JSON.stringify({ command: process.execPath, args: [TARGET] });
    const spec = await execa(process.execPath, [SHIM, '--target-json', tj, 'spec'], { reject: false });
    expect(spec.exitCode).toBe(0);
    const cs = JSON.parse(String(spec.stdout)).spec.connectionSpecification;
    expect(cs.required).toEqual(['path']);
    expect(cs.properties.token.airbyte_secret).toBe(true);
    const s = setup();
    const good = await execa(process.execPath, [SHIM, '--target-json', tj, 'check', '--config', s.dc], { reject: false });
    expect(JSON.parse(String(good.stdout)).connectionStatus.status).toBe('SUCCEEDED');
    writeFileSync(join(s.dir, 'a-file'), 'x');
    const bad = writeJson(s.dir, 'bad.json', { path: join(s.dir, 'a-file', 'sub') }); // not a directory: the target fails
    const failed = await execa(process.execPath, [SHIM, '--target-json', tj, 'check', '--config', bad], { reject: false });
    const status = JSON.parse(String(failed.stdout)).connectionStatus;
    expect(status.status).toBe('FAILED');
    expect(status.message).toContain('exited with code 1');
    // host run validates the target's config against that spec before anything runs
    const r = await host(['run', EXAMPLE.node, '--config', EXAMPLE_CONFIG, '--destination', TARGET, '--destination-protocol', 'singer', '--destination-config', writeJson(s.dir, 'nopath.json', { token: DEST_SECRET }), '--state', s.state]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("must have required property 'path'");
    assertNoSecret(r);
  });

  it('a final empty state from the target never wipes the stored state', async () => {
    const s = setup();
    const r = await runInto(TARGET, s, ['--destination-protocol', 'singer', ...destArgs('--state-mode', 'each', '--final-empty')]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(streamState(s.state, 'events')).toEqual({ cursor: 12 });
  });

  it('a target that dies mid-stream: exit 3 naming it, its stderr, and the last source message; nothing committed it did not acknowledge', async () => {
    const s = setup();
    const r = await runInto(TARGET, s, ['--destination-protocol', 'singer', ...destArgs('--state-mode', 'each', '--die-after', '10')]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('target-file: lost connection after 10 records');
    expect(r.stderr).toContain('the last source message sent to it');
    expect(streamState(s.state, 'events')).toEqual({ cursor: 5 });
  });

  it('a target that writes its state only on SIGTERM: Ctrl-C while it lingers keeps that state (exit 130)', async () => {
    const s = setup();
    const sub = execa(process.execPath, [HOST, 'run', EXAMPLE.node, '--config', EXAMPLE_CONFIG, '--destination', TARGET, '--destination-protocol', 'singer', ...destArgs('--state-mode', 'end', '--hang-at-end'), '--destination-config', s.dc, '--state', s.state, '--kill-grace', '5'], { reject: false });
    // wait until the target has everything (its files are complete), then interrupt
    for (let i = 0; i < 200 && lines(join(s.out, 'events.jsonl')).length < 12; i++) await sleep(50);
    await sleep(300);
    expect(existsSync(s.state) ? readJson(s.state).states : []).toEqual([]);
    sub.kill('SIGINT');
    const r = await sub;
    expect(r.exitCode).toBe(130);
    expect(String(r.stderr)).toContain('interrupted by SIGINT');
    expect(streamState(s.state, 'events')).toEqual({ cursor: 12 });
  });

  it('a registry entry with protocol: singer is a Singer target as a destination, with its config defaults', async () => {
    const s = setup();
    const reg = join(s.dir, 'registry.yaml');
    writeFileSync(reg, `connectors:\n  files:\n    ref: ${JSON.stringify(TARGET)}\n    protocol: singer\n    config:\n      path: ${JSON.stringify(s.out)}\n`);
    const dc = writeJson(s.dir, 'only-token.json', { token: DEST_SECRET });
    for (const extra of [[], ['--destination-protocol', 'singer']]) {
      const r = await host(['run', EXAMPLE.node, '--config', EXAMPLE_CONFIG, '--registry', reg, '--destination', 'files', '--destination-config', dc, '--state', s.state, ...extra]);
      expect(r.exitCode, r.stderr).toBe(0);
      assertNoSecret(r);
    }
    expect(jsonLines(join(s.out, 'users.jsonl'))).toHaveLength(6); // the target appends: two runs
    expect(streamState(s.state, 'events')).toEqual({ cursor: 12 });
  });

  it('int64 and unicode values reach the target byte for byte', async () => {
    const s = setup();
    const cfg = writeJson(s.dir, 'src.json', {});
    const r = await host(['run', '--config', cfg, '--destination', TARGET, '--destination-protocol', 'singer', '--destination-config', s.dc, '--state', s.state, '--', process.execPath, bad('int64')]);
    expect(r.exitCode, r.stderr).toBe(0);
    const expected = readFileSync(join(FIX, 'misbehaving', 'int64-data.jsonl'), 'utf8');
    const stream = readdirJsonl(s.out)[0]!;
    expect(readFileSync(join(s.out, stream), 'utf8')).toBe(expected);
  });

  it('a Singer tap into a Singer target; the next run resumes from the acknowledged state', async () => {
    const s = setup();
    const tap = join(FIX, 'singer', 'tap-good.mjs');
    const cfg = writeJson(s.dir, 'tap.json', { api_key: 'tap-token-987654' });
    const args = ['run', tap, '--protocol', 'singer', '--config', cfg, '--destination', TARGET, '--destination-protocol', 'singer', ...destArgs('--state-mode', 'end'), '--destination-config', s.dc, '--state', s.state];
    const r = await host(args);
    expect(r.exitCode, r.stderr).toBe(0);
    const first = readJson(s.state);
    expect(first.kind).toBe('LEGACY');
    expect(first.states[0].data).toEqual({ bookmarks: { events: { id: 3 } } });
    // the tap's stream id keeps its schema name (app-events), and int64 text is exact
    expect(lines(join(s.out, 'app-events.jsonl'))).toEqual(['{"id":1,"amount":9007199254740991}', '{"id":2,"amount":9007199254740992}', '{"id":3,"amount":9007199254740993}']);
    const again = await host(args);
    expect(again.exitCode, again.stderr).toBe(0);
    // resumed: no event again (users is a full table, sent again)
    expect(lines(join(s.out, 'app-events.jsonl'))).toHaveLength(3);
    expect(readJson(s.state).states[0].data).toEqual({ bookmarks: { events: { id: 3 } } });
    assertNoSecret(again);
    expect(again.stderr).not.toContain('tap-token-987654');
  });
});

function readdirJsonl(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.jsonl') && !f.startsWith('_'));
}
