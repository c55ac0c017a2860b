// Bad processors and bad input (issue 12): a function raising on one record (fail: exit 7 naming
// stream, record and file:line; skip: counted and logged), wrong types returned, a child that
// dies, hangs or writes garbage on its stdout, a file or name that is not there, two candidates,
// a bad vars file, hostile keys, and secrets never in the output. Never a raw traceback, never a hang.

import { describe, it, expect } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { host, tmp, FIX, bad, writeJson, jsonLines, lines, streamState, logLines, EXAMPLE } from '../helpers.js';

const P = (f: string) => join(FIX, 'kit-processors', f);
const ENDLESS = bad('endless');

async function readEndless(dir: string, extra: string[], o: { streams?: number; records?: number; every?: number } = {}) {
  const config = writeJson(dir, 'config.json', {});
  return host(['read', '--config', config, '--progress', 'off', '--commit-interval', '0', ...extra, '--', ENDLESS, '--streams', String(o.streams ?? 1), '--records', String(o.records ?? 10), '--state-every', String(o.every ?? 2)]);
}

const noRawTrace = (stderr: string) => {
  expect(stderr).not.toMatch(/Traceback \(most recent call last\)/);
  expect(stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/);
};

describe('a processor that raises on one record', () => {
  it('fail (the default): exit 7 naming the stream, the record number, the message and file:line in function; no state past the record', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const r = await readEndless(dir, ['--out', out, '--processor', P('raises.py')]);
    expect(r.exitCode).toBe(7);
    expect(r.stderr).toMatch(/the processor \S*raises\.py failed on record 3 of stream s1: ValueError: bad id 3 \(raises\.py:7 in check\)/);
    expect(r.stderr).toContain('--processor-errors skip');
    noRawTrace(r.stderr);
    // the state after records 1-2 may be committed, none after record 3
    expect(streamState(join(out, 'state.json'), 's1')?.cursor ?? 0).toBeLessThanOrEqual(2);
  });

  it('skip: each error logged with stream and record number, counted in the summary; the other records kept; exit 0', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const r = await readEndless(dir, ['--out', out, '--processor', P('raises.py'), '--processor-errors', 'skip'], { streams: 2 });
    expect(r.exitCode, r.stderr).toBe(0);
    for (const s of ['s1', 's2']) expect(jsonLines(join(out, `${s}.jsonl`)).map((x) => x['id'])).toEqual([1, 2, 4, 5, 6, 7, 8, 9, 10]);
    const logs = logLines(r.stderr);
    expect(logs.filter((l) => /processor error, record skipped \(--processor-errors skip\): record 3 of stream s[12]: ValueError: bad id 3 \(raises\.py:7 in check\)/.test(l))).toHaveLength(2);
    expect(r.stderr).toMatch(/20 records in, 18 records out, \d+ batch(es)?; 2 errors, 2 records skipped \(--processor-errors skip\)/);
    expect(streamState(join(out, 'state.json'), 's1')).toEqual({ cursor: 10 });
  });

  it('wrong types returned (a string; a list holding a number) are errors of those records, naming the function', async () => {
    const dir = tmp();
    const f = await readEndless(dir, ['--processor', P('wrong_type.py')]);
    expect(f.exitCode).toBe(7);
    expect(f.stderr).toMatch(/failed on record 2 of stream s1: process\(\) returned str; return a dict \(the changed record\), None \(drop it\) or a list of dicts \(split it\) \(wrong_type\.py:3 in process\)/);
    const s = await readEndless(dir, ['--out', join(dir, 'out'), '--processor', P('wrong_type.py'), '--processor-errors', 'skip']);
    expect(s.exitCode).toBe(0);
    expect(jsonLines(join(dir, 'out', 's1.jsonl')).map((x) => x['id'])).toEqual([1, 3, 5, 6, 7, 8, 9, 10]);
    expect(logLines(s.stderr).some((l) => /record 4 of stream s1: item 1 of what process\(\) returned is int, not a dict/.test(l))).toBe(true);
  });

  it('a JavaScript batch that throws: with skip, the whole batch is counted', async () => {
    const dir = tmp();
    const r = await readEndless(dir, ['--out', join(dir, 'out'), '--processor', P('plain.mjs'), '--processor-errors', 'skip'], { records: 9 });
    expect(r.exitCode).toBe(0);
    expect(jsonLines(join(dir, 'out', 's1.jsonl')).map((x) => x['id'])).toEqual([1, 2, 2, 3, 4, 4, 5, 6, 6, 8, 8, 9]);
    expect(r.stderr).toMatch(/1 error, 1 record skipped/);
  });
});

describe('a processor child that misbehaves', () => {
  it('dies midway: exit 7 naming the processor, the batch and its last stderr line; state only up to the records before', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const r = await readEndless(dir, ['--out', out, '--processor', P('dies.py')]);
    expect(r.exitCode).toBe(7);
    expect(r.stderr).toMatch(/the processor \S*dies\.py exited with code 3 while processing batch \d+ \(stream s1, records? [0-9-]+\)/);
    expect(r.stderr).toContain('dies.py: giving up at id 5');
    expect(streamState(join(out, 'state.json'), 's1')?.cursor ?? 0).toBeLessThanOrEqual(4);
    expect(jsonLines(join(out, 's1.jsonl')).length).toBeLessThanOrEqual(4);
  });

  it('hangs: stopped after the heartbeat timeout, exit 7 naming the processor and the batch; nothing left running', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const r = await readEndless(dir, ['--out', out, '--heartbeat-timeout', '4', '--processor', P('hangs.py')]);
    expect(r.exitCode).toBe(7);
    expect(r.stderr).toMatch(/the processor \S*hangs\.py sent no RESULT for batch \d+ \(stream s1, records? [0-9-]+\) within/);
    expect(streamState(join(out, 'state.json'), 's1')?.cursor ?? 0).toBeLessThanOrEqual(4);
    const ps = execFileSync('ps', ['-eo', 'args']).toString();
    expect(ps).not.toContain(P('hangs.py'));
  });

  it('writes garbage on its stdout (JavaScript, process.stdout.write): exit 7 quoting the line; console.log in author code is only logged', async () => {
    const dir = tmp();
    const r = await readEndless(dir, ['--processor', P('garbage.mjs')]);
    expect(r.exitCode).toBe(7);
    expect(r.stderr).toMatch(/the processor \S*garbage\.mjs wrote a line that is not a JSON message on its stdout line \d+ .*It starts: \\?"this is not a protocol line/);
    expect(logLines(r.stderr)).toContain('console.log goes to stderr: fine');
  });

  it('Python: print(), sys.__stdout__ and os.write(1) in author code cannot reach the protocol: logged, the run succeeds', async () => {
    const dir = tmp();
    const r = await readEndless(dir, ['--out', join(dir, 'out'), '--processor', P('garbage.py')], { records: 3 });
    expect(r.exitCode, r.stderr).toBe(0);
    const logs = logLines(r.stderr);
    for (const m of ['print() goes to the log', 'sys.__stdout__ goes to the log', 'os.write(1) goes to the log']) expect(logs).toContain(m);
    expect(jsonLines(join(dir, 'out', 's1.jsonl')).map((x) => x['id'])).toEqual([1, 2, 3]);
  });

  it('answers the wrong batch id: exit 7 saying which batch was next', async () => {
    const dir = tmp();
    const r = await readEndless(dir, ['--out', join(dir, 'out'), '--processor', P('wrong_id.mjs')]);
    expect(r.exitCode).toBe(7);
    expect(r.stderr).toMatch(/the processor \S*wrong_id\.mjs answered batch 99 when batch \d+ \(stream s1, records? [0-9-]+\) was next; results must come in order, one per batch/);
    expect(streamState(join(dir, 'out', 'state.json'), 's1')).toBeUndefined();
  });

  it('cannot be loaded: a missing file or name, two candidates, an exception at import: exit 2 with the reason, no traceback', async () => {
    const dir = tmp();
    const cases: [string, RegExp][] = [
      [P('nope.py'), /processor not found: \S*nope\.py \(no such file\)/],
      [`${P('upper.py')}:nothere`, /upper\.py has no 'nothere' \(it has: process\)/],
      [P('two.py'), /two\.py has several processors \(first, second\): name one, e\.g\. two\.py:first/],
      [P('broken.py'), /cannot load the processor \S*broken\.py: RuntimeError: this processor refuses to load \(broken\.py:4 in <module>\)/],
      [`${P('touch.mjs')}:nothere`, /touch\.mjs has no export named "nothere"; it exports: default/],
      [join(dir, 'x.txt'), /processor not found|give a \.py file/],
    ];
    for (const [ref, re] of cases) {
      const r = await readEndless(dir, ['--processor', ref]);
      expect(r.exitCode, `${ref}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(re);
      noRawTrace(r.stderr);
    }
    const two = await readEndless(dir, ['--processor', `${P('two.py')}:second`], { records: 1 });
    expect(two.exitCode).toBe(0);
    expect(two.stdout).toContain('"which":"second"');
  });

  it('a bad vars file is a usage error before anything runs', async () => {
    const dir = tmp();
    const cases: [string, RegExp][] = [
      [writeJson(dir, 'a.json', { factor: 2 }), /has "factor"; it holds only "args" \(a list\) and "kwargs" \(an object\)/],
      [writeJson(dir, 'b.json', { args: { x: 1 } }), /"args" must be a list/],
      [writeJson(dir, 'c.json', [1, 2]), /must be an object/],
      [join(dir, 'missing.json'), /cannot read the processor vars file .*no such file/],
    ];
    for (const [file, re] of cases) {
      const r = await readEndless(dir, ['--processor', P('vars.py'), '--processor-vars', file]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(re);
    }
    const notJson = join(dir, 'd.json');
    writeFileSync(notJson, '{"args": [1,');
    const r = await readEndless(dir, ['--processor', P('vars.py'), '--processor-vars', notJson]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/is not JSON/);
    const alone = await readEndless(dir, ['--processor-vars', notJson]);
    expect(alone.exitCode).toBe(2);
    expect(alone.stderr).toContain('--processor-vars goes with --processor');
    const pk = await readEndless(dir, ['--processor', P('touch.mjs'), '--processor-packages', 'text-unidecode==1.3']);
    expect(pk.exitCode).toBe(2);
    expect(pk.stderr).toContain('--processor-packages installs Python packages');
    const badPkg = await readEndless(dir, ['--processor', P('upper.py'), '--processor-packages', 'ok==1.0,--index-url=http://evil']);
    expect(badPkg.exitCode).toBe(2);
  });

  it('a processor naming a stream the run does not read: a warning, the records pass unchanged', async () => {
    const dir = tmp();
    const r = await readEndless(dir, ['--processor', P('elsewhere.py')], { records: 3 });
    expect(r.exitCode).toBe(0);
    expect(logLines(r.stderr).some((l) => /applies to "nosuch", which this run does not read \(streams: s1\)/.test(l))).toBe(true);
    expect(r.stdout).not.toContain('never');
  });
});

describe('hostile data through a processor', () => {
  it('__proto__ and constructor keys in output records are written as data (host and JS runtime)', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const r = await readEndless(dir, ['--out', out, '--processor', P('proto.py')], { records: 2 });
    expect(r.exitCode).toBe(0);
    const ls = lines(join(out, 's1.jsonl'));
    expect(ls[0]).toBe('{"id":1,"s":"s1","__proto__":{"polluted":true},"constructor":"x"}');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    // and back through a JavaScript processor: the key stays an own data key
    const again = join(dir, 'again');
    const sample = join(dir, 'sample.jsonl');
    writeFileSync(sample, ls.join('\n') + '\n');
    const p = await host(['process', P('touch.mjs'), '--sample', sample]);
    expect(p.exitCode, p.stderr).toBe(0);
    expect(p.stdout.split('\n')[0]).toBe('{"id":1,"s":"s1","__proto__":{"polluted":true},"constructor":"x","touched":true}');
    void again;
  });

  it("a secret of the run's config is masked in the processor's stderr and in its error messages", async () => {
    const dir = tmp();
    const secret = 'sekret-token-98765';
    const config = writeJson(dir, 'config.json', { api_key: secret, event_count: 3 });
    const vars = writeJson(dir, 'vars.json', { kwargs: { token: secret } });
    const fail = await host(['read', '--config', config, '--progress', 'off', '--processor', P('leaky.py'), '--processor-vars', vars, EXAMPLE.node]);
    expect(fail.exitCode).toBe(7);
    expect(fail.stderr).toMatch(/PermissionError: the token \*+ was rejected/);
    expect(fail.stderr + fail.stdout).not.toContain(secret);
    const skip = await host(['read', '--config', config, '--progress', 'off', '--processor', P('leaky.py'), '--processor-vars', vars, '--processor-errors', 'skip', EXAMPLE.node]);
    expect(skip.exitCode).toBe(0);
    expect(skip.stderr).toMatch(/record 1 of stream users: PermissionError: the token \*+ was rejected/);
    expect(skip.stderr + skip.stdout).not.toContain(secret);
    expect(readFileSync(vars, 'utf8')).toContain(secret); // (the vars file itself is the user's)
  });
});
