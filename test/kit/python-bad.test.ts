// Bad author code and hostile input through the Python kit, with the real CLI (issue 12): clear
// errors naming file, function and line (no kit frames, no raw dump), failed runs keeping what
// was checkpointed, secrets never shown, `__proto__` and big integers kept as data, a stopped
// kit connector exiting quietly. Fixtures: fixtures/connectors/kit-python (see its README).

import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { host, tmp, FIX, ROOT, writeJson, jsonLines, streamState, logLines } from '../helpers.js';

const K = join(FIX, 'kit-python');
const at = (name: string) => join(K, name);
const T = { timeout: 60_000 };
const PYENV = { ...process.env, PYTHONPATH: join(ROOT, 'kits', 'python') };

type Msg = { type: string; record?: { stream: string; data: Record<string, any> }; trace?: any };
const msgs = (stdout: string) =>
  stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Msg);

/** Run a kit fixture directly (no host): python3 FILE ARGS. */
function py(args: string[], input?: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    const c = spawn('python3', args, { env: PYENV, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (b) => (stdout += b));
    c.stderr.on('data', (b) => (stderr += b));
    c.on('close', (code, signal) => ok({ code, signal, stdout, stderr }));
    c.stdin.end(input ?? '');
  });
}

const KIT_FRAMES = /connector_host[/\\]_\w+\.py/;

describe('bad author code', () => {
  it('an exception in a generator midway: the run fails, the records before the last STATE are kept, the error names file:line and function', T, async () => {
    const d = tmp();
    const out = join(d, 'out');
    const r = await host(['read', '--config', writeJson(d, 'c.json', {}), '--out', out, '--progress', 'off', at('bad_midway.py:numbers')]);
    expect(r.exitCode).not.toBe(0);
    expect(r.exitCode).not.toBe(-1);
    expect(jsonLines(join(out, 'numbers.jsonl')).map((x) => x['n'])).toEqual([1, 2, 3, 4, 5, 6]);
    expect(streamState(join(out, 'state.json'), 'numbers')).toEqual({ n: 6 });
    const failure = logLines(r.stderr).find((l) => l.startsWith('connector error:'));
    expect(failure).toMatch(/^connector error: resource 'numbers' failed: ValueError: the upstream went away after n=8 \(at \S*bad_midway\.py:13 in numbers\)$/);
    // the traceback is one block on stderr, without the kit's own frames
    const tb = logLines(r.stderr).filter((l) => l.includes('Traceback (most recent call last)'));
    expect(tb).toHaveLength(1);
    expect(tb[0]).toContain('bad_midway.py", line 13, in numbers');
    expect(r.stderr).not.toMatch(KIT_FRAMES);
  });

  it('the same fixture run directly: INCOMPLETE stream status, then a TRACE ERROR system_error, exit 1', T, async () => {
    const d = tmp();
    const r = await py([at('bad_midway.py'), 'read', '--config', writeJson(d, 'c.json', {})]);
    expect(r.code).toBe(1);
    const m = msgs(r.stdout);
    const statuses = m.filter((x) => x.trace?.type === 'STREAM_STATUS').map((x) => x.trace.stream_status.status);
    expect(statuses).toEqual(['STARTED', 'RUNNING', 'INCOMPLETE']);
    const last = m[m.length - 1]!;
    expect(last.type).toBe('TRACE');
    expect(last.trace.error.failure_type).toBe('system_error');
    expect(last.trace.error.message).toMatch(/bad_midway\.py:13 in numbers/);
    expect(last.trace.error.stack_trace).toBeUndefined();
  });

  it('a resource yielding a non-dict: the error names the resource, the yield\'s file:line, and what it yielded', T, async () => {
    const d = tmp();
    const r = await host(['read', '--config', writeJson(d, 'c.json', {}), '--progress', 'off', at('bad_nondict.py:things')]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/resource 'things' yielded at \S*bad_nondict\.py:9 in things: a str, not a dict; yield dicts or lists of dicts/);
    expect(r.stderr).not.toContain('Traceback');
  });

  it('a duplicate resource name: both definitions named', T, async () => {
    const d = tmp();
    const r = await host(['check', '--config', writeJson(d, 'c.json', {}), at('bad_duplicate.py:dup_source')]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/two resources are named 'users': \S*bad_duplicate\.py:6 in users and \S*bad_duplicate\.py:11 in more_users/);
    expect(r.stderr).not.toContain('Traceback');
  });

  it('an exception while the module is imported: named with its line, no kit frames', T, async () => {
    const r = await host(['spec', at('bad_import.py:never')]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/KeyError: 'timeout' \(at \S*bad_import\.py:6 in <module>\)/);
    expect(r.stderr).not.toMatch(KIT_FRAMES);
    expect(r.stderr).not.toContain('<frozen');
  });

  it('a missing NAME: the message names the file and lists its kit objects; a missing file is named too', T, async () => {
    const r = await host(['spec', at('static_source.py:StaticSource')]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/static_source\.py has no 'StaticSource'; its kit objects: users \(@resource\), events \(@resource\), static_source \(@source\)/);
    expect(r.stderr).not.toContain('Traceback');
    const d = tmp();
    const missing = await host(['spec', join(d, 'nothing.py:Src')]);
    expect(missing.exitCode).not.toBe(0);
    expect(missing.stderr).toContain('nothing.py');
    expect(missing.stderr).not.toContain('Traceback');
  });

  it('a missing NAME run directly with python3 -m connector_host: stderr message, TRACE config_error, exit 1', T, async () => {
    const r = await py(['-m', 'connector_host', at('static_source.py:nope'), 'spec']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^connector_host: \S*static_source\.py has no 'nope'; its kit objects: /);
    const [m] = msgs(r.stdout);
    expect(m!.trace.error.failure_type).toBe('config_error');
  });

  it('ConfigError in check: a FAILED check with the message and where; in read: a config_error failure', T, async () => {
    const d = tmp();
    const c = await host(['check', '--config', writeJson(d, 'mars.json', { region: 'mars' }), at('bad_config.py:bad_config')]);
    expect(c.exitCode).not.toBe(0);
    const status = msgs(c.stdout).find((m) => m.type === 'CONNECTION_STATUS') as any;
    expect(status.connectionStatus).toEqual({ status: 'FAILED', message: expect.stringMatching(/^ConfigError: region must be eu or us, not 'mars' \(at \S*bad_config\.py:11 in check\)$/) });
    const ok = await host(['check', '--config', writeJson(d, 'eu.json', { region: 'eu' }), at('bad_config.py:bad_config')]);
    expect(ok.exitCode, ok.stderr).toBe(0);

    const r = await host(['read', '--config', writeJson(d, 'exp.json', { region: 'eu', token: 'expired' }), '--progress', 'off', at('bad_config.py:bad_config')]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/the token has expired; create a new one \(at \S*bad_config\.py:17 in accounts\)/);
    expect(r.stderr).toMatch(/failure_type[=":]+config_error/);
    expect(r.stderr).not.toContain('Traceback');
  });

  it('a missing required config field (kit check, the host not asked to validate): a config_error naming the field', T, async () => {
    const d = tmp();
    const r = await py([at('bad_config.py'), 'read', '--config', writeJson(d, 'c.json', { token: 'x' })]);
    expect(r.code).toBe(1);
    const [m] = msgs(r.stdout);
    expect(m!.trace.error).toMatchObject({ failure_type: 'config_error', message: "the config is missing the required field 'region'" });
  });
});

describe('secrets', () => {
  const KEY = 'sk-live-0123456789abcdef';

  it('a dataclass config: secret() fields are airbyte_secret and required without a default; other fields typed, defaults kept', T, async () => {
    const r = await host(['spec', at('secret_config.py:secret_source')]);
    expect(r.exitCode, r.stderr).toBe(0);
    const cs = JSON.parse(r.stdout).spec.connectionSpecification;
    expect(cs.properties).toEqual({
      api_key: { type: 'string', title: 'API key', airbyte_secret: true },
      account: { type: 'string', description: 'account name', default: 'main' },
      limit: { type: 'integer', default: 3 },
    });
    expect(cs.required).toEqual(['api_key']);
    expect(cs.title).toBe('Config');
    expect(cs.description).toBe('Settings of the secret source.');
  });

  it('the key in a LOG and in an exception message never reaches stdout or stderr (host run)', T, async () => {
    const d = tmp();
    const r = await host(['read', '--config', writeJson(d, 'c.json', { api_key: KEY, account: 'fail' }), '--progress', 'off', at('secret_config.py:secret_source')]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('401 Unauthorized for key');
    expect(r.stdout + r.stderr).not.toContain(KEY);
    expect(r.stdout + r.stderr).not.toContain('0123456789abcdef');
  });

  it('the kit masks it itself (run directly, no host): LOG, TRACE message and the stderr traceback', T, async () => {
    const d = tmp();
    const r = await py([at('secret_config.py'), 'read', '--config', writeJson(d, 'c.json', { api_key: KEY, account: 'fail' })]);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).not.toContain(KEY);
    const m = msgs(r.stdout);
    expect(m.find((x) => x.type === 'LOG')).toEqual({ type: 'LOG', log: { level: 'INFO', message: 'calling the API with key **********' } });
    const err = m.find((x) => x.trace?.type === 'ERROR')!.trace.error;
    expect(err.message).toMatch(/^resource 'calls' failed: RuntimeError: 401 Unauthorized for key \*{10} \(account fail\) \(at \S*secret_config\.py:\d+ in calls\)$/);
    expect(r.stderr).toContain('RuntimeError: 401 Unauthorized for key **********');
  });

  it('a dataclass config with a wrong type or a missing secret: config_error, the value not shown', T, async () => {
    const d = tmp();
    const wrong = await py([at('secret_config.py'), 'check', '--config', writeJson(d, 'w.json', { api_key: 12345678, limit: 'lots' })]);
    const st = msgs(wrong.stdout).find((m) => m.type === 'CONNECTION_STATUS') as any;
    expect(st.connectionStatus.status).toBe('FAILED');
    expect(wrong.stdout).toMatch(/config field 'api_key' must be a string, not an integer|config field 'limit' must be an integer, not a string/);
    expect(wrong.stdout).not.toContain('12345678');
    const missing = await py([at('secret_config.py'), 'read', '--config', writeJson(d, 'm.json', {})]);
    expect(missing.code).toBe(1);
    expect(msgs(missing.stdout)[0]!.trace.error).toMatchObject({ failure_type: 'config_error', message: "the config is missing the required field 'api_key'" });
  });
});

describe('hostile data', () => {
  it('`__proto__` and `constructor` keys in the config and in records are plain data; 2^63+1 stays exact', T, async () => {
    const d = tmp();
    const out = join(d, 'out');
    const config = join(d, 'c.json');
    writeFileSync(config, '{"__proto__": {"admin": true}}');
    const r = await host(['read', '--config', config, '--out', out, '--progress', 'off', at('proto_keys.py:tricky')]);
    expect(r.exitCode, r.stderr).toBe(0);
    const text = readFileSync(join(out, 'tricky.jsonl'), 'utf8') as string;
    expect(text).toContain('"__proto__":{"polluted":true}');
    expect(text).toContain('"from_config":{"admin":true}');
    expect(text).toContain('9223372036854775809');
    const [first] = text.split('\n').map((l) => (l ? JSON.parse(l) : null));
    expect(Object.prototype.hasOwnProperty.call(first, '__proto__')).toBe(true);
    expect(({} as any).polluted).toBeUndefined();
    expect(({} as any).admin).toBeUndefined();
  });
});

describe('stopping a kit connector', () => {
  it('--limit stops a million-record resource early: exit 0, no traceback, no BrokenPipe noise', T, async () => {
    const d = tmp();
    const r = await host(['read', '--config', writeJson(d, 'c.json', {}), '--limit', '5', '--progress', 'off', at('many_records.py:items')]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(msgs(r.stdout).filter((m) => m.type === 'RECORD').map((m) => m.record!.data['id'])).toEqual([0, 1, 2, 3, 4]);
    expect(r.stderr).not.toContain('Traceback');
    expect(r.stderr).not.toContain('BrokenPipe');
  });

  it('SIGTERM and a closed stdout: quiet exits (no traceback)', T, async () => {
    const d = tmp();
    const config = writeJson(d, 'c.json', {});
    // SIGTERM once it is writing
    const term = await new Promise<{ code: number | null; signal: string | null; stderr: string }>((ok) => {
      const c = spawn('python3', [at('many_records.py'), 'read', '--config', config], { env: PYENV });
      let stderr = '';
      c.stderr.on('data', (b) => (stderr += b));
      c.stdout.once('data', () => c.kill('SIGTERM'));
      c.stdout.resume();
      c.on('close', (code, signal) => ok({ code, signal, stderr }));
    });
    expect(term.signal === 'SIGTERM' || term.code === 143).toBe(true);
    expect(term.stderr).toBe('');
    // the reader goes away after the first bytes
    const pipe = await new Promise<{ code: number | null; stderr: string }>((ok) => {
      const c = spawn('python3', [at('many_records.py'), 'read', '--config', config], { env: PYENV });
      let stderr = '';
      c.stderr.on('data', (b) => (stderr += b));
      c.stdout.once('data', () => c.stdout.destroy());
      c.on('close', (code) => ok({ code, stderr }));
    });
    expect(pipe.code).not.toBe(0);
    expect(pipe.stderr).toBe('');
  });

  it('SIGINT: exit 130 quietly', T, async () => {
    const d = tmp();
    const config = writeJson(d, 'c.json', {});
    const res = await new Promise<{ code: number | null; stderr: string }>((ok) => {
      const c = spawn('python3', [at('many_records.py'), 'read', '--config', config], { env: PYENV });
      let stderr = '';
      c.stderr.on('data', (b) => (stderr += b));
      c.stdout.once('data', () => c.kill('SIGINT'));
      c.stdout.resume();
      c.on('close', (code) => ok({ code, stderr }));
    });
    expect(res.code).toBe(130);
    expect(res.stderr).toBe('');
  });
});
