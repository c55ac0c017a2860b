// A Singer tap's --about --format json: both settings forms (Meltano's list, the Singer SDK's
// JSON Schema) become the spec, secrets are masked, the config is validated against it, and an
// unusable output is named as the tap's --about output — never as a SPEC message. Through the CLI.

import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmp, writeJson, lines } from '../helpers.js';
import { hostSinger } from './singer-tap-helpers.js';

const MELTANO = 'tap-meltano-settings';
const SDK = 'tap-sdk-settings';
const BAD = 'tap-bad-about';
const specOf = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!).spec.connectionSpecification;

describe('Meltano-style settings lists', () => {
  it('spec: each kind as JSON Schema, password and sensitive as airbyte_secret, label/description/value/options kept, dotted names nested, groups as anyOf', async () => {
    const r = await hostSinger('spec', MELTANO, []);
    expect(r.exitCode).toBe(0);
    const s = specOf(r.stdout);
    expect(s.type).toBe('object');
    expect(s.properties.token).toEqual({ type: 'string', airbyte_secret: true, title: 'API token', description: 'The token of the API' });
    expect(s.properties.client_secret).toEqual({ type: 'string', airbyte_secret: true });
    expect(s.properties.client_id).toEqual({ type: 'string' });
    expect(s.properties.base_url).toEqual({ type: 'string', title: 'Base URL', default: 'https://api.example.com' });
    expect(s.properties.page_size).toEqual({ type: 'integer', default: 100 });
    expect(s.properties.include_deleted).toEqual({ type: 'boolean' });
    expect(s.properties.region).toEqual({ type: 'string', enum: ['eu', 'us'] });
    expect(s.properties.start_date).toEqual({ type: 'string', format: 'date-time' });
    expect(s.properties.auth).toEqual({ type: 'object', properties: { user: { type: 'string' } } });
    expect(s.anyOf).toEqual([{ required: ['token'] }, { required: ['client_id', 'client_secret'] }]);
    expect(r.stderr).not.toMatch(/SPEC message/);
  });

  it('check, discover and read work; a secret in the tap\u2019s stderr and error is masked', async () => {
    const d = tmp();
    const cfg = writeJson(d, 'c.json', { token: 'tok-Very-Secret-42', region: 'eu' });
    const check = await hostSinger('check', MELTANO, ['--config', cfg]);
    expect(check.exitCode).toBe(0);
    expect(check.stdout).toContain('"status":"SUCCEEDED"');
    const disc = await hostSinger('discover', MELTANO, ['--config', cfg]);
    expect(disc.exitCode).toBe(0);
    expect(JSON.parse(disc.stdout.trim().split('\n').pop()!).catalog.streams.map((x: any) => x.name)).toEqual(['items']);
    const out = join(d, 'out');
    const read = await hostSinger('read', MELTANO, ['--config', cfg, '--out', out]);
    expect(read.exitCode).toBe(0);
    expect(lines(join(out, 'items.jsonl'))).toHaveLength(3);
    // check and read start the tap with the config (discover prints no config)
    for (const r of [check, read]) expect(r.stderr).toContain('token=**********');
    for (const r of [check, disc, read]) expect(r.stderr + r.stdout).not.toContain('tok-Very-Secret-42');
    // the tap fails quoting the token: the error is masked too
    const bad = await hostSinger('read', MELTANO, ['--config', writeJson(d, 'bad.json', { token: 'bad-token-1234' }), '--out', join(d, 'out2')]);
    expect(bad.exitCode).toBe(3);
    expect(bad.stderr).toContain('the API rejected the token **********');
    expect(bad.stderr).not.toContain('bad-token-1234');
    for (const f of readdirSync(join(d, 'out2'))) expect(readFileSync(join(d, 'out2', f), 'utf8')).not.toContain('bad-token-1234');
  });

  it('the config is validated against the derived spec: no group complete, a wrong type, an option not offered', async () => {
    const d = tmp();
    const none = await hostSinger('check', MELTANO, ['--config', writeJson(d, 'none.json', { client_id: 'abc' })]);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toMatch(/does not match the connector's spec/);
    expect(none.stderr).toMatch(/token/);
    expect(none.stderr).toMatch(/client_secret/);
    expect(none.stderr).not.toMatch(/SPEC message/);
    const typed = await hostSinger('discover', MELTANO, ['--config', writeJson(d, 'typed.json', { token: 'tok-abcdef', page_size: 'many', region: 'mars' })]);
    expect(typed.exitCode).toBe(2);
    expect(typed.stderr).toMatch(/\/page_size: must be integer/);
    expect(typed.stderr).toMatch(/\/region: must be equal to one of the allowed values/);
    expect(typed.stderr).not.toContain('tok-abcdef');
    // the other group is enough
    const other = await hostSinger('check', MELTANO, ['--config', writeJson(d, 'other.json', { client_id: 'abc', client_secret: 'cs-Hidden-77' })]);
    expect(other.exitCode).toBe(0);
    expect(other.stderr).toContain('client_secret=**********');
    expect(other.stderr).not.toContain('cs-Hidden-77');
  });

  it('hostile: settings named __proto__ and constructor are ordinary (secret) fields, masked, with no prototype pollution', async () => {
    const spec = await hostSinger('spec', MELTANO, [], ['--hostile-names']);
    expect(spec.exitCode).toBe(0);
    const s = specOf(spec.stdout);
    expect(Object.hasOwn(s.properties, '__proto__')).toBe(true);
    expect(s.properties['__proto__']).toEqual({ type: 'string', airbyte_secret: true });
    expect(s.properties.constructor).toEqual({ type: 'string', airbyte_secret: true });
    const d = tmp();
    const cfg = join(d, 'c.json');
    // a literal "__proto__" key (JSON.stringify of an object literal cannot make one)
    writeFileSync(cfg, '{"token": "tok-abcdef-1", "__proto__": "proto-Secret-1", "constructor": "ctor-Secret-2"}');
    const r = await hostSinger('read', MELTANO, ['--config', cfg, '--out', join(d, 'out')], ['--hostile-names']);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain('__proto__=********** constructor=**********');
    expect(r.stderr).not.toMatch(/proto-Secret-1|ctor-Secret-2/);
  });

  it('hostile: an unknown kind is read as a string with a warning, not a failure', async () => {
    const r = await hostSinger('spec', MELTANO, [], ['--unknown-kind']);
    expect(r.exitCode).toBe(0);
    expect(specOf(r.stdout).properties.colour).toEqual({ type: 'string' });
    // in a text or a JSON log line
    expect(r.stderr).toMatch(/the Singer tap's --about --format json output: unknown setting kind, read as string: settings\[9\] \\?"colour\\?" \(kind \\?"colour\\?"\)/);
  });

  it('hostile: text and a JSON log line printed before the JSON are skipped', async () => {
    const r = await hostSinger('spec', MELTANO, [], ['--noise']);
    expect(r.exitCode).toBe(0);
    expect(specOf(r.stdout).properties.token.airbyte_secret).toBe(true);
  });

  it('hostile: a huge settings list works up to 10000 entries; more is a clear error', async () => {
    const d = tmp();
    const big = await hostSinger('check', MELTANO, ['--config', writeJson(d, 'c.json', { token: 'tok-abcdef', s9980: 'x' })], ['--many', '9990']);
    expect(big.exitCode).toBe(0);
    expect(big.stdout).toContain('"status":"SUCCEEDED"');
    const spec = await hostSinger('spec', MELTANO, [], ['--many', '9990']);
    expect(Object.keys(specOf(spec.stdout).properties)).toHaveLength(9999);
    const tooMany = await hostSinger('spec', MELTANO, [], ['--many', '10000']);
    expect(tooMany.exitCode).toBe(2);
    expect(tooMany.stderr).toContain(`host: the Singer tap's --about --format json output: settings has 10009 entries; at most 10000 are supported`);
  });
});

describe('Singer SDK settings (JSON Schema)', () => {
  it('spec keeps the schema; secret, writeOnly and sensitive become airbyte_secret; required is enforced', async () => {
    const r = await hostSinger('spec', SDK, []);
    expect(r.exitCode).toBe(0);
    const s = specOf(r.stdout);
    expect(s.required).toEqual(['auth_token']);
    expect(s.properties.auth_token).toMatchObject({ type: ['string'], airbyte_secret: true });
    expect(s.properties.webhook_key).toMatchObject({ sensitive: true, airbyte_secret: true });
    expect(s.properties.start_date.airbyte_secret).toBeUndefined();
    const d = tmp();
    const missing = await hostSinger('read', SDK, ['--config', writeJson(d, 'c.json', { webhook_key: 'wh-Secret-5' }), '--out', join(d, 'o')]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/must have required property 'auth_token'/);
    expect(missing.stderr).not.toContain('wh-Secret-5');
    const ok = await hostSinger('read', SDK, ['--config', writeJson(d, 'ok.json', { auth_token: 'at-Secret-6' }), '--out', join(d, 'o2')]);
    expect(ok.exitCode).toBe(0);
    expect(lines(join(d, 'o2', 'items.jsonl'))).toHaveLength(2);
  });
});

describe('an unusable --about output is named as such, never as a SPEC message', () => {
  const cases: [string, string][] = [
    ['array', `the Singer tap's --about --format json output is a list, not a JSON object`],
    ['settings-string', `the Singer tap's --about --format json output: settings is a string ("token,password"); expected a list of settings`],
    ['no-name', `the Singer tap's --about --format json output: settings[2] has no "name"`],
    ['name-number', `the Singer tap's --about --format json output: settings[1] has a "name" that is a number (7), not a string`],
    ['entry-string', `the Singer tap's --about --format json output: settings[1] is a string ("token"), expected an object with "name" and "kind"`],
    ['bad-groups', `the Singer tap's --about --format json output: settings_group_validation is a string ("token"), expected a list of lists of setting names`],
    ['nested-under-string', `the Singer tap's --about --format json output: settings[1] "auth.user" is nested under "auth", which settings[0] declares as kind string`],
    ['schema-type', `the Singer tap's --about --format json output: settings is a JSON Schema of type "string"`],
    ['bad-properties', `the Singer tap's --about --format json output: settings.properties is a list, expected an object of settings by name`],
    ['huge', `the Singer tap's --about --format json output is larger than 16 MB`],
  ];
  it.each(cases)('--case %s: spec exits 2 with the place in the output', async (c, message) => {
    const r = await hostSinger('spec', BAD, [], ['--case', c]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`host: ${message}`);
    expect(r.stderr).not.toMatch(/SPEC message|stack|at .*\.js:\d+/);
    expect(r.stdout).toBe('');
  });

  it('--case broken-json: a JSON-looking line that does not parse is an error naming the output', async () => {
    const r = await hostSinger('spec', BAD, [], ['--case', 'broken-json']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`host: the Singer tap's --about --format json output is not JSON, nor has it a line where a JSON object with "name", "capabilities" or "settings" starts`);
  });

  it('--case not-json: plain text and no JSON at all is taken as no --about (a permissive spec and a warning naming the output)', async () => {
    const r = await hostSinger('spec', BAD, [], ['--case', 'not-json']);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout).spec.connectionSpecification).toEqual({ type: 'object', additionalProperties: true, properties: {} });
    // (a text or a JSON log line: unescape the quotes of the latter)
    expect(r.stderr.replace(/\\"/g, '"')).toContain(`the Singer tap's --about --format json output is not JSON (it starts with "tap-bad-about 1.0 — a tap"): taken as no --about`);
  });

  it('check and discover fail the same way, before the tap is started with the config', async () => {
    const d = tmp();
    const cfg = writeJson(d, 'c.json', { token: 't' });
    for (const cmd of ['check', 'discover']) {
      const r = await hostSinger(cmd, BAD, ['--config', cfg], ['--case', 'no-name']);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain(`host: the Singer tap's --about --format json output: settings[2] has no "name"`);
      expect(r.stderr).not.toMatch(/SPEC message/);
    }
  });
});

