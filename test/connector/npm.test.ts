// npm: references, with a small real package that has a bin and no dependencies (semver).

import { describe, it, expect, beforeAll } from 'vitest';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { tmp } from '../helpers.js';
import { resolveConnector } from '../../dist/connector/resolve.js';
import { registerBuiltinReferenceKinds } from '../../dist/connector/register-builtins.js';
import { installNpm, parseNpmSpec, chooseBin } from '../../dist/connector/npm.js';
import { MARKER, readMarker } from '../../dist/connector/cache.js';
import { ConfigError } from '../../dist/errors.js';

const CACHE = tmp('ch-npm-cache-');
const opts = { cacheDir: CACHE };
const entries = (name: string) => (existsSync(join(CACHE, 'npm', name)) ? readdirSync(join(CACHE, 'npm', name)).sort() : []);

beforeAll(() => registerBuiltinReferenceKinds());

describe('npm: references are validated', () => {
  it.each([
    ['-x', /not a valid npm package name/],
    ['semver@^7.0.0', /not a version or dist-tag/],
    ['semver@--registry=http://evil', /not a version or dist-tag/],
    ['Semver', /not a valid npm package name/],
    ['../x', /not a valid npm package name/],
    ['', /not a valid npm package name/],
  ])('%s is refused', async (rest, re) => {
    const e = await resolveConnector(`npm:${rest}`, opts).catch((x) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toMatch(re);
  });

  it('parses scoped names and versions', () => {
    expect(parseNpmSpec('@acme/source-x@1.2.3')).toEqual({ name: '@acme/source-x', version: '1.2.3' });
    expect(parseNpmSpec('@acme/source-x')).toEqual({ name: '@acme/source-x', version: undefined });
    expect(parseNpmSpec('semver@latest')).toEqual({ name: 'semver', version: 'latest' });
  });

  it('picks the bin', () => {
    expect(chooseBin('@acme/source-x', ['source-x', 'other'], 'r')).toBe('source-x');
    expect(chooseBin('pkg', ['helper', 'source-pkg'], 'r')).toBe('source-pkg');
    expect(chooseBin('pkg', ['only'], 'r')).toBe('only');
    expect(() => chooseBin('pkg', ['a', 'b'], 'npm:pkg')).toThrow(/several bins.*a, b/);
    expect(() => chooseBin('pkg', [], 'npm:pkg')).toThrow(/no "bin"/);
  });
});

describe('npm:semver', () => {
  it('installs once into the cache and runs its bin', async () => {
    const ref = await resolveConnector('npm:semver@7.6.0', opts);
    const dir = join(CACHE, 'npm', 'semver', '7.6.0');
    expect(ref.command).toBe(process.execPath);
    expect(ref.args).toEqual([join(dir, 'node_modules', 'semver', 'bin', 'semver.js')]);
    expect(ref.name).toBe('semver');
    expect(readMarker(dir)).toMatchObject({ kind: 'npm', name: 'semver', requested: '7.6.0', version: '7.6.0', bins: { semver: 'bin/semver.js' } });
    const out = await execa(ref.command, [...ref.args, '1.2.3', '-i', 'minor'], { env: ref.env });
    expect(out.stdout.trim()).toBe('1.3.0');
    expect(entries('semver')).toEqual(['7.6.0']);
  }, 120_000);

  it('a second resolve installs nothing', async () => {
    const spec = parseNpmSpec('semver@7.6.0');
    const a = await installNpm(spec, opts);
    const m = statSync(join(a.dir, MARKER)).mtimeMs;
    const t0 = Date.now();
    const b = await installNpm(spec, opts);
    expect(Date.now() - t0).toBeLessThan(500);
    expect(b.installed).toBe(false);
    expect(statSync(join(b.dir, MARKER)).mtimeMs).toBe(m);
  }, 120_000);

  it('another version gets another folder; no version: the latest, once', async () => {
    const a = await installNpm(parseNpmSpec('semver@7.5.4'), opts);
    const b = await installNpm(parseNpmSpec('semver@7.6.0'), opts);
    expect(a.dir).not.toBe(b.dir);
    expect(a.marker.version).toBe('7.5.4');
    const l1 = await installNpm(parseNpmSpec('semver'), opts);
    expect(l1.dir).toMatch(/\/npm\/semver\/latest$/);
    expect(l1.marker.version).toMatch(/^\d+\.\d+\.\d+/);
    const l2 = await installNpm(parseNpmSpec('semver'), opts);
    expect(l2.installed).toBe(false);
    expect(entries('semver')).toEqual(['7.5.4', '7.6.0', 'latest']);
  }, 120_000);

  it('an unknown package or version: a clear error, nothing left behind', async () => {
    const e1 = await resolveConnector('npm:connector-host-no-such-package-xyz', opts).catch((x) => x);
    expect(e1).toBeInstanceOf(ConfigError);
    expect(e1.message).toMatch(/^npm:connector-host-no-such-package-xyz: npm could not install it: .*(404|E404)/s);
    expect(existsSync(join(CACHE, 'npm', 'connector-host-no-such-package-xyz'))).toBe(false);
    const before = entries('semver');
    const e2 = await resolveConnector('npm:semver@99.0.0', opts).catch((x) => x);
    expect(e2.message).toMatch(/npm:semver@99\.0\.0: npm could not install it: .*(ETARGET|No matching version)/s);
    expect(entries('semver')).toEqual(before);
  }, 120_000);
});
