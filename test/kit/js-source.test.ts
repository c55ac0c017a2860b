// The TypeScript/JavaScript kit as a source, through the real CLI (`host read ./x.mjs` routes a
// kit file through dist/kit/run.js): spec, check, discover (declared and inferred schemas), read
// with per-stream state and resume, ESTIMATE/STREAM_STATUS/LOG, a .ts source through tsx, a
// file outside the package importing 'connector-host/kit', and a plain script through the runner.

import { describe, it, expect } from 'vitest';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { host, tmp, FIX, ROOT, EXAMPLE, jsonLines, readJson, writeJson, streamState } from '../helpers.js';
import { kitCommand, KIT_RUNNER } from '../../dist/kit/command.js';

const KIT = join(FIX, 'kit-js');
const STATIC = join(KIT, 'static.mjs');
const INCREMENTAL = join(KIT, 'incremental.mjs');
const TYPED = join(KIT, 'typed.ts');

const messages = (stdout: string) => stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);

/** Run a kit file through the runner directly (the protocol as another platform would see it). */
async function runKit(file: string, args: string[], opts: { input?: string } = {}) {
  const c = kitCommand(file);
  const r = await execa(c.command, [...c.args, ...args], { reject: false, input: opts.input ?? '' });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

describe('kit-js sources: spec, check, discover', () => {
  it('spec wraps a bare JSON Schema as connectionSpecification', async () => {
    const r = await host(['spec', STATIC]);
    expect(r.exitCode).toBe(0);
    const spec = JSON.parse(r.stdout).spec;
    expect(spec.connectionSpecification.required).toEqual(['api_key']);
    expect(spec.connectionSpecification.properties.api_key.airbyte_secret).toBe(true);
  });

  it('check without a check() succeeds; discover gives sync modes, keys, cursors and marks an inferred schema', async () => {
    const dir = tmp();
    const config = writeJson(dir, 'config.json', { api_key: 'k-1234' });
    const check = await host(['check', STATIC, '--config', config]);
    expect(check.exitCode).toBe(0);
    const d = await host(['discover', INCREMENTAL, '--config', config]);
    expect(d.exitCode).toBe(0);
    const cat = JSON.parse(d.stdout).catalog;
    const events = cat.streams.find((s: any) => s.name === 'events');
    expect(events).toMatchObject({ supported_sync_modes: ['full_refresh', 'incremental'], source_defined_cursor: true, default_cursor_field: ['id'], source_defined_primary_key: [['id']] });
    expect(events.json_schema['x-connector-host-inferred']).toBeUndefined();
    const s = await host(['discover', STATIC, '--config', config]);
    const colors = JSON.parse(s.stdout).catalog.streams.find((x: any) => x.name === 'colors');
    // writeDisposition replace: full refresh only; schema inferred from the records (config default colors: 3)
    expect(colors.supported_sync_modes).toEqual(['full_refresh']);
    expect(colors.json_schema).toEqual({
      type: 'object',
      properties: { id: { type: 'integer' }, color: { type: 'string' } },
      description: 'inferred by connector_host from the first 3 records',
      'x-connector-host-inferred': true,
    });
  });

  it('the raw protocol: STREAM_STATUS around each stream, ESTIMATE from estimate(), LOG from log(), one STATE per page', async () => {
    const dir = tmp();
    const config = writeJson(dir, 'config.json', { count: 7, page_size: 3 });
    const r = await runKit(INCREMENTAL, ['read', '--config', config]);
    expect(r.exitCode).toBe(0);
    const m = messages(r.stdout);
    const events = m.filter((x) => x.record?.stream === 'events' || x.state?.stream?.stream_descriptor?.name === 'events' || x.trace?.stream_status?.stream_descriptor?.name === 'events' || x.trace?.estimate?.name === 'events' || x.type === 'LOG');
    const shape = events.map((x) => (x.type === 'TRACE' ? `${x.trace.type}${x.trace.stream_status ? ':' + x.trace.stream_status.status : ''}` : x.type === 'STATE' ? `STATE:${x.state.stream.stream_state.id}` : x.type));
    expect(shape).toEqual(['STREAM_STATUS:STARTED', 'ESTIMATE', 'LOG', 'STREAM_STATUS:RUNNING', 'RECORD', 'RECORD', 'RECORD', 'STATE:3', 'RECORD', 'RECORD', 'RECORD', 'STATE:6', 'RECORD', 'STATE:7', 'STREAM_STATUS:COMPLETE']);
    expect(m.find((x) => x.trace?.type === 'ESTIMATE').trace.estimate).toEqual({ name: 'events', type: 'STREAM', row_estimate: 7 });
    expect(m.find((x) => x.type === 'LOG').log).toEqual({ level: 'INFO', message: 'events from id 1' });
    for (const x of m.filter((y) => y.type === 'RECORD')) expect(typeof x.record.emitted_at).toBe('number');
  });
});

describe('kit-js sources: streams from the config', () => {
  it('streams as a function of the config: discover and read follow config.tables', async () => {
    const dir = tmp();
    const file = join(KIT, 'dynamic-streams.mjs');
    const config = writeJson(dir, 'config.json', { tables: ['alpha', 'beta'], rows: 3 });
    const d = await host(['discover', file, '--config', config]);
    expect(d.exitCode).toBe(0);
    const cat = JSON.parse(d.stdout).catalog;
    expect(cat.streams.map((s: any) => [s.name, s.json_schema['x-connector-host-inferred']])).toEqual([
      ['alpha', true],
      ['beta', true],
    ]);
    const out = join(dir, 'out');
    const r = await host(['read', file, '--config', config, '--out', out, '--progress', 'off']);
    expect(r.exitCode).toBe(0);
    expect(jsonLines(join(out, 'beta.jsonl'))).toEqual([1, 2, 3].map((id) => ({ id, table: 'beta' })));
  });
});

describe('kit-js sources: read and resume', () => {
  it('host read --out of the static source: both streams, no state (full refresh, nothing kept)', async () => {
    const dir = tmp();
    const config = writeJson(dir, 'config.json', { api_key: 'k-1234', colors: 2 });
    const out = join(dir, 'out');
    const r = await host(['read', STATIC, '--config', config, '--out', out, '--progress', 'off']);
    expect(r.exitCode).toBe(0);
    expect(jsonLines(join(out, 'users.jsonl')).map((u) => u['name'])).toEqual(['Ada Lovelace', 'Zoë Ångström', '李雷']);
    expect(jsonLines(join(out, 'colors.jsonl'))).toEqual([
      { id: 1, color: 'red' },
      { id: 2, color: 'green' },
    ]);
    expect(readJson(join(out, 'state.json')).states).toEqual([]);
  });

  it('an incremental source resumes from its state: the kit keeps the cursor max, an author-set state wins', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const first = await host(['read', INCREMENTAL, '--config', writeJson(dir, 'c1.json', { count: 5 }), '--out', out, '--progress', 'off']);
    expect(first.stderr).not.toMatch(/error/i);
    expect(first.exitCode).toBe(0);
    expect(streamState(join(out, 'state.json'), 'events')).toEqual({ id: 5 });
    // pages: cursor `page`, but read() set state.page (next page) itself: 3, not the max seen (2)
    expect(streamState(join(out, 'state.json'), 'pages')).toEqual({ page: 3 });
    const second = await host(['read', INCREMENTAL, '--config', writeJson(dir, 'c2.json', { count: 9 }), '--out', out, '--progress', 'off']);
    expect(second.stderr).not.toMatch(/error/i);
    expect(second.exitCode).toBe(0);
    expect(jsonLines(join(out, 'events.jsonl')).map((e) => e['id'])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(jsonLines(join(out, 'pages.jsonl')).map((e) => e['page'])).toEqual([1, 2, 3, 4]);
    expect(streamState(join(out, 'state.json'), 'events')).toEqual({ id: 9 });
    expect(streamState(join(out, 'state.json'), 'pages')).toEqual({ page: 5 });
  });

  it('the configured catalog selects streams; full_refresh ignores the stored state', async () => {
    const dir = tmp();
    const config = writeJson(dir, 'config.json', { count: 4 });
    const catalog = writeJson(dir, 'catalog.json', {
      streams: [{ stream: { name: 'events', json_schema: {}, supported_sync_modes: ['full_refresh', 'incremental'] }, sync_mode: 'full_refresh', destination_sync_mode: 'overwrite' }],
    });
    const state = writeJson(dir, 'state.json', [{ type: 'STREAM', stream: { stream_descriptor: { name: 'events' }, stream_state: { id: 3 } } }]);
    const r = await runKit(INCREMENTAL, ['read', '--config', config, '--catalog', catalog, '--state', state]);
    expect(r.exitCode).toBe(0);
    const recs = messages(r.stdout).filter((x) => x.type === 'RECORD');
    expect(recs.map((x) => x.record.stream + x.record.data.id)).toEqual(['events1', 'events2', 'events3', 'events4']);
    // the same state, incremental: resumes after id 3
    const inc = writeJson(dir, 'inc.json', { streams: [{ stream: { name: 'events', json_schema: {}, supported_sync_modes: ['incremental'] }, sync_mode: 'incremental', destination_sync_mode: 'append', cursor_field: ['id'] }] });
    const r2 = await runKit(INCREMENTAL, ['read', '--config', config, '--catalog', inc, '--state', state]);
    expect(messages(r2.stdout).filter((x) => x.type === 'RECORD').map((x) => x.record.data.id)).toEqual([4]);
    // a stream the source does not have: skipped with a LOG WARN (as the Python kit does)
    const stale = writeJson(dir, 'stale.json', { streams: [{ stream: { name: 'gone', json_schema: {} }, sync_mode: 'full_refresh', destination_sync_mode: 'overwrite' }, { stream: { name: 'pages', json_schema: {} }, sync_mode: 'full_refresh', destination_sync_mode: 'overwrite' }] });
    const r3 = await runKit(INCREMENTAL, ['read', '--config', config, '--catalog', stale]);
    expect(r3.exitCode).toBe(0);
    expect(messages(r3.stdout).find((x) => x.type === 'LOG')?.log).toEqual({ level: 'WARN', message: 'the catalog names a stream "gone" this source does not have (it has: events, pages); skipped' });
    expect(messages(r3.stdout).filter((x) => x.type === 'RECORD').map((x) => x.record.stream)).toEqual(['pages', 'pages']);
  });
});

describe('kit-js: TypeScript, outside files, plain scripts', () => {
  it('node --import <tsx> dist/kit/run.js typed.ts spec: the command kitCommand() gives', async () => {
    const c = kitCommand(TYPED, 'greetings');
    expect(c.command).toBe(process.execPath);
    expect(c.args[0]).toBe('--import');
    expect(c.args[1]).toMatch(/^file:\/\/.*node_modules\/tsx\//);
    expect(c.args.slice(2)).toEqual([KIT_RUNNER, `${TYPED}:greetings`]);
    const r = await execa(c.command, [...c.args, 'spec'], { reject: false });
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(String(r.stdout)).spec.connectionSpecification.required).toEqual(['greeting']);
  });

  it('host read ./typed.ts: types, an enum and a generic config through tsx; incremental resume', async () => {
    const dir = tmp();
    const config = writeJson(dir, 'config.json', { greeting: 'hello' });
    const out = join(dir, 'out');
    const r = await host(['read', TYPED, '--config', config, '--out', out, '--progress', 'off']);
    expect(r.stderr).not.toMatch(/SyntaxError/);
    expect(r.exitCode).toBe(0);
    // repeat: 2 from the spec's default
    expect(jsonLines(join(out, 'greetings.jsonl'))).toEqual([
      { n: 1, text: 'hello #1' },
      { n: 2, text: 'HELLO #2' },
    ]);
    const again = await host(['read', `${TYPED}:greetings`, '--config', config, '--out', out, '--progress', 'off']);
    expect(again.exitCode).toBe(0);
    expect(jsonLines(join(out, 'greetings.jsonl')).map((g) => g['n'])).toEqual([1, 2, 3, 4]);
    // check() throws ConfigError on an empty greeting
    const bad = await host(['check', TYPED, '--config', writeJson(dir, 'bad.json', { greeting: '' })]);
    expect(bad.exitCode).toBe(4);
    expect(bad.stdout + bad.stderr).toContain('greeting is empty');
  });

  it("a file outside the package (no node_modules) importing 'connector-host/kit' gets the host's kit", async () => {
    const dir = tmp('ch-kit-outside-');
    const file = join(dir, 'source.mjs');
    copyFileSync(join(KIT, 'outside', 'source.mjs'), file);
    const r = await host(['read', file, '--config', writeJson(dir, 'config.json', {}), '--progress', 'off'], { cwd: dir });
    expect(r.exitCode).toBe(0);
    expect(messages(r.stdout).map((m) => m.record?.data)).toEqual([{ where: 'outside' }]);
    expect(r.stderr).toContain('hello from outside');
    // a .ts file outside the package too (tsx's hooks and the kit's together)
    copyFileSync(TYPED, join(dir, 'typed.ts'));
    const ts = await host(['read', join(dir, 'typed.ts'), '--config', writeJson(dir, 'ts.json', { greeting: 'yo' }), '--progress', 'off'], { cwd: dir });
    expect(ts.exitCode).toBe(0);
    expect(messages(ts.stdout).filter((m) => m.type === 'RECORD').map((m) => m.record.data.text)).toEqual(['yo #1', 'YO #2']);
    // without the runner it cannot resolve: the hook is what makes it work
    const plain = await execa(process.execPath, [file, 'spec'], { reject: false, cwd: dir });
    expect(String(plain.stderr)).toMatch(/Cannot find package 'connector-host'/);
  });

  it('CommonJS .js files outside a "type": "module" package: a require.main guard, require(\'connector-host/kit\'), ESM syntax detected', async () => {
    const dir = tmp('ch-kit-cjs-');
    const config = writeJson(dir, 'config.json', {});
    const cases: [string, unknown][] = [
      ['main-guard.js', { main: true }],
      ['require-kit.js', { via: 'require' }],
      ['esm-syntax.js', { via: 'import' }],
    ];
    for (const [name, data] of cases) {
      copyFileSync(join(KIT, 'cjs', name), join(dir, name));
      const r = await host(['read', join(dir, name), '--config', config, '--progress', 'off'], { cwd: dir });
      expect(r.exitCode, name).toBe(0);
      expect(messages(r.stdout).map((m) => m.record?.data), name).toEqual([data]);
    }
  });

  it('a plain script (no kit export) through the runner runs as `node script` would: same output', async () => {
    const dir = tmp();
    const config = writeJson(dir, 'config.json', JSON.parse(readFileSync(join(FIX, 'example', 'config.json'), 'utf8')));
    const catalog = writeJson(dir, 'catalog.json', {
      streams: [{ stream: { name: 'events', json_schema: {}, supported_sync_modes: ['full_refresh', 'incremental'] }, sync_mode: 'full_refresh', destination_sync_mode: 'overwrite' }],
    });
    const args = ['--tweak', '2', 'read', '--config', config, '--catalog', catalog];
    const viaRunner = await execa(process.execPath, [KIT_RUNNER, EXAMPLE.node, ...args], { reject: false });
    const direct = await execa(process.execPath, [EXAMPLE.node, ...args], { reject: false });
    const norm = (s: string) => String(s).replace(/"emitted_at":\d+/g, '"emitted_at":0');
    expect(viaRunner.exitCode).toBe(0);
    expect(norm(String(viaRunner.stdout))).toBe(norm(String(direct.stdout)));
    expect(String(viaRunner.stdout)).toContain('"tweaked"');
  });
});

describe('kit-js: retry()', () => {
  const RETRY = join(KIT, 'retry.mjs');
  it('a TransientError twice, then success: two LOG WARN lines, the record', async () => {
    const dir = tmp();
    const r = await runKit(RETRY, ['read', '--config', writeJson(dir, 'c.json', { fail_times: 2, attempts: 5 })]);
    expect(r.exitCode).toBe(0);
    const m = messages(r.stdout);
    expect(m.filter((x) => x.type === 'LOG').map((x) => x.log.message.replace(/in \d+ ms/, 'in N ms'))).toEqual([
      'retry 1/4 in N ms after TransientError: 503 from upstream (call 1)',
      'retry 2/4 in N ms after TransientError: 503 from upstream (call 2)',
    ]);
    expect(m.filter((x) => x.type === 'RECORD').map((x) => x.record.data)).toEqual([{ calls: 3 }]);
  });

  it('failing on every attempt throws the last error; a plain Error is not retried', async () => {
    const dir = tmp();
    const r = await host(['read', RETRY, '--config', writeJson(dir, 'c.json', { fail_times: 5, attempts: 3 }), '--progress', 'off']);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('TransientError: 503 from upstream (call 3) (at retry.mjs:8 in flaky)');
    const plain = await runKit(RETRY, ['read', '--config', writeJson(dir, 'p.json', { plain: true })]);
    expect(plain.exitCode).toBe(1);
    expect(messages(plain.stdout).filter((x) => x.type === 'LOG')).toEqual([]);
    expect(plain.stderr).toContain('Error: broken (call 1) (at retry.mjs:8 in flaky)');
  });
});

export { ROOT };
