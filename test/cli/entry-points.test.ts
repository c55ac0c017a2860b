// Entry points (issue 11, item 10): `host state <action> FILE` takes the state file as a
// positional (or --state / --out; both naming different files is a usage error); `--help` lists
// every kind of connector reference with an example; the package installs with `npm i -g`
// (from its tarball or its folder) and puts `host` and `connector-host` on PATH.

import { describe, it, expect } from 'vitest';
import { execa } from 'execa';
import { join } from 'node:path';
import { readFileSync, readdirSync, mkdirSync, writeFileSync } from 'node:fs';
import { host, tmp, writeJson, streamState, lines, EXAMPLE, FIX, ROOT } from '../helpers.js';

const EXAMPLE_CONFIG = join(FIX, 'example', 'config.json');
const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;

/** An output folder with a committed state (the example source read once). */
async function withState(): Promise<{ dir: string; out: string; file: string }> {
  const dir = tmp();
  const out = join(dir, 'out');
  const r = await host(['read', EXAMPLE.node, '--config', EXAMPLE_CONFIG, '--out', out, '--quiet']);
  expect(r.exitCode, r.stderr).toBe(0);
  return { dir, out, file: join(out, 'state.json') };
}

describe.concurrent('host state <action> FILE', { timeout: 180_000 }, () => {
  it('show: the positional file, a relative path, an output folder, --state and --out all show the same state', async () => {
    const { dir, out, file } = await withState();
    const byFlag = await host(['state', 'show', '--out', out]);
    expect(byFlag.exitCode, byFlag.stderr).toBe(0);
    expect(byFlag.stdout).toContain('events');
    const shown = (r: { exitCode: number; stdout: string; stderr: string }) => {
      expect(r.exitCode, r.stderr).toBe(0);
      return r.stdout.replace(/^state file: .*$/m, '');
    };
    const expected = shown(byFlag);
    const [json, hist, ...same] = await Promise.all([
      host(['state', 'show', file, '--json']),
      host(['state', 'show', 'out/state.json', '--history'], { cwd: dir }),
      host(['state', 'show', file]),
      host(['state', 'show', 'out/state.json'], { cwd: dir }),
      host(['state', 'show', out]),
      host(['state', 'show', '--state', file]),
      // the same file twice (a flag and the positional) is fine
      host(['state', 'show', 'out/state.json', '--state', file], { cwd: dir }),
      host(['state', 'show', file, '--out', out]),
    ]);
    for (const r of same) expect(shown(r)).toBe(expected);
    expect(JSON.parse(json.stdout)).toMatchObject({ exists: true, kind: 'STREAM' });
    expect(hist.exitCode, hist.stderr).toBe(0);
    expect(hist.stdout).toContain('out/state.json');
  });

  it('set and clear take the positional file; the change lands in that file', async () => {
    const { file } = await withState();
    const set = await host(['state', 'set', file, '--stream', 'events', '--value', '{"cursor": 4}']);
    expect(set.exitCode, set.stderr).toBe(0);
    expect(set.stderr).toContain(`committed to ${file}`);
    expect(streamState(file, 'events')).toEqual({ cursor: 4 });
    const clear = await host(['state', 'clear', file, '--stream', 'events']);
    expect(clear.exitCode, clear.stderr).toBe(0);
    expect(streamState(file, 'events')).toBeUndefined();
  });

  it('import: the file to import, then the state file to import into (or --state / --out as before)', async () => {
    const dir = tmp();
    const src = writeJson(dir, 'meltano.json', { singer_state: { events: { cursor: 7 } } });
    const into = join(dir, 'into.json');
    const r = await host(['state', 'import', '--from', 'meltano', src, into]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(into, 'utf8'))).toMatchObject({ kind: 'LEGACY' });
    // the imported state is the one the next run starts from
    const out = join(dir, 'out');
    mkdirSync(out);
    const r2 = await host(['state', 'import', '--from', 'meltano', src, out]);
    expect(r2.exitCode, r2.stderr).toBe(0);
    const run = await host(['read', EXAMPLE.node, '--config', EXAMPLE_CONFIG, '--out', out, '--quiet']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(lines(join(out, 'events.jsonl')).map((l) => JSON.parse(l).id)).toEqual([8, 9, 10, 11, 12]);
    const old = await host(['state', 'import', '--from', 'meltano', src, '--state', join(dir, 'flag.json')]);
    expect(old.exitCode, old.stderr).toBe(0);
  });

  it('bad input: two different state files, an empty name, a second file where none is taken, no file at all: usage errors (exit 2), no stack trace', async () => {
    const { dir, out, file } = await withState();
    const before = readFileSync(file, 'utf8');
    const cases: [string[], RegExp][] = [
      [['state', 'show', file, '--state', join(dir, 'other.json')], /two state files given: ".*state\.json" and --state ".*other\.json"/],
      [['state', 'clear', file, '--out', join(dir, 'elsewhere')], /two state files given: .* and --out /],
      [['state', 'set', join(dir, 'other.json'), '--state', file, '--value', '{}'], /two state files given/],
      [['state', 'show', ''], /the state file named is empty/],
      [['state', 'show', file, 'extra.json'], /state show does not take a second FILE/],
      [['state', 'show'], /name the state: --state FILE, or --out DIR/],
      [['state', 'import', '--from', 'meltano', join(dir, 'x.json'), file, '--out', join(dir, 'nope')], /two state files given/],
    ];
    const results = await Promise.all(cases.map(([args]) => host(args)));
    for (const [i, [args, msg]] of cases.entries()) {
      const r = results[i]!;
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/);
    }
    expect(readFileSync(file, 'utf8')).toBe(before); // nothing was changed
    expect(readdirSync(out)).toContain('state.json');
  });
});

describe.concurrent('--help lists every kind of connector with an example', { timeout: 180_000 }, () => {
  // one example per kind, as the help shows it
  const EXAMPLES: Record<string, RegExp> = {
    path: /^ {2}\.\/\S+\.py\s+a path to an executable/m,
    argv: /^ {2}-- python3 \S+\.py\b.*after --: a program and its arguments/m,
    pypi: /^ {2}pypi:[a-z0-9-]+==\d+\.\d+\.\d+\s+a PyPI package/m,
    npm: /^ {2}npm:(@[a-z0-9-]+\/)?[a-z0-9-]+@\d+\.\d+\.\d+\s+an npm package/m,
    git: /^ {2}git:https:\/\/\S+\.git#v[\d.]+:\S+\n\s+a git repository/m,
    manifest: /^ {2}manifest:\.\/\S+\.yaml\s+an Airbyte declarative/m,
    docker: /^ {2}docker:[a-z0-9/-]+:[\d.]+\s+a container image/m,
    registry: /^ {2}[a-z][a-z0-9-]*\s+a name in the registry file/m,
    singer: /--protocol singer/,
  };

  it('host --help, and the help of every command that takes a connector', async () => {
    const commands = [['--help'], ['read', '--help'], ['run', '--help'], ['spec', '--help'], ['check', '--help'], ['discover', '--help'], ['test', '--help']];
    const results = await Promise.all(commands.map((args) => host(args)));
    for (const [i, args] of commands.entries()) {
      const r = results[i]!;
      expect(r.exitCode, r.stderr).toBe(0);
      for (const [kind, re] of Object.entries(EXAMPLES)) expect(r.stdout, `${args.join(' ')}: ${kind}`).toMatch(re);
      expect(r.stdout).toContain('Exit codes:');
    }
  });

  it('the kinds in the help are the kinds the resolver knows (the error for an unknown kind lists them)', async () => {
    const [r, h] = await Promise.all([host(['spec', 'bogus:thing']), host(['--help'])]);
    expect(r.exitCode).toBe(2);
    const m = /known kinds: ([a-z, ]+)\)/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    const known = m![1]!.split(', ');
    expect(known.length).toBeGreaterThanOrEqual(5);
    const help = h.stdout;
    for (const k of known) expect(help, k).toMatch(new RegExp(`^ {2}${k}:\\S+\\s`, 'm'));
  });
});

describe('installing the package puts host and connector-host on PATH', () => {
  const npm = (args: string[], cwd = ROOT) => execa('npm', args, { cwd, reject: false, env: { npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' } });

  it('npm pack, then npm i -g --prefix DIR from the tarball and from the folder: DIR/bin/host and connector-host run', async () => {
    const dir = tmp('ch-install-');
    // (the tree is built already: tests run on dist/)
    const pack = await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', dir]);
    expect(pack.exitCode, String(pack.stderr)).toBe(0);
    const info = JSON.parse(String(pack.stdout))[0] as { filename: string; files: { path: string }[] };
    const files = info.files.map((f) => f.path);
    for (const f of ['bin/host.js', 'dist/cli/main.js', 'dist/index.js', 'protocol/README.md', 'shims/singer-target.mjs', 'package.json']) expect(files, f).toContain(f);
    expect(files.some((f) => f.startsWith('test/') || f.startsWith('src/') || f.startsWith('node_modules/'))).toBe(false);
    // the kits: the Python package's sources (no build or bytecode left by a local pip install), the TypeScript kit, the templates
    for (const f of ['kits/python/pyproject.toml', 'kits/python/connector_host/__init__.py', 'kits/python/connector_host/processor.py', 'dist/kit/index.js', 'dist/kit/run.js', 'dist/kit/processor-run.js']) expect(files, f).toContain(f);
    expect(files.filter((f) => f.startsWith('kits/') && !/^kits\/python\/(pyproject\.toml|connector_host\/[a-z_]+\.py)$/.test(f))).toEqual([]);
    expect(files.some((f) => f.startsWith('templates/init/'))).toBe(true);

    const prefix = join(dir, 'prefix');
    const inst = await npm(['i', '-g', '--prefix', prefix, '--prefer-offline', '--ignore-scripts', join(dir, info.filename)], dir);
    expect(inst.exitCode, String(inst.stderr)).toBe(0);
    for (const bin of ['host', 'connector-host']) {
      const v = await execa(join(prefix, 'bin', bin), ['--version'], { reject: false });
      expect(v.exitCode, String(v.stderr)).toBe(0);
      expect(String(v.stdout).trim()).toBe(VERSION);
    }
    // the installed copy reads a connector end to end (dist, protocol schemas and all)
    const out = join(dir, 'out');
    const r = await execa(join(prefix, 'bin', 'connector-host'), ['read', EXAMPLE.node, '--config', EXAMPLE_CONFIG, '--out', out, '--quiet'], { reject: false, cwd: dir });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(lines(join(out, 'events.jsonl'))).toHaveLength(12);
    expect(readFileSync(join(prefix, 'lib', 'node_modules', 'connector-host', 'package.json'), 'utf8')).toContain('"connector-host"');
    // the kits come with it: the Python kit on PYTHONPATH, the TypeScript kit and tsx for a .ts file in a folder of its own
    const installed = join(prefix, 'lib', 'node_modules', 'connector-host');
    const kp = await execa(join(prefix, 'bin', 'host'), ['kit', 'path'], { reject: false });
    expect(String(kp.stdout).trim()).toBe(join(installed, 'kits', 'python'));
    const py = await execa(join(prefix, 'bin', 'host'), ['read', join(FIX, 'kit-python', 'static_source.py:static_source'), '--config', writeJson(dir, 'kit.json', {}), '--quiet'], { reject: false, cwd: dir });
    expect(py.exitCode, String(py.stderr)).toBe(0);
    expect(String(py.stdout).split('\n').filter((l) => l.includes('"RECORD"')).length).toBeGreaterThan(0);
    writeFileSync(join(dir, 'src.ts'), "import { defineSource } from 'connector-host/kit';\nconst n: number = 3;\nexport default defineSource({ streams: { nums: { async *read() { for (let i = 0; i < n; i++) yield { i }; } } } });\n");
    const ts = await execa(join(prefix, 'bin', 'host'), ['read', join(dir, 'src.ts'), '--quiet'], { reject: false, cwd: dir });
    expect(ts.exitCode, String(ts.stderr)).toBe(0);
    expect(String(ts.stdout).split('\n').filter((l) => l.includes('"RECORD"'))).toHaveLength(3);

    // `npm i -g .` (as from a clone): a link to the folder
    const linked = join(dir, 'linked');
    const li = await npm(['i', '-g', '--prefix', linked, '--prefer-offline', '--ignore-scripts', ROOT], dir);
    expect(li.exitCode, String(li.stderr)).toBe(0);
    const lv = await execa(join(linked, 'bin', 'host'), ['--version'], { reject: false });
    expect(String(lv.stdout).trim()).toBe(VERSION);
  }, 120_000);
});
