// Python kit objects as connectors (issue 12): `sources.py:MySource`, `pkg:Deep` (a package
// folder), a module without `__main__`, `--destination ./writers.py:MyWriter`, executable files,
// odd and missing names, through the real CLI and the real kit (kits/python/connector_host).

import { describe, it, expect } from 'vitest';
import { chmodSync, cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { host, tmp, FIX, writeJson, readJson, recordsOf } from '../helpers.js';

const K = join(FIX, 'kit-refs');

function copyFixtures(names: string[], modes: Record<string, number> = {}): string {
  const d = tmp('ch-kitpy-');
  for (const n of names) {
    cpSync(join(K, n), join(d, n), { recursive: true });
    if (n !== 'pkg') chmodSync(join(d, n), modes[n] ?? 0o644);
  }
  return d;
}

const records = recordsOf;
const lastLine = (stderr: string) => stderr.trim().split('\n').pop()!;
const noTraceback = (stderr: string) => expect(stderr).not.toContain('Traceback (most recent call last)');

describe('PATH.py:NAME', () => {
  it('./sources.py:MySource and sources.py:Other run those objects (no __main__ block needed)', async () => {
    const d = copyFixtures(['sources.py']);
    const a = await host(['read', './sources.py:MySource', '--config', writeJson(d, 'c.json', { count: 2 })], { cwd: d });
    expect(a.exitCode, a.stderr).toBe(0);
    expect(records(a.stdout)).toEqual([
      { stream: 'numbers', id: 1 },
      { stream: 'numbers', id: 2 },
    ]);
    const b = await host(['read', 'sources.py:Other'], { cwd: d });
    expect(b.exitCode, b.stderr).toBe(0);
    expect(records(b.stdout)).toEqual([{ stream: 'others', other: true }]);
  });

  it('an absolute path, and a name with non-ASCII letters (a valid Python name)', async () => {
    const r = await host(['read', `${join(K, 'sources.py')}:Quelle_ä`]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(records(r.stdout)).toEqual([{ stream: 'unicode', name: 'Quelle_ä' }]);
  });

  it('the object name tags its log lines', async () => {
    const d = copyFixtures(['sources.py']);
    const r = await host(['read', './sources.py:MySource', '--log-level', 'info', '--config', writeJson(d, 'c.json', { count: 1, token: 'tok-Very-Secret' })], { cwd: d });
    expect(r.exitCode, r.stderr).toBe(0);
    const log = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { connector?: string; msg: string })
      .find((l) => l.msg.includes('token is'));
    expect(log).toEqual(expect.objectContaining({ connector: 'MySource', msg: 'token is **********' }));
    expect(r.stderr).not.toContain('tok-Very-Secret');
  });

  it('a missing NAME: the kit lists what the module has; exit 2, no traceback', async () => {
    const r = await host(['read', `${join(K, 'sources.py')}:Nope`]);
    expect(r.exitCode).toBe(2);
    expect(lastLine(r.stderr)).toMatch(/^host: .*sources\.py has no 'Nope'; its kit objects: .*MySource \(@source\), .*Other \(@source\).* \[config_error; the connector exited with code 1\]$/);
    noTraceback(r.stderr);
  });

  it('a name that cannot be a Python name (a space, a leading digit, ..): a usage error before anything runs', async () => {
    for (const name of ['My Source', '1st', 'a..b', 'x-y']) {
      const r = await host(['spec', `${join(K, 'sources.py')}:${name}`]);
      expect(r.exitCode, name).toBe(2);
      expect(r.stderr, name).toContain(`${JSON.stringify(name)} is not a Python name`);
    }
  });

  it('a missing file: connector not found, exit 2', async () => {
    const d = tmp('ch-kitpy-');
    const r = await host(['read', './nope.py:MySource'], { cwd: d });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('connector not found: ./nope.py:MySource');
  });
});

describe('a module of kit objects without :NAME', () => {
  it('with several objects and no __main__ block: the kit asks to name one (not a silent exit 0)', async () => {
    const r = await host(['spec', join(K, 'sources.py')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/sources\.py has several kit objects: MySource \(@source\), Other \(@source\), Quelle_ä \(@source\); name one as .*sources\.py:NAME/);
  });

  it('with one object: that one', async () => {
    const d = tmp('ch-kitpy-');
    writeFileSync(join(d, 'one.py'), 'import connector_host\n\n@connector_host.resource\ndef only(config, state):\n    yield {"x": 1}\n');
    const r = await host(['read', join(d, 'one.py')]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(records(r.stdout)).toEqual([{ stream: 'only', x: 1 }]);
  });

  it('--config-uri custom://NAME picks the object, and its parameters are the config', async () => {
    const r = await host(['read', join(K, 'sources.py'), '--config-uri', 'custom://MySource?count=3']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(records(r.stdout).map((x) => x['id'])).toEqual([1, 2, 3]);
    const bad = await host(['read', join(K, 'sources.py'), '--config-uri', 'custom://MySource?count=three']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('the parameter count is an integer');
  });
});

describe('executable files and __main__ blocks', () => {
  it('an executable .py runs as itself; :NAME imports it and runs the object instead', async () => {
    const d = copyFixtures(['dual.py'], { 'dual.py': 0o755 });
    const self = await host(['spec', join(d, 'dual.py')]);
    expect(self.exitCode, self.stderr).toBe(0);
    expect(JSON.parse(self.stdout).spec['x-ran']).toBe('as a script');
    const obj = await host(['spec', `${join(d, 'dual.py')}:Dual`]);
    expect(obj.exitCode, obj.stderr).toBe(0);
    expect(JSON.parse(obj.stdout).spec.connectionSpecification['x-ran']).toBe('as the object');
  });

  it('not executable, with a __main__ block: python3 runs it as a script (the kit importable)', async () => {
    const d = copyFixtures(['dual.py'], { 'dual.py': 0o644 });
    const r = await host(['spec', join(d, 'dual.py')]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).spec['x-ran']).toBe('as a script');
  });
});

describe('DIR:NAME, a Python package folder', () => {
  it('pkg:Top (in __init__) and pkg:Deep (in a submodule)', async () => {
    const d = copyFixtures(['pkg']);
    const top = await host(['read', './pkg:Top'], { cwd: d });
    expect(top.exitCode, top.stderr).toBe(0);
    expect(records(top.stdout)).toEqual([{ stream: 'top', where: '__init__' }]);
    const deep = await host(['read', join(d, 'pkg') + ':Deep']);
    expect(deep.exitCode, deep.stderr).toBe(0);
    expect(records(deep.stdout)).toEqual([{ stream: 'deep', where: 'deep' }]);
  });

  it('the folder alone (it has __init__.py): the kit lists its objects to name one', async () => {
    const r = await host(['spec', join(K, 'pkg')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/pkg has several kit objects: Top \(@source\), deep\.Deep \(@source\); name one/);
  });

  it('a missing NAME in the package: the kit says so', async () => {
    const r = await host(['spec', join(K, 'pkg') + ':Nope']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("has no 'Nope'");
    noTraceback(r.stderr);
  });
});

describe('--destination ./writers.py:MyWriter', () => {
  it('a kit Writer receives the records and commits before each state is acknowledged', async () => {
    const d = copyFixtures(['sources.py', 'writers.py']);
    const out = join(d, 'written.jsonl');
    const r = await host(
      ['run', './sources.py:MySource', '--config', writeJson(d, 'c.json', { count: 3 }), '--destination', './writers.py:MyWriter', '--destination-config', writeJson(d, 'dc.json', { path: out }), '--state', join(d, 'state.json')],
      { cwd: d },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines.filter((l) => l !== 'COMMIT').map((l) => JSON.parse(l))).toEqual([1, 2, 3].map((id) => ({ id, stream: 'numbers' })));
    expect(lines[lines.length - 1]).toBe('COMMIT');
    expect(readJson(join(d, 'state.json')).states[0].stream.stream_descriptor.name).toBe('numbers');
  });

  it('a writer name that is not there: exit 2, the kit names it', async () => {
    const d = copyFixtures(['sources.py', 'writers.py']);
    const r = await host(['run', './sources.py:MySource', '--destination', './writers.py:Nope', '--destination-config', writeJson(d, 'dc.json', { path: join(d, 'x') })], { cwd: d });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("writers.py has no 'Nope'");
  });
});

describe('PYTHONPATH', () => {
  it("a kit object can import the user's own modules from their PYTHONPATH (kept after the kit)", async () => {
    const lib = tmp('ch-kitpy-lib-');
    writeFileSync(join(lib, 'helper_mod.py'), 'VALUE = "from the user\'s PYTHONPATH"\n');
    const d = tmp('ch-kitpy-');
    writeFileSync(join(d, 'uses.py'), 'import connector_host\nimport helper_mod\n\n@connector_host.resource\ndef h(config, state):\n    yield {"v": helper_mod.VALUE}\n');
    const r = await host(['read', join(d, 'uses.py') + ':h'], { env: { PYTHONPATH: lib } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(records(r.stdout)).toEqual([{ stream: 'h', v: "from the user's PYTHONPATH" }]);
  });
});

describe('the current directory does not shadow the standard library', () => {
  // `python3 -m` puts the current directory first on sys.path; the host sets PYTHONSAFEPATH=1
  // (Python 3.11+) for its `-m` entry points and the kit unsets it again for the author's children
  const shadowing = () => {
    const d = tmp('ch-kitpy-cwd-');
    for (const m of ['types', 'json', 'dataclasses']) writeFileSync(join(d, `${m}.py`), `raise SystemExit("the current directory's ${m}.py was imported")\n`);
    writeFileSync(
      join(d, 'src.py'),
      [
        'import subprocess, sys',
        'from connector_host import resource',
        '',
        '@resource(primary_key="id")',
        'def items(config, state):',
        '    child = subprocess.run([sys.executable, "-c", "import os; print(os.environ.get(\'PYTHONSAFEPATH\', \'unset\'))"], capture_output=True, text=True, cwd="/")',
        '    yield {"id": 1, "child_safepath": child.stdout.strip()}',
        '',
      ].join('\n'),
    );
    writeFileSync(join(d, 'clean.py'), 'def process(record):\n    record["seen"] = True\n    return record\n');
    return d;
  };

  it('FILE.py:NAME run from a folder holding types.py, json.py and dataclasses.py; the author\'s subprocess does not inherit PYTHONSAFEPATH', async () => {
    const d = shadowing();
    const r = await host(['read', './src.py:items'], { cwd: d });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(records(r.stdout)).toEqual([{ stream: 'items', id: 1, child_safepath: 'unset' }]);
  });

  it('a processor in such a folder too', async () => {
    const d = shadowing();
    const r = await host(['read', './src.py:items', '--processor', './clean.py'], { cwd: d });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(records(r.stdout)).toEqual([{ stream: 'items', id: 1, child_safepath: 'unset', seen: true }]);
  });

  it('a PYTHONSAFEPATH the user set is left as it is (here empty: Python ignores it, so the shadowing shows)', async () => {
    const d = shadowing();
    const r = await host(['read', './src.py:items'], { cwd: d, env: { PYTHONSAFEPATH: '' } });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain("the current directory's");
  });
});
