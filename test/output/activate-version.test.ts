// The --out writer and the activate_version extension (Singer ACTIVATE_VERSION through the shim):
// a new version replaces the stream's data when it completes; a failed copy keeps the old data;
// a resumed copy goes on with what was committed and ends with every row exactly once.

import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { host, tmp, writeJson, jsonLines, readJson, streamState, FIX } from '../helpers.js';

const SRC = join(FIX, 'extensions', 'activate-version.mjs');

describe('activate_version in --out', () => {
  it('replaces on completion, keeps the old data on failure, resumes a copy exactly once', async () => {
    const d = tmp();
    const out = join(d, 'out');
    const read = (cfg: Record<string, unknown>) => host(['read', SRC, '--config', writeJson(d, 'c.json', cfg), '--out', out, '--commit-interval', '0']);

    const r1 = await read({ version: 1, rows: 3 });
    expect(r1.exitCode, r1.stderr).toBe(0);
    expect(jsonLines(join(out, 'rows.jsonl'))).toEqual([1, 2, 3].map((id) => ({ id, v: 1 })));

    // version 2 fails after 3 rows: the committed state covers 2 of them
    const r2 = await read({ version: 2, rows: 5, fail_after: 3 });
    expect(r2.exitCode).toBe(3);
    expect(jsonLines(join(out, 'rows.jsonl'))).toEqual([1, 2, 3].map((id) => ({ id, v: 1 })));
    expect(streamState(join(out, 'state.json'), 'rows')).toEqual({ version: 2, last_id: 2 });
    expect(jsonLines(join(out, 'rows.jsonl.partial'))).toEqual([1, 2].map((id) => ({ id, v: 2 })));
    const files = readJson(join(out, 'state.json')).files;
    expect(files['rows.jsonl.partial']).toMatchObject({ records: 2, activate_version: '2' });
    expect(readJson(join(out, 'manifest.json')).streams.map((s: any) => s.file)).toEqual(['rows.jsonl']);

    // the same version again: goes on from row 3 and completes
    const r3 = await read({ version: 2, rows: 5 });
    expect(r3.exitCode, r3.stderr).toBe(0);
    expect(jsonLines(join(out, 'rows.jsonl'))).toEqual([1, 2, 3, 4, 5].map((id) => ({ id, v: 2 })));
    expect(existsSync(join(out, 'rows.jsonl.partial'))).toBe(false);
    const st = readJson(join(out, 'state.json'));
    expect(st.files['rows.jsonl']).toMatchObject({ records: 5 });
    expect(st.files['rows.jsonl.partial']).toBeUndefined();

    // a later version that starts over replaces everything again
    const r4 = await read({ version: 3, rows: 1 });
    expect(r4.exitCode, r4.stderr).toBe(0);
    expect(jsonLines(join(out, 'rows.jsonl'))).toEqual([{ id: 1, v: 3 }]);
  });

  it('a crash (SIGKILL) mid-copy: the next run truncates the replacement to its committed length', async () => {
    const d = tmp();
    const out = join(d, 'out');
    const read = (cfg: Record<string, unknown>) => host(['read', SRC, '--config', writeJson(d, 'c.json', cfg), '--out', out, '--commit-interval', '0']);
    expect((await read({ version: 1, rows: 2 })).exitCode).toBe(0);
    expect((await read({ version: 2, rows: 6, fail_after: 5 })).exitCode).toBe(3);
    // as if the host died after writing more rows than it committed
    const { appendFileSync } = await import('node:fs');
    appendFileSync(join(out, 'rows.jsonl.partial'), '{"id":99,"v":2}\n{"id":1');
    const r = await read({ version: 2, rows: 6 });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(jsonLines(join(out, 'rows.jsonl'))).toEqual([1, 2, 3, 4, 5, 6].map((id) => ({ id, v: 2 })));
  });
});
