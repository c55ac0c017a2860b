// Issue 10, item 1: `__proto__`, `constructor` and `prototype` keys in any JSON or YAML input
// are plain data. The host's own Object.prototype is never changed: a polluted host passes the
// inherited keys to every connector it starts (node's spawn walks the environment with for..in),
// which report.mjs records; NODE_OPTIONS=--require would run a file inside a Node connector.

import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { host, tmp, itemsCatalog, jsonLines, readJson, ROOT } from '../helpers.js';
import { reports, reporter, put, evilModule, hostile, type Report } from './helpers.js';

/** The value at a path of own keys (`__proto__` included), or undefined. */
function own(v: unknown, ...path: string[]): unknown {
  for (const k of path) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, k)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** What the `command` start of the fixture received (`field`: config, catalog or state), parsed, after checking that every start saw a clean host. */
function seen(rep: string, command: string, field: 'config' | 'catalog' | 'state' = 'config', min = 2): any {
  const list = reports(rep);
  expectClean(list, min);
  return JSON.parse(list.find((x) => x.command === command)![field]!);
}

/** Every start of the fixture saw a clean host: no inherited keys, no HOSTILE_* or NODE_OPTIONS variable. */
function expectClean(list: Report[], min = 1): void {
  expect(list.length).toBeGreaterThanOrEqual(min);
  for (const r of list) {
    expect(r.env).toEqual({});
    expect(r.protoKeys).toEqual([]);
  }
}

describe('prototype pollution: config files', () => {
  it('JSON: a top-level __proto__ (with NODE_OPTIONS) stays data and reaches the connector as data', async () => {
    const dir = tmp();
    const { module, marker } = evilModule(dir);
    const cfg = put(dir, 'c.json', `{"password":"pw","__proto__":{"HOSTILE_JSON":"json","NODE_OPTIONS":"--require ${module}"}}`);
    const rep = join(dir, 'report.jsonl');
    const r = await host(['check', '--config', cfg, '--', ...reporter(rep)]);
    expect(r.exitCode).toBe(0);
    expect(existsSync(marker)).toBe(false);
    expect(own(seen(rep, 'check'), '__proto__', 'HOSTILE_JSON')).toBe('json');
  });

  it('JSON with comments: top-level and nested __proto__, constructor.prototype and prototype keys', async () => {
    const dir = tmp();
    const cfg = put(dir, 'c.jsonc', '// hostile\n{\n  "password": "pw", /* keys */\n  "__proto__": {"HOSTILE_JSONC_TOP": "x"},\n  "a": {"__proto__": {"HOSTILE_JSONC": "x"}},\n  "constructor": {"prototype": {"HOSTILE_CTOR": "x"}},\n  "prototype": {"HOSTILE_P": "x"},\n}\n');
    const rep = join(dir, 'report.jsonl');
    const r = await host(['read', '--config', cfg, '--catalog', itemsCatalog(dir), '--', ...reporter(rep)]);
    expect(r.exitCode).toBe(0);
    const got = seen(rep, 'read');
    expect(own(got, '__proto__', 'HOSTILE_JSONC_TOP')).toBe('x');
    expect(own(got, 'a', '__proto__', 'HOSTILE_JSONC')).toBe('x');
    expect(own(got, 'constructor', 'prototype', 'HOSTILE_CTOR')).toBe('x');
    expect(own(got, 'prototype', 'HOSTILE_P')).toBe('x');
  });

  it('YAML: __proto__ at the top and nested', async () => {
    const dir = tmp();
    const cfg = put(dir, 'c.yaml', 'password: pw\n__proto__:\n  HOSTILE_YAML: yaml\nnested:\n  __proto__:\n    HOSTILE_YAML_NESTED: yaml\n');
    const rep = join(dir, 'report.jsonl');
    const r = await host(['check', '--config', cfg, '--', ...reporter(rep)]);
    expect(r.exitCode).toBe(0);
    const got = seen(rep, 'check');
    expect(own(got, '__proto__', 'HOSTILE_YAML')).toBe('yaml');
    expect(own(got, 'nested', '__proto__', 'HOSTILE_YAML_NESTED')).toBe('yaml');
  });

  it('layered --config: a later file merges __proto__ into an object of an earlier one', async () => {
    const dir = tmp();
    const a = put(dir, 'a.json', '{"password":"pw","a":{"k":1}}');
    const b = put(dir, 'b.yaml', 'a:\n  __proto__:\n    HOSTILE_LAYER: b\n__proto__:\n  HOSTILE_TOP: b\n');
    const rep = join(dir, 'report.jsonl');
    const r = await host(['check', '--config', a, '--config', b, '--', ...reporter(rep)]);
    expect(r.exitCode).toBe(0);
    const got = seen(rep, 'check');
    expect(got.a).toEqual(JSON.parse('{"k":1,"__proto__":{"HOSTILE_LAYER":"b"}}'));
  });

  it('${constructor} and ${__proto__} are unset variables, not Object.prototype members', async () => {
    const dir = tmp();
    const rep = join(dir, 'report.jsonl');
    for (const name of ['constructor', '__proto__', 'toString']) {
      const r = await host(['check', '--config', put(dir, 'c.json', `{"password":"\${${name}}"}`), '--', ...reporter(rep)]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain(`uses environment variable that is not set: \${${name}} (/password)`);
    }
    // with a default, the default is used
    const r = await host(['check', '--config', put(dir, 'd.json', '{"password":"${constructor:-fallback}"}'), '--', ...reporter(rep)]);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(reports(rep).find((x) => x.command === 'check')!.config!).password).toBe('fallback');
  });
});

describe('prototype pollution: registry', () => {
  const registry = (dir: string, name: string, text: string) => put(dir, name, text);

  it('YAML registry: default config with __proto__, and an env field path through __proto__', async () => {
    const dir = tmp();
    const rep = join(dir, 'report.jsonl');
    const reg = registry(
      dir,
      'connectors.yaml',
      [
        'connectors:',
        '  hostile:',
        `    ref: [${JSON.stringify(process.execPath)}, ${JSON.stringify(hostile('report'))}, --report, ${JSON.stringify(rep)}]`,
        '    config:',
        '      password: pw',
        '      __proto__:',
        '        HOSTILE_REGISTRY: default',
        '    env:',
        '      __proto__.HOSTILE_REGISTRY_ENV: HOSTILE_SOURCE_VAR',
        '      constructor.prototype.HOSTILE_CTOR: HOSTILE_SOURCE_VAR',
        '',
      ].join('\n'),
    );
    const r = await host(['check', 'hostile', '--registry', reg], { env: { HOSTILE_SOURCE_VAR: 'from-env' } });
    expect(r.exitCode).toBe(0);
    const list = reports(rep);
    // the one HOSTILE_ variable the test set is passed on as itself; nothing else
    for (const x of list) expect(x.env).toEqual({ HOSTILE_SOURCE_VAR: 'from-env' });
    for (const x of list) expect(x.protoKeys).toEqual([]);
    const got = JSON.parse(list.find((x) => x.command === 'check')!.config!);
    expect(own(got, '__proto__', 'HOSTILE_REGISTRY')).toBe('default');
    expect(own(got, '__proto__', 'HOSTILE_REGISTRY_ENV')).toBe('from-env');
    expect(own(got, 'constructor', 'prototype', 'HOSTILE_CTOR')).toBe('from-env');
  });

  it('JSON registry: default config with __proto__ merged under the user config; env naming __proto__ is unset', async () => {
    const dir = tmp();
    const rep = join(dir, 'report.jsonl');
    const reg = registry(
      dir,
      'connectors.json',
      `{"connectors":{"hostile":{"ref":${JSON.stringify([process.execPath, hostile('report'), '--report', rep])},"config":{"password":"pw","__proto__":{"HOSTILE_REGISTRY_JSON":"default"}}}}}`,
    );
    const user = put(dir, 'c.json', '{"__proto__":{"HOSTILE_USER":"user"}}');
    const r = await host(['check', 'hostile', '--registry', reg, '--config', user]);
    expect(r.exitCode).toBe(0);
    expect(seen(rep, 'check').__proto__).toEqual({ HOSTILE_REGISTRY_JSON: 'default', HOSTILE_USER: 'user' });
    const reg2 = registry(dir, 'r2.json', `{"connectors":{"hostile":{"ref":${JSON.stringify([process.execPath, hostile('report'), '--report', rep])},"env":{"password":"__proto__"}}}}`);
    const r2 = await host(['check', 'hostile', '--registry', reg2]);
    expect(r2.exitCode).toBe(2);
    expect(r2.stderr).toContain('takes config field password from the environment variable __proto__, which is not set');
  });
});

describe('prototype pollution: CONTROL config write-back', () => {
  it.each(['json', 'yaml'])('a CONTROL config with __proto__ and constructor is written back as data (%s), and the next run is clean', async (ext) => {
    const dir = tmp();
    const rep = join(dir, 'report.jsonl');
    const cfg = put(dir, `c.${ext}`, ext === 'json' ? '{"password":"pw"}' : 'password: pw\n');
    const r = await host(['check', '--config', cfg, '--', ...reporter(rep, '--control')]);
    expect(r.exitCode).toBe(0);
    expectClean(reports(rep), 2);
    const text = readFileSync(cfg, 'utf8');
    expect(text).toContain('HOSTILE_CONTROL');
    expect(text).toContain('HOSTILE_CTOR');
    // the rewritten file is loaded again: still data, still clean
    const r2 = await host(['check', '--config', cfg, '--', ...reporter(rep)]);
    expect(r2.exitCode).toBe(0);
    const list = reports(rep);
    expectClean(list, 4);
    const got = JSON.parse(list[list.length - 1]!.config!);
    expect(own(got, '__proto__', 'HOSTILE_CONTROL')).toBe('control');
    expect(own(got, 'constructor', 'prototype', 'HOSTILE_CTOR')).toBe('control');
  });
});

describe('prototype pollution: catalog, state, records', () => {
  it('a catalog whose schema has __proto__ and constructor properties reaches the connector whole', async () => {
    const dir = tmp();
    const rep = join(dir, 'report.jsonl');
    const cat = put(
      dir,
      'catalog.json',
      '{"streams":[{"stream":{"name":"items","json_schema":{"type":"object","properties":{"id":{"type":"integer"},"__proto__":{"type":"object","properties":{"HOSTILE_CATALOG":{"type":"string"}}},"constructor":{"type":"string"}}},"supported_sync_modes":["full_refresh","incremental"]},"sync_mode":"incremental","destination_sync_mode":"append","cursor_field":["id"]}]}',
    );
    const r = await host(['read', '--config', put(dir, 'c.json', '{"password":"pw"}'), '--catalog', cat, '--', ...reporter(rep)]);
    expect(r.exitCode).toBe(0);
    const props = seen(rep, 'read', 'catalog').streams[0].stream.json_schema.properties;
    expect(Object.keys(props)).toEqual(['id', '__proto__', 'constructor']);
  });

  it('a record with __proto__ is stored as data; a LEGACY state with __proto__ goes back to the connector whole', async () => {
    const dir = tmp();
    const rep = join(dir, 'report.jsonl');
    const out = join(dir, 'out');
    const state = put(dir, 'state.json', '{"__proto__":{"HOSTILE_STATE":"s"},"constructor":{"prototype":{"x":1}},"items":{"cursor":0}}');
    const r = await host(['read', '--config', put(dir, 'c.json', '{"password":"pw"}'), '--catalog', itemsCatalog(dir), '--out', out, '--state', state, '--', ...reporter(rep, '--proto-record')]);
    expect(r.exitCode).toBe(0);
    expect(seen(rep, 'read', 'state')).toEqual(JSON.parse('{"__proto__":{"HOSTILE_STATE":"s"},"constructor":{"prototype":{"x":1}},"items":{"cursor":0}}'));
    expect(readFileSync(join(out, 'items.jsonl'), 'utf8')).toContain('"__proto__":{"HOSTILE_RECORD":"record"}');
  });

  it('a host state file with __proto__ in a stream state passes it back whole', async () => {
    const dir = tmp();
    const rep = join(dir, 'report.jsonl');
    const state = put(dir, 'state.json', '{"connector_host_state":1,"kind":"STREAM","states":[{"type":"STREAM","stream":{"stream_descriptor":{"name":"items"},"stream_state":{"cursor":0,"__proto__":{"HOSTILE_S":"s"}}}}],"files":{},"committed_at":"2026-01-01T00:00:00Z"}');
    const r = await host(['read', '--config', put(dir, 'c.json', '{"password":"pw"}'), '--catalog', itemsCatalog(dir), '--state', state, '--', ...reporter(rep)]);
    expect(r.exitCode).toBe(0);
    expect(seen(rep, 'read', 'state')[0].stream.stream_state).toEqual(JSON.parse('{"cursor":0,"__proto__":{"HOSTILE_S":"s"}}'));
  });
});

describe('prototype pollution: host state file', () => {
  it('a files entry named __proto__ is read as data (not as the prototype of the map) and kept at the next commit', async () => {
    const dir = tmp();
    const rep = join(dir, 'report.jsonl');
    const out = join(dir, 'out');
    mkdirSync(out);
    put(out, 'state.json', '{"connector_host_state":1,"kind":"STREAM","states":[],"files":{"__proto__":{"bytes":0,"records":0,"mode":"append","stream":{"name":"ghost"}}},"committed_at":"2026-01-01T00:00:00Z"}');
    const r = await host(['read', '--config', put(dir, 'c.json', '{"password":"pw"}'), '--catalog', itemsCatalog(dir), '--out', out, '--', ...reporter(rep)]);
    expect(r.stderr).not.toContain('damaged');
    expect(r.exitCode).toBe(0);
    expectClean(reports(rep), 2);
    expect(Object.keys(readJson(join(out, 'state.json')).files).sort()).toEqual(['__proto__', 'items.jsonl']);
  });
});

describe('prototype pollution: Singer messages', () => {
  it('SCHEMA, RECORD and STATE with __proto__ / constructor keys: kept as data, the state back to the tap whole', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const tapReport = join(dir, 'tap.jsonl');
    const cfg = put(dir, 'c.json', '{}');
    const args = ['read', '--protocol', 'singer', '--config', cfg, '--out', out, '--', process.execPath, hostile('tap-proto')];
    const r = await host(args, { env: { HOSTILE_TAP_REPORT: tapReport } });
    expect(r.exitCode).toBe(0);
    const rec = jsonLines(join(out, 'items.jsonl'))[0]!;
    expect(Object.keys(rec)).toEqual(['id', '__proto__', 'constructor']);
    expect(rec['__proto__']).toEqual({ HOSTILE_SINGER: 'record' });
    const r2 = await host(args, { env: { HOSTILE_TAP_REPORT: tapReport } });
    expect(r2.exitCode).toBe(0);
    const received = readFileSync(tapReport, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string | null).filter((x) => x !== null);
    expect(JSON.parse(received[received.length - 1]!)).toEqual(JSON.parse('{"bookmarks":{"items":{"id":1}},"__proto__":{"HOSTILE_STATE":"state"}}'));
    expect(readJson(join(out, 'state.json')).states[0].data).toEqual(JSON.parse('{"bookmarks":{"items":{"id":1}},"__proto__":{"HOSTILE_STATE":"state"}}'));
  });
});

describe('prototype pollution: golden suites (host test)', () => {
  function suiteWith(files: Record<string, string>): string {
    const dir = tmp('ch-suite-');
    mkdirSync(join(dir, 'c'));
    for (const [name, text] of Object.entries({ 'config.json': '{"password":"pw"}', ...files })) writeFileSync(join(dir, 'c', name), text);
    return dir;
  }

  it('an ignored field through __proto__ in case.json masks data only, never Object.prototype', async () => {
    const rep = join(tmp(), 'report.jsonl');
    const suite = suiteWith({ 'case.json': '{"ignored_fields":{"items":[{"field":"__proto__.HOSTILE_GOLDEN","reason":"hostile"},{"field":"__proto__.toString","reason":"hostile"}]},"ignored_state_fields":[{"field":"__proto__.HOSTILE_GOLDEN_STATE","reason":"hostile"}]}' });
    const r = await host(['test', '--suite', suite, '--update', '--', ...reporter(rep)]);
    expect(r.exitCode).toBe(0);
    expectClean(reports(rep), 5); // spec, check, discover, read, and the incremental read after the masking
  });

  it('records with __proto__ keep it in the golden file, and a changed value under it is a difference', async () => {
    const rep = join(tmp(), 'report.jsonl');
    const suite = suiteWith({});
    const r = await host(['test', '--suite', suite, '--update', '--', ...reporter(rep, '--proto-record')]);
    expect(r.exitCode).toBe(0);
    const golden = readFileSync(join(suite, 'c', 'golden', 'read.jsonl'), 'utf8');
    expect(golden).toContain('"__proto__":{"HOSTILE_RECORD":"record"}');
    writeFileSync(join(suite, 'c', 'golden', 'read.jsonl'), golden.replace('"HOSTILE_RECORD":"record"', '"HOSTILE_RECORD":"changed"'));
    const again = await host(['test', '--suite', suite, '--', ...reporter(rep, '--proto-record')]);
    expect(again.exitCode).toBe(8);
    expect(again.stdout + again.stderr).toContain('/__proto__/HOSTILE_RECORD: expected "changed", got "record"');
    expectClean(reports(rep), 8);
  });
});



describe('prototype pollution: the library, without the CLI\u2019s defense', () => {
  // bin/host.js deletes Object.prototype.__proto__ (as node --disable-proto=delete would); a
  // program that embeds the library does not, so the same inputs go through the library here.
  it('check twice and a golden suite through the API: layered configs, CONTROL write-back and case.json keep __proto__ as data', async () => {
    const dir = tmp();
    const rep = join(dir, 'report.jsonl');
    const a = put(dir, 'a.json', '{"password":"pw","a":{"k":1},"__proto__":{"HOSTILE_LIB":"a"}}');
    const b = put(dir, 'b.yaml', 'a:\n  __proto__:\n    HOSTILE_LIB_NESTED: b\n');
    const suite = join(dir, 'suite');
    mkdirSync(join(suite, 'c'), { recursive: true });
    put(join(suite, 'c'), 'config.json', '{"password":"pw"}');
    put(join(suite, 'c'), 'case.json', '{"ignored_fields":{"items":[{"field":"__proto__.HOSTILE_GOLDEN","reason":"r"},{"field":"__proto__.HOSTILE_RECORD","reason":"r"}]},"ignored_state_fields":[{"field":"__proto__.HOSTILE_GOLDEN_STATE","reason":"r"}]}');
    const script = `
      const lib = await import(${JSON.stringify(join(ROOT, 'dist', 'index.js'))});
      const connector = ${JSON.stringify(reporter(rep, '--control'))};
      await lib.check(connector, { configFile: [${JSON.stringify(a)}, ${JSON.stringify(b)}] });
      await lib.check(connector, { configFile: [${JSON.stringify(a)}, ${JSON.stringify(b)}] });
      const testing = await import(${JSON.stringify(join(ROOT, 'dist', 'testing', 'index.js'))});
      await testing.runSuite(${JSON.stringify(reporter(rep, '--proto-record'))}, { suite: ${JSON.stringify(suite)}, update: true });
      const inherited = []; for (const k in {}) inherited.push(k);
      console.log(JSON.stringify({ inherited, proto: '__proto__' in Object.prototype }));`;
    const r = await execa(process.execPath, ['--input-type=module', '-e', script], { reject: false });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ inherited: [], proto: true });
    expectClean(reports(rep), 9);
    expect(readFileSync(join(suite, 'c', 'golden', 'read.jsonl'), 'utf8')).toContain('"__proto__":{"HOSTILE_RECORD":"<masked>"}');
    expect(readFileSync(b, 'utf8')).toContain('HOSTILE_CTOR'); // a new top-level field goes into the last file
  });
});
