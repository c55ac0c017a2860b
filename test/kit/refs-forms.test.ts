// Kit objects as connectors (issue 12, "Named objects as connectors"): how the host resolves
// `PATH:NAME`, `PATH.py`, `PATH.mjs|.js|.ts[:NAME]`, executable files and folders, through the
// real CLI; `host kit path`; `--destination ./w.mjs:Name`. Fixtures: fixtures/connectors/kit-refs.

import { describe, it, expect } from 'vitest';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { host, tmp, FIX, ROOT, writeJson, logLines, recordsOf } from '../helpers.js';

const K = join(FIX, 'kit-refs');
const PYKIT = join(ROOT, 'kits', 'python');

/** A copy of fixture files in a fresh folder (modes set here, not taken from the checkout). */
function copyFixtures(names: string[], modes: Record<string, number> = {}): string {
  const d = tmp('ch-kitrefs-');
  for (const n of names) {
    copyFileSync(join(K, n), join(d, n));
    chmodSync(join(d, n), modes[n] ?? 0o644);
  }
  return d;
}

const specOf = (stdout: string) => JSON.parse(stdout.trim()) as { type: string; spec: Record<string, any> };
const records = recordsOf;

describe('a non-executable .py file', () => {
  it('runs with python3, the Python kit first on PYTHONPATH (before the user\'s own)', async () => {
    const d = copyFixtures(['echo_config.py']);
    const r = await host(['spec', join(d, 'echo_config.py')], { env: { PYTHONPATH: '/elsewhere/lib' } });
    expect(r.exitCode, r.stderr).toBe(0);
    const s = specOf(r.stdout).spec;
    expect(s['x-pythonpath']).toBe(`${PYKIT}:/elsewhere/lib`);
    expect(s['x-argv']).toEqual([join(d, 'echo_config.py'), 'spec']);
  });

  it('a relative bare name (no ./) works, and without a PYTHONPATH of the user\'s it is the kit alone', async () => {
    const d = copyFixtures(['echo_config.py']);
    const r = await host(['spec', 'echo_config.py'], { cwd: d, env: { PYTHONPATH: '' } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(specOf(r.stdout).spec['x-pythonpath']).toBe(PYKIT);
  });
});

describe('an executable file runs as itself', () => {
  it('a .py file with a #!/bin/sh line runs as a shell script (python3 would fail on it), with the kit on PYTHONPATH', async () => {
    const d = copyFixtures(['exec_sh.py'], { 'exec_sh.py': 0o755 });
    const r = await host(['spec', join(d, 'exec_sh.py')]);
    expect(r.exitCode, r.stderr).toBe(0);
    const s = specOf(r.stdout).spec;
    expect(s['x-ran']).toBe('as itself');
    expect(s['x-pythonpath']).toBe(PYKIT);
  });

  it('the same file not executable is run by python3, which fails on it: the precedence is the exec bit', async () => {
    const d = copyFixtures(['exec_sh.py'], { 'exec_sh.py': 0o644 });
    const r = await host(['spec', join(d, 'exec_sh.py')]);
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toBe('');
  });

  it('an executable .mjs runs as itself (its shebang), not through the kit runner', async () => {
    const d = tmp('ch-kitrefs-');
    writeFileSync(join(d, 'self.mjs'), '#!/bin/sh\necho \'{"type":"SPEC","spec":{"connectionSpecification":{},"x-ran":"sh"}}\'\n');
    chmodSync(join(d, 'self.mjs'), 0o755);
    const r = await host(['spec', join(d, 'self.mjs')]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(specOf(r.stdout).spec['x-ran']).toBe('sh');
  });
});

describe('JavaScript and TypeScript files', () => {
  it('a plain .mjs script (no kit export) runs through the kit runner and sees argv as `node plain.mjs ARGS`', async () => {
    const d = copyFixtures(['plain.mjs']);
    const r = await host(['spec', join(d, 'plain.mjs')]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(specOf(r.stdout).spec['x-argv']).toEqual([join(d, 'plain.mjs'), 'spec']);
  });

  it('./objects.mjs:NAME runs that export; the log tag is the object name', async () => {
    const d = copyFixtures(['objects.mjs']);
    const r = await host(['read', './objects.mjs:orders'], { cwd: d });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(records(r.stdout)).toEqual([{ stream: 'orders', order: 7 }]);
    // a failing object's log lines: tagged with its name
    const bad = await host(['spec', './objects.mjs:nope'], { cwd: d });
    const tags = bad.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { connector?: string }).connector).filter(Boolean);
    expect(tags.length).toBeGreaterThan(0);
    expect(new Set(tags)).toEqual(new Set(['nope']));
    const users = await host(['read', 'objects.mjs:users'], { cwd: d });
    expect(users.exitCode, users.stderr).toBe(0);
    expect(records(users.stdout)).toEqual([
      { stream: 'users', id: 1, name: 'ada' },
      { stream: 'users', id: 2, name: 'grace' },
    ]);
  });

  it('a .js file works the same (ESM with "type": "module" beside it)', async () => {
    const d = tmp('ch-kitrefs-');
    copyFileSync(join(K, 'objects.mjs'), join(d, 'objects.js'));
    writeJson(d, 'package.json', { type: 'module' });
    const r = await host(['read', join(d, 'objects.js') + ':users']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(records(r.stdout).map((x) => x['id'])).toEqual([1, 2]);
  });

  it('a .ts file runs through the TypeScript loader (no build step), with or without :default; .mts too', async () => {
    // an ESM folder ("type": "module"); a .mts needs none
    const d = copyFixtures(['objects.ts']);
    writeJson(d, 'package.json', { type: 'module' });
    const m = tmp('ch-kitrefs-');
    copyFileSync(join(K, 'objects.ts'), join(m, 'objects.mts'));
    for (const ref of [join(d, 'objects.ts'), join(d, 'objects.ts') + ':default', join(m, 'objects.mts'), join(K, 'objects.ts')]) {
      const r = await host(['read', ref]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(records(r.stdout)).toEqual([
        { stream: 'items', id: 1, label: 'one' },
        { stream: 'items', id: 2, label: 'two' },
      ]);
    }
  });

  it('several exports and no NAME: the runner says which to name (config error, exit 2)', async () => {
    const r = await host(['spec', join(K, 'objects.mjs')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/host: .*exports several kit definitions \(orders, users\): name one/);
  });

  it('a missing NAME: the kit names the file and what it has; exit 2, no stack trace', async () => {
    const r = await host(['read', join(K, 'objects.mjs') + ':nope']);
    expect(r.exitCode).toBe(2);
    const last = r.stderr.trim().split('\n').pop()!;
    expect(last).toContain('host: objects.mjs has no export named "nope"; it exports: orders (source), users (source) [config_error');
    expect(r.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/);
    expect(r.stdout).toBe('');
  });
});

describe('references that do not resolve', () => {
  it('a JS export name the runner cannot load (a space, a dash, a leading digit): a usage error before anything runs', async () => {
    for (const name of ['odd name', 'x-y', '1st', 'café']) {
      const r = await host(['spec', `${join(K, 'objects.mjs')}:${name}`]);
      expect(r.exitCode, name).toBe(2);
      expect(r.stderr, name).toContain(`${JSON.stringify(name)} is not an export name the kit runner can load`);
      expect(r.stderr, name).not.toContain('no such file');
    }
    // `$` and `_` are fine: the runner looks them up (and reports them missing)
    const ok = await host(['spec', `${join(K, 'objects.mjs')}:$_x1`]);
    expect(ok.exitCode).toBe(2);
    expect(ok.stderr).toContain('has no export named "$_x1"');
  });

  it('a missing file with :NAME: connector not found (exit 2), the kit never started', async () => {
    const d = tmp('ch-kitrefs-');
    for (const ref of ['./missing.py:MySource', 'missing.py:MySource', './missing.mjs:x', './missing.ts', './nodir:MySource']) {
      const r = await host(['spec', ref], { cwd: d });
      expect(r.exitCode, ref).toBe(2);
      expect(r.stderr, ref).toContain('host: connector not found: ');
      expect(r.stderr, ref).not.toContain('unsupported connector reference');
    }
    const one = await host(['spec', './missing.py:MySource'], { cwd: d });
    expect(one.stderr).toContain('connector not found: ./missing.py:MySource names the object "MySource" in ./missing.py, which does not exist');
  });

  it('PATH: with nothing after the colon, a NAME with a control character: usage errors', async () => {
    const r = await host(['spec', join(K, 'objects.mjs') + ':']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("nothing after ':'");
    const c = await host(['spec', join(K, 'objects.mjs') + ':a\u0007b']);
    expect(c.exitCode).toBe(2);
    expect(c.stderr).toContain('control character');
    expect(c.stderr).not.toContain('\u0007');
  });

  it('an object in a file no kit loads (.sh): a clear refusal', async () => {
    const d = tmp('ch-kitrefs-');
    writeFileSync(join(d, 'x.sh'), 'echo hi\n');
    const r = await host(['spec', './x.sh:Thing'], { cwd: d });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('names an object (:Thing) in x.sh, but only .py, .mjs, .js and .ts files and Python package folders hold kit objects');
  });

  it('a folder that is not a Python package, without :NAME: refused with what to do', async () => {
    const d = tmp('ch-kitrefs-');
    mkdirSync(join(d, 'plain'));
    const r = await host(['spec', './plain'], { cwd: d });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('is a folder, not a file (a Python package folder needs an __init__.py, or name an object in it: ./plain:NAME)');
  });

  it('an unknown scheme is still refused as before (a prefix that is no kit file and no path)', async () => {
    const r = await host(['spec', 'ftp:something']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('unsupported connector reference "ftp:"');
  });

  it('a file whose name holds a colon is a path, not PATH:NAME', async () => {
    const d = copyFixtures([]);
    copyFileSync(join(K, 'echo_config.py'), join(d, 'odd:name.py'));
    const r = await host(['spec', './odd:name.py'], { cwd: d });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(specOf(r.stdout).spec['x-argv'][0]).toBe(join(d, 'odd:name.py'));
  });
});

describe('--destination ./writers.mjs:NAME', () => {
  it('a kit destination named in a module receives the records', async () => {
    const d = tmp('ch-kitrefs-');
    const out = join(d, 'written.jsonl');
    const r = await host(['run', join(K, 'objects.mjs') + ':users', '--destination', join(K, 'writers.mjs') + ':FileWriter', '--destination-config', writeJson(d, 'dc.json', { path: out }), '--state', join(d, 'state.json')]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l))).toEqual([
      { stream: 'users', id: 1, name: 'ada' },
      { stream: 'users', id: 2, name: 'grace' },
    ]);
    expect(existsSync(join(d, 'state.json'))).toBe(true);
  });

  it('a missing destination object: exit 2, the message names it', async () => {
    const d = tmp('ch-kitrefs-');
    const r = await host(['run', join(K, 'objects.mjs') + ':users', '--destination', join(K, 'writers.mjs') + ':Nope', '--destination-config', writeJson(d, 'dc.json', { path: join(d, 'x') })]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('writers.mjs has no export named "Nope"');
  });
});

describe('host kit path', () => {
  it('prints the Python kit folder (default and --lang python): one line, exit 0, a folder with the package', async () => {
    for (const args of [['kit', 'path'], ['kit', 'path', '--lang', 'python']]) {
      const r = await host(args);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toBe(PYKIT); // one line (the helper strips the final newline)
      expect(statSync(join(r.stdout.trim(), 'connector_host')).isDirectory()).toBe(true);
    }
  });

  it('--lang typescript prints the TypeScript kit entry (dist/kit/index.js), which exports defineSource', async () => {
    const r = await host(['kit', 'path', '--lang', 'typescript']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe(join(ROOT, 'dist', 'kit', 'index.js'));
    const mod = (await import(r.stdout.trim())) as Record<string, unknown>;
    expect(typeof mod['defineSource']).toBe('function');
  });

  it('an unknown action or language is a usage error', async () => {
    expect((await host(['kit', 'where'])).exitCode).toBe(2);
    expect((await host(['kit', 'path', '--lang', 'rust'])).exitCode).toBe(2);
  });
});

describe('log lines', () => {
  it('the kit object name tags the connector\'s log lines (text format)', async () => {
    const r = await host(['spec', join(K, 'objects.mjs') + ':nope'], { env: { CONNECTOR_HOST_LOG_FORMAT: 'text' } });
    expect(r.exitCode).toBe(2);
    expect(logLines(r.stderr).some((l) => l.includes('[nope'))).toBe(true);
  });
});
