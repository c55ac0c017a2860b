// The Python kit run directly (no host), as any Airbyte platform would run it (issue 12):
// `python3 -m connector_host TARGET COMMAND`, `--path`, the protocol arguments, state inputs in
// every shape, the configured catalog, STREAM_STATUS/ESTIMATE, a writer on stdin, retry().

import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmp, FIX, ROOT, writeJson, jsonLines } from '../helpers.js';

const K = join(FIX, 'kit-python');
const at = (name: string) => join(K, name);
const KIT = join(ROOT, 'kits', 'python');
const T = { timeout: 60_000 };

function py(args: string[], input = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    const c = spawn('python3', args, { env: { ...process.env, PYTHONPATH: KIT } });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (b) => (stdout += b));
    c.stderr.on('data', (b) => (stderr += b));
    c.on('close', (code) => ok({ code, stdout, stderr }));
    c.stdin.end(input);
  });
}
const msgs = (stdout: string) =>
  stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as any);
const ids = (stdout: string, stream: string) =>
  msgs(stdout)
    .filter((m) => m.type === 'RECORD' && m.record.stream === stream)
    .map((m) => m.record.data.id);
const STATIC = at('static_source.py:static_source');

describe('python3 -m connector_host', () => {
  it('--path prints the folder that goes on PYTHONPATH', T, async () => {
    const r = await py(['-m', 'connector_host', '--path']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${KIT}\n`);
  });

  it('spec of file.py:Name is one SPEC line', T, async () => {
    const r = await py(['-m', 'connector_host', STATIC, 'spec']);
    expect(r.code, r.stderr).toBe(0);
    expect(msgs(r.stdout)).toEqual([{ type: 'SPEC', spec: { connectionSpecification: { type: 'object', properties: { event_count: { type: 'integer', default: 5, title: 'Events available' } } } } }]);
  });

  it('a folder without :NAME and several sources in it: an error listing them', T, async () => {
    const r = await py(['-m', 'connector_host', at('kit_pkg'), 'spec']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/kit_pkg has several kit objects: .*billing_source \(@source\)/);
    expect(r.stderr).toContain('crm_source (@source)');
    expect(msgs(r.stdout)[0].trace.error.failure_type).toBe('config_error');
  });

  it('usage errors: an unknown command or a missing --config exit 2 with the usage on stderr', T, async () => {
    const bad = await py([at('static_source.py'), 'sync']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown command 'sync'; commands: spec, check, discover, read/);
    const nocfg = await py([at('static_source.py'), 'read']);
    expect(nocfg.code).toBe(2);
    expect(nocfg.stderr).toContain('read needs --config CONFIG.json');
    expect(nocfg.stdout).toBe('');
  });
});

describe('read: state inputs and the configured catalog', () => {
  const stateForms: [string, unknown][] = [
    ['a list of STREAM states', [{ type: 'STREAM', stream: { stream_descriptor: { name: 'events' }, stream_state: { id: 3 } } }]],
    ['one STREAM state message', { type: 'STREAM', stream: { stream_descriptor: { name: 'events' }, stream_state: { id: 3 } } }],
    ['a GLOBAL state', [{ type: 'GLOBAL', global: { shared_state: {}, stream_states: [{ stream_descriptor: { name: 'events' }, stream_state: { id: 3 } }] } }]],
    ['a LEGACY state', [{ type: 'LEGACY', data: { events: { id: 3 } } }]],
    ['a legacy dict', { events: { id: 3 } }],
  ];
  it.each(stateForms)('%s: events resume after id 3', T, async (_label, state) => {
    const d = tmp();
    const r = await py([at('static_source.py'), 'read', '--config', writeJson(d, 'c.json', { event_count: 5 }), '--state', writeJson(d, 's.json', state)]);
    expect(r.code, r.stderr).toBe(0);
    expect(ids(r.stdout, 'events')).toEqual([4, 5]);
    expect(ids(r.stdout, 'users')).toEqual([1, 2, 3]);
  });

  it('the catalog picks the streams and their sync mode: events in full_refresh ignore the state; an unknown stream is skipped with a WARN', T, async () => {
    const d = tmp();
    const catalog = writeJson(d, 'cat.json', {
      streams: [
        { stream: { name: 'events', json_schema: {}, supported_sync_modes: ['full_refresh', 'incremental'] }, sync_mode: 'full_refresh', destination_sync_mode: 'overwrite' },
        { stream: { name: 'ghosts', json_schema: {}, supported_sync_modes: ['full_refresh'] }, sync_mode: 'full_refresh', destination_sync_mode: 'overwrite' },
      ],
    });
    const state = writeJson(d, 's.json', { events: { id: 3 } });
    const r = await py([at('static_source.py'), 'read', '--config', writeJson(d, 'c.json', { event_count: 4 }), '--catalog', catalog, '--state', state]);
    expect(r.code, r.stderr).toBe(0);
    expect(ids(r.stdout, 'events')).toEqual([1, 2, 3, 4]);
    expect(ids(r.stdout, 'users')).toEqual([]);
    const warn = msgs(r.stdout).find((m) => m.type === 'LOG');
    expect(warn.log.level).toBe('WARN');
    expect(warn.log.message).toMatch(/the catalog names a stream 'ghosts' this connector does not have \(it has 'users', 'events'\); skipped/);
  });

  it('a cursor beyond 2^53 in the state comes back exact', T, async () => {
    const d = tmp();
    const stateText = '[{"type":"STREAM","stream":{"stream_descriptor":{"name":"events"},"stream_state":{"id":1180591620717411303424}}}]';
    const sf = join(d, 's.json');
    (await import('node:fs')).writeFileSync(sf, stateText);
    const r = await py([at('static_source.py'), 'read', '--config', writeJson(d, 'c.json', {}), '--state', sf]);
    expect(r.code, r.stderr).toBe(0);
    expect(ids(r.stdout, 'events')).toEqual([]);
    expect(r.stdout).toContain('"stream_state":{"id":1180591620717411303424}');
  });

  it('a paginated class: ESTIMATE from get_total_records_count, STREAM_STATUS STARTED → RUNNING → COMPLETE, a STATE per page', T, async () => {
    const d = tmp();
    const r = await py(['-m', 'connector_host', at('paginated_cursor.py:MessagesSource'), 'read', '--config', writeJson(d, 'c.json', { total: 7 })]);
    expect(r.code, r.stderr).toBe(0);
    const kinds = msgs(r.stdout).map((m) => (m.type === 'TRACE' ? `${m.trace.type}:${m.trace.stream_status?.status ?? m.trace.estimate?.row_estimate}` : m.type));
    expect(kinds).toEqual([
      'STREAM_STATUS:STARTED',
      'ESTIMATE:7',
      'STREAM_STATUS:RUNNING',
      ...['RECORD', 'RECORD', 'RECORD', 'STATE'],
      ...['RECORD', 'RECORD', 'RECORD', 'STATE'],
      ...['RECORD', 'STATE'],
      'STREAM_STATUS:COMPLETE',
    ]);
    const est = msgs(r.stdout).find((m) => m.trace?.type === 'ESTIMATE');
    expect(est.trace.estimate).toEqual({ name: 'messages', type: 'STREAM', row_estimate: 7 });
  });

  it('what author code print()s goes to stderr, stdout stays protocol', T, async () => {
    const d = tmp();
    const r = await py([at('print_noise.py'), 'read', '--config', writeJson(d, 'c.json', {})]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('fetching the noisy things\ndone fetching\n');
    expect(msgs(r.stdout).map((m) => m.type)).toEqual(['TRACE', 'TRACE', 'RECORD', 'STATE', 'TRACE']);
  });
});

describe('a writer on stdin (write --config --catalog)', () => {
  it('write_batch in batches, every STATE echoed (byte for byte) after commit(), the rest committed at EOF', T, async () => {
    const d = tmp();
    const folder = join(d, 'lake');
    mkdirSync(folder);
    const rec = (stream: string, id: number | string) => `{"type":"RECORD","record":{"stream":"${stream}","data":{"id":${id}},"emitted_at":1}}`;
    const st1 = '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"},"stream_state":{"id":4}}}}';
    const st2 = '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"b"},"stream_state":{"id": 9007199254740993}}}}';
    const input = [rec('a', 1), rec('a', 2), rec('a', 3), rec('a', 4), rec('b', '9007199254740993'), st1, '{"type":"LOG","log":{"level":"INFO","message":"x"}}', rec('b', 5), st2, rec('a', 6), ''].join('\n');
    const r = await py([at('jsonl_writer.py'), 'write', '--config', writeJson(d, 'c.json', { folder }), '--catalog', writeJson(d, 'cat.json', { streams: [] })], input);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${st1}\n${st2}\n`);
    expect(jsonLines(join(folder, 'a.jsonl')).map((x) => x['id'])).toEqual([1, 2, 3, 4, 6]);
    expect(readFileSync(join(folder, 'b.jsonl'), 'utf8')).toBe('{"id": 9007199254740993}\n{"id": 5}\n');
    expect(readFileSync(join(folder, '_commits.txt'), 'utf8')).toBe('3');
  });

  it('a writer has no read or discover', T, async () => {
    const r = await py([at('jsonl_writer.py'), 'read', '--config', '/dev/null']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'read'; commands: spec, check, write/);
  });
});

describe('retry() and retrying', () => {
  it('retries transient errors with a WARN per retry, gives up after `attempts`, never retries other errors', T, async () => {
    const script = `
import connector_host as ch
calls = []
def flaky():
    calls.append(1)
    if len(calls) < 3:
        raise ch.TransientError("try later")
    return "ok"
assert ch.retry(flaky, attempts=5, backoff=0.001) == "ok" and len(calls) == 3
@ch.retrying(attempts=2, backoff=0.001)
def always():
    raise ConnectionError("down")
try:
    always()
except ConnectionError:
    print("gave up", file=__import__("sys").stderr)
n = []
def wrong():
    n.append(1)
    raise KeyError("no")
try:
    ch.retry(wrong, backoff=0.001)
except KeyError:
    print("not retried", len(n), file=__import__("sys").stderr)
`;
    const r = await py(['-c', script]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('gave up\nnot retried 1\n');
    const warns = msgs(r.stdout).map((m) => m.log.message);
    expect(warns).toHaveLength(3);
    expect(warns[0]).toMatch(/^flaky failed \(TransientError: try later\), attempt 1 of 5; retrying in 0\.00 s$/);
    expect(warns[2]).toMatch(/^always failed \(ConnectionError: down\), attempt 1 of 2; retrying in/);
    expect(msgs(r.stdout).every((m) => m.type === 'LOG' && m.log.level === 'WARN')).toBe(true);
  });
});
