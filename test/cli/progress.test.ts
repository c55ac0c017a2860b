// The live view (a display redrawn in place on a terminal, plain lines in a pipe), --quiet,
// --progress, and the end-of-run summary table.

import { describe, it, expect } from 'vitest';
import { execa } from 'execa';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { host, tmp, bad, writeJson, HOST } from '../helpers.js';
import { LiveView, progressMode } from '../../dist/cli/progress.js';

const node = process.execPath;
const ESC = '\x1b';
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f]/; // anything but \n
// eslint-disable-next-line no-control-regex
const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '').replace(/\r/g, '');

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;

/** Run `host <args>` with stdin, stdout and stderr on a pseudo-terminal: everything it printed. */
async function hostOnPty(args: string[], env: Record<string, string | undefined> = {}): Promise<{ exitCode: number; output: string }> {
  const cmd = [node, HOST, ...args];
  const r = hasScript
    ? // util-linux script: -q quiet, -f flush, -e the command's exit code, -c the command (a shell string)
      await execa('script', ['-qfec', cmd.map(quote).join(' '), '/dev/null'], { reject: false, stdin: 'ignore', env })
    : await execa('python3', ['-c', 'import pty, sys; sys.exit(pty.spawn(sys.argv[1:]) >> 8)', ...cmd], { reject: false, stdin: 'ignore', env });
  return { exitCode: r.exitCode ?? -1, output: String(r.stdout) };
}

function readArgs(dir: string, fixture: string, knobs: string[] = [], opts: string[] = []): string[] {
  return ['read', '--config', writeJson(dir, 'config.json', {}), '--out', join(dir, 'out'), ...opts, '--', node, bad(fixture), ...knobs];
}

/** The rows of the summary table, as arrays of cells (split on runs of 2+ spaces); a "dropped" column after records when any were. */
function summaryRows(text: string): string[][] {
  const lines = stripAnsi(text).split('\n');
  const head = lines.findLastIndex((l) => /^ {2}stream\s+mode\s+status\s+records(\s+dropped)?\s+bytes\s+time\s+state$/.test(l));
  expect(head).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  for (const l of lines.slice(head + 1)) {
    if (!l.startsWith('  ')) break;
    rows.push(l.trim().split(/\s{2,}/));
  }
  return rows;
}

describe.concurrent('live view', () => {
  it.skipIf(!hasScript && spawnSync('python3', ['--version']).status !== 0)(
    'on a terminal: a display redrawn in place with per-stream counts, percentage and ETA from ESTIMATE, the last log line; logs above it; then the summary',
    async () => {
      const dir = tmp();
      // CI unset so that auto means tty
      const r = await hostOnPty(readArgs(dir, 'estimate', ['--records', '12', '--delay-ms', '120', '--log-every', '4']), { CI: undefined, TERM: 'xterm' });
      expect(r.exitCode).toBe(0);
      const out = r.output;
      expect(out).toContain(`${ESC}[J`); // the display is cleared and redrawn in place
      expect(out).toMatch(new RegExp(`\\r${ESC}\\[\\d+A${ESC}\\[J`));
      const plain = stripAnsi(out);
      expect(plain).toMatch(/^host read {2}\d+:\d\d elapsed {2}\d+ records/m);
      expect(plain).toMatch(/^ {2}stream\s+state\s+records\s+bytes\s+rate\s+done\s+ETA$/m);
      // items has a row estimate, events a byte estimate: both give a percentage and an ETA while running
      expect(plain).toMatch(/^ {2}items\s+RUNNING\s+\d+\s+\d+ B\s+[\d.,]+\/s\s+\d{1,2}%\s+\d+:\d\d$/m);
      expect(plain).toMatch(/^ {2}events\s+RUNNING\s+\d+\s+\d+ B\s+[\d.,]+\/s\s+\d{1,2}%\s+\d+:\d\d$/m);
      expect(plain).toMatch(/^ {2}items\s+COMPLETE\s+12\s+.*100%/m);
      expect(plain).toMatch(/^ {2}events\s+WAITING\s+0\s/m);
      expect(plain).toMatch(/^ {2}last log: .*fetched page \d of items$/m);
      // a log line is written whole above the display, not into it
      expect(plain).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}\[estimate LOG\] fetched page 1 of items$/m);
      // the display is gone before the summary
      const rows = summaryRows(out);
      expect(rows).toEqual([
        ['items', 'incremental/append', 'complete', '12', expect.stringMatching(/ B$/), expect.stringMatching(/^\d+\.\d s$/), 'committed'],
        ['events', 'incremental/append', 'complete', '12', expect.stringMatching(/ B$/), expect.stringMatching(/^\d+\.\d s$/), 'committed'],
      ]);
      const afterTable = out.slice(out.lastIndexOf('  stream  '));
      expect(afterTable).not.toContain(ESC);
    },
  );

  it.skipIf(!hasScript)('on a terminal under CI: plain lines, no control characters (the logs at warn)', async () => {
    const dir = tmp();
    const r = await hostOnPty(readArgs(dir, 'estimate', ['--records', '3', '--delay-ms', '10'], ['--log-level', 'warn']), { CI: 'true' });
    expect(r.exitCode).toBe(0);
    expect(r.output).not.toContain(ESC);
    expect(stripAnsi(r.output)).toMatch(/^read 6 records in /m);
  });

  it('in a pipe: a plain progress line every 5 s, no control characters; the summary after it', async () => {
    const dir = tmp();
    const r = await host(readArgs(dir, 'slow', ['--records', '30', '--delay-ms', '200']));
    expect(r.exitCode).toBe(0);
    expect(r.stderr).not.toMatch(CONTROL);
    const progress = r.stderr.split('\n').filter((l) => l.startsWith('progress '));
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress[0]).toMatch(/^progress 0:0\d: \d+ records, \d+ B, [\d.]+\/s; items RUNNING \d+ records [\d.]+\/s$/);
    expect(r.stderr.indexOf('progress ')).toBeLessThan(r.stderr.indexOf('  stream  '));
    // no STREAM_STATUS from slow.mjs: complete once it exited 0; bytes as in the file (newlines included)
    expect(summaryRows(r.stderr)).toEqual([['items', 'incremental/append', 'complete', '30', '822 B', expect.stringMatching(/^\d+\.\d s$/), 'committed']]);
  });

  it('--progress=plain with ESTIMATE: the percentage and ETA in the line', async () => {
    const dir = tmp();
    const r = await host(readArgs(dir, 'estimate', ['--records', '36', '--delay-ms', '150', '--log-every', '0'], ['--progress=plain']));
    expect(r.exitCode).toBe(0);
    expect(r.stderr).not.toMatch(CONTROL);
    expect(r.stderr).toMatch(/^progress 0:0\d: \d+ records, .*; items RUNNING \d+ records [\d.]+\/s \d{1,2}% ETA \d+:\d\d; 1 waiting$/m);
  });

  it('--quiet: nothing at all on success; on failure only the error', async () => {
    const dir = tmp();
    const ok = await host(readArgs(dir, 'slow', ['--records', '3', '--delay-ms', '10'], ['--quiet']));
    expect(ok.exitCode).toBe(0);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toBe('');
    const failed = await host(readArgs(tmp(), 'trace-error', [], ['--quiet', '--log-level', 'fatal']));
    expect(failed.exitCode).toBe(2);
    expect(failed.stderr).toBe('host: Invalid credentials for the API [config_error; the connector exited with code 1]'); // (execa drops the final newline)
  });

  it('--progress=off: no progress lines, the summary kept', async () => {
    const dir = tmp();
    const r = await host(readArgs(dir, 'slow', ['--records', '24', '--delay-ms', '250'], ['--progress=off', '--log-level', 'warn']));
    expect(r.exitCode).toBe(0);
    expect(r.stderr).not.toMatch(/^progress /m);
    expect(r.stderr.split('\n')[0]).toMatch(/^ {2}stream\s+mode/);
    expect(r.stderr).toMatch(/^read 24 records in [\d.]+ s \([\d.]+\/s\)$/m);
    expect(r.stderr).toContain(`records in ${join(dir, 'out')}`);
    expect(r.stderr).toContain(`state committed to ${join(dir, 'out', 'state.json')}`);
  });
});

describe.concurrent('summary table', () => {
  it('a failed run: the failure reason and failure_type in one sentence; which states were committed', async () => {
    const dir = tmp();
    // a first run leaves a state for items; the failing run changes nothing
    expect((await host(readArgs(dir, 'slow', ['--records', '2', '--delay-ms', '1']))).exitCode).toBe(0);
    const r = await host(readArgs(dir, 'trace-error', [], ['--log-level', 'fatal']));
    expect(r.exitCode).toBe(2);
    // the record read before the failure came after the last commit: dropped (cut from the file)
    expect(summaryRows(r.stderr)).toEqual([['items', 'incremental/append', 'incomplete', '0', '1', '0 B', expect.stringMatching(/ s$/), 'unchanged']]);
    expect(r.stderr).toMatch(/^read FAILED after 1 records in [\d.]+ s \(.*\): 0 records kept, 1 dropped \(after the last committed state\)$/m);
    expect(r.stderr).toContain('The run failed (failure_type config_error, error CONNECTOR_CONFIG_ERROR): Invalid credentials for the API.\n');
    expect(r.stderr).toContain(`state file ${join(dir, 'out', 'state.json')} (no new state committed in this run)`);
  });

  it('a connector that dies: its exit and last stderr line; the state committed before it, the stream without state', async () => {
    const dir = tmp();
    const r = await host(readArgs(dir, 'exit-after', ['--fail-after', '7'], ['--log-level', 'fatal']));
    expect(r.exitCode).toBe(3);
    // kept: the 5 items the state after item 5 covers; dropped: items 6-7 and the unfinished snapshot
    expect(summaryRows(r.stderr)).toEqual([
      ['items', 'incremental/append', 'incomplete', '5', '2', '130 B', expect.stringMatching(/ s$/), 'committed'],
      ['snapshot', 'full_refresh/overwrite', 'incomplete', '0', '3', '0 B', expect.stringMatching(/ s$/), '-'],
    ]);
    expect(r.stderr).toContain('The run failed (failure_type not reported, error CONNECTOR_EXIT): the connector exited with code 1 (last stderr line: "exit-after: boom after 7 records").\n');
  });

  it('without --out or --state: records on stdout, state not saved', async () => {
    const dir = tmp();
    const r = await host(['read', '--config', writeJson(dir, 'c.json', {}), '--log-level', 'warn', '--', node, bad('slow'), '--records', '2', '--delay-ms', '1']);
    expect(r.exitCode).toBe(0);
    // the bytes of the RECORD lines written to stdout, each with its newline
    expect(summaryRows(r.stderr)).toEqual([['items', 'incremental/append', 'complete', '2', '212 B', expect.stringMatching(/ s$/), 'not saved']]);
    expect(r.stderr).toContain('state not saved (no --state or --out)');
  });
});

describe('progress (unit)', () => {
  it('auto is tty only on a terminal and not under CI; --quiet and off turn it off', () => {
    const env = {};
    expect(progressMode('auto', { isTTY: true, env })).toBe('tty');
    expect(progressMode('auto', { isTTY: false, env })).toBe('plain');
    expect(progressMode('auto', { isTTY: true, env: { CI: 'true' } })).toBe('plain');
    expect(progressMode('auto', { isTTY: true, env: { CI: 'false' } })).toBe('tty');
    expect(progressMode('auto', { isTTY: true, env: { TERM: 'dumb' } })).toBe('plain');
    expect(progressMode('tty', { isTTY: false, env })).toBe('tty');
    expect(progressMode('plain', { isTTY: true, env, quiet: true })).toBe('off');
    expect(progressMode('off', { isTTY: true, env })).toBe('off');
  });

  it('the display: many streams are cut to the terminal, long lines to its width; an overall ETA when every stream has a row estimate', () => {
    let now = 1_000_000;
    const stream = (name: string, i: number) => ({ key: name, name, namespace: undefined, display: name, configured: {} as never, records: 0, bytes: 0, status: undefined as string | undefined, estimate: { rows: 100 } as { rows?: number } | undefined, i });
    const streams = Array.from({ length: 30 }, (_, i) => stream(`stream_${i}_${'x'.repeat(i === 3 ? 200 : 0)}`, i));
    const out: string[] = [];
    const view = new LiveView({ mode: 'off', label: 'read', write: (s) => out.push(s), size: () => ({ columns: 100, rows: 12 }), now: () => now });
    view.onStart(streams);
    now += 2000;
    streams[3]!.records = 50;
    streams[3]!.bytes = 5000;
    streams[0]!.records = 100;
    streams[0]!.status = 'COMPLETE';
    (view as unknown as { sample(): void }).sample();
    const lines = view.render();
    expect(lines.every((l) => l.length <= 99)).toBe(true);
    expect(lines[0]).toMatch(/^host read {2}0:02 elapsed {2}150 records {2}5\.0 KB {2}25\.0\/s {2}5% {2}ETA 1:54$/);
    expect(lines.filter((l) => /^ {2}stream_/.test(l))).toHaveLength(6);
    expect(lines[2]).toMatch(/^ {2}stream_3_x+\.\.\.$/); // the running stream first, cut to the width
    expect(lines.at(-1)).toBe('  ... 24 more streams: 24 waiting');
    view.stop();
  });
});
