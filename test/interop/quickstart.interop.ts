// Step 4 of the README's quick start, as written, into the real target-jsonl from PyPI: the
// plain pipe through `host connectors exec` and the `host run` pipeline. `pypi:target-jsonl`
// is unpinned there; its latest release is the version pinned in fixtures/interop/packages.json,
// so with the interop cache the latest resolves to that venv and nothing is installed again.

import { describe, it, expect } from 'vitest';
import { execa } from 'execa';
import { readFileSync, readdirSync, copyFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, HOST, FIX, tmp, jsonLines, streamState } from '../helpers.js';
import { CACHE } from './helpers.js';
import { quickstartBlocks, shimHostOnPath } from '../docs/readme.js';

describe('README quick start, step 4: into a Singer target', () => {
  it('the pipe and the pipeline both deliver every record; the pipeline stores the acknowledged state', async () => {
    const dir = tmp('ch-interop-quickstart-');
    copyFileSync(join(FIX, 'example', 'numbers.py'), join(dir, 'numbers.py'));
    chmodSync(join(dir, 'numbers.py'), 0o755);
    const step4 = quickstartBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8')).find((b) => b.includes('--format singer'));
    expect(step4).toBeDefined();
    const env = { PATH: shimHostOnPath(dir, HOST), CONNECTOR_HOST_CACHE: CACHE, NO_COLOR: '1', HOME: process.env['HOME'] ?? dir };
    const r = await execa('bash', ['-euo', 'pipefail', '-c', `echo '{"count": 5}' > config.json\n${step4}`], { cwd: dir, env, reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/installing target-jsonl/);
    const files = readdirSync(join(dir, 'jsonl')).filter((f) => f.startsWith('numbers'));
    // one file from the pipe, one from the pipeline (target-jsonl names them by the second)
    const rows = files.flatMap((f) => jsonLines(join(dir, 'jsonl', f)));
    expect(rows.map((x) => Number(x['n'])).sort((a, b) => a - b)).toEqual([1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    expect(streamState(join(dir, 'state.json'), 'numbers')).toEqual({ n: 5 });
  });
});
