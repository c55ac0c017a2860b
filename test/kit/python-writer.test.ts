// The Python kit's Reader and Writer (Dativo shape) through the real CLI (issue 12): a reader
// into a writer given as `--destination ./jsonl_writer.py:JsonlWriter`, states acknowledged
// only after commit(), a failing writer keeping what it committed, and `host check` on both.

import { describe, it, expect } from 'vitest';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { host, tmp, FIX, writeJson, jsonLines, streamState } from '../helpers.js';

const K = join(FIX, 'kit-python');
const at = (name: string) => join(K, name);
const T = { timeout: 90_000 };
const READER = at('jsonl_reader.py:RowsReader');
const WRITER = at('jsonl_writer.py:JsonlWriter');

function setup() {
  const d = tmp();
  const folder = join(d, 'lake');
  mkdirSync(folder);
  return { d, folder, state: join(d, 'state.json'), dest: writeJson(d, 'dest.json', { folder }) };
}

describe('reader → writer (host run --destination ./file.py:Writer)', () => {
  it('every row written once, each STATE acknowledged after commit(), the reader resumes from its state', T, async () => {
    const { d, folder, state, dest } = setup();
    const r = await host(['run', '--config', writeJson(d, 'src.json', { count: 10, batch: 4 }), '--state', state, '--destination', WRITER, '--destination-config', dest, '--progress', 'off', READER]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(jsonLines(join(folder, 'rows.jsonl'))).toEqual(Array.from({ length: 10 }, (_, i) => ({ n: i + 1, square: (i + 1) ** 2 })));
    // 3 batches + the final state: 4 STATE acks, each after a commit(); one more commit at EOF
    expect(r.stderr).toMatch(/4 states acknowledged/);
    expect(readFileSync(join(folder, '_commits.txt'), 'utf8')).toBe('5');
    expect(streamState(state, 'rows')).toEqual({ offset: 10 });

    // more rows upstream: only the new ones
    const r2 = await host(['run', '--config', writeJson(d, 'src2.json', { count: 13, batch: 4 }), '--state', state, '--destination', WRITER, '--destination-config', dest, '--progress', 'off', READER]);
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(jsonLines(join(folder, 'rows.jsonl')).map((x) => x['n'])).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
    expect(streamState(state, 'rows')).toEqual({ offset: 13 });
  });

  it('a writer failing in write_batch: the run fails naming the writer\'s line; only committed rows are on disk and in the state', T, async () => {
    const { d, folder, state } = setup();
    const failing = writeJson(d, 'dest-fail.json', { folder, fail_on: 6 });
    const src = writeJson(d, 'src.json', { count: 10, batch: 4 });
    const r = await host(['run', '--config', src, '--state', state, '--destination', WRITER, '--destination-config', failing, '--progress', 'off', READER]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/JsonlWriter\.write_batch\('rows'\) failed: ValueError: cannot write record 6 \(at \S*jsonl_writer\.py:\d+ in write_batch\)/);
    expect(jsonLines(join(folder, 'rows.jsonl')).map((x) => x['n'])).toEqual([1, 2, 3, 4]);
    expect(streamState(state, 'rows')).toEqual({ offset: 4 });
    expect(existsSync(join(folder, '_commits.txt'))).toBe(false); // close() never ran

    // fixed: the next run writes the rest, nothing twice
    const r2 = await host(['run', '--config', src, '--state', state, '--destination', WRITER, '--destination-config', writeJson(d, 'dest.json', { folder }), '--progress', 'off', READER]);
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(jsonLines(join(folder, 'rows.jsonl')).map((x) => x['n'])).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
  });

  it('the writer file as a script (`--destination jsonl_writer.py`, its __main__ block) and a @resource source into it', T, async () => {
    const { d, folder, dest } = setup();
    const r = await host(['run', '--config', writeJson(d, 'src.json', {}), '--destination', at('jsonl_writer.py'), '--destination-config', dest, '--progress', 'off', at('static_source.py:static_source')]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(jsonLines(join(folder, 'users.jsonl')).map((u) => u['id'])).toEqual([1, 2, 3]);
    expect(jsonLines(join(folder, 'events.jsonl')).map((e) => e['id'])).toEqual([1, 2, 3, 4, 5]);
    // big integers went through the writer exactly
    expect(readFileSync(join(folder, 'users.jsonl'), 'utf8')).toContain('12345678901234567890123');
  });
});

describe('host check on a reader and a writer', () => {
  it('the writer: SUCCEEDED for an existing folder, FAILED with the reason otherwise', T, async () => {
    const { d, dest } = setup();
    const ok = await host(['check', '--config', dest, WRITER]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).connectionStatus.status).toBe('SUCCEEDED');
    const bad = await host(['check', '--config', writeJson(d, 'bad.json', { folder: join(d, 'nope') }), WRITER]);
    expect(bad.exitCode).not.toBe(0);
    expect(JSON.parse(bad.stdout).connectionStatus).toEqual({ status: 'FAILED', message: `no folder ${join(d, 'nope')}` });
  });

  it('the reader: check passes (no check method), discover infers the schema from its first batches', T, async () => {
    const d = tmp();
    const c = writeJson(d, 'c.json', { count: 3 });
    const ok = await host(['check', '--config', c, READER]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    const disc = await host(['discover', '--config', c, READER]);
    expect(disc.exitCode, disc.stderr).toBe(0);
    const [s] = JSON.parse(disc.stdout).catalog.streams;
    expect(s).toMatchObject({ name: 'rows', source_defined_primary_key: [['n']], default_cursor_field: ['n'], supported_sync_modes: ['full_refresh', 'incremental'] });
    expect(s.json_schema.description).toBe('inferred by connector_host from the first 3 records');
  });
});
