// `--limit N` and `--sample` through the real CLI (issue 11, item 6): at most N records per
// stream, the connector stopped once every stream has them, no state committed, and a limited
// read into --out that a later full read resumes correctly.

import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync, mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { host, tmp, FIX, bad, jsonLines, readJson, writeJson, pidAlive } from '../helpers.js';
import { readWith } from '../../dist/index.js';

const ENDLESS = bad('endless');
const DEST = join(FIX, 'destinations', 'dest-jsonl.mjs');
const STREAMS = ['s1', 's2', 's3'];

/** A host state file with a STREAM state for s1 at `cursor`. */
function stateWithCursor(dir: string, cursor: number, stream = 's1'): string {
  return writeJson(dir, 'state.json', {
    connector_host_state: 1,
    kind: 'STREAM',
    states: [{ type: 'STREAM', stream: { stream_descriptor: { name: stream }, stream_state: { cursor } } }],
    files: {},
    committed_at: '2026-01-01T00:00:00.000Z',
  });
}

/** RECORD lines of stdout, by stream: the ids. */
function stdoutIds(stdout: string): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const l of stdout.split('\n').filter(Boolean)) {
    const m = JSON.parse(l) as { type: string; record?: { stream: string; data: { id: number } } };
    if (m.type !== 'RECORD') continue;
    (out[m.record!.stream] ??= []).push(m.record!.data.id);
  }
  return out;
}

const types = (stdout: string) => new Set(stdout.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { type: string }).type));
const fileIds = (file: string) => jsonLines(file).map((r) => r['id'] as number);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('host read --limit', () => {
  it('3 streams × 1000 records, --limit 5: exactly 5 per stream, no STATE passed on, the state file unchanged, the connector stopped, exit 0', async () => {
    const dir = tmp();
    const config = writeJson(dir, 'config.json', {});
    const state = stateWithCursor(dir, 100);
    const before = readFileSync(state);
    const pidFile = join(dir, 'pid.json');
    const r = await host(['read', '--config', config, '--state', state, '--limit', '5', '--progress', 'off', '--', ENDLESS, '--records', '1000', '--state-every', '1', '--pid-file', pidFile]);
    expect(r.stderr).not.toContain('connector failed');
    expect(r.exitCode).toBe(0);
    // s1 resumes from the stored cursor: the state is read, just not advanced
    expect(stdoutIds(r.stdout)).toEqual({ s1: range(101, 105), s2: range(1, 5), s3: range(1, 5) });
    expect(types(r.stdout)).toEqual(new Set(['RECORD']));
    expect(readFileSync(state).equals(before)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['config.json', 'pid.json', 'state.json']); // no history entry, no lock left
    expect(r.stderr).toMatch(/limited to 5 records per stream: state not committed \(\d+ STATE messages? ignored\); the connector was stopped once every stream had 5 records/);
    expect(r.stderr).toMatch(/records past the limit, dropped: s1 \d+, s2 \d+, s3 \d+/);
    expect(r.stderr).toContain(`state file ${state} (no new state committed in this run)`);
    // it was stopped well before its 1000 records: it is gone, and it never wrote its final states
    expect(pidAlive((readJson(pidFile) as { pid: number }).pid)).toBe(false);
  });

  it('a connector that emits forever is stopped (SIGTERM), and one stream finishing early (COMPLETE) does not hold the run', async () => {
    const dir = tmp();
    const config = writeJson(dir, 'config.json', {});
    // s1 has only 2 records, then COMPLETE; the others go on forever
    const r = await host(['read', '--config', config, '--limit', '7', '--progress', 'off', '--', ENDLESS, '--short', '2']);
    expect(r.exitCode).toBe(0);
    expect(stdoutIds(r.stdout)).toEqual({ s1: [1, 2], s2: range(1, 7), s3: range(1, 7) });
    expect(r.stderr).toContain('every stream has 7 records or has finished (--limit): stopping the connector');
  });

  it('--format singer: the records, and no state past the stored one (a target never stores a state whose records were dropped)', async () => {
    const dir = tmp();
    const config = writeJson(dir, 'config.json', {});
    const state = stateWithCursor(dir, 10);
    const r = await host(['read', '--config', config, '--state', state, '--limit', '2', '--format', 'singer', '--progress', 'off', '--', ENDLESS, '--state-every', '1']);
    expect(r.exitCode).toBe(0);
    const msgs = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; stream?: string; record?: { id: number }; value?: unknown });
    const ids = (s: string) => msgs.filter((m) => m.type === 'RECORD' && m.stream === s).map((m) => m.record!.id);
    expect([ids('s1'), ids('s2'), ids('s3')]).toEqual([[11, 12], [1, 2], [1, 2]]);
    for (const m of msgs.filter((x) => x.type === 'STATE')) expect(m.value).toEqual({ s1: { cursor: 10 } });
  });

  it('a connector that ignores SIGTERM is killed after --kill-grace; still exit 0 and exactly N records', async () => {
    const dir = tmp();
    const config = writeJson(dir, 'config.json', {});
    const pidFile = join(dir, 'pid.json');
    const r = await host(['read', '--config', config, '--limit', '3', '--kill-grace', '1', '--progress', 'off', '--', ENDLESS, '--ignore-sigterm', '--pid-file', pidFile]);
    expect(r.exitCode).toBe(0);
    expect(stdoutIds(r.stdout)).toEqual({ s1: [1, 2, 3], s2: [1, 2, 3], s3: [1, 2, 3] });
    expect(r.stderr).toContain('connector did not stop within 1000 ms of SIGTERM; sending SIGKILL');
    expect(pidAlive((readJson(pidFile) as { pid: number }).pid)).toBe(false);
  });

  it('a connector that ends before the limit: what it sent, exit 0, still no state committed', async () => {
    const dir = tmp();
    const config = writeJson(dir, 'config.json', {});
    const state = stateWithCursor(dir, 7, 'items');
    const before = readFileSync(state);
    // `slow` sends no STREAM_STATUS: its stream ends with the connector
    const r = await host(['read', '--config', config, '--state', state, '--limit', '5', '--progress', 'off', '--', bad('slow'), '--records', '3', '--delay-ms', '1', '--state-every', '1']);
    expect(r.exitCode).toBe(0);
    expect(stdoutIds(r.stdout)).toEqual({ items: [8, 9, 10] });
    expect(readFileSync(state).equals(before)).toBe(true);
    expect(r.stderr).toContain('limited to 5 records per stream: state not committed (3 STATE messages ignored); the connector ended before every stream had 5 records; records past the limit, dropped: items 0');
  });

  it('a connector that fails before the limit still fails the run (exit 3)', async () => {
    const dir = tmp();
    const config = writeJson(dir, 'config.json', {});
    const r = await host(['read', '--config', config, '--limit', '50', '--progress', 'off', '--', bad('exit-after'), '--fail-after', '3']);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('exit-after: boom after 3 records');
  });

  it.each([['0'], ['-1'], ['1e99'], ['abc'], ['2.5'], [''], ['Infinity'], ['9007199254740992']])('--limit %j is refused with exit 2 (read and run)', async (v) => {
    const dir = tmp();
    const config = writeJson(dir, 'config.json', {});
    for (const cmd of ['read', 'run']) {
      const r = await host([cmd, '--config', config, `--limit=${v}`, '--out', join(dir, 'out'), '--', ENDLESS]);
      expect(r.exitCode, `${cmd} --limit=${v}`).toBe(2);
      expect(r.stderr).toMatch(/--limit "[^"]*": .*give a whole number of records at least 1/);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(existsSync(join(dir, 'out'))).toBe(false);
    }
  });

  it('--limit -1 (space-separated), a repeated --limit whose last value is 0, and --limit without a value are refused too', async () => {
    const dir = tmp();
    const config = writeJson(dir, 'config.json', {});
    for (const args of [['--limit', '-1'], ['--limit', '5', '--limit', '0'], ['--limit']]) {
      const r = await host(['read', '--config', config, ...args, '--', ENDLESS]);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/--limit|limit/);
      expect(r.stdout).toBe('');
    }
  });

  it('--limit with --full-refresh into --out is refused (it would replace the data with a sample)', async () => {
    const dir = tmp();
    const config = writeJson(dir, 'config.json', {});
    const r = await host(['read', '--config', config, '--limit', '2', '--full-refresh', '--out', join(dir, 'out'), '--', ENDLESS]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--limit with --full-refresh into --out would replace the data with a sample');
  });
});

describe('host read --limit into --out, then a full read', () => {
  it('into a fresh folder: the sample is kept uncommitted, and the next full read has every record exactly once', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const config = writeJson(dir, 'config.json', {});
    const limited = await host(['read', '--config', config, '--out', out, '--limit', '5', '--progress', 'off', '--', ENDLESS, '--state-every', '1']);
    expect(limited.exitCode).toBe(0);
    for (const s of STREAMS) expect(fileIds(join(out, `${s}.jsonl`))).toEqual(range(1, 5));
    // no stream state: only where each file's committed data ends (nothing yet)
    const st = readJson(join(out, 'state.json'));
    expect(st.states).toEqual([]);
    for (const s of STREAMS) expect(st.files[`${s}.jsonl`]).toMatchObject({ bytes: 0, records: 0 });
    expect(limited.stderr).toContain('no stream state is changed');

    const full = await host(['read', '--config', config, '--out', out, '--progress', 'off', '--', ENDLESS, '--records', '20']);
    expect(full.exitCode).toBe(0);
    for (const s of STREAMS) expect(fileIds(join(out, `${s}.jsonl`))).toEqual(range(1, 20));
    expect(full.stderr).toContain('state committed to');
  });

  it('into a folder with committed data: the state file is byte-for-byte unchanged, and the next run cuts the sample off and reads it again', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const config = writeJson(dir, 'config.json', {});
    expect((await host(['read', '--config', config, '--out', out, '--progress', 'off', '--', ENDLESS, '--records', '20'])).exitCode).toBe(0);
    const before = readFileSync(join(out, 'state.json'));

    const limited = await host(['read', '--config', config, '--out', out, '--limit', '3', '--progress', 'off', '--', ENDLESS, '--state-every', '1']);
    expect(limited.exitCode).toBe(0);
    expect(readFileSync(join(out, 'state.json')).equals(before)).toBe(true);
    // the sample continues where the state stands, after the committed data
    for (const s of STREAMS) expect(fileIds(join(out, `${s}.jsonl`))).toEqual(range(1, 23));
    expect(limited.stderr).toContain('(no new state committed in this run)');

    const full = await host(['read', '--config', config, '--out', out, '--progress', 'off', '--', ENDLESS, '--records', '5']);
    expect(full.exitCode).toBe(0);
    for (const s of STREAMS) expect(fileIds(join(out, `${s}.jsonl`))).toEqual(range(1, 25));
    expect(full.stderr).toMatch(/truncating s1\.jsonl from \d+ to \d+ bytes/);
  });

  it('a sample beside a replacement in progress is refused', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    mkdirSync(out);
    const config = writeJson(dir, 'config.json', {});
    writeJson(out, 'state.json', {
      connector_host_state: 1,
      kind: null,
      states: [],
      files: { 's1.jsonl': { bytes: 0, records: 0, mode: 'append', stream: { name: 's1' }, replace: true } },
      committed_at: '2026-01-01T00:00:00.000Z',
    });
    const before = readFileSync(join(out, 'state.json'));
    const r = await host(['read', '--config', config, '--out', out, '--limit', '3', '--', ENDLESS]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('records a replacement in progress (s1.jsonl)');
    expect(readFileSync(join(out, 'state.json')).equals(before)).toBe(true);
  });
});

describe('host run --limit', () => {
  it('into a destination: only N per stream arrive, no STATE is sent or committed', async () => {
    const dir = tmp();
    const dest = join(dir, 'dest');
    const config = writeJson(dir, 'config.json', {});
    const destConfig = writeJson(dir, 'dest.json', { path: dest });
    const state = stateWithCursor(dir, 40);
    const before = readFileSync(state);
    const r = await host(['run', '--config', config, '--state', state, '--limit', '4', '--destination', DEST, '--destination-config', destConfig, '--progress', 'off', '--', ENDLESS, '--state-every', '1']);
    expect(r.exitCode).toBe(0);
    expect(fileIds(join(dest, 's1.jsonl'))).toEqual(range(41, 44));
    expect(fileIds(join(dest, 's2.jsonl'))).toEqual(range(1, 4));
    expect(fileIds(join(dest, 's3.jsonl'))).toEqual(range(1, 4));
    const control = jsonLines(join(dest, '_control.jsonl'));
    expect(control.filter((m) => m['type'] === 'STATE')).toEqual([]);
    // every stream was cut short: the destination is told INCOMPLETE, so an overwrite keeps its old data
    const statuses = control.filter((m) => (m['trace'] as any)?.type === 'STREAM_STATUS').map((m) => (m['trace'] as any).stream_status.status);
    expect(statuses).toEqual(['INCOMPLETE', 'INCOMPLETE', 'INCOMPLETE']);
    expect(readFileSync(state).equals(before)).toBe(true);
    expect(r.stderr).toContain('limited to 4 records per stream: state not committed');
    expect(r.stderr).toContain('0 states acknowledged');
  });

  it('into --out: as read --out --limit', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const config = writeJson(dir, 'config.json', {});
    const r = await host(['run', '--config', config, '--out', out, '--limit', '2', '--progress', 'off', '--', ENDLESS]);
    expect(r.exitCode).toBe(0);
    for (const s of STREAMS) expect(fileIds(join(out, `${s}.jsonl`))).toEqual([1, 2]);
    expect(readJson(join(out, 'state.json')).states).toEqual([]);
  });
});

describe('host read --sample', () => {
  it('without --out: 10 records per stream on stdout, and nothing left in the working folder or TMPDIR', async () => {
    const dir = tmp();
    const cwd = join(dir, 'cwd');
    const tmpdir = join(dir, 'tmp');
    mkdirSync(cwd);
    mkdirSync(tmpdir);
    const config = writeJson(dir, 'config.json', {});
    const r = await host(['read', '--config', config, '--sample', '--progress', 'off', '--', ENDLESS, '--state-every', '1'], { cwd, env: { NO_COLOR: '1', TMPDIR: tmpdir } });
    expect(r.exitCode).toBe(0);
    expect(stdoutIds(r.stdout)).toEqual({ s1: range(1, 10), s2: range(1, 10), s3: range(1, 10) });
    expect(types(r.stdout)).toEqual(new Set(['RECORD']));
    expect(readdirSync(cwd)).toEqual([]);
    expect(readdirSync(tmpdir)).toEqual([]);
    expect(r.stderr).toContain('limited to 10 records per stream: state not committed');
    expect(r.stderr).toContain('state not saved (no --state or --out)');
  });

  it('--sample --limit 2: two per stream; with --out: written there', async () => {
    const dir = tmp();
    const config = writeJson(dir, 'config.json', {});
    const r = await host(['read', '--config', config, '--sample', '--limit', '2', '--progress', 'off', '--', ENDLESS]);
    expect(r.exitCode).toBe(0);
    expect(stdoutIds(r.stdout)).toEqual({ s1: [1, 2], s2: [1, 2], s3: [1, 2] });
    const out = join(dir, 'out');
    const w = await host(['read', '--config', config, '--sample', '--out', out, '--progress', 'off', '--', ENDLESS]);
    expect(w.exitCode).toBe(0);
    expect(w.stdout).toBe('');
    for (const s of STREAMS) expect(fileIds(join(out, `${s}.jsonl`))).toEqual(range(1, 10));
  });

  it('--sample with --state is refused, and the state file is not touched', async () => {
    const dir = tmp();
    const config = writeJson(dir, 'config.json', {});
    const state = stateWithCursor(dir, 3);
    const before = readFileSync(state);
    const r = await host(['read', '--config', config, '--sample', '--state', state, '--', ENDLESS]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--sample takes no --state');
    expect(readFileSync(state).equals(before)).toBe(true);
    // and `run` has no --sample
    const run = await host(['run', '--config', config, '--sample', '--out', join(dir, 'o'), '--', ENDLESS]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('Unknown argument');
  });
});

describe('library: readWith({ limit })', () => {
  it('result.limited says what happened; a limit that is not a whole number >= 1 is a UsageError', async () => {
    const dir = tmp();
    const stateFile = stateWithCursor(dir, 0);
    const before = readJson(stateFile).states;
    const r = await readWith([process.execPath, ENDLESS], { config: {}, stateFile, out: join(dir, 'out'), limit: 4 });
    expect(r.ok).toBe(true);
    expect(r.limited).toMatchObject({ limit: 4, stopped: true });
    expect([...r.limited!.dropped.keys()]).toEqual(STREAMS);
    expect(r.sink.stateCommitted).toBe(false);
    expect(r.streams.map((s) => s.records)).toEqual([4, 4, 4]);
    // the stream states are not changed (only where the new files' committed data ends is recorded)
    expect(readJson(stateFile).states).toEqual(before);
    for (const bad of [0, -3, 1.5, Number.NaN, 2 ** 60]) {
      await expect(readWith([process.execPath, ENDLESS], { config: {}, limit: bad })).rejects.toMatchObject({ code: 'USAGE' });
    }
  });
});
