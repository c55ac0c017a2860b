// `--config-uri custom://NAME?k=v&...` (issue 12): parameters typed by the connector's spec,
// merged over --config files, secrets masked, NAME picking the kit object; hostile input.
// The source (fixtures/connectors/kit-refs/echo_config.py) emits the config it got as a record.

import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { host, tmp, FIX, writeJson, EXAMPLE } from '../helpers.js';
import { parseConfigUri, MAX_URI_LENGTH } from '../../dist/config/config-uri.js';

const K = join(FIX, 'kit-refs');
const ECHO = join(K, 'echo_config.py');
const OBJECTS = join(K, 'objects.mjs');

/** The raw text of the `config` record's data (the connector's own JSON, byte-exact). */
function configText(stdout: string): string {
  const line = stdout.split('\n').find((l) => l.includes('"RECORD"'));
  if (!line) throw new Error(`no record in: ${stdout}`);
  return line;
}
const configOf = (stdout: string) => (JSON.parse(configText(stdout)) as { record: { data: Record<string, unknown> } }).record.data;

const read = (uri: string, extra: string[] = [], connector = ECHO) => host(['read', connector, '--config-uri', uri, ...extra]);

describe('--config-uri: values typed by the spec', () => {
  it('integer, number, boolean, arrays, nested keys, strings; + and percent-escapes decoded', async () => {
    const r = await read('custom://?count=12&ratio=-0.25&enabled=yes&tags=a&tags=b+c&ids=1&ids=%2B2&start=2024-01-01T00%3A00%3A00Z&db.host=h%C3%A9&db.port=5432&maybe=null&free=x%26y%3Dz');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(configOf(r.stdout)).toEqual({
      count: 12,
      ratio: -0.25,
      enabled: true,
      tags: ['a', 'b c'],
      ids: [1, 2],
      start: '2024-01-01T00:00:00Z',
      db: { host: 'hé', port: 5432 },
      maybe: null,
      free: 'x&y=z', // not in the spec: a string
    });
  });

  it('booleans: true/false/1/0/yes/no/on/off in any case, and a bare key is true', async () => {
    for (const [v, want] of [['TRUE', true], ['0', false], ['No', false], ['on', true], ['off', false]] as const) {
      const r = await read(`custom://?enabled=${v}`);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(configOf(r.stdout)['enabled'], v).toBe(want);
    }
    const bare = await read('custom://?enabled');
    expect(configOf(bare.stdout)['enabled']).toBe(true);
  });

  it('integers beyond 2^53 reach the connector exact (as in a config file)', async () => {
    const r = await read('custom://?count=9007199254740993&ids=18446744073709551617&ratio=9007199254740993');
    expect(r.exitCode, r.stderr).toBe(0);
    const text = configText(r.stdout);
    expect(text).toContain('"count": 9007199254740993');
    expect(text).toContain('"ids": [18446744073709551617]');
    expect(text).toContain('"ratio": 9007199254740993');
  });

  it('one value for an array field is a one-item array; a repeated key outside the spec is an array of strings', async () => {
    const r = await read('custom://?tags=only&extra=1&extra=2');
    expect(configOf(r.stdout)).toEqual({ tags: ['only'], extra: ['1', '2'] });
  });

  it('merged over --config files: nested objects merge, the URI wins', async () => {
    const d = tmp('ch-uri-');
    const base = writeJson(d, 'base.json', { count: 1, start: 'from-file', db: { host: 'file-host', port: 1 } });
    const r = await read('custom://?count=2&db.port=3', ['--config', base]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(configOf(r.stdout)).toEqual({ count: 2, start: 'from-file', db: { host: 'file-host', port: 3 } });
  });

  it('any scheme, with or without //; an empty query is an empty config', async () => {
    for (const uri of ['source://?count=3', 'custom:?count=3', 'CUSTOM://?count=3']) {
      const r = await read(uri);
      expect(r.exitCode, `${uri}: ${r.stderr}`).toBe(0);
      expect(configOf(r.stdout)).toEqual({ count: 3 });
    }
    const empty = await read('custom://');
    expect(configOf(empty.stdout)).toEqual({});
  });

  it('host run takes it for the source (into --out)', async () => {
    const d = tmp('ch-uri-');
    const r = await host(['run', ECHO, '--config-uri', 'custom://?count=5&tags=x', '--out', join(d, 'out')]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(d, 'out', 'config.jsonl'), 'utf8').trim())).toEqual({ count: 5, tags: ['x'] });
  });

  it('check, discover and catalog take it too (the spec still validates the result)', async () => {
    expect((await host(['check', ECHO, '--config-uri', 'custom://?count=1'])).exitCode).toBe(0);
    const disc = await host(['discover', ECHO, '--config-uri', 'custom://?count=1']);
    expect(disc.exitCode, disc.stderr).toBe(0);
    expect(disc.stdout).toContain('"CATALOG"');
    const cat = await host(['catalog', ECHO, '--config-uri', 'custom://?count=1']);
    expect(cat.exitCode, cat.stderr).toBe(0);
    // the example source requires api_key: a URI without it fails validation like a file would
    const v = await host(['check', EXAMPLE.python, '--config-uri', 'custom://?event_count=3']);
    expect(v.exitCode).toBe(2);
    expect(v.stderr).toContain('api_key');
  });
});

describe('--config-uri: errors name the parameter, never the value', () => {
  const cases: [string, RegExp][] = [
    ['custom://?count=hunter2-secret', /the parameter count is an integer in the connector's spec, and its value is not/],
    ['custom://?ratio=hunter2-secret', /the parameter ratio is a number/],
    ['custom://?enabled=hunter2-secret', /the parameter enabled is a boolean .* \(a boolean is true, false, 1, 0, yes, no, on or off\)/],
    ['custom://?ids=1&ids=hunter2-secret', /the parameter ids is an integer/],
    ['custom://?count=1&count=2', /the parameter count is given 2 times, but it is an integer, not an array/],
    ['custom://?db=hunter2-secret', /the parameter db is an object in the connector's spec: give its fields as db\.FIELD=\.\.\./],
    ['custom://?x=hunter2-secret&x.y=1', /the parameters x and x\.y both set x/],
    ['custom://?x.y=1&x=hunter2-secret', /the parameters x and x\.y both set x/],
    ['custom://?count', /the parameter count needs a value \(count=\.\.\.\): it is an integer/],
    ['custom://?api_key=%E0%A4%Ahunter2-secret', /the parameter api_key has a malformed percent-escape/],
    ['custom://?=hunter2-secret', /a parameter has no name/],
    ['custom://?a..b=hunter2-secret', /the parameter "a\.\.b" has an empty part between dots/],
    ['custom://?count=1#hunter2-secret', /'#' fragment/],
    ['count=hunter2-secret', /give SCHEME:\/\/NAME\?key=value/],
    ['custom://a/b?x=hunter2-secret', /the NAME "a\/b" contains '\/'/],
    ['custom://a%0Ab?x=hunter2-secret', /the NAME contains a control character/],
  ];
  for (const [uri, want] of cases) {
    it(uri, async () => {
      const r = await read(uri);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(want);
      expect(r.stderr).toContain('--config-uri');
      expect(r.stderr).not.toContain('hunter2');
      expect(r.stdout).toBe('');
    });
  }

  it('given twice: a usage error', async () => {
    const r = await host(['read', ECHO, '--config-uri', 'custom://?count=1', '--config-uri', 'custom://?count=2']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--config-uri is given more than once');
  });
});

describe('--config-uri: secrets', () => {
  it('a secret field from the URI is masked in the connector\'s LOG messages and stderr', async () => {
    const r = await read('custom://?api_key=s3cr%26t-Value', ['--log-level', 'info']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('api_key is **********');
    expect(r.stderr).not.toContain('s3cr&t-Value');
    expect(r.stderr).not.toContain('s3cr%26t-Value');
    // the record is data, passed through as the connector wrote it
    expect(configOf(r.stdout)['api_key']).toBe('s3cr&t-Value');
  });

  it('a validation error about a URI secret does not show it', async () => {
    const r = await host(['check', EXAMPLE.python, '--config-uri', 'custom://?api_key=1234567&event_count=hunter2']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).not.toContain('1234567');
    expect(r.stderr).not.toContain('hunter2');
  });
});

describe('--config-uri: hostile keys and sizes', () => {
  it('__proto__, constructor, prototype and Object.prototype names are plain data (typed as untyped strings)', async () => {
    const r = await read('custom://?__proto__.polluted=1&constructor=c&prototype.x=2&hasOwnProperty=3&toString.y=4&db.__proto__=5');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(configOf(r.stdout)).toEqual({
      ['__proto__']: { polluted: '1' },
      constructor: 'c',
      prototype: { x: '2' },
      hasOwnProperty: '3',
      toString: { y: '4' },
      db: { ['__proto__']: '5' },
    });
    expect(configText(r.stdout)).toContain('"__proto__": {"polluted": "1"}');
  });

  it('a long query (100 KB value, 2000 parameters) works', async () => {
    const big = 'x'.repeat(100_000);
    const r = await read(`custom://?start=${big}`);
    expect(r.exitCode, r.stderr.slice(0, 500)).toBe(0);
    expect(configOf(r.stdout)['start']).toBe(big);
    const many = Array.from({ length: 2000 }, (_, i) => `k${i}=${i}`).join('&');
    const m = await read(`custom://?${many}`);
    expect(m.exitCode, m.stderr.slice(0, 500)).toBe(0);
    expect(Object.keys(configOf(m.stdout))).toHaveLength(2000);
  });

  it('too many parameters, too deep a key: usage errors, no crash', async () => {
    const tooMany = Array.from({ length: 10_001 }, () => 'a=1').join('&');
    const r = await read(`custom://?${tooMany}`);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('10001 parameters; at most 10000');
    const deep = await read(`custom://?${Array.from({ length: 5000 }, () => 'a').join('.')}=1`);
    expect(deep.exitCode).toBe(2);
    expect(deep.stderr).toContain('nests 5000 levels deep; at most 32');
    expect(deep.stderr.length).toBeLessThan(1000);
  });

  it('a URI beyond the size limit is refused before anything is parsed (library API)', () => {
    expect(() => parseConfigUri(`custom://?a=${'x'.repeat(MAX_URI_LENGTH)}`)).toThrow(/at most 1048576 are accepted/);
  });
});

describe('--config-uri NAME picks the kit object', () => {
  it('a module with several objects: NAME selects one (percent-escapes decoded)', async () => {
    const u = await read('custom://users', [], OBJECTS);
    expect(u.exitCode, u.stderr).toBe(0);
    expect(u.stdout).toContain('"stream":"users"');
    const o = await read('custom://ord%65rs?x=1', [], OBJECTS);
    expect(o.exitCode, o.stderr).toBe(0);
    expect(o.stdout).toContain('"stream":"orders"');
  });

  it('the same NAME as the reference\'s :NAME is fine; a different one is a usage error', async () => {
    expect((await read('custom://users', [], `${OBJECTS}:users`)).exitCode).toBe(0);
    const r = await read('custom://orders', [], `${OBJECTS}:users`);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('names the object "users", but --config-uri names "orders"');
  });

  it('no NAME: the module\'s own choice (several objects: the kit asks to name one)', async () => {
    const r = await read('custom://?x=1', [], OBJECTS);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('exports several kit definitions');
  });

  it('a NAME that is not there: the kit says what the module has', async () => {
    const r = await read('custom://Nope', [], OBJECTS);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('has no export named "Nope"; it exports: orders (source), users (source)');
  });

  it('for a connector that is no kit file (a .sh script) the NAME is only a label', async () => {
    const r = await host(['check', EXAMPLE.sh, '--config-uri', 'custom://Whatever?api_key=k-123&event_count=2']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCEEDED');
  });
});
