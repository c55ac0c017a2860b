// spec, check, discover, help, version, usage errors.

import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { chmodSync, writeFileSync } from 'node:fs';
import { host, tmp, EXAMPLE, writeJson } from '../helpers.js';

describe('spec / check / discover', () => {
  it('spec prints the SPEC message as one JSON line (path form and -- form agree)', async () => {
    const a = await host(['spec', EXAMPLE.sh]);
    const b = await host(['spec', '--', 'python3', EXAMPLE.python]);
    expect(a.exitCode).toBe(0);
    expect(a.stdout.trim().split('\n')).toHaveLength(1);
    const msg = JSON.parse(a.stdout);
    expect(msg.type).toBe('SPEC');
    expect(msg.spec.connectionSpecification.properties.api_key.airbyte_secret).toBe(true);
    expect(b.stdout).toBe(a.stdout);
  });

  it('check: SUCCEEDED exits 0; FAILED prints the status line and exits 4', async () => {
    const dir = tmp();
    const good = await host(['check', EXAMPLE.node, '--config', writeJson(dir, 'good.json', { api_key: 'k' })]);
    expect(good.exitCode).toBe(0);
    expect(JSON.parse(good.stdout)).toEqual({ type: 'CONNECTION_STATUS', connectionStatus: { status: 'SUCCEEDED' } });
    const failed = await host(['check', EXAMPLE.node, '--config', writeJson(dir, 'bad.json', { api_key: 'bad' })]);
    expect(failed.exitCode).toBe(4);
    expect(JSON.parse(failed.stdout).connectionStatus.status).toBe('FAILED');
    expect(failed.stderr).toContain('check failed: The API key was rejected');
  });

  it('check validates the config against the spec first: every error with its pointer', async () => {
    const dir = tmp();
    const r = await host(['check', EXAMPLE.node, '--config', writeJson(dir, 'c.json', { event_count: 'many', state_every: 0 })]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("/: must have required property 'api_key'");
    expect(r.stderr).toContain('/event_count: must be integer');
    expect(r.stderr).toContain('/state_every: must be >= 1');
    expect(r.stdout).toBe('');
  });

  it('a config file that is not JSON names the file, line and column', async () => {
    const dir = tmp();
    const p = join(dir, 'c.json');
    writeFileSync(p, '{\n  "api_key": "k",\n  oops\n}\n');
    const r = await host(['check', EXAMPLE.node, '--config', p]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`the config file ${p} is not valid JSON`);
    expect(r.stderr).toContain('line 3, column 3');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('discover prints the CATALOG message line', async () => {
    const r = await host(['discover', EXAMPLE.python, '--config', writeJson(tmp(), 'c.json', { api_key: 'k' })]);
    expect(r.exitCode).toBe(0);
    const msg = JSON.parse(r.stdout);
    expect(msg.catalog.streams.map((s: any) => s.name)).toEqual(['users', 'events']);
  });
});

describe('usage', () => {
  it('--help of every command shows examples; --version prints the version', async () => {
    for (const cmd of ['spec', 'check', 'discover', 'read', 'test']) {
      const r = await host([cmd, '--help']);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toContain('Examples:');
      expect(r.stdout).toContain('--log-level');
    }
    const v = await host(['--version']);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('usage errors exit 2 with a message, no stack trace', async () => {
    const noConnector = await host(['spec']);
    expect(noConnector.exitCode).toBe(2);
    expect(noConnector.stderr).toContain('no connector given');
    const unknownOpt = await host(['read', EXAMPLE.node, '--bogus']);
    expect(unknownOpt.exitCode).toBe(2);
    expect(unknownOpt.stderr).toMatch(/Unknown argument: bogus/i);
    const missing = await host(['spec', './no/such/connector']);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('connector not found: ./no/such/connector');
    const notOnPath = await host(['spec', '--', 'no-such-program-xyz']);
    expect(notOnPath.exitCode).toBe(2);
    expect(notOnPath.stderr).toContain('no-such-program-xyz: command not found');
    const scheme = await host(['spec', 'ftp:airbyte-source-faker']);
    expect(scheme.exitCode).toBe(2);
    expect(scheme.stderr).toContain('unsupported connector reference "ftp:"');
    for (const r of [noConnector, unknownOpt, missing, notOnPath]) expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a non-executable script runs with the interpreter its extension names', async () => {
    const dir = tmp();
    const copy = join(dir, 'source.py');
    writeFileSync(copy, (await import('node:fs')).readFileSync(EXAMPLE.python));
    chmodSync(copy, 0o644);
    const r = await host(['spec', copy]);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout).type).toBe('SPEC');
  });
});
