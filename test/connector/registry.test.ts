// Named connectors from a registry file: reference, default config, fields from the environment.

import { describe, it, expect } from 'vitest';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { host, tmp, EXAMPLE, FIX, lines, writeJson } from '../helpers.js';

function registry(dir: string): string {
  const file = join(dir, 'registry.yaml');
  writeFileSync(
    file,
    [
      'connectors:',
      '  example:',
      `    ref: ${EXAMPLE.node}`,
      '    description: the bundled example source',
      '    config:',
      '      event_count: 2',
      '      big: 12345678901234567890',
      '    env:',
      '      api_key: EXAMPLE_API_KEY',
      '  rotating:',
      `    ref: [${JSON.stringify(process.execPath)}, ${JSON.stringify(join(FIX, 'misbehaving', 'control.mjs'))}]`,
      '    env:',
      '      refresh_token: ROTATING_TOKEN',
      '  tap-good:',
      `    ref: [${JSON.stringify(process.execPath)}, ${JSON.stringify(join(FIX, 'singer', 'tap-good.mjs'))}]`,
      '    protocol: singer',
      '',
    ].join('\n'),
  );
  return file;
}

describe('registry', () => {
  it('a named connector runs with its default config and the fields it takes from the environment', async () => {
    const dir = tmp();
    const reg = registry(dir);
    const r = await host(['read', 'example', '--registry', reg, '--out', join(dir, 'out'), '--streams', 'events'], { env: { EXAMPLE_API_KEY: 'k-from-env' } });
    expect(r.exitCode).toBe(0);
    expect(lines(join(dir, 'out', 'events.jsonl'))).toHaveLength(2);
    // the user's own config wins over the registry's defaults
    const cfg = writeJson(dir, 'c.json', { event_count: 4 });
    const r2 = await host(['read', 'example', '--registry', reg, '--config', cfg, '--streams', 'events'], { env: { EXAMPLE_API_KEY: 'k' } });
    expect(r2.stdout.split('\n').filter((l) => l.includes('"RECORD"'))).toHaveLength(4);
  });

  it('a missing environment variable is a clear error naming it', async () => {
    const dir = tmp();
    const r = await host(['spec', 'example', '--registry', registry(dir)]);
    expect(r.exitCode).toBe(0); // spec needs no config
    const c = await host(['check', 'example', '--registry', registry(dir)], { env: { EXAMPLE_API_KEY: '' } });
    expect(c.exitCode).toBe(0);
    const missing = await host(['check', 'example', '--registry', registry(dir)]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('takes config field api_key from the environment variable EXAMPLE_API_KEY, which is not set');
  });

  it('an unknown name lists the registry; a Singer entry runs through the Singer-tap shim', async () => {
    const dir = tmp();
    const reg = registry(dir);
    const r = await host(['spec', 'nope', '--registry', reg]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('is neither a file nor a connector in the registry');
    expect(r.stderr).toContain('example, rotating, tap-good');
    const singer = await host(['discover', 'tap-good', '--registry', reg, '--config', writeJson(dir, 'tc.json', { api_key: 'k' })]);
    expect(singer.exitCode).toBe(0);
    expect(JSON.parse(singer.stdout).catalog.streams.map((x: any) => x.name).sort()).toEqual(['events', 'users']);
  });

  it('CONTROL never writes a field the registry takes from the environment', async () => {
    const dir = tmp();
    const reg = registry(dir);
    const cfg = join(dir, 'c.json');
    writeFileSync(cfg, '{"client_id": "abc"}\n');
    const r = await host(['read', 'rotating', '--registry', reg, '--config', cfg, '--out', join(dir, 'out')], { env: { ROTATING_TOKEN: 'tok-Secret-123' } });
    expect(r.exitCode).toBe(0);
    const after = readFileSync(cfg, 'utf8');
    expect(after).not.toContain('tok-Secret-123');
    expect(after).not.toContain('rotated-');
    expect(JSON.parse(after)).toEqual({ client_id: 'abc', expires_at: '2030-01-01T00:00:00Z' });
    expect(r.stderr).toContain('refresh_token (from $ROTATING_TOKEN, set in the registry)');
    expect(r.stderr).not.toContain('tok-Secret-123');
  });
});

describe('host connectors', () => {
  it('install, list, info and remove a pypi: connector named in the registry (cache reused)', async () => {
    const dir = tmp();
    const cache = join(dir, 'cache');
    const reg = join(dir, 'reg.json');
    writeFileSync(reg, JSON.stringify({ connectors: { moo: { ref: 'pypi:cowsay', version: '6.1', description: 'a tiny package with a console script' } } }));
    const common = ['--registry', reg, '--cache-dir', cache];
    const install = await host(['connectors', 'install', 'moo', ...common], { timeout: 180_000 });
    expect(install.exitCode).toBe(0);
    expect(install.stdout).toMatch(/installed pypi:cowsay==6\.1: .*python.* .*cowsay/);
    const list = await host(['connectors', 'list', ...common]);
    expect(list.stdout).toContain('moo');
    expect(list.stdout).toMatch(/cache .*: 1 installed/);
    expect(list.stdout).toMatch(/pypi:cowsay 6\.1/);
    const info = JSON.parse((await host(['connectors', 'info', 'moo', ...common])).stdout);
    expect(info.reference).toBe('pypi:cowsay==6.1');
    expect(info.registry).toMatchObject({ name: 'moo', protocol: 'native', version: '6.1' });
    expect(info.installed).toHaveLength(1);
    const t0 = Date.now();
    const again = await host(['connectors', 'install', 'moo', ...common]);
    expect(again.exitCode).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000); // reused: no pip run
    const rm = await host(['connectors', 'remove', 'moo', ...common]);
    expect(rm.stdout).toContain('removed');
    expect((await host(['connectors', 'list', ...common])).stdout).toMatch(/: 0 installed/);
  }, 240_000);
});
