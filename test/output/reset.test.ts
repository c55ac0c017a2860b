// A stream whose state is cleared (a reset: by the connector, or by `host state clear`) is read
// from the start by the next run: its file is replaced (written to .partial, swapped in when the
// stream completes), never appended to again. The decision is in the state file (`replace`), so
// it survives a failed run. `state set` that moves a cursor back warns about the duplicates.

import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { existsSync, statSync, readdirSync } from 'node:fs';
import { host, tmp, writeJson, jsonLines, readJson, streamState, FIX } from '../helpers.js';

const RESET = join(FIX, 'hostile-output', 'reset.mjs');

function setup() {
  const d = tmp();
  const out = join(d, 'out');
  const cfg = writeJson(d, 'c.json', {});
  const read = (...knobs: string[]) => host(['read', '--config', cfg, '--out', out, '--commit-interval', '0', '--', process.execPath, RESET, ...knobs]);
  const ids = (s: string) => jsonLines(join(out, `${s}.jsonl`)).map((r) => `${r['id']}${r['tag']}`);
  const state = () => readJson(join(out, 'state.json'));
  return { d, out, read, ids, state };
}

/** Every committed length is the file's size, and no .partial file is left. */
function consistent(out: string): void {
  const s = readJson(join(out, 'state.json'));
  for (const [rel, e] of Object.entries<any>(s.files)) {
    if (rel.endsWith('.partial')) continue;
    expect(statSync(join(out, rel)).size, rel).toBe(e.bytes);
  }
  expect(readdirSync(out).filter((f) => f.endsWith('.partial'))).toEqual([]);
}

describe('a cleared state replaces the stream file', () => {
  it('STREAM stream_state null: the next run replaces items.jsonl instead of appending ids 1..3 again', async () => {
    const { out, read, ids, state } = setup();
    const r1 = await read('--reset');
    expect(r1.exitCode, r1.stderr).toBe(0);
    expect(ids('items')).toEqual(['1a', '2a', '3a']);
    expect(state().files['items.jsonl'].replace).toBe(true);
    expect(streamState(join(out, 'state.json'), 'items')).toBeUndefined();
    expect(streamState(join(out, 'state.json'), 'other')).toEqual({ cursor: 3 });

    const r2 = await read('--tag', 'b');
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(ids('items')).toEqual(['1b', '2b', '3b']); // replaced, not 1a..3a + 1b..3b
    expect(ids('other')).toEqual(['1a', '2a', '3a', '4b', '5b', '6b']); // the other stream appends as before
    expect(state().files['items.jsonl'].replace).toBeUndefined();
    consistent(out);

    // and from then on it appends again
    expect((await read('--tag', 'c')).exitCode).toBe(0);
    expect(ids('items')).toEqual(['1b', '2b', '3b', '4c', '5c', '6c']);
    consistent(out);
  });

  it('GLOBAL state that no longer lists a stream: the same', async () => {
    const { out, read, ids, state } = setup();
    expect((await read('--kind', 'global')).exitCode).toBe(0);
    const r1 = await read('--kind', 'global', '--reset', '--tag', 'b');
    expect(r1.exitCode, r1.stderr).toBe(0);
    expect(state().files['items.jsonl'].replace).toBe(true);
    const r2 = await read('--kind', 'global', '--tag', 'c');
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(ids('items')).toEqual(['1c', '2c', '3c']);
    expect(ids('other')).toEqual(['1a', '2a', '3a', '4b', '5b', '6b', '7c', '8c', '9c']);
    consistent(out);
  });

  it('a reset followed by a new copy in the same run: the copy replaces the file at the end; a STREAM_STATUS COMPLETE swaps it in', async () => {
    for (const complete of [[], ['--complete']]) {
      const { out, read, ids, state } = setup();
      expect((await read()).exitCode).toBe(0);
      const r = await read('--reset', '--after', '2', '--tag', 'b', ...complete);
      expect(r.exitCode, r.stderr).toBe(0);
      // 1a..3a, then 4b..6b before the reset: all replaced by the copy read after it
      expect(ids('items')).toEqual(['1b', '2b']);
      expect(streamState(join(out, 'state.json'), 'items')).toEqual({ cursor: 2 });
      expect(state().files['items.jsonl'].replace).toBeUndefined();
      consistent(out);
      expect((await read('--tag', 'c')).exitCode).toBe(0);
      expect(ids('items')).toEqual(['1b', '2b', '3c', '4c', '5c']);
    }
  });

  it('the decision survives a failed run: the copy after the reset is committed with its length and finished by the next run', async () => {
    const { out, read, ids, state } = setup();
    expect((await read()).exitCode).toBe(0);
    const r1 = await read('--reset', '--after', '2', '--fail-after-reset', '--tag', 'b');
    expect(r1.exitCode).toBe(3);
    expect(state().files['items.jsonl'].replace).toBe(true);
    expect(ids('items')).toEqual(['1a', '2a', '3a', '4b', '5b', '6b']); // yesterday's data kept
    const r2 = await read('--tag', 'c');
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(ids('items')).toEqual(['1c', '2c', '3c']);
    consistent(out);
  });

  it('host state clear --stream, and state clear of everything: the next run replaces the files', async () => {
    const { out, read, ids, state } = setup();
    expect((await read()).exitCode).toBe(0);
    const c = await host(['state', 'clear', '--out', out, '--stream', 'items']);
    expect(c.exitCode, c.stderr).toBe(0);
    expect(c.stderr).toContain('items.jsonl is replaced by the next run that reads items');
    expect(state().files['items.jsonl'].replace).toBe(true);
    expect(state().files['other.jsonl'].replace).toBeUndefined();
    expect((await read('--tag', 'b')).exitCode).toBe(0);
    expect(ids('items')).toEqual(['1b', '2b', '3b']);
    expect(ids('other')).toEqual(['1a', '2a', '3a', '4b', '5b', '6b']);
    consistent(out);

    expect((await host(['state', 'clear', '--out', out])).exitCode).toBe(0);
    expect((await read('--tag', 'c')).exitCode).toBe(0);
    expect(ids('items')).toEqual(['1c', '2c', '3c']);
    expect(ids('other')).toEqual(['1c', '2c', '3c']);
    consistent(out);
    expect(existsSync(join(out, 'items.jsonl.partial'))).toBe(false);
  });

  it('a stream not read in the run whose state the connector clears: the run that reads it replaces its file', async () => {
    const { out, read, ids } = setup();
    expect((await read('--kind', 'global')).exitCode).toBe(0);
    const cfg = join(out, '..', 'c.json');
    // a run over `other` only, whose GLOBAL state leaves items out
    const r1 = await host(['read', '--config', cfg, '--out', out, '--streams', 'other', '--', process.execPath, RESET, '--kind', 'global', '--reset', '--tag', 'b']);
    expect(r1.exitCode, r1.stderr).toBe(0);
    expect(readJson(join(out, 'state.json')).files['items.jsonl'].replace).toBe(true);
    expect((await read('--kind', 'global', '--tag', 'c')).exitCode).toBe(0);
    expect(ids('items')).toEqual(['1c', '2c', '3c']);
    consistent(out);
  });

  it('state set --value behind the stored cursor warns that the records after it are appended again; a forward one does not', async () => {
    const { out, read } = setup();
    expect((await read()).exitCode).toBe(0);
    const back = await host(['state', 'set', '--out', out, '--stream', 'items', '--value', '{"cursor": 1}']);
    expect(back.exitCode, back.stderr).toBe(0);
    expect(back.stderr).toContain('warning: the new state of items is behind the stored one (cursor: 3 -> 1)');
    expect(back.stderr).toContain('items.jsonl (3 records)');
    expect(back.stderr).toContain('host state clear --stream items');
    const fwd = await host(['state', 'set', '--out', out, '--stream', 'items', '--value', '{"cursor": 7}']);
    expect(fwd.exitCode).toBe(0);
    expect(fwd.stderr).not.toContain('warning');
    const removed = await host(['state', 'set', '--out', out, '--stream', 'other', '--value', '{"other_key": 1}']);
    expect(removed.stderr).toContain('warning: the new state of other is behind the stored one (cursor: 3 removed)');
  });
});
