// pypi: references and the cache, with a small real package (cowsay: pure Python, no
// dependencies, a console script, installs in seconds).

import { describe, it, expect, beforeAll } from 'vitest';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { execFileSync } from 'node:child_process';
import { tmp } from '../helpers.js';
import { resolveConnector } from '../../dist/connector/resolve.js';
import { registerBuiltinReferenceKinds } from '../../dist/connector/register-builtins.js';
import { installPypi, parsePypiSpec, chooseScript, resolvePypi } from '../../dist/connector/pypi.js';
import { cacheRoot, ensureEntry, MARKER, readMarker } from '../../dist/connector/cache.js';
import { ConfigError } from '../../dist/errors.js';

const CACHE = tmp('ch-pypi-cache-');
const opts = { cacheDir: CACHE };

beforeAll(() => registerBuiltinReferenceKinds());

/** Everything under the cache's pypi/<name> folder. */
const entries = (name: string) => (existsSync(join(CACHE, 'pypi', name)) ? readdirSync(join(CACHE, 'pypi', name)).sort() : []);

describe('the cache folder', () => {
  it('is cacheDir, else $CONNECTOR_HOST_CACHE, else $XDG_CACHE_HOME/connector-host, else ~/.cache/connector-host', () => {
    expect(cacheRoot({ cacheDir: '/x/y' }, {})).toBe('/x/y');
    expect(cacheRoot({}, { CONNECTOR_HOST_CACHE: '/c' })).toBe('/c');
    expect(cacheRoot({}, { XDG_CACHE_HOME: '/xdg' })).toBe('/xdg/connector-host');
    expect(cacheRoot({}, { HOME: '/h' })).toMatch(/\.cache\/connector-host$/);
  });
});

describe('pypi: references are validated before pip sees them', () => {
  it.each([
    ['-x', /not a valid Python package name/],
    ['--index-url=http://evil', /not a valid Python package name|only NAME|expected pypi:NAME/],
    ['cowsay==--pre', /not a valid version/],
    ['cowsay>=6', /only NAME or NAME==VERSION/],
    ['cowsay[extra]', /only NAME or NAME==VERSION/],
    ['git+https://x/y', /only NAME|not a valid/],
    ['a b', /expected pypi:NAME|not a valid/],
    ['', /expected pypi:NAME/],
  ])('%s is refused', async (rest, re) => {
    await expect(resolveConnector(`pypi:${rest}`, opts)).rejects.toThrow(re);
    await expect(resolveConnector(`pypi:${rest}`, opts)).rejects.toBeInstanceOf(ConfigError);
  });

  it('accepts names and versions', () => {
    expect(parsePypiSpec('airbyte-source-faker==7.2.1')).toEqual({ name: 'airbyte-source-faker', normalized: 'airbyte-source-faker', version: '7.2.1' });
    expect(parsePypiSpec('Foo_Bar.baz')).toEqual({ name: 'Foo_Bar.baz', normalized: 'foo-bar-baz', version: undefined });
    expect(parsePypiSpec('x==1.0rc1+local.2').version).toBe('1.0rc1+local.2');
  });

  it('picks the console script: own name, then source-/destination-/tap-/target-*, then the only one', () => {
    expect(chooseScript('airbyte-source-faker', ['source-faker', 'faker-tool'], 'r')).toBe('source-faker');
    expect(chooseScript('tap-x', ['tap-x', 'x-helper'], 'r')).toBe('tap-x');
    expect(chooseScript('foo', ['helper', 'target-foo'], 'r')).toBe('target-foo');
    expect(chooseScript('foo', ['only'], 'r')).toBe('only');
    expect(() => chooseScript('foo', ['a', 'b'], 'pypi:foo')).toThrow(/several console scripts.*a, b/);
    expect(() => chooseScript('foo', ['source-a', 'source-b', 'c'], 'pypi:foo')).toThrow(/source-a, source-b/);
    expect(() => chooseScript('foo', [], 'pypi:foo')).toThrow(/no console script/);
  });
});

describe('pypi:cowsay', () => {
  it('installs into its own venv once, writes the marker, and runs the console script', async () => {
    const t0 = Date.now();
    const ref = await resolveConnector('pypi:cowsay==6.1', opts);
    const installMs = Date.now() - t0;
    const dir = join(CACHE, 'pypi', 'cowsay', readdirSync(join(CACHE, 'pypi', 'cowsay'))[0]!);
    expect(dir).toMatch(/6\.1-cpython-3\d+$/);
    expect(ref.command).toBe(join(dir, 'bin', 'python'));
    expect(ref.args).toEqual([join(dir, 'bin', 'cowsay')]);
    expect(ref.name).toBe('cowsay');
    expect(ref.env?.['VIRTUAL_ENV']).toBe(dir);
    const marker = JSON.parse(readFileSync(join(dir, MARKER), 'utf8'));
    expect(marker).toMatchObject({ kind: 'pypi', name: 'cowsay', requested: '6.1', version: '6.1', console_scripts: { cowsay: expect.stringContaining('cowsay') } });
    expect(marker.python).toMatch(/^3\.\d+\.\d+/);
    expect(Date.parse(marker.installed_at)).toBeGreaterThan(0);
    const out = await execa(ref.command, [...ref.args, '-t', 'moo from the cache'], { env: ref.env, reject: false });
    expect(out.exitCode).toBe(0);
    expect(out.stdout).toContain('moo from the cache');
    // nothing else is left beside the entry: no temp folder, no lock
    expect(entries('cowsay')).toEqual([dir.split('/').pop()]);
    console.log(`pypi:cowsay==6.1 installed in ${installMs} ms`);
  }, 180_000);

  it('a second resolve installs nothing (marker untouched, no pip run, fast)', async () => {
    const spec = parsePypiSpec('cowsay==6.1');
    const first = await installPypi(spec, opts);
    const markerFile = join(first.dir, MARKER);
    const before = statSync(markerFile).mtimeMs;
    const t0 = Date.now();
    const again = await installPypi(spec, opts);
    const ms = Date.now() - t0;
    expect(again.installed).toBe(false);
    expect(again.dir).toBe(first.dir);
    expect(statSync(markerFile).mtimeMs).toBe(before);
    expect(ms).toBeLessThan(1000); // a pip run alone takes longer
    const t1 = Date.now();
    await resolveConnector('pypi:cowsay==6.1', opts);
    expect(Date.now() - t1).toBeLessThan(1000);
  }, 180_000);

  it('another version gets another venv', async () => {
    const a = await installPypi(parsePypiSpec('cowsay==6.0'), opts);
    const b = await installPypi(parsePypiSpec('cowsay==6.1'), opts);
    expect(a.dir).not.toBe(b.dir);
    expect(a.marker.version).toBe('6.0');
    expect(b.marker.version).toBe('6.1');
    expect(entries('cowsay').filter((n) => !n.includes('.'))).toEqual([]); // every entry folder name has a version
    expect(entries('cowsay').length).toBe(2);
  }, 180_000);

  it('without a version installs the latest once, into the folder of its version (a pointer names it), and reuses it', async () => {
    const r1 = await installPypi(parsePypiSpec('cowsay'), opts);
    expect(r1.dir).toMatch(/\/\d+\.\d+[^/]*-cpython-3\d+$/);
    expect(r1.marker.version).toMatch(/^\d+\.\d+/);
    // 6.1 (the latest when this was written) is in the cache already (pinned, above): only pointed at
    if (r1.marker.version === '6.1') expect(r1.installed).toBe(false);
    expect(r1.dir.endsWith(`/${r1.marker.version}-${r1.marker.python_tag}`)).toBe(true);
    const pointer = JSON.parse(readFileSync(join(CACHE, 'pypi', 'cowsay', `latest-${r1.marker.python_tag}`), 'utf8'));
    expect(pointer).toMatchObject({ target: `${r1.marker.version}-${r1.marker.python_tag}`, version: r1.marker.version });
    const r2 = await installPypi(parsePypiSpec('cowsay'), opts);
    expect(r2.installed).toBe(false);
    expect(r2.dir).toBe(r1.dir);
    expect(r2.marker.installed_at).toBe(r1.marker.installed_at);
    // the pinned version of the latest is the same folder
    const r3 = await installPypi(parsePypiSpec(`cowsay==${r1.marker.version}`), opts);
    expect(r3.installed).toBe(false);
    expect(r3.dir).toBe(r1.dir);
  }, 180_000);

  it('two runs installing the same entry at once: one installs, the other waits and reuses it', async () => {
    const spec = parsePypiSpec('cowsay==5.0');
    const [a, b] = await Promise.all([installPypi(spec, opts), installPypi(spec, opts)]);
    expect([a.installed, b.installed].sort()).toEqual([false, true]);
    expect(a.dir).toBe(b.dir);
    expect(readMarker(a.dir)?.version).toBe('5.0');
  }, 180_000);

  it('--python chooses the interpreter (the same one gives the same venv); a missing one is a clear error', async () => {
    const r = await installPypi(parsePypiSpec('cowsay==6.1'), { ...opts, python: 'python3' });
    expect(r.installed).toBe(false);
    await expect(resolveConnector('pypi:cowsay==6.1', { ...opts, python: '/no/such/python3' })).rejects.toThrow(/cannot run the Python interpreter "\/no\/such\/python3".*--python/);
  }, 60_000);
});

// Another Python beside the default one (the polyglot machines have several); skipped where there is none.
const runs = (p: string) => {
  try {
    execFileSync(p, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const otherPython = ['python3.12', 'python3.10'].find(runs);

describe('a Python per connector', () => {
  it.skipIf(!otherPython)('another interpreter gets its own venv, and the connector runs on it', async () => {
    const cache = tmp('ch-pycache-');
    const a = await installPypi(parsePypiSpec('cowsay==6.1'), { cacheDir: cache, python: 'python3' });
    const b = await installPypi(parsePypiSpec('cowsay==6.1'), { cacheDir: cache, python: otherPython! });
    expect(b.dir).not.toBe(a.dir);
    expect(b.marker.python.split('.').slice(0, 2).join('.')).not.toBe(a.marker.python.split('.').slice(0, 2).join('.'));
    const ref = await resolveConnector('pypi:cowsay==6.1', { cacheDir: cache, python: otherPython! });
    const out = await execa(ref.command, ['-c', 'import sys; print(sys.version_info[:2])'], { env: ref.env });
    expect(String(out.stdout)).toBe(`(${b.marker.python.split('.').slice(0, 2).join(', ')})`);
  }, 180_000);
});

describe('failed installs', () => {
  it('an unknown package: a clear ConfigError with pip\'s reason, nothing left in the cache', async () => {
    const err = await resolveConnector('pypi:airbyte-source-nope-not-a-package', opts).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.exitCode).toBe(2);
    // uv (installed into the cache when not on PATH), or pip as the fallback
    expect(err.message).toMatch(/^pypi:airbyte-source-nope-not-a-package: (pip could not install it: ERROR: .*(No matching distribution found|Could not find a version)|uv could not install it: .*was not found in the package registry)/s);
    expect(err.data.stderrTail.length).toBeGreaterThan(0);
    expect(existsSync(join(CACHE, 'pypi', 'airbyte-source-nope-not-a-package'))).toBe(false);
  }, 180_000);

  it('a version that does not exist: the same, and the other versions stay as they were', async () => {
    await installPypi(parsePypiSpec('cowsay==6.1'), opts);
    const before = entries('cowsay');
    const err = await resolveConnector('pypi:cowsay==99.1', opts).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/pypi:cowsay==99\.1: (pip could not install it: .*No matching distribution found for cowsay==99\.1|uv could not install it: .*there is no version of cowsay==99\.1)/s);
    expect(entries('cowsay')).toEqual(before); // no 99.1 folder, no temp folder, no lock
  }, 180_000);

  it('ensureEntry: a failing install leaves nothing; a stale lock of a dead process is taken over', async () => {
    const root = tmp('ch-cache-unit-');
    const entry = join(root, 'kind', 'thing', '1.0');
    await expect(
      ensureEntry(entry, {
        install: async (t) => {
          mkdirSync(t, { recursive: true });
          writeFileSync(join(t, 'half-made'), 'x');
          throw new Error('boom');
        },
      }),
    ).rejects.toThrow('boom');
    expect(readdirSync(root)).toEqual(existsSync(join(root, 'kind')) ? ['kind'] : []);
    expect(existsSync(join(root, 'kind', 'thing'))).toBe(false);

    // a lock left by a process that is gone, and a temp folder of its half-made install
    mkdirSync(join(root, 'kind', 'thing'), { recursive: true });
    writeFileSync(`${entry}.lock`, JSON.stringify({ pid: 2 ** 22 + 12345, host: (await import('node:os')).hostname(), started_at: new Date().toISOString() }));
    mkdirSync(`${entry}.tmp-999999-dead`);
    const r = await ensureEntry(entry, {
      install: async (t) => {
        mkdirSync(t, { recursive: true });
        writeFileSync(join(t, 'done'), 'x');
        return { kind: 'k', name: 'thing', requested: '1.0', version: '1.0', installed_at: new Date().toISOString() };
      },
    });
    expect(r.installed).toBe(true);
    expect(readdirSync(join(root, 'kind', 'thing')).sort()).toEqual(['1.0']);
    expect(readdirSync(entry).sort()).toEqual([MARKER, 'done'].sort());
    // an entry without its marker (an install killed after the rename cannot happen; a folder made by hand can) is redone
    const again = await ensureEntry(entry, { install: async () => ({}) as never });
    expect(again.installed).toBe(false);
  });

  it('resolvePypi is what the pypi: kind runs', async () => {
    const ref = await resolvePypi('cowsay==6.1', 'pypi:cowsay==6.1', opts);
    expect(ref.display).toBe('pypi:cowsay==6.1');
  }, 60_000);
});
