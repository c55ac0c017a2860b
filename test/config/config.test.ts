// Config conveniences: ${VAR} interpolation, several files (later wins), JSON with
// comments, YAML, and CONTROL write-back into the right file.

import { describe, it, expect } from 'vitest';
import { writeFileSync, readFileSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmp, EXAMPLE, bad, readJson, host, logLines } from '../helpers.js';
import { loadConfig, writeBackConfig, environmentValues, describeSkipped } from '../../dist/config/config.js';
import { LosslessNumber, stringifyLossless, parseLossless } from '../../dist/json/lossless.js';
import { readWith } from '../../dist/index.js';

const put = (dir: string, name: string, text: string, mode = 0o644) => {
  const p = join(dir, name);
  writeFileSync(p, text, { mode });
  return p;
};
const noTemp = (dir: string) => expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);

describe('interpolation', () => {
  it('substitutes ${VAR} anywhere in a string value, with defaults and the $${ escape', () => {
    const dir = tmp();
    const f = put(dir, 'c.json', JSON.stringify({ token: '${TOK}', url: 'https://${HOST}:${PORT:-443}/v1', lit: 'cost $5, $${NOT_A_VAR}', n: 5, list: ['${HOST}'] }));
    const c = loadConfig(f, { env: { TOK: 'secret-tok', HOST: 'api.example.com' } });
    expect(c.value).toEqual({ token: 'secret-tok', url: 'https://api.example.com:443/v1', lit: 'cost $5, ${NOT_A_VAR}', n: 5, list: ['api.example.com'] });
    expect(c.sources!.get('/token')).toMatchObject({ file: f, variables: ['TOK'] });
    expect(c.sources!.get('/n')).toMatchObject({ file: f, variables: [] });
    expect(environmentValues(c).sort()).toEqual(['api.example.com', 'https://api.example.com:443/v1', 'secret-tok']);
  });

  it('uses process.env by default', () => {
    const dir = tmp();
    process.env['CH_TEST_VAR'] = 'from-env';
    const c = loadConfig(put(dir, 'c.json', '{"a": "${CH_TEST_VAR}"}'));
    expect(c.value).toEqual({ a: 'from-env' });
  });

  it('a missing variable is a ConfigError naming the variable, the field and the file', () => {
    const dir = tmp();
    const f = put(dir, 'c.json', '{"creds": {"token": "${MISSING_TOKEN_X}"}, "pw": "p-${ALSO_MISSING}"}');
    let err: any;
    try {
      loadConfig(f, { env: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ name: 'ConfigError', code: 'CONFIG_INVALID', exitCode: 2 });
    expect(err.message).toContain('MISSING_TOKEN_X');
    expect(err.message).toContain('ALSO_MISSING');
    expect(err.message).toContain('/creds/token');
    expect(err.message).toContain(f);
  });

  it('a malformed reference is an error that does not quote the value', () => {
    const dir = tmp();
    const f = put(dir, 'c.json', '{"pw": "hunter2${oops"}');
    expect(() => loadConfig(f, { env: {} })).toThrow(/\/pw: a "\$\{" without its closing/);
    try {
      loadConfig(f, { env: {} });
    } catch (e) {
      expect((e as Error).message).not.toContain('hunter2');
    }
  });

  it('the CLI reports a missing variable with exit 2', async () => {
    const dir = tmp();
    const f = put(dir, 'c.json', '{"api_key": "${CH_NOT_SET_ANYWHERE}"}');
    const r = await host(['check', EXAMPLE.node, '--config', f]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('CH_NOT_SET_ANYWHERE');
  });
});

describe('several files', () => {
  it('later files win: objects merge deeply, arrays and scalars are replaced', () => {
    const dir = tmp();
    const a = put(dir, 'a.json', JSON.stringify({ host: 'a', port: 1, list: [1, 2, 3], creds: { user: 'u', pw: 'p' }, only_a: true }));
    const b = put(dir, 'b.json', JSON.stringify({ port: 2, list: [9], creds: { pw: 'p2' }, only_b: 'x' }));
    const c = loadConfig([a, b], { env: {} });
    expect(c.value).toEqual({ host: 'a', port: 2, list: [9], creds: { user: 'u', pw: 'p2' }, only_a: true, only_b: 'x' });
    expect(c.file).toBe(b);
    expect(c.files).toEqual([a, b]);
    expect(c.sources!.get('/creds/user')!.file).toBe(a);
    expect(c.sources!.get('/creds/pw')!.file).toBe(b);
    expect(c.sources!.get('/list')!.file).toBe(b);
    expect(c.sources!.get('/host')!.file).toBe(a);
  });

  it('an error in the second file names the second file', () => {
    const dir = tmp();
    const a = put(dir, 'a.json', '{}');
    const b = put(dir, 'b.json', '{\n  "x": 1\n  "y": 2\n}');
    expect(() => loadConfig([a, b])).toThrow(/b\.json is not valid JSON: .* at line 3, column 3 \(under x\)$/);
  });
});

describe('formats', () => {
  it('JSON with comments and trailing commas, with a BOM; numbers lossless', () => {
    const dir = tmp();
    const f = put(dir, 'c.json', '\ufeff{\n  // the key\n  "key": "a//b /* not a comment */", /* block\n comment */\n  "big": 12345678901234567890123,\n  "list": [1, 2,],\n}\n');
    const c = loadConfig(f);
    expect(c.value['key']).toBe('a//b /* not a comment */');
    expect(c.value['big']).toBeInstanceOf(LosslessNumber);
    expect(stringifyLossless(c.value['big'])).toBe('12345678901234567890123');
    expect(c.value['list']).toEqual([1, 2]);
  });

  it('JSON errors keep line, column and key path, never the text (after comments too)', () => {
    const dir = tmp();
    const f = put(dir, 'c.json', '{\n  // comment\n  "a": 1,\n  "b": tru\n}\n');
    expect(() => loadConfig(f)).toThrow(/c\.json is not valid JSON: .* at line 4, column 8 \(under b\)$/);
  });

  it('YAML: by extension, big integers exact, floats kept, BOM accepted, comments ignored', () => {
    const dir = tmp();
    const f = put(dir, 'c.yaml', '\ufeff# settings\napi_key: "${KEY}"\nbig: 123456789012345678901234567890\nsmall: 42\nprecise: 0.1000000000000000000001\nnested:\n  list: [1, two, true, null]\n');
    const c = loadConfig(f, { env: { KEY: 'k1' } });
    expect(c.value['api_key']).toBe('k1');
    expect(stringifyLossless(c.value['big'])).toBe('123456789012345678901234567890');
    expect(c.value['small']).toBe(42);
    expect(stringifyLossless(c.value['precise'])).toBe('0.1000000000000000000001');
    expect(c.value['nested']).toEqual({ list: [1, 'two', true, null] });
  });

  it('YAML by content when the extension says nothing; JSON when it starts with {', () => {
    const dir = tmp();
    expect(loadConfig(put(dir, 'conf', 'a: 1\nb: x\n')).value).toEqual({ a: 1, b: 'x' });
    expect(loadConfig(put(dir, 'conf2', '// hi\n{"a": 1}')).value).toEqual({ a: 1 });
  });

  it('YAML errors name file, line and column, never the text', () => {
    const dir = tmp();
    const f = put(dir, 'c.yml', 'a: 1\nb: [1,\n c: d: e\n');
    expect(() => loadConfig(f)).toThrow(/c\.yml is not valid YAML: .* at line 3, column \d+ \(under b\.1\.c\)$/);
    expect(() => loadConfig(put(dir, 'list.yaml', '- 1\n- 2\n'))).toThrow(/must hold a YAML mapping/);
    expect(() => loadConfig(put(dir, 'dup.yaml', 'a: 1\na: 2\n'))).toThrow(/dup\.yaml is not valid YAML: .*at line 2/);
  });
});

describe('writeBackConfig', () => {
  it('writes only changed fields, each into the file it came from; new top-level fields into the last file', () => {
    const dir = tmp();
    const a = put(dir, 'a.json', '{\n    "client_id": "abc",\n    "refresh_token": "r1",\n    "creds": {"user": "u"}\n}\n', 0o600);
    const b = put(dir, 'b.yaml', '# overrides\nregion: eu # keep me\ncreds:\n  pw: p\n', 0o640);
    const loaded = loadConfig([a, b]);
    const updated = parseLossless(JSON.stringify({ ...loaded.value, refresh_token: 'r2', expires_at: '2030', region: 'us', creds: { user: 'u2', pw: 'p', extra: 1 } })) as any;
    // someone edits a.json meanwhile: kept
    writeFileSync(a, readFileSync(a, 'utf8').replace('"abc"', '"abc-edited"'));
    const r = writeBackConfig(loaded, updated);
    expect([...r].sort()).toEqual(['creds.extra', 'creds.user', 'expires_at', 'refresh_token', 'region']);
    expect(r.skipped).toEqual([]);
    expect(r.files).toEqual([a, b]);
    expect(readJson(a)).toEqual({ client_id: 'abc-edited', refresh_token: 'r2', creds: { user: 'u2' } });
    expect(readFileSync(a, 'utf8')).toContain('\n    "refresh_token"'); // indent kept
    const y = readFileSync(b, 'utf8');
    expect(y).toContain('# overrides');
    expect(y).toContain('region: us # keep me');
    expect(y).toMatch(/creds:\n  pw: p\n  extra: 1\n/);
    expect(y).toContain('expires_at: "2030"');
    expect(statSync(a).mode & 0o777).toBe(0o600);
    expect(statSync(b).mode & 0o777).toBe(0o640);
    noTemp(dir);
    expect(loadConfig([a, b]).value).toEqual({ ...(updated as object), client_id: 'abc-edited' });
    expect(loaded.value['refresh_token']).toBe('r2');
  });

  it('never replaces a ${VAR} placeholder: the field is reported as skipped, the file left alone', () => {
    const dir = tmp();
    const a = put(dir, 'a.json', '{"client_id": "abc", "refresh_token": "${REFRESH_TOKEN}", "url": "https://${HOST}/x"}\n', 0o600);
    const before = readFileSync(a, 'utf8');
    const loaded = loadConfig(a, { env: { REFRESH_TOKEN: 'the-secret-r1', HOST: 'h' } });
    const warned: string[] = [];
    const r = writeBackConfig(loaded, { client_id: 'abc', refresh_token: 'the-secret-r2', url: 'https://other/x', expires_at: 'later' }, { logger: { warn: (_o: object, m: string) => void warned.push(m) } });
    expect([...r]).toEqual(['expires_at']);
    expect(r.written).toEqual(['expires_at']);
    expect(r.skipped).toEqual([
      { field: 'refresh_token', pointer: '/refresh_token', file: a, variables: ['REFRESH_TOKEN'], reason: 'environment-placeholder' },
      { field: 'url', pointer: '/url', file: a, variables: ['HOST'], reason: 'environment-placeholder' },
    ]);
    const after = readFileSync(a, 'utf8');
    expect(JSON.parse(after)).toEqual({ ...JSON.parse(before), expires_at: 'later' });
    expect(after).not.toContain('the-secret');
    expect(warned).toHaveLength(1);
    expect(warned[0]).toContain('REFRESH_TOKEN');
    expect(warned[0]).not.toContain('the-secret');
    expect(describeSkipped(r.skipped)).toBe(warned[0]);
    expect(loaded.value['refresh_token']).toBe('the-secret-r2'); // used for the rest of the run
    expect(statSync(a).mode & 0o777).toBe(0o600);
  });

  it('a new value containing ${ is written escaped, so it reloads as the same literal', () => {
    const dir = tmp();
    const a = put(dir, 'a.yaml', 'k: v\n');
    const loaded = loadConfig(a, { env: {} });
    writeBackConfig(loaded, { k: 'x${NOT}y' });
    expect(loadConfig(a, { env: {} }).value).toEqual({ k: 'x${NOT}y' });
  });

  it('keeps a BOM and big integers in YAML; a deleted field leaves every file', () => {
    const dir = tmp();
    const a = put(dir, 'a.yml', '\ufeffbig: 123456789012345678901234567890\ngone: 1\n');
    const b = put(dir, 'b.json', '{"gone": 2, "x": 1}');
    const loaded = loadConfig([a, b]);
    const r = writeBackConfig(loaded, { big: loaded.value['big']!, x: new LosslessNumber('98765432109876543210') });
    expect([...r].sort()).toEqual(['gone', 'x']);
    const y = readFileSync(a, 'utf8');
    expect(y.startsWith('\ufeffbig: 123456789012345678901234567890\n')).toBe(true);
    expect(y).not.toContain('gone');
    expect(readFileSync(b, 'utf8')).toBe('{\n  "x": 98765432109876543210\n}\n');
  });

  it('does nothing when nothing changed, or without files', () => {
    const dir = tmp();
    const a = put(dir, 'a.json', '{ "a": 1 }');
    const loaded = loadConfig(a);
    expect([...writeBackConfig(loaded, { a: 1 })]).toEqual([]);
    expect(readFileSync(a, 'utf8')).toBe('{ "a": 1 }');
    const given = { value: { a: 1 } as any, file: undefined };
    expect([...writeBackConfig(given, { a: 2 })]).toEqual([]);
    expect(given.value.a).toBe(2);
  });
});

describe('CONTROL write-back through a read (library, several files)', () => {
  const control = [process.execPath, bad('control')];

  it('the rotated token goes to the file it came from, expires_at to the last file', async () => {
    const dir = tmp();
    const a = put(dir, 'base.json', '{\n  // credentials\n  "client_id": "abc",\n  "refresh_token": "r1"\n}\n', 0o600);
    const b = put(dir, 'local.yaml', '# local settings\nregion: eu\n', 0o640);
    const updates: string[][] = [];
    const r = await readWith(control, { configFile: [a, b], out: join(dir, 'out'), onConfigUpdate: (f) => updates.push(f) });
    expect(r.ok).toBe(true);
    expect(readJson(a)).toEqual({ client_id: 'abc', refresh_token: 'rotated-r1' });
    expect(readFileSync(b, 'utf8')).toBe('# local settings\nregion: eu\nexpires_at: 2030-01-01T00:00:00Z\n');
    expect(loadConfig([a, b]).value).toEqual({ client_id: 'abc', refresh_token: 'rotated-r1', region: 'eu', expires_at: '2030-01-01T00:00:00Z' });
    expect(updates.flat().sort()).toEqual(['expires_at', 'refresh_token']);
    expect(statSync(a).mode & 0o777).toBe(0o600);
    expect(statSync(b).mode & 0o777).toBe(0o640);
    noTemp(dir);
  });

  it('a refresh token from ${VAR} is not written back (and its value is in no file)', async () => {
    const dir = tmp();
    const a = put(dir, 'base.json', '{"client_id": "abc", "refresh_token": "${CH_TEST_REFRESH}"}', 0o600);
    const b = put(dir, 'local.json', '{"region": "eu"}');
    process.env['CH_TEST_REFRESH'] = 'Planted-Refresh-Secret';
    try {
      const r = await readWith(control, { configFile: [a, b], out: join(dir, 'out') });
      expect(r.ok).toBe(true);
    } finally {
      delete process.env['CH_TEST_REFRESH'];
    }
    expect(readFileSync(a, 'utf8')).toBe('{"client_id": "abc", "refresh_token": "${CH_TEST_REFRESH}"}');
    expect(readJson(b)).toEqual({ region: 'eu', expires_at: '2030-01-01T00:00:00Z' });
    for (const f of readdirSync(dir, { recursive: true }) as string[]) {
      const p = join(dir, f);
      if (statSync(p).isFile()) expect(readFileSync(p, 'utf8')).not.toContain('Planted-Refresh-Secret');
    }
    noTemp(dir);
  });
});

describe('CLI with two --config files', () => {
  it('merges them and writes back CONTROL changes into the right file', async () => {
    const dir = tmp();
    const a = put(dir, 'base.json', '{"client_id": "abc", "refresh_token": "r1"}', 0o600);
    const b = put(dir, 'local.yaml', 'region: eu\n');
    const r = await host(['read', '--config', a, '--config', b, '--out', join(dir, 'out'), '--', process.execPath, bad('control')]);
    expect(r.exitCode).toBe(0);
    expect(readJson(a)).toEqual({ client_id: 'abc', refresh_token: 'rotated-r1' });
    expect(readFileSync(b, 'utf8')).toBe('region: eu\nexpires_at: 2030-01-01T00:00:00Z\n');
    expect(logLines(r.stderr).join('\n')).toContain('updated its config');
    noTemp(dir);
  });
});
