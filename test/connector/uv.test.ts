// Installs through the real CLI: uv installed once into the cache when it is not on PATH (pip
// as the fallback), progress on stderr, the latest resolved to a version folder with a pointer
// (a later pin reuses it, a refresh resolves it again, a stale pointer reinstalls, two
// concurrent installs make one), and venvs whose scripts run by themselves where they end up.
// A small real package from PyPI: cowsay (pure Python, no dependencies, a console script).

import { describe, it, expect, beforeAll } from 'vitest';
import { existsSync, readdirSync, readFileSync, writeFileSync, rmSync, cpSync, mkdirSync, accessSync, lstatSync, constants } from 'node:fs';
import { join, delimiter, dirname, basename } from 'node:path';
import { execa } from 'execa';
import { execFileSync } from 'node:child_process';
import { host, tmp } from '../helpers.js';

// PATH without any uv on it: the host must find (or install) its own
const PATH_NO_UV = (process.env['PATH'] ?? '')
  .split(delimiter)
  .filter((d) => {
    try {
      accessSync(join(d, 'uv'), constants.X_OK);
      return false;
    } catch {
      return true;
    }
  })
  .join(delimiter);

const CACHE = tmp('ch-uv-cache-');
const env = { PATH: PATH_NO_UV, CONNECTOR_HOST_UV: '', CONNECTOR_HOST_NO_UV: '' };
/** The uv the first test installs into CACHE, lent to the other caches (CONNECTOR_HOST_UV) so each need not install its own. */
const UV = join(CACHE, 'tools', 'uv', 'bin', 'uv');
const withUv = { ...env, CONNECTOR_HOST_UV: UV };

const names = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort() : []);
const marker = (dir: string) => JSON.parse(readFileSync(join(dir, '.connector-host.json'), 'utf8'));

// the folder names' suffix: the interpreter's cache tag (cpython-311)
const tag = execFileSync('python3', ['-c', 'import sys; print(sys.implementation.cache_tag)'], { encoding: 'utf8' }).trim();
let v61 = '';

describe('uv, installed once into the cache', () => {
  beforeAll(() => expect(PATH_NO_UV).not.toBe(''));

  it('with no uv on PATH, the first install puts uv in <cache>/tools/uv, then installs with it; the progress is on stderr at the default level', async () => {
    const r = await host(['connectors', 'install', 'pypi:cowsay==6.1', '--cache-dir', CACHE], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/installing uv .*into .*tools\/uv with pip; this happens once/);
    expect(r.stderr).toMatch(/installed uv \d+\.\d+\.\d+ in [\d.]+ s/);
    expect(r.stderr).toMatch(/installing cowsay 6\.1 \(uv, Python 3\.\d+\.\d+\) \.\.\./);
    expect(r.stderr).toMatch(/installed cowsay 6\.1 in [\d.]+ s \(uv\)/);
    expect(existsSync(UV)).toBe(true);
    expect(marker(join(CACHE, 'tools', 'uv'))).toMatchObject({ kind: 'tool', name: 'uv' });
    const entry = names(join(CACHE, 'pypi', 'cowsay'));
    expect(entry).toHaveLength(1);
    expect(entry[0]).toMatch(/^6\.1-cpython-3\d+$/);
    expect(entry[0]).toBe(`6.1-${tag}`);
    v61 = join(CACHE, 'pypi', 'cowsay', entry[0]!);
    expect(marker(v61)).toMatchObject({ kind: 'pypi', installer: 'uv', scripts: 'relocatable', version: '6.1' });
    // seeded with pip, as a python -m venv one is (scripts/install-interop.mjs pins with <venv>/bin/python -m pip)
    expect((await execa(join(v61, 'bin', 'python'), ['-m', 'pip', '--version'], { reject: false })).exitCode).toBe(0);
    expect(r.stdout).toBe(`installed pypi:cowsay==6.1: ${join(v61, 'bin', 'python')} ${join(v61, 'bin', 'cowsay')}`); // (execa drops the last newline)

    // a second install of the same version: nothing installed, uv not installed again
    const again = await host(['connectors', 'install', 'pypi:cowsay==6.1', '--cache-dir', CACHE], { env });
    expect(again.exitCode).toBe(0);
    expect(again.stderr).not.toMatch(/installing/);
  }, 120_000);

  it("the venv's console script runs by itself, there and after the folder is copied elsewhere (uv --relocatable)", async () => {
    const direct = await execa(join(v61, 'bin', 'cowsay'), ['-t', 'straight from the cache'], { reject: false, env: { PATH: PATH_NO_UV } });
    expect(direct.exitCode, direct.stderr).toBe(0);
    expect(direct.stdout).toContain('straight from the cache');
    const moved = join(tmp('ch-uv-moved-'), 'venv');
    cpSync(v61, moved, { recursive: true, verbatimSymlinks: true });
    const there = await execa(join(moved, 'bin', 'cowsay'), ['-t', 'moved'], { reject: false });
    expect(there.exitCode, there.stderr).toBe(0);
    expect(there.stdout).toContain('moved');
  });

  it('without a version: the latest is looked up first when other versions are there, and only pointed at when it is one of them', async () => {
    const r = await host(['connectors', 'install', 'pypi:cowsay', '--cache-dir', CACHE], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    const pointer = JSON.parse(readFileSync(join(CACHE, 'pypi', 'cowsay', `latest-${tag}`), 'utf8'));
    if (pointer.version === '6.1') {
      // 6.1 is the latest cowsay (when this was written): nothing installed
      expect(r.stderr).toMatch(/the latest cowsay is 6\.1, installed already/);
      expect(r.stderr).not.toMatch(/installing/);
      expect(pointer.target).toBe(`6.1-${tag}`);
    } else {
      expect(r.stderr).toMatch(/installing the latest cowsay/);
    }
    expect(existsSync(join(CACHE, 'pypi', 'cowsay', pointer.target, 'bin', 'cowsay'))).toBe(true);
  }, 120_000);

  it('the latest first, then its pinned version: the same folder, nothing installed', async () => {
    const c = tmp('ch-uv-latest-first-');
    const r = await host(['connectors', 'exec', 'pypi:cowsay', '--cache-dir', c, '--', '-t', 'latest'], { env: withUv });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('latest');
    expect(r.stderr).toMatch(/installing the latest cowsay \(uv, Python [\d.]+\) \.\.\./);
    expect(r.stderr).toMatch(/installed cowsay (\d+\.\d+\S*) in [\d.]+ s \(uv\)/);
    const version = /installed cowsay (\S+) in/.exec(r.stderr)![1]!;
    expect(names(join(c, 'pypi', 'cowsay'))).toEqual([`${version}-${tag}`, `latest-${tag}`]);
    const pinned = await host(['connectors', 'which', `pypi:cowsay==${version}`, '--cache-dir', c], { env: withUv });
    expect(pinned.exitCode, pinned.stderr).toBe(0);
    expect(pinned.stderr).not.toMatch(/installing/);
    expect(pinned.stdout).toBe(join(c, 'pypi', 'cowsay', `${version}-${tag}`, 'bin', 'cowsay'));
    expect(names(join(c, 'pypi', 'cowsay'))).toEqual([`${version}-${tag}`, `latest-${tag}`]);
    // the pointer is not an entry of its own: one installed, marked latest
    const list = await host(['connectors', 'list', '--cache-dir', c], { env: withUv });
    expect(list.stdout).toMatch(new RegExp(`cache .*: 1 installed\\n  pypi:cowsay ${version.replace(/\./g, '\\.')} \\(latest\\)  `));
  }, 120_000);

  it('a refresh (host connectors install without a version) resolves the latest again', async () => {
    const c = tmp('ch-uv-refresh-');
    expect((await host(['connectors', 'install', 'pypi:cowsay==6.0', '--cache-dir', c], { env: withUv })).exitCode).toBe(0);
    // as if 6.0 had been the latest when it was first resolved
    writeFileSync(join(c, 'pypi', 'cowsay', `latest-${tag}`), JSON.stringify({ target: `6.0-${tag}`, version: '6.0', resolved_at: '2024-01-01T00:00:00Z' }));
    const before = await host(['connectors', 'which', 'pypi:cowsay', '--cache-dir', c], { env: withUv });
    expect(before.stdout).toContain(`/6.0-${tag}/bin/cowsay`); // reused as it is
    const r = await host(['connectors', 'install', 'pypi:cowsay', '--cache-dir', c], { env: withUv });
    expect(r.exitCode, r.stderr).toBe(0);
    const pointer = JSON.parse(readFileSync(join(c, 'pypi', 'cowsay', `latest-${tag}`), 'utf8'));
    expect(pointer.version).not.toBe('6.0');
    expect(existsSync(join(c, 'pypi', 'cowsay', `6.0-${tag}`))).toBe(true); // the old one stays, pinned
    const after = await host(['connectors', 'which', 'pypi:cowsay', '--cache-dir', c], { env: withUv });
    expect(after.stdout).toContain(`/${pointer.version}-${tag}/bin/cowsay`);
  }, 120_000);

  it('a stale pointer (its folder removed) reinstalls, without a crash; remove drops the pointers of what it removes', async () => {
    const c = tmp('ch-uv-stale-');
    expect((await host(['connectors', 'install', 'pypi:cowsay', '--cache-dir', c], { env: withUv })).exitCode).toBe(0);
    const pointerFile = join(c, 'pypi', 'cowsay', `latest-${tag}`);
    const { target, version } = JSON.parse(readFileSync(pointerFile, 'utf8'));
    rmSync(join(c, 'pypi', 'cowsay', target), { recursive: true });
    const list = await host(['connectors', 'list', '--cache-dir', c], { env: withUv });
    expect(list.exitCode).toBe(0);
    expect(list.stdout).toMatch(/0 installed\n  pypi:cowsay latest -> \S+, which is gone/);
    const r = await host(['connectors', 'exec', 'pypi:cowsay', '--cache-dir', c, '--', '-t', 'back'], { env: withUv });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('back');
    expect(r.stderr).toMatch(/no longer in the cache; installing the latest again/);
    expect(existsSync(join(c, 'pypi', 'cowsay', target))).toBe(true);

    const rm = await host(['connectors', 'remove', `pypi:cowsay==${version}`, '--cache-dir', c], { env: withUv });
    expect(rm.exitCode).toBe(0);
    expect(rm.stdout).toContain(`removed the pointer ${pointerFile}`);
    expect(existsSync(join(c, 'pypi', 'cowsay'))).toBe(false); // nothing left: the name's folder goes too
  }, 120_000);

  it('two installs of the latest at once: one installs, the other waits and uses it', async () => {
    const c = tmp('ch-uv-concurrent-');
    const [a, b] = await Promise.all([0, 1].map(() => host(['connectors', 'which', 'pypi:cowsay', '--cache-dir', c], { env: withUv })));
    expect(a!.exitCode, a!.stderr).toBe(0);
    expect(b!.exitCode, b!.stderr).toBe(0);
    const both = a!.stderr + b!.stderr;
    expect(both.match(/installing the latest cowsay \(/g)).toHaveLength(1);
    expect(both).toMatch(/waiting for another run installing pypi:cowsay/);
    expect(a!.stdout).toBe(b!.stdout);
    const left = names(join(c, 'pypi', 'cowsay'));
    expect(left).toHaveLength(2); // <version>-<tag> and the pointer: no temp folder, no lock
    expect(left.filter((n) => n.startsWith('latest-'))).toEqual([`latest-${tag}`]);
  }, 120_000);
});

let pipVenv = '';

describe('pip, the fallback', () => {
  it('CONNECTOR_HOST_NO_UV: python -m venv + pip; the temp path is rewritten in bin/ (shebangs, activate) and pyvenv.cfg; progress lines while it runs', async () => {
    const c = tmp('ch-pip-');
    const r = await host(['connectors', 'install', 'pypi:cowsay==6.1', '--cache-dir', c], { env: { ...env, CONNECTOR_HOST_NO_UV: '1', CONNECTOR_HOST_PROGRESS_INTERVAL: '500' } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/installing cowsay 6\.1 \(pip, Python [\d.]+\) \.\.\./);
    expect(r.stderr).toMatch(/installing cowsay 6\.1 \.\.\. \d+ s \((creating the virtualenv|pip install cowsay==6\.1|.+)\)/);
    expect(r.stderr).toMatch(/installed cowsay 6\.1 in [\d.]+ s \(pip\)/);
    expect(r.stderr).not.toMatch(/\(uv\)|uv, Python|installing uv/);
    expect(existsSync(join(c, 'tools'))).toBe(false);
    const dir = join(c, 'pypi', 'cowsay', `6.1-${tag}`);
    pipVenv = dir;
    expect(marker(dir)).toMatchObject({ installer: 'pip', scripts: 'fixed' });
    expect(readFileSync(join(dir, 'bin', 'activate'), 'utf8')).toContain(`(6.1-${tag}) `); // the prompt too
    expect(readFileSync(join(dir, 'bin', 'cowsay'), 'utf8').split('\n')[0]).toBe(`#!${dir}/bin/python`);
    expect(readFileSync(join(dir, 'bin', 'activate'), 'utf8')).toContain(`VIRTUAL_ENV="${dir}"`);
    expect(readFileSync(join(dir, 'bin', 'activate.fish'), 'utf8')).toContain(`"${dir}"`);
    for (const f of readdirSync(join(dir, 'bin'))) {
      if (f === 'python' || f.startsWith('python3')) continue;
      expect(readFileSync(join(dir, 'bin', f), 'utf8'), f).not.toMatch(/\.tmp-\d+-/);
    }
    expect(readFileSync(join(dir, 'pyvenv.cfg'), 'utf8')).not.toMatch(/\.tmp-\d+-/);
    const direct = await execa(join(dir, 'bin', 'cowsay'), ['-t', 'pip venv'], { reject: false });
    expect(direct.exitCode, direct.stderr).toBe(0);
    expect(direct.stdout).toContain('pip venv');
    const pip = await execa(join(dir, 'bin', 'pip'), ['--version'], { reject: false });
    expect(pip.exitCode, pip.stderr).toBe(0);
    expect(pip.stdout).toContain(dir);
  }, 120_000);

  it('when uv cannot be installed, pip installs the connector (a warning says why)', async () => {
    // offline: pip finds cowsay in a local folder, and no uv anywhere
    const wheels = tmp('ch-wheels-');
    const dl = await execa('python3', ['-m', 'pip', 'download', '--no-deps', '--disable-pip-version-check', '-d', wheels, 'cowsay==6.1'], { reject: false });
    expect(dl.exitCode, dl.stderr).toBe(0);
    const c = tmp('ch-nouv-');
    const r = await host(['connectors', 'exec', 'pypi:cowsay==6.1', '--cache-dir', c, '--', '-t', 'offline'], {
      env: { ...env, PIP_NO_INDEX: '1', PIP_FIND_LINKS: wheels },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('offline');
    expect(r.stderr).toMatch(/cannot install uv \(.*\); installing with pip instead/);
    expect(r.stderr).toMatch(/installed cowsay 6\.1 in [\d.]+ s \(pip\)/);
    expect(existsSync(join(c, 'tools', 'uv'))).toBe(false); // nothing half-made
  }, 120_000);
});

/**
 * What an older host left: a pip venv at `at` whose bin/ and pyvenv.cfg name the temp folder it
 * was built in (`<at>.tmp-<pid>-<hex>`), and a marker without `scripts`. Made from the pip test's
 * venv (a copy, its paths rewritten), so no install is needed.
 */
function leftByOlderHost(at: string): string {
  const oldTmp = `${at}.tmp-3491-0badcafe`;
  cpSync(pipVenv, at, { recursive: true, verbatimSymlinks: true });
  for (const f of [...readdirSync(join(at, 'bin')).map((n) => join('bin', n)), 'pyvenv.cfg']) {
    const p = join(at, f);
    if (lstatSync(p).isSymbolicLink()) continue;
    const text = readFileSync(p, 'utf8');
    // the full path, then the folder's name alone (the activate prompt)
    writeFileSync(p, text.split(pipVenv).join('\u0000').split(basename(pipVenv)).join(basename(oldTmp)).split('\u0000').join(oldTmp));
  }
  const m = marker(at);
  delete m.scripts;
  writeFileSync(join(at, '.connector-host.json'), JSON.stringify(m));
  return oldTmp;
}

describe('entries made by an older host', () => {
  beforeAll(() => expect(pipVenv).not.toBe(''));

  it('a latest-<tag> folder whose scripts name its temp folder: moved to <version>-<tag>, its paths fixed, the pointer in its place', async () => {
    const c = tmp('ch-old-');
    const nameDir = join(c, 'pypi', 'cowsay');
    mkdirSync(nameDir, { recursive: true });
    const v = join(nameDir, `6.1-${tag}`);
    const old = join(nameDir, `latest-${tag}`);
    leftByOlderHost(old);
    expect((await execa(join(old, 'bin', 'cowsay'), ['-t', 'x'], { reject: false })).exitCode).not.toBe(0); // "required file not found"

    const r = await host(['connectors', 'which', 'pypi:cowsay', '--cache-dir', c], { env: withUv });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/installed by an older host as latest-cpython-3\d+, is now 6\.1-cpython-3\d+/);
    expect(r.stderr).not.toMatch(/installing/);
    expect(r.stdout).toBe(join(v, 'bin', 'cowsay'));
    expect(JSON.parse(readFileSync(old, 'utf8'))).toMatchObject({ target: `6.1-${tag}` });
    const run = await execa(join(v, 'bin', 'cowsay'), ['-t', 'repaired'], { reject: false });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(readFileSync(join(v, 'bin', 'activate'), 'utf8')).toContain(`VIRTUAL_ENV="${v}"`);
    expect(readFileSync(join(v, 'bin', 'activate'), 'utf8')).toContain(`(6.1-${tag}) `);
    expect(readFileSync(join(v, 'pyvenv.cfg'), 'utf8')).not.toMatch(/\.tmp-\d+-/);
  }, 60_000);

  it('a pinned entry whose scripts name its temp folder is repaired when next used', async () => {
    const c = tmp('ch-old-pin-');
    const v = join(c, 'pypi', 'cowsay', `6.1-${tag}`);
    mkdirSync(dirname(v), { recursive: true });
    leftByOlderHost(v);
    const r = await host(['connectors', 'exec', 'pypi:cowsay==6.1', '--cache-dir', c, '--', '-t', 'fixed in place'], { env: withUv });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/installing/);
    expect(r.stdout).toContain('fixed in place');
    expect(readFileSync(join(v, 'bin', 'cowsay'), 'utf8').split('\n')[0]).toBe(`#!${v}/bin/python`);
    expect(marker(v).scripts).toBe('fixed');
  }, 60_000);

  it('a final path too long for a shebang (the kernel reads 127 bytes) gets the /bin/sh form', async () => {
    const deep = join(tmp('ch-deep-'), 'a'.repeat(60), 'b'.repeat(60));
    const v = join(deep, 'pypi', 'cowsay', `6.1-${tag}`);
    mkdirSync(dirname(v), { recursive: true });
    leftByOlderHost(v);
    const r = await host(['connectors', 'which', 'pypi:cowsay==6.1', '--cache-dir', deep], { env: withUv });
    expect(r.exitCode, r.stderr).toBe(0);
    const script = join(v, 'bin', 'cowsay');
    expect(r.stdout).toBe(script);
    expect(readFileSync(script, 'utf8').split('\n').slice(0, 3)).toEqual(['#!/bin/sh', `'''exec' '${v}/bin/python' "$0" "$@"`, "' '''"]);
    const run = await execa(script, ['-t', 'long'], { reject: false });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain('long');
  }, 60_000);
});
