// `host test` for destinations: the write step (write/input.jsonl on stdin, the printed
// acknowledgements and logs against golden/write.jsonl, the files written into ${OUTPUT_DIR}
// against golden/write-files/) and its conformance checks, through the real CLI.

import { describe, it, expect } from 'vitest';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { host, tmp, FIX, ROOT } from '../helpers.js';

const SUITES = join(ROOT, 'fixtures', 'suites');
const T = { timeout: 120_000 };
const WRITER = join(FIX, 'kit-python', 'jsonl_writer.py:JsonlWriter');
const JS_DEST = join(FIX, 'kit-js', 'dest-jsonl.mjs');
const ACKS = (...knobs: string[]) => ['--', process.execPath, join(FIX, 'destinations', 'dest-acks.mjs'), ...knobs];
const DEST_JSONL = (...knobs: string[]) => ['--', process.execPath, join(FIX, 'destinations', 'dest-jsonl.mjs'), ...knobs];

const state = (name: string, s: unknown) => ({ type: 'STATE', state: { type: 'STREAM', stream: { stream_descriptor: { name }, stream_state: s } } });
const record = (data: unknown) => ({ type: 'RECORD', record: { stream: 'items', data, emitted_at: 1704067200000 } });
const INPUT = [record({ id: 1 }), record({ id: 2 }), state('items', { id: 2 }), record({ id: 3 }), state('items', { id: 3 })];
const CATALOG = { streams: [{ stream: { name: 'items', json_schema: { type: 'object' }, supported_sync_modes: ['full_refresh'] }, sync_mode: 'full_refresh', destination_sync_mode: 'append' }] };

/** A destination suite in a temp folder: one case `c`. */
function suite(o: { config?: unknown; input?: unknown[] | string | null; catalog?: unknown; caseJson?: unknown } = {}): string {
  const dir = tmp('ch-dest-suite-');
  mkdirSync(join(dir, 'c', 'write'), { recursive: true });
  writeFileSync(join(dir, 'c', 'config.json'), JSON.stringify(o.config ?? {}));
  const input = o.input === undefined ? INPUT : o.input;
  if (input !== null) writeFileSync(join(dir, 'c', 'write', 'input.jsonl'), typeof input === 'string' ? input : input.map((m) => JSON.stringify(m) + '\n').join(''));
  if (o.catalog !== null) writeFileSync(join(dir, 'c', 'write', 'catalog.json'), JSON.stringify(o.catalog ?? CATALOG));
  if (o.caseJson !== undefined) writeFileSync(join(dir, 'c', 'case.json'), JSON.stringify(o.caseJson));
  return dir;
}

function copy(name: string): string {
  const dir = join(tmp('ch-dest-suite-'), name);
  cpSync(join(SUITES, name), dir, { recursive: true });
  return dir;
}

/** `host test --reporter json`: the exit code, the report, the names of the failed checks. */
async function testJson(args: string[], env: Record<string, string | undefined> = {}) {
  const r = await host(['test', '--reporter', 'json', '--log-level', 'silent', ...args], { env });
  const report = JSON.parse(r.stdout || 'null');
  const steps = report ? report.cases.flatMap((c: any) => c.steps) : [];
  const failed = steps.flatMap((s: any) => s.checks.filter((x: any) => !x.ok).map((x: any) => x.name));
  const write = steps.find((s: any) => s.step === 'write');
  return { ...r, report, failed, write, message: (name: string) => write?.checks.find((x: any) => x.name === name)?.message as string | undefined };
}

describe('destination suites: spec, check, write', () => {
  it('the Python kit writer (jsonl_writer.py:JsonlWriter) passes its suite; --update changes nothing', T, async () => {
    const r = await host(['test', WRITER, '--suite', join(SUITES, 'kit-writer')]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('PASS case default');
    expect(r.stdout).toContain('PASS case two-streams');
    expect(r.stdout).toMatch(/ok +write +5\/5 checks/);
    for (const step of ['discover', 'read', 'incremental']) expect(r.stdout).not.toContain(step);
    const dir = copy('kit-writer');
    const u = await host(['test', WRITER, '--suite', dir, '--update']);
    expect(u.exitCode, u.stdout).toBe(0);
    expect(u.stdout).not.toContain('updated');
    // the files the writer made in ${OUTPUT_DIR}: exact digits beyond 2^53, a `__proto__` key kept as data
    expect(readFileSync(join(SUITES, 'kit-writer', 'default', 'golden', 'write-files', 'rows.jsonl'), 'utf8')).toContain('{"n": 9007199254740993, "square": null');
    expect(readFileSync(join(SUITES, 'kit-writer', 'two-streams', 'golden', 'write-files', 'orders.jsonl'), 'utf8')).toContain('"__proto__": {"polluted": true}');
  });

  it('the TypeScript kit destination (kit-js/dest-jsonl.mjs) passes its suite; its secret never reaches a golden', T, async () => {
    const r = await host(['test', JS_DEST, '--suite', join(SUITES, 'kit-js-destination')]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ok +spec .*\n.*ok +check .*\n.*ok +write /);
    const g = join(SUITES, 'kit-js-destination', 'default', 'golden');
    expect(readFileSync(join(g, 'write-files', 'events.jsonl'), 'utf8')).toContain('"id":9223372036854775798,"kind":"click","amount":123456789012345678901234567890.5');
    expect(readFileSync(join(g, 'write-files', '_log.jsonl'), 'utf8')).toContain('{"event":"close","records":4}');
  });

  it('a changed golden line fails with exit 8 and a diff naming the line, the message type and the field', T, async () => {
    const dir = copy('kit-writer');
    const p = join(dir, 'default', 'golden', 'write.jsonl');
    writeFileSync(p, readFileSync(p, 'utf8').replace('"offset":4', '"offset":5'));
    const r = await host(['test', WRITER, '--suite', dir, '--case', 'default']);
    expect(r.exitCode).toBe(8);
    expect(r.stdout).toMatch(/FAIL write +5\/5 checks, 1 golden difference/);
    expect(r.stdout).toContain('golden write: line 1 (STATE): /state/stream/stream_state/offset: expected 5, got 4');
  });

  it('a missing acknowledgement in the golden is an extra line; a changed written file names the file and the line', T, async () => {
    const dir = copy('kit-writer');
    const p = join(dir, 'default', 'golden', 'write.jsonl');
    writeFileSync(p, readFileSync(p, 'utf8').split('\n')[1] + '\n');
    const f = join(dir, 'default', 'golden', 'write-files', 'rows.jsonl');
    writeFileSync(f, readFileSync(f, 'utf8').replace('"square": 4', '"square": 5'));
    rmSync(join(dir, 'default', 'golden', 'write-files', '_commits.txt'));
    const r = await host(['test', WRITER, '--suite', dir, '--case', 'default']);
    expect(r.exitCode).toBe(8);
    expect(r.stdout).toContain('golden write: line 1 extra (printed, not in the golden file): {"state":{"stream":{"stream_descriptor":{"name":"rows"},"stream_state":{"offset":4}}');
    expect(r.stdout).toContain('golden write: write-files rows.jsonl line 2: expected "{\\"n\\": 2, \\"square\\": 5}", got "{\\"n\\": 2, \\"square\\": 4}"');
    expect(r.stdout).toContain('golden write: write-files _commits.txt: extra (written, not in the golden folder)');
  });

  it('a missing golden under CI=true fails and is not created; --update writes write.jsonl and write-files/', T, async () => {
    const dir = copy('kit-js-destination');
    const g = join(dir, 'default', 'golden');
    rmSync(join(g, 'write.jsonl'));
    rmSync(join(g, 'write-files'), { recursive: true });
    const env = { CI: 'true' };
    const r = await host(['test', JS_DEST, '--suite', dir], { env });
    expect(r.exitCode).toBe(8);
    expect(r.stdout).toContain('golden/write.jsonl is missing; run with --update to create it');
    expect(r.stdout).toContain('golden/write-files is missing; run with --update to create it');
    expect(existsSync(join(g, 'write.jsonl'))).toBe(false);
    expect(existsSync(join(g, 'write-files'))).toBe(false);
    const u = await host(['test', JS_DEST, '--suite', dir, '--update'], { env });
    expect(u.exitCode, u.stdout).toBe(0);
    expect(readFileSync(join(g, 'write.jsonl'), 'utf8')).toBe(readFileSync(join(SUITES, 'kit-js-destination', 'default', 'golden', 'write.jsonl'), 'utf8'));
    expect(readFileSync(join(g, 'write-files', 'events.jsonl'), 'utf8')).toBe(readFileSync(join(SUITES, 'kit-js-destination', 'default', 'golden', 'write-files', 'events.jsonl'), 'utf8'));
    expect((await host(['test', JS_DEST, '--suite', dir], { env })).exitCode).toBe(0);
  });
});

describe('write conformance: each broken rule fails exactly its check (goldens written with --update, so only the check fails)', () => {
  it('a destination that acknowledges every STATE passes; its LOG line shows the output folder as <TMP>', T, async () => {
    const dir = suite({ config: { path: '${OUTPUT_DIR}' } });
    const r = await testJson(['--suite', dir, '--update', ...ACKS()]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.write.checks.map((c: any) => c.name)).toEqual(['write.exit', 'write.acks_were_sent', 'write.acks_once', 'write.acks_in_order', 'write.last_state_acknowledged']);
    expect(readFileSync(join(dir, 'c', 'golden', 'write.jsonl'), 'utf8').split('\n')[0]).toBe('{"log":{"level":"INFO","message":"writing into <TMP>"},"type":"LOG"}');
    // the folder is new each run, and the golden still matches
    expect((await testJson(['--suite', dir, ...ACKS()])).exitCode).toBe(0);
  });

  it('never acknowledging a STATE fails write.last_state_acknowledged', T, async () => {
    const n = await testJson(['--suite', suite(), '--update', ...ACKS('--ack', 'none')]);
    expect(n.exitCode).toBe(8);
    expect(n.failed).toEqual(['write.last_state_acknowledged']);
    expect(n.message('write.last_state_acknowledged')).toMatch(/^never acknowledged the last STATE it was sent \(line 5 of .*write\/input\.jsonl: \{"stream":\{"stream_descriptor":\{"name":"items"\},"stream_state":\{"id":3\}\},"type":"STREAM"\}\); it acknowledged none of the 2$/);
  });

  it('dest-jsonl --ack none (a real destination that writes but never says so) fails the same check', T, async () => {
    const r = await testJson(['--suite', suite({ config: { path: '${OUTPUT_DIR}' } }), '--update', ...DEST_JSONL('--ack', 'none')]);
    expect(r.exitCode).toBe(8);
    expect(r.failed).toEqual(['write.last_state_acknowledged']);
  });

  it('acknowledging a STATE it was not sent fails write.acks_were_sent, showing that state', T, async () => {
    const r = await testJson(['--suite', suite(), '--update', ...ACKS('--ack', 'foreign')]);
    expect(r.exitCode).toBe(8);
    expect(r.failed).toEqual(['write.acks_were_sent']);
    expect(r.message('write.acks_were_sent')).toMatch(/acknowledged 1 STATE message\(s\) it was not sent \(not in .*write\/input\.jsonl\); first: .*"stream_state":\{"forged":true\}/);
  });

  it('acknowledging a STATE twice fails write.acks_once, naming the input lines', T, async () => {
    const r = await testJson(['--suite', suite(), '--update', ...ACKS('--ack', 'twice')]);
    expect(r.exitCode).toBe(8);
    expect(r.failed).toEqual(['write.acks_once']);
    expect(r.message('write.acks_once')).toMatch(/acknowledged the STATE of line 3, the STATE of line 5 of .*input\.jsonl more than once/);
  });

  it('acknowledging out of order fails write.acks_in_order', T, async () => {
    const r = await testJson(['--suite', suite(), '--update', ...ACKS('--ack', 'reverse')]);
    expect(r.exitCode).toBe(8);
    expect(r.failed).toEqual(['write.acks_in_order']);
    expect(r.message('write.acks_in_order')).toBe('acknowledged out of input order: the STATE of line 3 after the one of line 5');
  });

  it('a destination that exits non-zero fails write.exit with its stderr; only what it acknowledged counts', T, async () => {
    const r = await testJson(['--suite', suite({ config: { path: '${OUTPUT_DIR}', api_key: 'dest-key-9f8e7d' } }), '--update', ...DEST_JSONL('--die-after', '3', '--secret-in-error')]);
    expect(r.exitCode).toBe(8);
    expect(r.failed).toEqual(['write.exit', 'write.last_state_acknowledged']);
    expect(r.message('write.exit')).toMatch(/^the connector exited with 1; stderr: .*dest-jsonl: disk full after 3 records \(key \*+\)/);
    expect(r.stdout).not.toContain('dest-key-9f8e7d');
  });

  it('kit destinations whose author code raises: the TRACE ERROR names the file, function and line', T, async () => {
    const js = await testJson(['--suite', suite({ input: [record({ id: 1, fail: true }), state('items', { id: 1 })] }), '--update', join(FIX, 'kit-js', 'dest-fails.mjs')]);
    expect(js.exitCode).toBe(8);
    expect(js.message('write.exit')).toMatch(/exited with 1: .*cannot store record 1.*dest-fails\.mjs:5 in store/);
    const py = await testJson(['--suite', suite({ config: { folder: '${OUTPUT_DIR}', fail_on: 2 } }), '--update', WRITER]);
    expect(py.exitCode).toBe(8);
    expect(py.message('write.exit')).toMatch(/exited with 1: .*cannot write record 2.*jsonl_writer\.py:\d+ in write_batch/);
    expect(py.message('write.exit')).not.toContain('Traceback');
  });

  it('ignored_write_fields masks a field in every printed line, and needs a reason', T, async () => {
    const dir = suite({ config: { path: '${OUTPUT_DIR}' }, caseJson: { ignored_write_fields: [{ field: 'log.message', reason: 'names the folder' }] } });
    const r = await testJson(['--suite', dir, '--update', ...ACKS()]);
    expect(r.exitCode, r.stdout).toBe(0);
    expect(readFileSync(join(dir, 'c', 'golden', 'write.jsonl'), 'utf8').split('\n')[0]).toBe('{"log":{"level":"INFO","message":"<masked>"},"type":"LOG"}');
    writeFileSync(join(dir, 'c', 'case.json'), JSON.stringify({ ignored_write_fields: [{ field: 'log.message' }] }));
    const bad = await host(['test', '--suite', dir, ...ACKS()]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('ignored write field log.message needs a written reason');
  });

  it('states beyond 2^53 and with `__proto__` keys: acknowledged exactly they pass; a destination that rounds them acknowledged a state it was not sent', T, async () => {
    const input = [record({ id: 1 }), state('items', JSON.parse('{"cursor": 9007199254740993, "__proto__": {"polluted": true}}')), record({ id: 2 }), state('items', { cursor: 9223372036854775807 })];
    const text = input.map((m) => JSON.stringify(m) + '\n').join('').replace('"cursor":9007199254740992', '"cursor":9007199254740993').replace('"cursor":9223372036854776000', '"cursor":9223372036854775807');
    expect(text).toContain('9007199254740993');
    const dir = suite({ config: { folder: '${OUTPUT_DIR}' }, input: text });
    const py = await testJson(['--suite', dir, '--update', WRITER]);
    expect(py.exitCode, py.stdout).toBe(0);
    const golden = readFileSync(join(dir, 'c', 'golden', 'write.jsonl'), 'utf8');
    expect(golden).toContain('"stream_state":{"__proto__":{"polluted":true},"cursor":9007199254740993}');
    expect(golden).toContain('"cursor":9223372036854775807');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    // dest-acks parses with JSON.parse: its echo has other digits
    const js = await testJson(['--suite', suite({ input: text }), '--update', ...ACKS()]);
    expect(js.exitCode).toBe(8);
    expect(js.failed).toEqual(['write.acks_were_sent', 'write.last_state_acknowledged']);
    expect(js.message('write.acks_were_sent')).toContain('acknowledged 2 STATE message(s) it was not sent');
  });

  it('a secret the destination logs is masked in write.jsonl and the report', T, async () => {
    const dir = suite({ config: { api_key: 'sk-live-abcdef123456' } });
    const r = await testJson(['--suite', dir, '--update', ...ACKS('--log-secret')]);
    expect(r.exitCode, r.stdout).toBe(0);
    const golden = readFileSync(join(dir, 'c', 'golden', 'write.jsonl'), 'utf8');
    expect(golden).toContain('"message":"using key **********"');
    expect(golden + r.stdout).not.toContain('abcdef123456');
  });
});

describe('write step: bad cases are clear errors', () => {
  it('a line of write/input.jsonl that is not JSON names the file and line', T, async () => {
    const r = await testJson(['--suite', suite({ input: JSON.stringify(record({ id: 1 })) + '\n{"type": "STATE", oops\n' }), ...ACKS()]);
    expect(r.exitCode).toBe(8);
    expect(r.write.error).toMatch(/write\/input\.jsonl:2: not a JSON message/);
    const notMsg = await testJson(['--suite', suite({ input: '[1,2]\n' }), ...ACKS()]);
    expect(notMsg.write.error).toMatch(/input\.jsonl:1: not a protocol message \(a JSON object with a "type"\)/);
  });

  it('no catalog: the error says where to put one', T, async () => {
    const r = await testJson(['--suite', suite({ catalog: null }), ...ACKS()]);
    expect(r.exitCode).toBe(8);
    expect(r.write.error).toMatch(/no configured catalog for the write step: put one in .*c\/write\/catalog\.json \(or the case's catalog\.json\)/);
  });

  it('"kind": "destination" without write/input.jsonl runs spec, check and write, and says the input is missing', T, async () => {
    const dir = suite({ input: null, caseJson: { kind: 'destination' } });
    const r = await testJson(['--suite', dir, '--update', ...ACKS()]);
    expect(r.exitCode).toBe(8);
    expect(r.report.cases[0].steps.map((s: any) => s.step)).toEqual(['spec', 'check', 'write']);
    expect(r.write.error).toMatch(/no .*c\/write\/input\.jsonl: the write step feeds the destination the messages in that file/);
    const bad = await host(['test', '--suite', suite({ caseJson: { kind: 'sink' } }), ...ACKS()]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('unknown kind "sink" (source or destination)');
  });
});

describe('host init destination: the suite it writes runs the write step', () => {
  it.each(['python', 'typescript'])('--lang %s: spec, check and write pass as written; nothing is written outside ${OUTPUT_DIR}', T, async (lang) => {
    const parent = tmp('ch-dest-init-');
    expect((await host(['init', 'destination', 'wh', '--lang', lang, '--dir', parent])).exitCode).toBe(0);
    const dir = join(parent, 'wh');
    const r = await host(['test', `./destination.${lang === 'python' ? 'py' : 'ts'}`, '--suite', 'tests'], { cwd: dir });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ok +write +5\/5 checks/);
    expect(readFileSync(join(dir, 'tests', 'default', 'golden', 'write-files', 'items.jsonl'), 'utf8').split('\n').filter(Boolean)).toHaveLength(3);
    expect(existsSync(join(dir, 'output'))).toBe(false);
  });
});
