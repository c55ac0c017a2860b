// Bad author code in kit sources, through the real CLI: every failure is one clear message naming
// the file, the function and the line (never a raw Node stack), the right failure_type and exit
// code; records before the last STATE are kept; secrets never appear.

import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { host, tmp, FIX, jsonLines, writeJson, streamState, logLines } from '../helpers.js';

const KIT = join(FIX, 'kit-js');
const k = (f: string) => join(KIT, f);

/** The run's failure line and every log message, for the "no raw stack" checks. */
function noRawStack(stderr: string): void {
  expect(stderr).not.toMatch(/node:internal|\bat async\b|dist\/kit\/|ModuleJob/);
}

describe('kit-js: author code that fails', () => {
  it('an exception midway in read: exit 3, the TRACE names file:line and function, the records before the last STATE kept', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const r = await host(['read', k('raises-midway.mjs'), '--config', writeJson(dir, 'c.json', {}), '--out', out, '--progress', 'off']);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('stream items: Error: upstream exploded on page 3 (at raises-midway.mjs:5 in fetchPage)');
    expect(r.stderr).toContain('failure_type system_error');
    noRawStack(r.stderr);
    expect(jsonLines(join(out, 'items.jsonl')).map((x) => x['id'])).toEqual([1, 2, 3, 4]);
    expect(streamState(join(out, 'state.json'), 'items')).toEqual({ id: 4 });
  });

  it('yielding a non-object: the stream, the record number and the line of read()', async () => {
    const dir = tmp();
    const r = await host(['read', k('yields-non-object.mjs'), '--config', writeJson(dir, 'c.json', {}), '--progress', 'off']);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('stream things: TypeError: read() yielded a string ("oops, a string") as record 2; a record is a plain object such as { id: 1 } (at yields-non-object.mjs:8 in things.read)');
    noRawStack(r.stderr);
  });

  it('definition mistakes: read() not a generator, null inside a yielded array, merge without a primary key, no read()', async () => {
    const dir = tmp();
    const config = writeJson(dir, 'c.json', {});
    const cases: [string, string][] = [
      ['returnsNumber', 'read() returned a number, not an iterable: write it as async *read(ctx) { yield record } (at bad-shapes.mjs:8 in s.read)'],
      ['listWithNull', 'read() yielded null (null) as record 2 (inside an array); a record is a plain object such as { id: 1 } (at bad-shapes.mjs:14 in s.read)'],
      ['mergeNoKey', 'stream "s" has writeDisposition "merge" but no primaryKey'],
      ['noRead', 'stream "s" has no read() function'],
    ];
    for (const [name, message] of cases) {
      const r = await host(['read', `${k('bad-shapes.mjs')}:${name}`, '--config', config, '--progress', 'off']);
      expect(r.exitCode, name).toBe(3);
      expect(r.stderr, name).toContain(message);
      noRawStack(r.stderr);
    }
  });

  it('an exception while the module loads names the file, function and line', async () => {
    const dir = tmp();
    const r = await host(['read', k('throws-at-import.mjs'), '--config', writeJson(dir, 'c.json', {}), '--progress', 'off']);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('loading throws-at-import.mjs: Error: settings file missing (at throws-at-import.mjs:5 in loadSettings)');
    noRawStack(r.stderr);
  });

  it('ConfigError: check FAILED (exit 4), read config_error (exit 2); the api_key is masked in every output', async () => {
    const dir = tmp();
    const secret = 'sk-live-9f8e7d6c';
    const config = writeJson(dir, 'c.json', { api_key: secret });
    const check = await host(['check', k('config-error.mjs'), '--config', config]);
    expect(check.exitCode).toBe(4);
    expect(check.stdout + check.stderr).toContain('the API rejected the key *** (at config-error.mjs:7 in check)');
    const out = join(dir, 'out');
    const read = await host(['read', k('config-error.mjs'), '--config', config, '--out', out, '--progress', 'off']);
    expect(read.exitCode).toBe(2);
    expect(read.stderr).toContain('failure_type config_error');
    expect(read.stderr).toContain('the API rejected the key ***');
    for (const text of [check.stdout, check.stderr, read.stdout, read.stderr, ...readdirSync(out).map((f) => readFileSync(join(out, f), 'utf8'))]) expect(text).not.toContain(secret);
  });

  it('the kit masks secrets itself (on any platform): the raw protocol carries *** in check and the TRACE', async () => {
    const dir = tmp();
    const secret = 'sk-live-1a2b3c4d';
    const config = writeJson(dir, 'c.json', { api_key: secret });
    const { execa } = await import('execa');
    const { kitCommand } = await import('../../dist/kit/command.js');
    const c = kitCommand(k('config-error.mjs'));
    for (const cmd of ['check', 'read']) {
      const r = await execa(c.command, [...c.args, cmd, '--config', config], { reject: false });
      expect(String(r.stdout) + String(r.stderr)).not.toContain(secret);
      expect(String(r.stdout)).toContain('the API rejected the key ***');
    }
  });
});

describe('kit-js: hostile input', () => {
  it('`__proto__` in the config, the spec defaults and the state is data: prototypes intact, nothing polluted', async () => {
    const dir = tmp();
    const { execa } = await import('execa');
    const { kitCommand } = await import('../../dist/kit/command.js');
    const c = kitCommand(k('proto-config.mjs'));
    const catalog = writeJson(dir, 'cat.json', { streams: [{ stream: { name: 'seen', json_schema: {}, supported_sync_modes: ['incremental'] }, sync_mode: 'incremental', destination_sync_mode: 'append' }] });
    const state = join(dir, 'state.json');
    writeFileSync(state, '[{"type":"STREAM","stream":{"stream_descriptor":{"name":"seen"},"stream_state":{"__proto__":{"evil":true},"n":0}}}]');
    const withKey = join(dir, 'c1.json');
    writeFileSync(withKey, '{"__proto__":{"evil":true},"other":1}');
    const r1 = await execa(c.command, [...c.args, 'read', '--config', withKey, '--catalog', catalog, '--state', state], { reject: false });
    expect(r1.exitCode).toBe(0);
    const lines1 = String(r1.stdout).split('\n').filter((l) => l.startsWith('{"type":"RECORD"') || l.startsWith('{"type":"STATE"'));
    expect(JSON.parse(lines1[0]!).record.data).toEqual({ n: 1, configKeys: ['__proto__', 'name', 'other'], configProtoIntact: true, stateKeys: ['__proto__', 'n'], stateProtoIntact: true, polluted: false });
    // the state goes back out with its `__proto__` key as data
    expect(lines1[1]).toContain('"stream_state":{"__proto__":{"evil":true},"n":1}');
    // no `__proto__` in the config file: the spec's default fills it in, as a key
    const r2 = await host(['read', k('proto-config.mjs'), '--config', writeJson(dir, 'c2.json', {}), '--progress', 'off']);
    expect(r2.exitCode).toBe(0);
    const rec = String(r2.stdout).split('\n').find((l) => l.includes('"RECORD"'))!;
    expect(JSON.parse(rec).record.data).toMatchObject({ configKeys: ['__proto__', 'name'], configProtoIntact: true, polluted: false });
  });

  it('an unhandled rejection in author code: one TRACE naming file, function and line; exit 3 through the host', async () => {
    const dir = tmp();
    const r = await host(['read', k('floating-rejection.mjs'), '--config', writeJson(dir, 'c.json', {}), '--progress', 'off']);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('unhandled error in author code: Error: token refresh failed (at floating-rejection.mjs:5 in refreshToken)');
    noRawStack(r.stderr);
  });
});

describe('kit-js: named exports', () => {
  it('file.mjs:NAME picks one; no name with several, a missing name, a non-definition, a destination read: clear errors (exit 2)', async () => {
    const dir = tmp();
    const config = writeJson(dir, 'c.json', {});
    const ok = await host(['read', `${k('named.mjs')}:beta`, '--config', config, '--progress', 'off']);
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout).toContain('"from":"beta"');
    const cases: [string, string][] = [
      ['', 'named.mjs exports several kit definitions (alpha, beta, sink): name one, as named.mjs:alpha'],
      [':nope', 'named.mjs has no export named "nope"; it exports: alpha (source), beta (source), notAConnector, sink (destination)'],
      [':notAConnector', 'the export "notAConnector" of named.mjs is not a kit definition'],
      [':sink', 'named.mjs names a destination, not a source'],
    ];
    for (const [suffix, message] of cases) {
      const r = await host(['read', k('named.mjs') + suffix, '--config', config, '--progress', 'off']);
      expect(r.exitCode, suffix).toBe(2);
      expect(logLines(r.stderr).join('\n'), suffix).toContain(message);
      noRawStack(r.stderr);
    }
  });
});
