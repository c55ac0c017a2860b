// Issue 10, item 2: an error about a config file (JSON, JSON with comments, YAML, layered, a
// destination's config, a registry file) names the file, line, column and key path, never any of
// its text: the text around a syntax error is usually the secret being typed. Catalog and state
// files follow the same rule (a state may hold a connector's tokens; one rule misses nothing).

import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { host, tmp, itemsCatalog, FIX } from '../helpers.js';
import { put, reporter } from './helpers.js';

const SECRET = 'Zx9-SECRET-q7';
const DEST = join(FIX, 'destinations', 'dest-jsonl.mjs');

/** A clear one-line error (no stack trace) that names the file and position and holds no secret text. */
function expectClean(r: { exitCode: number; stderr: string; stdout: string }, file: string, where: RegExp, exitCode = 2): void {
  expect(r.exitCode).toBe(exitCode);
  expect(r.stderr + r.stdout).not.toContain('SECRET');
  expect(r.stderr + r.stdout).not.toContain('Zx9');
  expect(r.stderr).toContain(file);
  expect(r.stderr).toMatch(where);
  expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/); // no stack trace
}

describe('config syntax errors never show the file\u2019s text', () => {
  const check = (dir: string, ...configs: string[]) => host(['check', ...configs.flatMap((c) => ['--config', c]), '--', ...reporter(join(dir, 'r.jsonl'))]);

  it('JSON: a missing comma after the secret', async () => {
    const dir = tmp();
    const f = put(dir, 'c.json', `{"user": "me",\n "credentials": {"api_key": "${SECRET}" "region": "eu"}}`);
    expectClean(await check(dir, f), f, /is not valid JSON: expected ',' or '}' at line 2, column \d+ \(under credentials\.api_key\)/);
  });

  it('JSON: an unterminated string, a bad escape and a stray character inside the secret', async () => {
    const dir = tmp();
    for (const [name, text] of [
      ['unterminated.json', `{"password": "${SECRET}}`],
      ['escape.json', `{"password": "${SECRET}\\q"}`],
      ['stray.json', `{"password": "Zx9"SECRET"}`],
    ] as const) {
      const f = put(dir, name, text);
      expectClean(await check(dir, f), f, /is not valid JSON: .* at line 1, column \d+/);
    }
  });

  it('JSON with comments and trailing commas: the error after a comment', async () => {
    const dir = tmp();
    const f = put(dir, 'c.jsonc', `// my settings\n{\n  "password": "${SECRET}", /* rotate monthly */\n  "port": 54 32,\n}\n`);
    expectClean(await check(dir, f), f, /is not valid JSON: .* at line 4, column \d+ \(under port\)/);
  });

  it('YAML: a bad escape in the secret, a broken mapping under it, a tab', async () => {
    const dir = tmp();
    for (const [name, text, where] of [
      ['escape.yaml', `user: me\ncredentials:\n  api_key: "${SECRET}\\q"\n`, /is not valid YAML: an invalid escape sequence .* at line 3, column \d+ \(under credentials\.api_key\)/],
      ['mapping.yaml', `user: me\ncredentials:\n  token: ${SECRET}\n   extra: [x\n`, /is not valid YAML: .* at line \d+, column \d+/],
      ['quote.yml', `password: "${SECRET}\nuser: me\n`, /is not valid YAML: .* at line \d+, column \d+/],
    ] as const) {
      const f = put(dir, name, text);
      expectClean(await check(dir, f), f, where);
    }
  });

  it('layered --config: the error names the second file', async () => {
    const dir = tmp();
    const a = put(dir, 'a.json', '{"user":"me"}');
    const b = put(dir, 'b.yaml', `password: "${SECRET}\\q"\nuser: me\n`);
    expectClean(await check(dir, a, b), b, /b\.yaml is not valid YAML/);
  });

  it('a "${" in a password that is not a variable reference is named by field, never quoted', async () => {
    const dir = tmp();
    for (const pw of [`ab\${${SECRET}}cd`, `ab\${Zx9 SECRET}`, `Zx9\${SECRET`]) {
      const f = put(dir, 'c.json', JSON.stringify({ credentials: { password: pw } }));
      const r = await check(dir, f);
      expectClean(r, f, /field \/credentials\/password: a "\$\{"/);
      expect(r.stderr).toContain('write "$${" for a literal');
    }
  });

  it('a destination config (host run --destination-config), JSON and YAML', async () => {
    const dir = tmp();
    for (const [name, text] of [
      ['d.json', `{"path": "${dir}", "api_key": "${SECRET}" }}`],
      ['d.yaml', `path: ${dir}\napi_key: "${SECRET}\\x"\n`],
    ] as const) {
      const f = put(dir, name, text);
      const r = await host(['run', '--config', put(dir, 's.json', '{"password":"pw"}'), '--destination', DEST, '--destination-config', f, '--state', join(dir, 'state.json'), '--', ...reporter(join(dir, 'r.jsonl'))]);
      expectClean(r, f, /is not valid (JSON|YAML): .* at line \d+, column \d+/);
    }
  });

  it('a registry file (it holds default config)', async () => {
    const dir = tmp();
    for (const [name, text] of [
      ['connectors.yaml', `connectors:\n  x:\n    ref: ./x.mjs\n    config:\n      password: "${SECRET}\\q"\n`],
      ['connectors.json', `{"connectors": {"x": {"ref": "./x.mjs", "config": {"password": "${SECRET}" "a": 1}}}}`],
    ] as const) {
      const f = put(dir, name, text);
      const r = await host(['check', 'x', '--registry', f]);
      expectClean(r, f, /the registry file .* is not valid (JSON|YAML): .* at line \d+, column \d+ \(under connectors\.x\.config/);
    }
  });

  it('catalog and state files: position and key path, no text either', async () => {
    const dir = tmp();
    const cfg = put(dir, 'c.json', '{"password":"pw"}');
    const cat = put(dir, 'catalog.json', `{"streams": [{"stream": {"name": "items", "description": "${SECRET}" "x": 1}}]}`);
    expectClean(await host(['read', '--config', cfg, '--catalog', cat, '--', ...reporter(join(dir, 'r.jsonl'))]), cat, /is not valid JSON: .* at line 1, column \d+ \(under streams\.0\.stream\.description\)/);
    const state = put(dir, 'state.json', `{"token": "${SECRET}" "cursor": 3}`);
    expectClean(await host(['read', '--config', cfg, '--catalog', itemsCatalog(dir), '--state', state, '--', ...reporter(join(dir, 'r.jsonl'))]), state, /is not valid JSON: .* at line 1, column \d+/, 6);
  });
});
