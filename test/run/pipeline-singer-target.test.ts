// `host run` into a Singer target, which the host writes to itself (src/dialect/singer-target.ts):
// no shim process between; hostile targets (never acknowledging, acknowledging states never sent,
// flooding stdout, a daemon holding stdout, killed by SIGKILL) and a tap killed by SIGKILL in a
// Singer-to-Singer run; and the standalone shim (shims/singer-target.mjs), the same code, doing the same.
import { describe, it, expect, afterEach } from 'vitest';
import { execa } from 'execa';
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { host, tmp, writeJson, jsonLines, lines, readJson, streamState, EXAMPLE, FIX, HOST, sleep, pidAlive } from '../helpers.js';
import * as lib from '../../dist/index.js';
import { singerTargetConnector } from '../../dist/shims/singer-target.js';
import { singerTargetSpec } from '../../dist/dialect/singer-target.js';

const HOSTILE = join(FIX, 'hostile-dest', 'target-hostile.mjs');
const TARGET = join(FIX, 'singer-targets', 'target-file.mjs');
const SECRET = 'k-9876543';

const kill: number[] = [];
afterEach(() => {
  for (const p of kill.splice(0)) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

function setup() {
  const dir = tmp('ch-singer-target-');
  const out = join(dir, 'd');
  return { dir, out, dc: writeJson(dir, 'dest.json', { path: out }), state: join(dir, 'state.json') };
}

const events = (s: ReturnType<typeof setup>, count: number, every = 100) => writeJson(s.dir, `src-${count}.json`, { api_key: SECRET, event_count: count, state_every: every });

/** The example source (users 3 + `count` events, a STATE every `every`) into a Singer target. */
function runInto(s: ReturnType<typeof setup>, target: string, knobs: string[], count = 15, every = 5, env: Record<string, string> = {}) {
  return host(['run', EXAMPLE.node, '--config', events(s, count, every), '--destination', target, '--destination-protocol', 'singer', '--destination-config', s.dc, '--state', s.state, '--progress', 'off', ...knobs.map((k) => `--destination-arg=${k}`)], { env });
}

const eventIds = (dir: string) => new Set(jsonLines(join(dir, 'events.jsonl')).map((e) => e['id'] as number));
const noState = (file: string) => !existsSync(file) || streamState(file, 'events') === undefined;

describe('host run writes to a Singer target itself', () => {
  it('the target is the host\'s own child (no shim process), and gets SCHEMA, RECORD and STATE', async () => {
    const s = setup();
    const ppid = join(s.dir, 'ppid');
    const sub = execa(process.execPath, [HOST, 'run', EXAMPLE.node, '--config', events(s, 15, 5), '--destination', HOSTILE, '--destination-protocol', 'singer', '--destination-config', s.dc, '--state', s.state, `--destination-arg=--ppid-file`, `--destination-arg=${ppid}`], { reject: false });
    const r = await sub;
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(Number(readFileSync(ppid, 'utf8'))).toBe(sub.pid);
    expect([...eventIds(s.out)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    expect(streamState(s.state, 'events')).toEqual({ cursor: 15 });
    expect(String(r.stderr)).toMatch(/3 states? acknowledged|states acknowledged/);
  });

  it('a target that never acknowledges: every record delivered, exit 0, nothing committed, said so', async () => {
    const s = setup();
    const r = await runInto(s, HOSTILE, ['--ack', 'never']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(eventIds(s.out).size).toBe(15);
    expect(noState(s.state)).toBe(true);
    expect(r.stderr).toContain('without acknowledging any of the');
  });

  it('a target that acknowledges states never sent to it: ignored with a warning, nothing committed', async () => {
    const s = setup();
    const r = await runInto(s, HOSTILE, ['--ack', 'unknown']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(noState(s.state)).toBe(true);
    expect(r.stderr).toContain('the target wrote a state that was never sent to it');
    expect(r.stderr).toMatch(/never sent to it.*bookmarks.*nobody/);
  });

  it('a target that floods its stdout (40 MB) while it reads: no deadlock, every record, the state committed', async () => {
    const s = setup();
    const r = await runInto(s, HOSTILE, ['--flood-mb', '40'], 20000, 1000);
    expect(r.exitCode, r.stderr.slice(-2000)).toBe(0);
    expect(eventIds(s.out).size).toBe(20000);
    expect(streamState(s.state, 'events')).toEqual({ cursor: 20000 });
    expect(r.stderr).toMatch(/\d+ lines of the target's stdout were not states, ignored/);
    expect(r.stderr.length).toBeLessThan(100_000);
  });

  it('a target whose daemon holds its stdout open after it exits: the run ends, the state committed, the daemon stopped', async () => {
    const s = setup();
    const pidFile = join(s.dir, 'daemon.pid');
    const t0 = Date.now();
    const r = await runInto(s, HOSTILE, ['--daemon-pid-file', pidFile]);
    const daemon = Number(readFileSync(pidFile, 'utf8'));
    kill.push(daemon);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(streamState(s.state, 'events')).toEqual({ cursor: 15 });
    for (let i = 0; i < 100 && pidAlive(daemon); i++) await sleep(100);
    expect(pidAlive(daemon)).toBe(false);
  });

  it('a target killed by SIGKILL mid-run: exit 3 naming the signal, the state valid (acknowledged only); the next run resumes and completes', async () => {
    const s = setup();
    const r = await runInto(s, HOSTILE, ['--kill-self-after', '1000'], 2000, 100);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('was killed by SIGKILL');
    const cursor = readJson(s.state) && streamState(s.state, 'events')?.cursor;
    // what was acknowledged is stored: users (3) and events up to the cursor came before record 1000
    expect(cursor).toBeGreaterThanOrEqual(100);
    expect(cursor).toBeLessThanOrEqual(997);
    for (let id = 1; id <= cursor; id++) expect(eventIds(s.out).has(id)).toBe(true);
    const again = await runInto(s, HOSTILE, [], 2000, 100);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(streamState(s.state, 'events')).toEqual({ cursor: 2000 });
    const ids = eventIds(s.out);
    for (let id = 1; id <= 2000; id++) expect(ids.has(id)).toBe(true);
    expect(again.stderr + r.stderr).not.toContain(SECRET);
  });

  it('a Singer tap killed by SIGKILL mid-run into a Singer target: the acknowledged state kept; the next run resumes', async () => {
    const s = setup();
    const tap = join(FIX, 'singer', 'tap-kill-self.mjs');
    const args = (cfg: string) => ['run', tap, '--protocol', 'singer', '--config', cfg, '--destination', TARGET, '--destination-protocol', 'singer', '--destination-arg=--state-mode', '--destination-arg=each', '--destination-config', s.dc, '--state', s.state, '--progress', 'off'];
    const r = await host(args(writeJson(s.dir, 'tap1.json', { rows: 2000, state_every: 100, kill_after: 1050 })));
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/SIGKILL/);
    const first = readJson(s.state);
    expect(first.kind).toBe('LEGACY');
    const bookmark = first.states[0].data.bookmarks.items.id;
    expect(bookmark).toBeGreaterThanOrEqual(100);
    expect(bookmark).toBeLessThanOrEqual(1000);
    const again = await host(args(writeJson(s.dir, 'tap2.json', { rows: 2000, state_every: 100 })));
    expect(again.exitCode, again.stderr).toBe(0);
    expect(readJson(s.state).states[0].data).toEqual({ bookmarks: { items: { id: 2000 } } });
    const ids = new Set(lines(join(s.out, 'items.jsonl')).map((l) => JSON.parse(l).id));
    for (let id = 1; id <= 2000; id++) expect(ids.has(id)).toBe(true);
    // resumed after the bookmark: what came before it is not sent again
    expect(lines(join(s.out, 'items.jsonl')).length).toBeLessThanOrEqual(1050 + 2000 - bookmark);
  });

  it('a target without --about (plain text) is asked once per process, the answer "no --about" remembered', async () => {
    const s = setup();
    const count = join(s.dir, 'about-count');
    const ref = { display: 'target-hostile', name: 'target-hostile', command: process.execPath, args: [HOSTILE, '--about-count-file', count], dialect: 'singer-target' as const };
    const a = await singerTargetSpec(ref);
    const b = await singerTargetSpec({ ...ref });
    expect(a).toEqual(b);
    expect((a as any).spec.connectionSpecification).toMatchObject({ type: 'object' });
    expect(lines(count)).toEqual(['about']);
    // and host run probes it once (the spec), not per step
    const r = await runInto(s, HOSTILE, ['--about-count-file', join(s.dir, 'run-count')]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(lines(join(s.dir, 'run-count'))).toEqual(['about']);
  });
});

describe('the standalone Singer-target shim does the same (for other platforms)', () => {
  it('host run through the shim as a protocol destination: the same records, schemas and committed state as in-process', async () => {
    const results = [];
    for (const viaShim of [false, true]) {
      const s = setup();
      const target = { display: 'target-file', name: 'target-file', command: process.execPath, args: [TARGET, '--state-mode', 'each'] };
      const destination = viaShim ? singerTargetConnector(target) : { ...target, display: 'singer:target-file', dialect: 'singer-target' as const };
      const r = await lib.run(EXAMPLE.node, { config: { api_key: SECRET, event_count: 12, state_every: 5 }, destination, destinationConfig: { path: s.out }, stateFile: s.state });
      expect(r.ok, String(r.error)).toBe(true);
      expect(r.acknowledged).toBe(3);
      results.push({ events: lines(join(s.out, 'events.jsonl')), users: lines(join(s.out, 'users.jsonl')), schemas: jsonLines(join(s.out, '_schemas.jsonl')), state: readJson(s.state).states });
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[0]!.events).toHaveLength(12);
  });

  it('the shim echoes each protocol STATE (with the host\'s id) once the target writes its value back; an unknown value is a LOG warning', async () => {
    const s = setup();
    const SHIM = join(FIX, '..', '..', 'shims', 'singer-target.mjs');
    const catalog = writeJson(s.dir, 'catalog.json', { streams: [{ stream: { name: 'items', json_schema: { type: 'object' } }, sync_mode: 'incremental', cursor_field: ['id'], primary_key: [['id']], destination_sync_mode: 'append' }] });
    const input = [
      '{"type":"RECORD","record":{"stream":"items","data":{"id":1,"big":12345678901234567890},"emitted_at":1}}',
      '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"items"},"stream_state":{"cursor":1}},"id":7}}',
      '{"type":"RECORD","record":{"stream":"other","data":{"id":2},"emitted_at":1}}',
      '{"type":"RECORD","record":{"stream":"items","data":{"id":3},"emitted_at":1}}',
      '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"items"},"stream_state":{"cursor":3}},"id":8}}',
    ].join('\n');
    const r = await execa(process.execPath, [SHIM, '--target-json', JSON.stringify({ command: process.execPath, args: [TARGET, '--state-mode', 'each'] }), 'write', '--config', s.dc, '--catalog', catalog], { input, reject: false });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const msgs = String(r.stdout).split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(msgs.filter((m) => m.type === 'STATE').map((m) => m.state.id)).toEqual([7, 8]);
    expect(msgs.some((m) => m.type === 'LOG' && /stream other, which is not in the configured catalog/.test(m.log.message))).toBe(true);
    expect(lines(join(s.out, 'items.jsonl'))).toEqual(['{"id":1,"big":12345678901234567890}', '{"id":3}']);
    expect(jsonLines(join(s.out, '_schemas.jsonl'))).toEqual([{ type: 'SCHEMA', stream: 'items', schema: { type: 'object' }, key_properties: ['id'], bookmark_properties: ['id'] }]);
  });

  it('the shim: a target that dies is a TRACE ERROR naming it and its exit code, with its stderr', async () => {
    const s = setup();
    const SHIM = join(FIX, '..', '..', 'shims', 'singer-target.mjs');
    const catalog = writeJson(s.dir, 'catalog.json', { streams: [{ stream: { name: 'items', json_schema: {} }, sync_mode: 'full_refresh', destination_sync_mode: 'append' }] });
    const input = Array.from({ length: 20 }, (_, i) => `{"type":"RECORD","record":{"stream":"items","data":{"id":${i}},"emitted_at":1}}`).join('\n');
    const r = await execa(process.execPath, [SHIM, '--target-json', JSON.stringify({ command: process.execPath, args: [TARGET, '--die-after', '5'] }), 'write', '--config', s.dc, '--catalog', catalog], { input, reject: false });
    expect(r.exitCode).toBe(1);
    const trace = String(r.stdout).split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((m) => m.type === 'TRACE');
    expect(trace.trace.error.message).toContain('exited with code 1');
    expect(trace.trace.error.message).toContain('target-file: lost connection after 5 records');
    expect(String(r.stderr)).toContain('target-file: lost connection after 5 records');
  });
});
