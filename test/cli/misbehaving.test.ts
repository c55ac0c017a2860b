// Each misbehaving fixture gives its documented error and exit code (README: exit codes).

import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync, existsSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { host, tmp, bad, writeJson, jsonLines, lines, readJson, logLines, pidAlive, sleep } from '../helpers.js';

const node = process.execPath;
function readArgs(dir: string, fixture: string, knobs: string[] = [], opts: string[] = []) {
  const cfg = existsSync(join(dir, 'config.json')) ? join(dir, 'config.json') : writeJson(dir, 'config.json', {});
  return ['read', '--config', cfg, '--out', join(dir, 'out'), ...opts, '--', node, bad(fixture), ...knobs];
}

describe('misbehaving connectors', () => {
  it('noise between messages: warnings with the line number and start, valid records kept', async () => {
    const dir = tmp();
    const r = await host(readArgs(dir, 'noise'));
    expect(r.exitCode).toBe(0);
    expect(jsonLines(join(dir, 'out', 'items.jsonl')).map((x) => x['id'])).toEqual([1, 2, 3, 5]);
    const logs = logLines(r.stderr).join('\n');
    expect(logs).toMatch(/stdout line \d+: not JSON, ignored: "Starting up\.\.\. \(this is not JSON\)"/);
    expect(logs).toMatch(/stdout line \d+: JSON without a message type/);
    expect(logs).toMatch(/unknown message type "NOPE"/);
    expect(logs).toMatch(/invalid LOG message/); // a RECORD without stream would stop the run (test/engine/mistyped.test.ts)
    expect(logs).toMatch(/not a JSON protocol message, ignored: "\[1,2,3\]"/);
    expect(logs).toMatch(/not JSON, ignored: "\{\\"type\\":\\"LOG\\"/); // the truncated LOG (a truncated RECORD stops the run: test/engine/mistyped.test.ts)
    expect(r.stderr).toMatch(/6 stdout lines ignored/);
    // the LOG message on the first line (behind a BOM) is logged, tagged with the connector
    const log = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find((l) => l.source === 'LOG');
    expect(log).toMatchObject({ connector: 'noise', level: 30 });
  });

  it('a line longer than --max-line-bytes fails the run naming the stream and line', async () => {
    const dir = tmp();
    const r = await host(readArgs(dir, 'long-line', ['--bytes', '5000'], ['--max-line-bytes', '1000']));
    expect(r.exitCode).toBe(7);
    expect(r.stderr).toMatch(/stdout line 2 \(stream items\) is longer than the limit of 1000 bytes/);
    expect(r.stderr).toContain('starts: "{\\"type\\":\\"RECORD\\"');
    // within the default limit the same line is just a record
    const ok = await host(readArgs(tmp(), 'long-line', ['--bytes', '5000']));
    expect(ok.exitCode).toBe(0);
  });

  it('a connector that hangs in spec times out (--timeout)', async () => {
    const t0 = Date.now();
    const r = await host(['spec', '--timeout', '1', '--kill-grace', '1', '--', node, bad('hang')]);
    expect(r.exitCode).toBe(5);
    expect(r.stderr).toContain('spec did not finish within 1 s');
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('a silent read fails on the heartbeat and leaves no process behind', async () => {
    const dir = tmp();
    const pidFile = join(dir, 'pids.json');
    const r = await host(readArgs(dir, 'hang', ['--only=read', '--records', '2', '--spawn-child', '--pid-file', pidFile], ['--heartbeat-timeout', '1', '--kill-grace', '1']));
    expect(r.exitCode).toBe(5);
    expect(r.stderr).toContain('no RECORD or STATE for 1 s (heartbeat timeout)');
    const pids = readJson(pidFile);
    await sleep(200);
    expect(pidAlive(pids.pid)).toBe(false);
    expect(pidAlive(pids.child)).toBe(false);
  });

  it('a connector that prints nothing: spec fails with CONNECTOR_NO_OUTPUT', async () => {
    const r = await host(['spec', '--', node, bad('empty')]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('exited 0 without printing a SPEC message');
  });

  it('a record for a stream not in the catalog fails the run; nothing uncommitted is kept', async () => {
    const dir = tmp();
    const r = await host(readArgs(dir, 'unknown-stream'));
    expect(r.exitCode).toBe(7);
    expect(r.stderr).toContain('RECORD for stream "ghost", which is not in the configured catalog (streams: items)');
    expect(lines(join(dir, 'out', 'items.jsonl'))).toEqual([]);
  });

  it('a TRACE ERROR becomes the failure reason with its failure_type', async () => {
    const cfgErr = await host(readArgs(tmp(), 'trace-error'));
    expect(cfgErr.exitCode).toBe(2);
    expect(cfgErr.stderr).toContain('host: Invalid credentials for the API [config_error; the connector exited with code 1]');
    const sysErr = await host(readArgs(tmp(), 'trace-error', ['--failure-type', 'system_error']));
    expect(sysErr.exitCode).toBe(3);
    expect(sysErr.stderr).toContain('[system_error;');
    const check = await host(['check', '--config', writeJson(tmp(), 'c.json', {}), '--', node, bad('trace-error')]);
    expect(check.exitCode).toBe(2);
    expect(check.stderr).toContain('Invalid credentials for the API');
  });

  it('a connector flooding stderr does not stall the read', async () => {
    const dir = tmp();
    const r = await host(readArgs(dir, 'stderr-flood', ['--mb', '8', '--records', '2000'], ['--log-level', 'warn']));
    expect(r.exitCode).toBe(0);
    expect(lines(join(dir, 'out', 'items.jsonl'))).toHaveLength(2000);
  });

  it('old protocol habits are accepted: no emitted_at, a float emitted_at, STATE without type', async () => {
    const dir = tmp();
    const r = await host(readArgs(dir, 'old-habits'));
    expect(r.exitCode).toBe(0);
    expect(jsonLines(join(dir, 'out', 'items.jsonl')).map((x) => x['id'])).toEqual([1, 2, 3]);
    expect(r.stderr).not.toContain('ignored');
    const state = readJson(join(dir, 'out', 'state.json'));
    expect(state.kind).toBe('LEGACY');
    expect(state.states[0].data).toEqual({ items: { cursor: 3 } });
  });

  it('CONTROL writes the new config back: only the changed fields, atomically, mode kept', async () => {
    const dir = tmp();
    const cfgPath = join(dir, 'config.json');
    writeFileSync(cfgPath, '{\n  "client_id": "abc",\n  "refresh_token": "r1",\n  "nested": {"keep": [1, 2]}\n}\n', { mode: 0o600 });
    const r = await host(readArgs(dir, 'control'));
    expect(r.exitCode).toBe(0);
    const after = readFileSync(cfgPath, 'utf8');
    expect(JSON.parse(after)).toMatchObject({ client_id: 'abc', refresh_token: 'rotated-r1', expires_at: '2030-01-01T00:00:00Z' });
    expect(JSON.parse(after).nested).toEqual({ keep: [1, 2] });
    expect(statSync(cfgPath).mode & 0o777).toBe(0o600);
    expect(logLines(r.stderr).join('\n')).toContain('updated its config');
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it.each(['check', 'discover'])('CONTROL during %s is written back too', async (command) => {
    const dir = tmp();
    const cfgPath = join(dir, 'config.json');
    writeFileSync(cfgPath, '{"client_id": "abc", "refresh_token": "r1"}\n');
    const r = await host([command, bad('control'), '--config', cfgPath]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(cfgPath, 'utf8'))).toEqual({ client_id: 'abc', refresh_token: 'rotated-r1', expires_at: '2030-01-01T00:00:00Z' });
  });
});

describe('secrets', () => {
  const PW = 'hunter2-Planted-PW';
  const TOK = 'tok-Planted-XYZ';

  it('a planted secret appears in no log, error or output file', async () => {
    const dir = tmp();
    writeJson(dir, 'config.json', { user: 'ann', password: PW, credentials: { token: TOK } });
    const r = await host(readArgs(dir, 'leaky', [], ['--log-level', 'debug']));
    expect(r.exitCode).toBe(3);
    const all = r.stdout + r.stderr;
    expect(all).toContain('**********');
    expect(all).not.toContain(PW);
    expect(all).not.toContain(TOK);
    for (const f of readdirSync(join(dir, 'out'), { recursive: true }) as string[]) {
      const p = join(dir, 'out', f);
      if (statSync(p).isFile()) expect(readFileSync(p, 'utf8')).not.toContain(PW);
    }
    const check = await host(['check', '--config', join(dir, 'config.json'), '--', node, bad('leaky')]);
    expect(check.exitCode).toBe(3);
    expect(check.stdout + check.stderr).not.toContain(PW);
    expect(check.stdout + check.stderr).not.toContain(TOK);
  });

  it('config errors name the JSON pointer, never the secret value', async () => {
    const dir = tmp();
    writeJson(dir, 'config.json', { password: 12345678, credentials: { token: ['not', 'a', 'string-Planted'] } });
    const r = await host(['check', '--config', join(dir, 'config.json'), '--', node, bad('leaky')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('/password: must be string');
    expect(r.stderr).toContain('/credentials/token: must be string');
    expect(r.stderr).not.toContain('12345678');
    expect(r.stderr).not.toContain('string-Planted');
  });
});
