// host test expands ${VAR} in a case's config.json exactly as --config does, and no expanded
// secret reaches a report (pretty, json, junit) or a golden file. Through the real CLI.

import { describe, it, expect } from 'vitest';
import { mkdirSync, writeFileSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { host, tmp, FIX } from '../helpers.js';

const TAP = join(FIX, 'singer', 'tap-meltano-settings.mjs');
const TOKEN = 'tok-Golden-Secret-314';
const BASE_URL = 'https://internal-host.example.net';

/** A one-case suite (profile singer) with the given raw config.json text. */
function suite(configText: string): string {
  const dir = tmp('ch-suite-env-');
  mkdirSync(join(dir, 'c'));
  writeFileSync(join(dir, 'suite.json'), '{"profile": "singer"}');
  writeFileSync(join(dir, 'c', 'config.json'), configText);
  return dir;
}

function test(dir: string, env: Record<string, string>, extra: string[] = []) {
  return host(['test', '--suite', dir, '--protocol', 'singer', '--log-level', 'warn', ...extra, '--', process.execPath, TAP, '--echo-config'], { env: { NO_COLOR: '1', ...env } });
}

const goldenText = (dir: string) => readdirSync(join(dir, 'c', 'golden')).map((f) => readFileSync(join(dir, 'c', 'golden', f), 'utf8')).join('\n');

describe('${VAR} in a suite case config', () => {
  it('expanded from the environment; the goldens and every report hold no secret, and a changed secret still matches', async () => {
    const dir = suite('{"token": "${TOKEN}", "base_url": "${BASE_URL}"}');
    const env = { TOKEN, BASE_URL };
    const upd = await test(dir, env, ['--update']);
    expect(upd.exitCode, upd.stdout + upd.stderr).toBe(0);
    const golden = goldenText(dir);
    expect(golden).not.toContain(TOKEN);
    expect(golden).not.toContain(BASE_URL);
    // the tap received the expanded values (it echoes them into records and state): masked there
    expect(readFileSync(join(dir, 'c', 'golden', 'read.jsonl'), 'utf8')).toContain('"seen":"********** at **********"');
    expect(readFileSync(join(dir, 'c', 'golden', 'read-state.json'), 'utf8')).toContain('"token": "**********"');
    for (const reporter of ['pretty', 'json', 'junit']) {
      const r = await test(dir, env, ['--reporter', reporter]);
      expect(r.exitCode, r.stdout).toBe(0);
      expect(r.stdout + r.stderr).not.toContain(TOKEN);
      expect(r.stdout + r.stderr).not.toContain(BASE_URL);
    }
    // another token: the masked goldens still match
    const other = await test(dir, { TOKEN: 'tok-Another-Secret-271', BASE_URL });
    expect(other.exitCode, other.stdout).toBe(0);
  });

  it('a golden difference in a secret value is reported masked (pretty, json, junit)', async () => {
    const dir = suite('{"token": "${TOKEN}", "base_url": "${BASE_URL}"}');
    const env = { TOKEN, BASE_URL };
    expect((await test(dir, env, ['--update'])).exitCode).toBe(0);
    const f = join(dir, 'c', 'golden', 'read.jsonl');
    writeFileSync(f, readFileSync(f, 'utf8').replace('"id":2,"seen":"********** at **********"', '"id":2,"seen":"old value"'));
    for (const reporter of ['pretty', 'json', 'junit']) {
      const r = await test(dir, env, ['--reporter', reporter]);
      expect(r.exitCode).toBe(8);
      // quoted as JSON ("), inside JSON (\") or in XML (&quot;)
      expect(r.stdout).toMatch(/stream items, record id=2: \/seen: expected (\\?"|&quot;)old value(\\?"|&quot;), got (\\?"|&quot;)\*{10} at \*{10}(\\?"|&quot;)/);
      expect(r.stdout + r.stderr).not.toContain(TOKEN);
      expect(r.stdout + r.stderr).not.toContain(BASE_URL);
    }
    // --update never writes the expanded secret either
    expect((await test(dir, env, ['--update'])).exitCode).toBe(0);
    expect(goldenText(dir)).not.toContain(TOKEN);
  });

  it('an unset variable: exit 2 with the same error as `host read --config` (file, variable and field), before any connector starts', async () => {
    const dir = suite('{"token": "${TOKEN}", "base_url": "https://api.example.com"}');
    const calls = join(dir, 'calls.log');
    const r = await test(dir, { SINGER_TAP_CALL_LOG: calls });
    expect(r.exitCode).toBe(2);
    const cfg = join(dir, 'c', 'config.json');
    const expected = `the config file ${cfg} uses environment variable that is not set: \${TOKEN} (/token); set TOKEN, or write $\${...} for a literal`;
    expect(r.stderr).toContain(`host: ${expected}`);
    expect(existsSync(calls)).toBe(false);
    expect(existsSync(join(dir, 'c', 'golden'))).toBe(false);
    expect(r.stdout).toBe('');
    // the rule of --config, word for word
    const read = await host(['read', '--config', cfg, '--protocol', 'singer', '--out', join(dir, 'out'), '--', process.execPath, TAP], { env: { NO_COLOR: '1' } });
    expect(read.exitCode).toBe(2);
    expect(read.stderr).toContain(`host: ${expected}`);
  });

  it('a malformed reference is the --config error naming file and field, not the value; $${ is a literal', async () => {
    const bad = suite('{"token": "pw-${not a name}-9"}');
    const r = await test(bad, {});
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`host: the config file ${join(bad, 'c', 'config.json')}, field /token: a "\${" that does not start a valid variable reference`);
    expect(r.stderr).not.toContain('pw-');

    const lit = suite('{"token": "${TOKEN}", "base_url": "$${NOT_EXPANDED}"}');
    const upd = await test(lit, { TOKEN }, ['--update']);
    expect(upd.exitCode, upd.stdout + upd.stderr).toBe(0);
    expect(readFileSync(join(lit, 'c', 'golden', 'read.jsonl'), 'utf8')).toContain('"seen":"********** at ${NOT_EXPANDED}"');
  });
});
