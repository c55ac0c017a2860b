// The end-of-run summary agrees with what is on disk (issue 11, item 9): bytes as written
// (newlines included) and equal to the files and the manifest, or to what stdout got; the records
// kept and those dropped after a failure; "state unchanged" when a run changed nothing; the
// sync modes a run really used (--full-refresh, a Singer target); and a stream without a
// STREAM_STATUS marked complete or incomplete by how the connector ended. Real CLI runs only
// (several per test, so a longer timeout than the default for a loaded machine; nothing is timed).

import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { existsSync, statSync } from 'node:fs';
import { host, tmp, writeJson, readJson, lines, bad, EXAMPLE, FIX } from '../helpers.js';

const node = process.execPath;
const EXAMPLE_CONFIG = join(FIX, 'example', 'config.json');
const DEST = join(FIX, 'destinations', 'dest-jsonl.mjs');
const TARGET = join(FIX, 'singer-targets', 'target-file.mjs');

type Row = Record<string, string>;

/** The summary table by column name (the last one in the text); cells split on runs of 2+ spaces. */
function table(stderr: string): { head: string[]; rows: Record<string, Row> } {
  const all = stderr.split('\n');
  const at = all.findLastIndex((l) => /^ {2}stream\s+mode\s+status\s+records/.test(l));
  expect(at, stderr).toBeGreaterThanOrEqual(0);
  const head = all[at]!.trim().split(/\s{2,}/);
  const rows: Record<string, Row> = {};
  for (const l of all.slice(at + 1)) {
    if (!l.startsWith('  ')) break;
    const cells = l.trim().split(/\s{2,}/);
    expect(cells).toHaveLength(head.length);
    rows[cells[0]!] = Object.fromEntries(head.map((h, i) => [h, cells[i]!]));
  }
  return { head, rows };
}

const totals = (stderr: string) => stderr.split('\n').find((l) => /^read (FAILED after )?\d+ records in /.test(l)) ?? '';
const example = (out: string, extra: string[] = []) => host(['read', EXAMPLE.node, '--config', EXAMPLE_CONFIG, '--out', out, '--log-level', 'warn', ...extra]);
const manifestOf = (out: string) => Object.fromEntries((readJson(join(out, 'manifest.json')).streams as { name: string; records: number; bytes: number }[]).map((s) => [s.name, s]));

describe.concurrent('the summary agrees with the disk', { timeout: 180_000 }, () => {
  it('read --out: each stream\'s bytes are its file size and the manifest\'s bytes (newlines included), records the lines', async () => {
    const out = join(tmp(), 'out');
    const r = await example(out);
    expect(r.exitCode, r.stderr).toBe(0);
    const { head, rows } = table(r.stderr);
    expect(head).not.toContain('dropped');
    const manifest = manifestOf(out);
    for (const name of ['users', 'events']) {
      const size = statSync(join(out, `${name}.jsonl`)).size;
      expect(size).toBeLessThan(1000); // shown exactly ("N B")
      expect(rows[name]!['bytes']).toBe(`${size} B`);
      expect(manifest[name]!.bytes).toBe(size);
      expect(rows[name]!['records']).toBe(String(lines(join(out, `${name}.jsonl`)).length));
      expect(manifest[name]!.records).toBe(Number(rows[name]!['records']));
    }
    expect(rows['users']!['bytes']).toBe('167 B'); // 164 B of data + 3 newlines
    expect(totals(r.stderr)).toMatch(/^read 15 records in [\d.]+ s \([\d.,/s]+\)$/); // the shape bench/run.mjs greps
  });

  it('without --out: the bytes stdout got, per stream (its RECORD lines) and in all (every line)', async () => {
    const formats = ['airbyte', 'singer'];
    const results = await Promise.all(formats.map((format) => host(['read', EXAMPLE.node, '--config', EXAMPLE_CONFIG, '--format', format, '--log-level', 'warn'], { stripFinalNewline: false })));
    for (const r of results) {
      expect(r.exitCode, r.stderr).toBe(0);
      const stdout = Buffer.from(r.stdout);
      expect(r.stderr).toContain(`${stdout.length.toLocaleString('en-US')} bytes written to stdout`);
      const { rows } = table(r.stderr);
      const recordLines = r.stdout.split('\n').filter((l) => l.includes('"RECORD"'));
      const events = recordLines.filter((l) => /"stream":"events"/.test(l));
      const users = recordLines.filter((l) => /"stream":"users"/.test(l));
      expect(events).toHaveLength(12);
      expect(rows['events']!['records']).toBe('12');
      const bytesOf = (ls: string[]) => ls.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
      expect(rows['users']!['bytes']).toBe(`${bytesOf(users)} B`);
      // events' lines pass 1,000 bytes: shown in KB
      expect(rows['events']!['bytes']).toBe(`${(bytesOf(events) / 1000).toFixed(1)} KB`);
    }
  });

  it('a failure after a commit: the records kept equal what is on disk, the dropped ones are read again next time', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const cfg = writeJson(dir, 'c.json', {});
    const args = (...knobs: string[]) => ['read', '--config', cfg, '--out', out, '--log-level', 'fatal', '--', node, bad('exit-after'), ...knobs];
    // a STATE after items 3 and 6; the connector dies after item 8
    const r = await host(args('--fail-after', '8', '--state-every', '3'));
    expect(r.exitCode).toBe(3);
    const { head, rows } = table(r.stderr);
    expect(head).toEqual(['stream', 'mode', 'status', 'records', 'dropped', 'bytes', 'time', 'state']);
    const items = lines(join(out, 'items.jsonl'));
    expect(items).toHaveLength(6);
    expect(rows['items']).toMatchObject({ status: 'incomplete', records: '6', dropped: '2', bytes: `${statSync(join(out, 'items.jsonl')).size} B`, state: 'committed' });
    expect(manifestOf(out)['items']).toMatchObject({ records: 6, bytes: statSync(join(out, 'items.jsonl')).size });
    // the full refresh stream did not complete: nothing of it is kept (no file at all)
    expect(rows['snapshot']).toMatchObject({ status: 'incomplete', records: '0', dropped: '3', bytes: '0 B' });
    expect(existsSync(join(out, 'snapshot.jsonl'))).toBe(false);
    expect(totals(r.stderr)).toMatch(/^read FAILED after 11 records in [\d.]+ s \(.*\): 6 records kept, 5 dropped \(after the last committed state; of a full refresh that did not complete\)$/);

    // the next run reads the dropped items again: no gap, no duplicate
    const again = await host(args());
    expect(again.exitCode, again.stderr).toBe(0);
    expect(lines(join(out, 'items.jsonl')).map((l) => JSON.parse(l).id)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const t = table(again.stderr);
    expect(t.head).not.toContain('dropped');
    expect(t.rows['items']).toMatchObject({ status: 'complete', records: '14' });
    expect(totals(again.stderr)).toMatch(/^read 17 records in [\d.]+ s \([^)]*\)$/);
  });

  it('a failure before any state: every record read is dropped and the file is empty', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const r = await host(['read', '--config', writeJson(dir, 'c.json', {}), '--out', out, '--streams', 'items', '--log-level', 'fatal', '--', node, bad('exit-after'), '--fail-after', '4', '--state-every', '0']);
    expect(r.exitCode).toBe(3);
    expect(table(r.stderr).rows['items']).toMatchObject({ records: '0', dropped: '4', bytes: '0 B', status: 'incomplete' });
    expect(lines(join(out, 'items.jsonl'))).toEqual([]);
    expect(totals(r.stderr)).toMatch(/: 0 records kept, 4 dropped \(after the last committed state\)$/);
  });

  it('a second identical run: "state unchanged", per stream and in the final line; a run that moves the cursor: committed', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const first = await example(out);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stderr).toContain(`state committed to ${join(out, 'state.json')}`);
    expect(table(first.stderr).rows['events']!['state']).toBe('committed');

    const second = await example(out);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(table(second.stderr).rows['events']).toMatchObject({ records: '0', state: 'unchanged' });
    expect(second.stderr).toContain(`state unchanged in ${join(out, 'state.json')}`);
    expect(second.stderr).not.toContain('state committed to');

    // more events upstream: the cursor moves
    const more = writeJson(dir, 'more.json', { ...readJson(EXAMPLE_CONFIG), event_count: 15 });
    const third = await host(['read', EXAMPLE.node, '--config', more, '--out', out, '--log-level', 'warn']);
    expect(third.exitCode, third.stderr).toBe(0);
    expect(table(third.stderr).rows['events']).toMatchObject({ records: '3', state: 'committed' });
    expect(third.stderr).toContain(`state committed to ${join(out, 'state.json')}`);
  });

  it('a Singer target: the destination mode is the target\'s to decide; a protocol destination: the mode it was given', async () => {
    const dir = tmp();
    const dc = writeJson(dir, 'dest.json', { path: join(dir, 'd') });
    const dc2 = writeJson(dir, 'dest2.json', { path: join(dir, 'd2') });
    const [r, p] = await Promise.all([
      host(['run', EXAMPLE.node, '--config', EXAMPLE_CONFIG, '--destination', TARGET, '--destination-protocol', 'singer', '--destination-config', dc, '--state', join(dir, 's.json'), '--log-level', 'warn']),
      // a protocol destination told append for every stream: the summary says what it was told
      host(['run', EXAMPLE.node, '--config', EXAMPLE_CONFIG, '--destination', DEST, '--destination-config', dc2, '--destination-sync-mode', 'append', '--state', join(dir, 's2.json'), '--log-level', 'warn']),
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    const { head, rows } = table(r.stderr);
    expect(head).not.toContain('dropped');
    expect(rows['users']!['mode']).toBe('full_refresh/append (target decides)');
    expect(rows['events']!['mode']).toBe('incremental/append (target decides)');
    expect(rows['users']!['records']).toBe('3');

    expect(p.exitCode, p.stderr).toBe(0);
    const told = Object.fromEntries((readJson(join(dir, 'd2', '_catalog.json')).streams as any[]).map((c) => [c.stream.name, `${c.sync_mode}/${c.destination_sync_mode}`]));
    expect(told).toEqual({ users: 'full_refresh/append', events: 'incremental/append' });
    const t = table(p.stderr).rows;
    expect({ users: t['users']!['mode'], events: t['events']!['mode'] }).toEqual(told);
  });

  it('--full-refresh: the mode column shows the full refresh, into --out, stdout and a destination', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const dc = writeJson(dir, 'dest.json', { path: join(dir, 'd') });
    // (independent runs side by side: stdout, a destination, and --out without --full-refresh)
    const others = Promise.all([
      host(['read', EXAMPLE.node, '--config', EXAMPLE_CONFIG, '--full-refresh', '--log-level', 'warn']),
      host(['run', EXAMPLE.node, '--config', EXAMPLE_CONFIG, '--destination', DEST, '--destination-config', dc, '--state', join(dir, 's.json'), '--full-refresh', '--log-level', 'warn']),
      example(join(dir, 'out2')),
    ]);
    expect((await example(out)).exitCode).toBe(0);
    const r = await example(out, ['--full-refresh']);
    expect(r.exitCode, r.stderr).toBe(0);
    const rows = table(r.stderr).rows;
    expect(rows['events']).toMatchObject({ mode: 'full_refresh/overwrite', records: '12' });
    expect(rows['users']!['mode']).toBe('full_refresh/overwrite');
    expect(lines(join(out, 'events.jsonl'))).toHaveLength(12); // replaced, not appended to
    expect(manifestOf(out)['events']!.bytes).toBe(statSync(join(out, 'events.jsonl')).size);

    const [so, d, plain] = await others;
    expect(so.exitCode, so.stderr).toBe(0);
    expect(table(so.stderr).rows['events']!['mode']).toBe('full_refresh/append');

    expect(d.exitCode, d.stderr).toBe(0);
    expect(table(d.stderr).rows['events']!['mode']).toBe('full_refresh/overwrite');
    const told = (readJson(join(dir, 'd', '_catalog.json')).streams as any[]).find((c) => c.stream.name === 'events');
    expect(told.destination_sync_mode).toBe('overwrite');

    // without --full-refresh the configured modes stand
    expect(table(plain.stderr).rows['events']!['mode']).toBe('incremental/append');
  });

  it('a connector that never sends STREAM_STATUS: complete when it exits 0, incomplete when it fails', async () => {
    const dir = tmp();
    const cfg = writeJson(dir, 'c.json', {});
    const [ok, failed, none] = await Promise.all([
      host(['read', '--config', cfg, '--out', join(dir, 'a'), '--log-level', 'warn', '--', node, bad('slow'), '--records', '3', '--delay-ms', '1']),
      host(['read', '--config', cfg, '--out', join(dir, 'b'), '--streams', 'items', '--log-level', 'fatal', '--', node, bad('exit-after'), '--fail-after', '2']),
      // a connector that exits 0 and sends no record: complete too, nothing written
      host(['read', '--config', cfg, '--out', join(dir, 'c'), '--log-level', 'warn', '--', node, bad('slow'), '--records', '0']),
    ]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(table(ok.stderr).rows['items']!['status']).toBe('complete');
    expect(ok.stderr).not.toMatch(/running/i);

    expect(failed.exitCode).toBe(3);
    expect(table(failed.stderr).rows['items']!['status']).toBe('incomplete');

    expect(none.exitCode, none.stderr).toBe(0);
    expect(table(none.stderr).rows['items']).toMatchObject({ status: 'complete', records: '0', bytes: '0 B' });
  });
});

describe('the failure sentence', () => {
  it("escapes control and bidi characters of the connector's TRACE message (never raw to the terminal)", async () => {
    const dir = tmp();
    const message = 'bad \u001b]0;pwned\u0007 key \u001b[2J\u202eevil\u009b1m';
    const r2 = await host(['read', '--config', writeJson(dir, 'c.json', {}), '--out', join(dir, 'out'), '--log-format', 'text', '--', node, bad('trace-error'), '--message', message]);
    expect(r2.exitCode).toBe(2);
    expect(r2.stderr).toContain('The run failed (failure_type config_error');
    expect(r2.stderr).toContain('pwned');
    expect(r2.stderr).not.toMatch(/[\u001b\u0007\u009b\u202e]/);
  });
});
