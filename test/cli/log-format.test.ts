// Issue 11, item 7: --log-format text|json (text by default, also off a terminal; the
// environment variable CONNECTOR_HOST_LOG_FORMAT; the flag wins), coloured text on a terminal,
// a connector's Python traceback as one ERROR entry, its stderr at WARN after a failure, and
// hostile stderr (escape sequences, a flood, long lines, secrets) through the text format.

import { describe, it, expect } from 'vitest';
import { execa } from 'execa';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { host, tmp, bad, writeJson, lines, HOST } from '../helpers.js';

const node = process.execPath;
const ESC = '\x1b';
// eslint-disable-next-line no-control-regex
const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '').replace(/\r/g, '');
/** A text log entry's first line off a terminal: ISO time, level, [connector source], message. */
const TEXT_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) /;
const PW = 'pw-Planted-5150';

/** The default: no CONNECTOR_HOST_LOG_FORMAT (test/helpers.ts sets json for the other tests). */
const TEXT_ENV = { CONNECTOR_HOST_LOG_FORMAT: undefined };

function readArgs(dir: string, fixture: string, knobs: string[] = [], opts: string[] = []): string[] {
  return ['read', '--config', writeJson(dir, 'config.json', { password: PW }), '--out', join(dir, 'out'), ...opts, '--', node, bad(fixture), ...knobs];
}

const jsonObjects = (stderr: string) =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string; connector?: string; source?: string; time: string });

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
const hasPython = spawnSync('python3', ['--version']).status === 0;
const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;

/** Run `host <args>` with its stdio on a pseudo-terminal: everything it printed. */
async function hostOnPty(args: string[], env: Record<string, string | undefined> = {}): Promise<{ exitCode: number; output: string }> {
  const cmd = [node, HOST, ...args];
  const r = hasScript
    ? await execa('script', ['-qfec', cmd.map(quote).join(' '), '/dev/null'], { reject: false, stdin: 'ignore', env: { CONNECTOR_HOST_LOG_FORMAT: undefined, NO_COLOR: undefined, CI: undefined, TERM: 'xterm', ...env } })
    : await execa('python3', ['-c', 'import pty, sys; sys.exit(pty.spawn(sys.argv[1:]) >> 8)', ...cmd], { reject: false, stdin: 'ignore', env: { CONNECTOR_HOST_LOG_FORMAT: undefined, NO_COLOR: undefined, CI: undefined, TERM: 'xterm', ...env } });
  return { exitCode: r.exitCode ?? -1, output: String(r.stdout) };
}

describe.concurrent('--log-format off a terminal', () => {
  it('text by default: readable lines (time, level, [connector source], message, fields), no JSON, no colour', async () => {
    const dir = tmp();
    const r = await host(readArgs(dir, 'noise'), { env: TEXT_ENV });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).not.toContain(ESC);
    for (const l of r.stderr.split('\n')) expect(l.startsWith('{'), l).toBe(false);
    const logs = r.stderr.split('\n').filter((l) => TEXT_LINE.test(l));
    expect(logs.length).toBeGreaterThanOrEqual(7);
    expect(logs).toContainEqual(expect.stringMatching(/^\S+ INFO {2}\[noise LOG\] noise: starting$/));
    expect(logs).toContainEqual(expect.stringMatching(/^\S+ WARN {2}\[noise\] stdout line 2: not JSON, ignored: "Starting up\.\.\. \(this is not JSON\)"$/));
    // the summary is unchanged
    expect(r.stderr).toMatch(/^ {2}stream\s+mode\s+status/m);
  });

  it('--log-format json: every log line is a JSON object; the summary stays text', async () => {
    const dir = tmp();
    const r = await host(readArgs(dir, 'noise', [], ['--log-format', 'json']), { env: TEXT_ENV });
    expect(r.exitCode, r.stderr).toBe(0);
    const objs = jsonObjects(r.stderr);
    expect(objs.length).toBeGreaterThanOrEqual(7);
    expect(objs.find((o) => o.source === 'LOG')).toMatchObject({ connector: 'noise', level: 30, msg: 'noise: starting' });
    expect(objs.every((o) => typeof o.time === 'string' && typeof o.level === 'number')).toBe(true);
    expect(r.stderr.split('\n').filter((l) => TEXT_LINE.test(l))).toEqual([]);
  });

  it('CONNECTOR_HOST_LOG_FORMAT sets it; the flag wins; a bad value is a usage error naming the variable', async () => {
    const dir = tmp();
    const viaEnv = await host(readArgs(dir, 'noise'), { env: { CONNECTOR_HOST_LOG_FORMAT: 'json' } });
    expect(viaEnv.exitCode).toBe(0);
    expect(jsonObjects(viaEnv.stderr).length).toBeGreaterThanOrEqual(7);
    const flagWins = await host(readArgs(tmp(), 'noise', [], ['--log-format', 'text']), { env: { CONNECTOR_HOST_LOG_FORMAT: 'json' } });
    expect(flagWins.exitCode).toBe(0);
    expect(jsonObjects(flagWins.stderr)).toEqual([]);
    expect(flagWins.stderr.split('\n').filter((l) => TEXT_LINE.test(l)).length).toBeGreaterThanOrEqual(7);
    const upper = await host(readArgs(tmp(), 'noise'), { env: { CONNECTOR_HOST_LOG_FORMAT: 'JSON' } });
    expect(jsonObjects(upper.stderr).length).toBeGreaterThanOrEqual(7);
    const badEnv = await host(readArgs(tmp(), 'noise'), { env: { CONNECTOR_HOST_LOG_FORMAT: 'xml' } });
    expect(badEnv.exitCode).toBe(2);
    expect(badEnv.stderr).toContain('CONNECTOR_HOST_LOG_FORMAT must be text or json');
    const badFlag = await host(readArgs(tmp(), 'noise', [], ['--log-format', 'yaml']), { env: TEXT_ENV });
    expect(badFlag.exitCode).toBe(2);
    expect(badFlag.stderr).toMatch(/log-format/);
    expect(badFlag.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  });
});

describe.concurrent('a connector that fails with a Python traceback', () => {
  it('json: each traceback is one ERROR entry, the INFO line as it came, then one WARN entry with it after the exit', async () => {
    const dir = tmp();
    const r = await host(readArgs(dir, 'traceback', [], ['--log-format', 'json']), { env: TEXT_ENV });
    expect(r.exitCode).toBe(3);
    const stderr = jsonObjects(r.stderr).filter((o) => o.source === 'stderr');
    const errors = stderr.filter((o) => o.level === 50);
    expect(errors.map((o) => o.msg)).toEqual([
      ['Traceback (most recent call last):', '  File "/app/source_items/source.py", line 41, in parse', '    return total / count', '           ~~~~~~^~~~~~~', 'ZeroDivisionError: division by zero'].join('\n'),
      [
        'The above exception was the direct cause of the following exception:',
        'Traceback (most recent call last):',
        '  File "/app/main.py", line 7, in <module>',
        '    run()',
        '  File "/app/source_items/source.py", line 43, in parse',
        '    raise ValueError("cannot parse page 2 of items") from e',
        'ValueError: cannot parse page 2 of items',
      ].join('\n'),
    ]);
    // no traceback line on its own, none at INFO
    expect(stderr.filter((o) => o.level < 50).map((o) => o.msg)).toEqual(['INFO traceback: starting', expect.stringMatching(/^the connector exited with code 1; its last stderr line \(logged above at a lower level\):\nINFO traceback: starting$/)]);
    expect(stderr.find((o) => o.msg.startsWith('the connector exited'))!.level).toBe(40);
    expect(r.stderr).toContain('host: the connector exited with code 1; its last stderr lines:');
  });

  it('text: one entry per traceback, its lines indented under the ERROR line; at --log-level warn the INFO line is shown by the WARN entry', async () => {
    const r = await host(readArgs(tmp(), 'traceback', [], ['--log-level', 'warn']), { env: TEXT_ENV });
    expect(r.exitCode).toBe(3);
    const all = r.stderr.split('\n');
    const first = all.findIndex((l) => / ERROR \[traceback stderr\] Traceback \(most recent call last\):$/.test(l));
    expect(first).toBeGreaterThanOrEqual(0);
    expect(all.slice(first + 1, first + 5)).toEqual(['      File "/app/source_items/source.py", line 41, in parse', '        return total / count', '               ~~~~~~^~~~~~~', '    ZeroDivisionError: division by zero']);
    expect(all[first + 5]).toMatch(/ ERROR \[traceback stderr\] The above exception was the direct cause of the following exception:$/);
    expect(r.stderr).toMatch(/ WARN {2}\[traceback stderr\] the connector exited with code 1; its last stderr line \(logged above at a lower level\):\n {4}INFO traceback: starting\n/);
    expect(r.stderr).not.toMatch(/^\S+ INFO /m);
  });

  it('exit 0: the traceback is still an ERROR entry, no WARN entry (nothing failed)', async () => {
    const r = await host(readArgs(tmp(), 'traceback', ['--code', '0'], ['--log-format', 'json']), { env: TEXT_ENV });
    expect(r.exitCode, r.stderr).toBe(0);
    const stderr = jsonObjects(r.stderr).filter((o) => o.source === 'stderr');
    expect(stderr.filter((o) => o.level === 50)).toHaveLength(2);
    expect(stderr.filter((o) => o.level === 40)).toEqual([]);
  });

  it('a very long traceback is cut into bounded ERROR entries, every line kept', async () => {
    const r = await host(readArgs(tmp(), 'traceback', ['--frames', '450'], ['--log-format', 'json']), { env: TEXT_ENV });
    expect(r.exitCode).toBe(3);
    const errors = jsonObjects(r.stderr).filter((o) => o.source === 'stderr' && o.level === 50);
    const parts = errors.map((o) => o.msg.split('\n').filter((l) => !l.startsWith('... (the traceback goes on')));
    expect(Math.max(...parts.map((p) => p.length))).toBeLessThanOrEqual(200);
    expect(errors.length).toBeGreaterThanOrEqual(6); // 5 + 4 + 900 frame lines + 2 in entries of 200
    expect(parts.flat().filter((l) => /^ {2}File "\/app\/deep\.py"/.test(l))).toHaveLength(450);
    expect(parts.flat().at(-1)).toBe('ValueError: cannot parse page 2 of items');
  });

  it('check: the same entries (a spawn without read)', async () => {
    const dir = tmp();
    const r = await host(['check', '--config', writeJson(dir, 'c.json', { password: PW }), '--log-format', 'json', '--', node, bad('traceback')], { env: TEXT_ENV });
    expect(r.exitCode).toBe(3);
    const stderr = jsonObjects(r.stderr).filter((o) => o.source === 'stderr');
    expect(stderr.filter((o) => o.level === 50)).toHaveLength(2);
    expect(stderr.filter((o) => o.level === 40)).toHaveLength(1);
  });
});

describe.concurrent('hostile stderr in text format', () => {
  it('escape sequences, carriage returns, C1 and bidi controls are shown escaped; the password masked; the long line bounded', async () => {
    const dir = tmp();
    const r = await host(readArgs(dir, 'stderr-hostile', ['--code', '1']), { env: TEXT_ENV });
    expect(r.exitCode).toBe(3);
    const all = r.stdout + r.stderr;
    expect(all).not.toContain(ESC);
    expect(all).not.toContain('\r');
    expect(all).not.toContain('\x07');
    expect(all).not.toContain('\u009b');
    expect(all).not.toContain('\u202e');
    expect(r.stderr).toContain('hostile-1: \\x1b[31mred\\x1b[0m \\x1b[2J\\x1b[H cleared');
    expect(r.stderr).toContain('hostile-2: \\x1b]0;pwned-title\\x07 title \\x1b[1A up');
    expect(r.stderr).toContain('hostile-3: visible\\rOVERWRITTEN');
    expect(r.stderr).toContain('hostile-4: c1 \\x9b31m csi and \\u202egnp.exe bidi');
    expect(r.stderr).toContain('hostile-5: connecting with **********');
    expect(r.stderr).toMatch(/ ERROR \[stderr-hostile stderr\] Traceback \(most recent call last\):\n.*\n {4}PermissionError: login failed password=\*{10}\n/);
    expect(all).not.toContain(PW);
    // the 200000-character line: cut to 64 KiB by the line framer, shown up to 16 Ki characters
    const long = r.stderr.split('\n').filter((l) => l.includes('hostile-6: xxx'));
    expect(long.length).toBeGreaterThanOrEqual(1);
    for (const l of long) expect(l.length).toBeLessThan(17 * 1024);
    expect(long[0]).toMatch(/… \(\d+ more characters\)/);
    // the final error message (its last stderr lines) is escaped too
    expect(r.stderr).toMatch(/host: the connector exited with code 1; its last stderr lines:\n[\s\S]*hostile-1: \\x1b\[31m/);
  });

  it('json keeps the escaped text machine-readable; the password masked there too', async () => {
    const r = await host(readArgs(tmp(), 'stderr-hostile', [], ['--log-format', 'json']), { env: TEXT_ENV });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).not.toContain(ESC); // JSON escapes it as \u001b
    const msgs = jsonObjects(r.stderr).map((o) => o.msg);
    expect(msgs).toContain('hostile-1: \x1b[31mred\x1b[0m \x1b[2J\x1b[H cleared');
    expect(msgs).toContain('hostile-5: connecting with **********');
    expect(r.stderr).not.toContain(PW);
    const long = msgs.find((m) => m.startsWith('hostile-6: '))!;
    expect(long.length).toBeLessThanOrEqual(64 * 1024);
  });

  it('a stderr flood in text format: the read completes, every record kept, every line bounded', async () => {
    const dir = tmp();
    const r = await host(readArgs(dir, 'stderr-flood', ['--mb', '4', '--records', '500']), { env: TEXT_ENV });
    expect(r.exitCode).toBe(0);
    expect(lines(join(dir, 'out', 'items.jsonl'))).toHaveLength(500);
    const flood = r.stderr.split('\n').filter((l) => / INFO {2}\[stderr-flood stderr\] flood line \d{8} /.test(l));
    expect(flood.length).toBe(Math.ceil((4 * 1024 * 1024) / 100));
    expect(Math.max(...r.stderr.split('\n').map((l) => l.length))).toBeLessThan(200);
  });
});

describe.concurrent('on a terminal', () => {
  it.skipIf(!hasScript && !hasPython)('text: coloured levels, a clock time, escape sequences from the connector still escaped', async () => {
    const dir = tmp();
    const r = await hostOnPty(['check', '--config', writeJson(dir, 'c.json', { password: PW }), '--', node, bad('stderr-hostile'), '--long', '10']);
    expect(r.exitCode).toBe(0);
    // the host's own colours: level names in colour
    expect(r.output).toMatch(new RegExp(`${ESC}\\[32mINFO ${ESC}\\[0m`));
    expect(r.output).toMatch(new RegExp(`${ESC}\\[31mERROR${ESC}\\[0m`));
    const plain = stripAnsi(r.output);
    expect(plain).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}\[stderr-hostile stderr\] hostile-1: \\x1b\[31mred\\x1b\[0m \\x1b\[2J\\x1b\[H cleared$/m);
    // no connector escape sequence reached the terminal: the only ones are SGR colours
    // eslint-disable-next-line no-control-regex
    const sequences = r.output.match(/\x1b[^m]*m?/g) ?? [];
    expect(sequences.every((s) => /^\x1b\[[\d;]*m$/.test(s)), sequences.filter((s) => !/^\x1b\[[\d;]*m$/.test(s)).join(' ')).toBe(true);
    expect(r.output).not.toContain('\u202e');
    expect(r.output).not.toContain(PW);
  });

  it.skipIf(!hasScript && !hasPython)('NO_COLOR: text without colour on a terminal', async () => {
    const dir = tmp();
    const r = await hostOnPty(['check', '--config', writeJson(dir, 'c.json', { password: PW }), '--', node, bad('traceback'), '--code', '0'], { NO_COLOR: '1' });
    expect(r.output).not.toContain(ESC);
    expect(r.output.replace(/\r/g, '')).toMatch(/^\d\d:\d\d:\d\d\.\d{3} ERROR \[traceback stderr\] Traceback \(most recent call last\):$/m);
  });

  it.skipIf(!hasScript && !hasPython)('json is honoured on a terminal too, and its lines are written whole above the live view', async () => {
    const dir = tmp();
    const r = await hostOnPty(readArgs(dir, 'estimate', ['--records', '12', '--delay-ms', '120', '--log-every', '4'], ['--log-format', 'json']));
    expect(r.exitCode).toBe(0);
    expect(r.output).toContain(`${ESC}[J`); // the live view ran
    const plain = stripAnsi(r.output);
    const objs = jsonObjects(plain);
    expect(objs.filter((o) => o.source === 'LOG' && /^fetched page \d of items$/.test(o.msg)).length).toBeGreaterThanOrEqual(3);
    expect(plain.split('\n').filter((l) => /^\d\d:\d\d:\d\d\.\d{3} (INFO|WARN) /.test(l))).toEqual([]);
    // the view shows the last log entry's message
    expect(plain).toMatch(/^ {2}last log: \[estimate\] fetched page \d of items$/m);
  });

  it.skipIf(!hasScript && !hasPython)('CONNECTOR_HOST_LOG_FORMAT=json on a terminal', async () => {
    const dir = tmp();
    const r = await hostOnPty(['check', '--config', writeJson(dir, 'c.json', { password: PW }), '--', node, bad('traceback'), '--code', '0'], { CONNECTOR_HOST_LOG_FORMAT: 'json' });
    const objs = jsonObjects(stripAnsi(r.output));
    expect(objs.filter((o) => o.level === 50 && o.source === 'stderr')).toHaveLength(2);
    expect(r.output).not.toContain(`${ESC}[31m`);
  });
});
