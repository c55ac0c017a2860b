// host test and connector-host/testing, on the project's own fixtures.

import { describe, it, expect } from 'vitest';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { host, tmp, EXAMPLE, ROOT, FIX } from '../helpers.js';
import { assertSuite, runSuite, formatJunit } from '../../dist/testing/index.js';

const SUITES = join(ROOT, 'fixtures', 'suites');
const nonconformant = (name: string) => join(FIX, 'nonconformant', `${name}.mjs`);

/** A suite in a temp folder: one case `c` with the given files. */
function suite(files: Record<string, unknown>): string {
  const dir = tmp('ch-suite-');
  mkdirSync(join(dir, 'c'));
  for (const [name, v] of Object.entries({ 'config.json': {}, ...files })) writeFileSync(join(dir, 'c', name), JSON.stringify(v));
  return dir;
}
const failed = (r: Awaited<ReturnType<typeof runSuite>>) => r.cases.flatMap((c) => c.steps.flatMap((s) => s.checks.filter((x) => !x.ok).map((x) => x.name)));

describe('the project\u2019s own suites (connector-host/testing)', () => {
  it.each(Object.entries(EXAMPLE))('the example source in %s matches the committed goldens and conforms', async (_lang, source) => {
    const r = await assertSuite(source, { suite: join(SUITES, 'example') });
    expect(r.cases.map((c) => c.steps.map((s) => s.step))).toEqual([['spec', 'check', 'discover', 'read', 'incremental']]);
  });

  it('a Singer-style connector passes the singer profile and fails the airbyte one for following Singer rules', async () => {
    const conn = [process.execPath, nonconformant('singer-style')];
    await assertSuite(conn, { suite: join(SUITES, 'singer-style') });
    const r = await runSuite(conn, { suite: join(SUITES, 'singer-style'), profile: 'airbyte' });
    expect(new Set(failed(r))).toEqual(new Set(['spec.valid_schema', 'spec.secrets_annotated', 'discover.valid_schemas', 'read.records_match_schema', 'read.no_legacy_state', 'incremental.no_legacy_state']));
  });

  it('assertSuite throws an Error carrying the readable report', async () => {
    await expect(assertSuite([process.execPath, EXAMPLE.node, '--tweak', '2'], { suite: join(SUITES, 'example') })).rejects.toThrow(/stream events, record id=2: \/kind: expected "view", got "tweaked"/);
  });
});

describe('host test', () => {
  it('a changed field of one record fails with a diff naming the stream, the key and the field', async () => {
    const r = await host(['test', '--suite', join(SUITES, 'example'), '--log-level', 'warn', '--', process.execPath, EXAMPLE.node, '--tweak', '3']);
    expect(r.exitCode).toBe(8);
    expect(r.stdout).toContain('golden read: stream events, record id=3: /kind: expected "click", got "tweaked"');
    expect(r.stdout).toMatch(/FAIL read .*1 golden difference/);
    expect(r.stdout).toMatch(/ok {3}incremental/);
  });

  it('a missing golden fails (never created without --update, also under CI); --update writes them; then it passes', async () => {
    const dir = tmp('ch-suite-');
    cpSync(join(SUITES, 'example', 'default', 'config.json'), join(dir, 'default', 'config.json'), { recursive: true });
    const env = { NO_COLOR: '1', CI: 'true' };
    const missing = await host(['test', EXAMPLE.sh, '--suite', dir], { env });
    expect(missing.exitCode).toBe(8);
    expect(missing.stdout).toContain('golden/spec.json is missing; run with --update to create it');
    expect(existsSync(join(dir, 'default', 'golden'))).toBe(false);
    const upd = await host(['test', EXAMPLE.sh, '--suite', dir, '--update'], { env });
    expect(upd.exitCode).toBe(0);
    expect(upd.stdout).toContain('updated');
    const again = await host(['test', EXAMPLE.python, '--suite', dir], { env });
    expect(again.exitCode).toBe(0);
    expect(readFileSync(join(dir, 'default', 'golden', 'read.jsonl'), 'utf8')).toBe(readFileSync(join(SUITES, 'example', 'default', 'golden', 'read.jsonl'), 'utf8'));
  });

  it('volatile fields never fail a run: emitted_at always, and the state fields a case masks with a reason', async () => {
    const conn = [process.execPath, join(FIX, 'misbehaving', 'state-kinds.mjs'), '--kind', 'global'];
    const dir = suite({ 'case.json': { ignored_state_fields: [{ field: 'global.shared_state.run', reason: 'the run timestamp changes every run' }] } });
    expect((await runSuite(conn, { suite: dir, update: true })).ok).toBe(true);
    const r = await runSuite(conn, { suite: dir });
    expect(r.ok).toBe(true);
    expect(readFileSync(join(dir, 'c', 'golden', 'read-state.json'), 'utf8')).toContain('"run": "<masked>"');
    // without the mask the same run fails on that field, by name
    writeFileSync(join(dir, 'c', 'case.json'), '{}');
    rmSync(join(dir, 'c', 'golden'), { recursive: true });
    await runSuite(conn, { suite: dir, update: true });
    await new Promise((res) => setTimeout(res, 5));
    const bad = await runSuite(conn, { suite: dir });
    expect(bad.ok).toBe(false);
    expect(bad.cases[0]!.steps.find((s) => s.step === 'read')!.golden.join('\n')).toMatch(/final state: \/global\/shared_state\/run: expected "\d+", got "\d+"/);
  });

  it('a far-future state returns no records of incremental streams', async () => {
    const dir = tmp('ch-suite-');
    cpSync(join(SUITES, 'example', 'default'), join(dir, 'default'), { recursive: true });
    writeFileSync(join(dir, 'default', 'future-state.json'), JSON.stringify([{ type: 'STREAM', stream: { stream_descriptor: { name: 'events' }, stream_state: { cursor: 999999 } } }]));
    const r = await runSuite(EXAMPLE.node, { suite: dir });
    expect(r.ok).toBe(true);
    expect(r.cases[0]!.steps.find((s) => s.step === 'incremental')!.checks.map((c) => c.name)).toContain('incremental.future_state_empty');
  });

  it('--case runs one case; an unknown case is a usage error naming the cases', async () => {
    const one = await host(['test', EXAMPLE.node, '--suite', join(SUITES, 'example'), '--case', 'default', '--log-level', 'warn']);
    expect(one.exitCode).toBe(0);
    expect(one.stdout).toContain('PASS case default');
    const nope = await host(['test', EXAMPLE.node, '--suite', join(SUITES, 'example'), '--case', 'nope']);
    expect(nope.exitCode).toBe(2);
    expect(nope.stderr).toContain('no case "nope"');
    expect(nope.stderr).toContain('(cases: default)');
  });

  it('json and junit reporters', async () => {
    const json = await host(['test', '--suite', join(SUITES, 'example'), '--reporter', 'json', '--log-level', 'silent', '--', process.execPath, EXAMPLE.node, '--tweak', '1']);
    expect(json.exitCode).toBe(8);
    const report = JSON.parse(json.stdout);
    expect(report.ok).toBe(false);
    expect(report.cases[0].steps.find((s: any) => s.step === 'read').golden[0]).toContain('record id=1');
    const r = await runSuite([process.execPath, nonconformant('bad-record')], { suite: suite({}), update: true });
    const xml = formatJunit(r);
    expect(xml).toMatch(/<testcase classname="c" name="read.records_match_schema"><failure message="1 record\(s\) do not match/);
    expect(xml).toContain('<testcase classname="c" name="spec.valid_schema"/>');
  });
});

describe('conformance: each broken rule fails exactly its check, with a clear message', () => {
  const cases: [string, string, RegExp, Record<string, unknown>?][] = [
    ['bad-record', 'read.records_match_schema', /items record id=3: \/value must be string/],
    ['unannotated-secret', 'spec.secrets_annotated', /lack "airbyte_secret": true: api_token/],
    ['duplicate-streams', 'discover.unique_names', /stream names are not unique: items/],
    ['no-status', 'check.one_status', /expected exactly one CONNECTION_STATUS \(or one TRACE ERROR\), got 0/],
    ['no-state', 'read.state_per_incremental_stream', /no STATE for incremental stream\(s\): items/, { 'case.json': { steps: ['spec', 'check', 'discover', 'read'] } }],
  ];
  it.each(cases)('%s', async (fixture, check, message, files) => {
    const r = await runSuite([process.execPath, nonconformant(fixture)], { suite: suite(files ?? {}), update: true });
    expect(failed(r)).toEqual([check]);
    const c = r.cases[0]!.steps.flatMap((s) => s.checks).find((x) => x.name === check)!;
    expect(c.message).toMatch(message);
  });

  it('a connector that re-reads what the first read passed fails the incremental check', async () => {
    const r = await runSuite([process.execPath, nonconformant('no-state')], { suite: suite({}), update: true });
    const inc = r.cases[0]!.steps.find((s) => s.step === 'incremental')!;
    expect(inc.checks.find((c) => c.name === 'incremental.cursor_not_below')).toMatchObject({ ok: false, message: expect.stringContaining('items: id = 1 is below 5') });
  });

  it('a check is skipped only with a written reason, shown in the report', async () => {
    const conn = [process.execPath, nonconformant('bad-record')];
    const dir = suite({ 'case.json': { skip: { 'read.records_match_schema': 'the API returns numbers for value; tracked upstream' } } });
    const r = await host(['test', '--suite', dir, '--update', '--log-level', 'warn', '--', ...conn]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('skipped read.records_match_schema: the API returns numbers for value; tracked upstream');
    writeFileSync(join(dir, 'c', 'case.json'), JSON.stringify({ skip: { 'read.records_match_schema': '' } }));
    const noReason = await host(['test', '--suite', dir, '--', ...conn]);
    expect(noReason.exitCode).toBe(2);
    expect(noReason.stderr).toContain('skipping "read.records_match_schema" needs a written reason');
  });
});
