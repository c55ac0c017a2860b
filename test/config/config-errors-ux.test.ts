// Issue 11, item 8: config errors that point at the fix. No config at all names the fields the
// spec requires; an unknown field is named with where it is (and a near miss suggested); a
// broken YAML file says file, line, column and what was expected in plain words, never quoting
// the file (a secret being typed there stays out of the message). Through the real CLI: check,
// read, run's destination config, a registry file and a golden suite's case config.

import { describe, it, expect } from 'vitest';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { host, tmp, bad, writeJson, EXAMPLE, FIX } from '../helpers.js';

const node = process.execPath;
const STRICT = bad('strict-spec');
const DEST = join(FIX, 'destinations', 'dest-jsonl.mjs');
const SECRET = 'tok-Sec7-Planted';

function put(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** A usage/config error: exit 2, one clear message, no stack trace, no secret. */
function expectClean(r: { exitCode: number; stdout: string; stderr: string }): void {
  expect(r.exitCode, r.stderr).toBe(2);
  expect(r.stdout + r.stderr).not.toContain(SECRET);
  expect(r.stdout + r.stderr).not.toContain('Sec7');
  expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  expect(r.stderr).not.toMatch(/: \n|: $/m); // no message ends in a bare ": "
}

describe.concurrent('no config given', () => {
  it('check and read: "no --config given" and the required fields (secret ones marked), not "/: must have required property"', async () => {
    const want = "host: no --config given; the connector's spec requires: token (secret), start_date. Write them into a JSON or YAML file and pass it with --config FILE (`host spec` shows every field)";
    const check = await host(['check', STRICT]);
    expectClean(check);
    expect(check.stderr).toBe(want);
    const read = await host(['read', STRICT, '--out', join(tmp(), 'out')]);
    expectClean(read);
    expect(read.stderr).toBe(want);
    const one = await host(['discover', EXAMPLE.node]);
    expectClean(one);
    expect(one.stderr).toContain("no --config given; the connector's spec requires: api_key (secret). Write it into");
    expect(one.stderr).not.toContain('must have required');
  });

  it('host run without --destination-config: the destination\u2019s required fields', async () => {
    const dir = tmp();
    const r = await host(['run', EXAMPLE.node, '--config', join(FIX, 'example', 'config.json'), '--destination', DEST, '--state', join(dir, 'state.json')]);
    expectClean(r);
    expect(r.stderr).toContain("no --destination-config given; the destination's spec requires: path. Write it into a JSON or YAML file and pass it with --destination-config FILE");
  });

  it('a config that is given but misses a field keeps the pointer form, with the file named', async () => {
    const dir = tmp();
    const f = writeJson(dir, 'c.json', { token: SECRET });
    const r = await host(['check', STRICT, '--config', f]);
    expectClean(r);
    expect(r.stderr).toBe(`host: the config ${f} does not match the connector's spec:\n  /: must have required property 'start_date'`);
  });
});

describe.concurrent('unknown fields', () => {
  it('names the field and where, with a near miss or the spec\u2019s fields there (check and read)', async () => {
    const dir = tmp();
    const f = writeJson(dir, 'c.json', { token: SECRET, start_date: '2024-01-01', strat_date: 'x', zzz: 1, credentials: { clientid: 'a', client_secret: SECRET } });
    for (const args of [['check', STRICT, '--config', f], ['read', STRICT, '--config', f, '--out', join(dir, 'out')]]) {
      const r = await host(args);
      expectClean(r);
      expect(r.stderr).toContain(`host: the config ${f} does not match the connector's spec:\n`);
      expect(r.stderr).toContain('  /strat_date: unknown field "strat_date": the spec allows no other fields at the top level (did you mean "start_date"?)\n');
      expect(r.stderr).toContain('  /zzz: unknown field "zzz": the spec allows no other fields at the top level; the spec\'s fields there: token, start_date, credentials\n');
      expect(r.stderr).toContain('  /credentials/clientid: unknown field "clientid": the spec allows no other fields under credentials (did you mean "client_id"?)');
      expect(r.stderr).not.toContain('must NOT have additional properties');
    }
  });

  it('a key that holds a secret value (pasted into the wrong place) is masked', async () => {
    const dir = tmp();
    const f = writeJson(dir, 'c.json', { token: SECRET, start_date: '2024', credentials: { [SECRET]: 'x' } });
    const r = await host(['check', STRICT, '--config', f]);
    expectClean(r);
    expect(r.stderr).toContain('/credentials/**********: unknown field "**********": the spec allows no other fields under credentials');
  });

  it('a golden suite\u2019s case config: the same words in the spec.config_valid check', async () => {
    const suite = tmp();
    mkdirSync(join(suite, 'c1'));
    writeJson(join(suite, 'c1'), 'config.json', { token: SECRET, start_date: '2024', strat_date: 'x' });
    const r = await host(['test', STRICT, '--suite', suite, '--update']);
    expect(r.exitCode).toBe(8);
    expect(r.stdout).toContain('check spec.config_valid failed: the case\'s config does not match the spec: /strat_date: unknown field "strat_date": the spec allows no other fields at the top level (did you mean "start_date"?)');
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });
});

// [file name, text, the words expected, line, column]: the secret sits where the syntax breaks
const YAML_CASES: [string, string, RegExp, number][] = [
  ['dq.yaml', `start_date: x\ntoken: "${SECRET}\nother: 1\n`, /an unclosed double quote \(a " without its closing "\)/, 4],
  ['sq.yaml', `start_date: x\ntoken: '${SECRET}\n`, /an unclosed single quote/, 3],
  ['nocolon.yaml', `start_date: x\n${SECRET}\n`, /expected a mapping value: a key without ":" \(write key: value\)/, 2],
  ['nocolon2.yaml', `start_date: x\n${SECRET}\nother: 1\n`, /expected a mapping value: a line without ":"/, 2],
  ['indent.yaml', `credentials:\n  client_id: a\n client_secret: ${SECRET}\n`, /bad indentation: the keys of one mapping must start at the same column/, 3],
  ['nested.yaml', `start_date: x\ntoken: ${SECRET}: rest\n`, /a value that reads as a nested mapping: quote a value that holds ": "/, 2],
  ['tab.yaml', `credentials:\n\tclient_secret: ${SECRET}\n`, /a tab used as indentation \(indent with spaces\)/, 2],
  ['bracket.yaml', `token: [${SECRET}, 2\nstart_date: x\n`, /an unclosed bracket/, 2],
  ['escape.yaml', `token: "${SECRET}\\q"\n`, /an invalid escape sequence in a double-quoted string/, 1],
];

describe.concurrent('broken YAML', () => {
  it.each(YAML_CASES)('%s: file, line, column and what was expected; none of its text', async (name, text, words, line) => {
    const dir = tmp();
    const f = put(dir, name, text);
    const r = await host(['check', STRICT, '--config', f]);
    expectClean(r);
    expect(r.stderr).toMatch(new RegExp(`^host: the config file ${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not valid YAML: `));
    expect(r.stderr).toMatch(words);
    expect(r.stderr).toMatch(new RegExp(`at line ${line}, column \\d+( \\(under [\\w.]+\\))?$`));
  });

  it('the same through read, a destination config and a registry file', async () => {
    const dir = tmp();
    const cfg = put(dir, 'c.yaml', `start_date: x\ntoken: "${SECRET}\n`);
    const read = await host(['read', STRICT, '--config', cfg, '--out', join(dir, 'out')]);
    expectClean(read);
    expect(read.stderr).toMatch(/c\.yaml is not valid YAML: an unclosed double quote .* at line 3, column \d+/);

    const dc = put(dir, 'd.yaml', `path: ${join(dir, 'o')}\napi_key: ${SECRET}: x\n`);
    const run = await host(['run', EXAMPLE.node, '--config', join(FIX, 'example', 'config.json'), '--destination', DEST, '--destination-config', dc, '--state', join(dir, 'state.json')]);
    expectClean(run);
    expect(run.stderr).toMatch(/d\.yaml is not valid YAML: a value that reads as a nested mapping: .* at line 2, column \d+ \(under api_key\)/);

    const reg = put(dir, 'connectors.yaml', `connectors:\n  x:\n    ref: ${STRICT}\n    config:\n      token: '${SECRET}\n`);
    const r = await host(['check', 'x', '--registry', reg]);
    expectClean(r);
    expect(r.stderr).toMatch(/the registry file .*connectors\.yaml is not valid YAML: an unclosed single quote .* at line 6, column \d+/);
  });

  it('a registry entry with default config still needs the required rest: named as missing', async () => {
    const dir = tmp();
    const reg = put(dir, 'connectors.yaml', `connectors:\n  x:\n    ref: ${STRICT}\n    config:\n      start_date: "2024-01-01"\n`);
    const r = await host(['check', 'x', '--registry', reg]);
    expectClean(r);
    expect(r.stderr).toContain("no --config given; the connector's spec requires: token (secret).");
  });
});
