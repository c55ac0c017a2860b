import { describe, it, expect } from 'vitest';
import { readFileSync, writeFileSync, readdirSync, statSync, mkdirSync } from 'node:fs';
import { execa } from 'execa';
import { join } from 'node:path';
import { tmp, writeJson, jsonLines, readJson } from '../helpers.js';
import { hostSinger, runShim, SHIM, singerTap } from './singer-tap-helpers.js';

/** Every file under dir, as text. */
function allText(dir: string): string {
  return (readdirSync(dir, { recursive: true }) as string[])
    .map((f) => join(dir, f))
    .filter((p) => statSync(p).isFile())
    .map((p) => readFileSync(p, 'utf8'))
    .join('\n');
}

describe('Singer-tap shim: a tap that rewrites its config file', () => {
  it('the new refresh token is written back into the user config (format and comments kept), and appears in no output', async () => {
    const d = tmp();
    const cfg = join(d, 'tap.yaml');
    writeFileSync(cfg, '# credentials for the test API\nclient_id: abc # keep me\nrefresh_token: tok-Planted-7\n', { mode: 0o600 });
    const out = join(d, 'out');
    const r = await hostSinger('read', 'tap-refresh-token', ['--config', cfg, '--out', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(readFileSync(cfg, 'utf8')).toBe('# credentials for the test API\nclient_id: abc # keep me\nrefresh_token: tok-Planted-8\n');
    expect(statSync(cfg).mode & 0o777).toBe(0o600);
    expect(r.stderr).toMatch(/updated its config.*refresh_token/);
    expect(jsonLines(join(out, 'items.jsonl'))).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    for (const t of ['tok-Planted-7', 'tok-Planted-8']) {
      expect(r.stdout + r.stderr).not.toContain(t);
      expect(allText(out)).not.toContain(t);
    }
    // the next run gets the new token and rotates it again
    const r2 = await hostSinger('read', 'tap-refresh-token', ['--config', cfg, '--out', out]);
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(readFileSync(cfg, 'utf8')).toContain('refresh_token: tok-Planted-9\n');
    expect(r2.stdout + r2.stderr).not.toContain('tok-Planted-9');
  });

  it('a JSON config keeps its indentation; a tap that fails after rotating still gets its new token written back', async () => {
    const d = tmp();
    const cfg = join(d, 'c.json');
    writeFileSync(cfg, '{\n    "client_id": "abc",\n    "refresh_token": "rt-Planted-1",\n    "fail_after_rotate": true\n}\n');
    const r = await hostSinger('read', 'tap-refresh-token', ['--config', cfg, '--out', join(d, 'out')]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('the API is down');
    expect(readFileSync(cfg, 'utf8')).toBe('{\n    "client_id": "abc",\n    "refresh_token": "rt-Planted-2",\n    "fail_after_rotate": true\n}\n');
    expect(r.stdout + r.stderr).not.toMatch(/rt-Planted-[12]/);
  });

  it('the shim sends CONTROL CONNECTOR_CONFIG once, after the records; the file it was given is left alone', async () => {
    const d = tmp();
    const cfg = writeJson(d, 'c.json', { client_id: 'abc', refresh_token: 'x-1' });
    const before = readFileSync(cfg, 'utf8');
    const r = await runShim('tap-refresh-token', [], ['read', '--config', cfg, '--catalog', writeJson(d, 'cat.json', { streams: [] })]);
    expect(r.exitCode, r.stderr).toBe(0);
    const controls = r.messages.filter((m) => m.type === 'CONTROL');
    expect(controls).toHaveLength(1);
    expect(controls[0].control).toMatchObject({ type: 'CONNECTOR_CONFIG', connectorConfig: { config: { client_id: 'abc', refresh_token: 'x-2' } } });
    expect(r.messages.at(-1).type).toBe('CONTROL');
    expect(readFileSync(cfg, 'utf8')).toBe(before);
    // a tap that does not touch its config: no CONTROL
    const same = await runShim('tap-versions', [], ['read', '--config', cfg, '--catalog', writeJson(d, 'cat2.json', { streams: [] })]);
    expect(same.messages.filter((m) => m.type === 'CONTROL')).toEqual([]);
  });

  it('SIGTERM to the shim mid-sync: the tap is stopped, the rotated config still sent, no temp copy of the config left', async () => {
    const d = tmp();
    const tmpdir = join(d, 'tmp');
    mkdirSync(tmpdir);
    const cfg = writeJson(d, 'c.json', { client_id: 'abc', refresh_token: 'h-1', hang: true });
    const sub = execa(process.execPath, [SHIM, '--tap-json', JSON.stringify({ command: process.execPath, args: [singerTap('tap-refresh-token')], capabilities: ['catalog'] }), 'read', '--config', cfg, '--catalog', writeJson(d, 'cat.json', { streams: [] })], { reject: false, stdin: 'ignore', env: { TMPDIR: tmpdir } });
    let seen = '';
    await new Promise<void>((res) => sub.stdout!.on('data', (b: Buffer) => ((seen += b.toString()), seen.includes('"RECORD"') && res())));
    sub.kill('SIGTERM');
    const r = await sub;
    expect(r.exitCode).toBe(1);
    const messages = String(r.stdout).split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(messages.map((m) => m.type)).toEqual(['RECORD', 'TRACE', 'CONTROL']);
    expect(messages[2].control.connectorConfig.config.refresh_token).toBe('h-2');
    expect(readdirSync(tmpdir)).toEqual([]);
  });
});

describe('Singer-tap shim: ACTIVATE_VERSION', () => {
  /** The shim's read of tap-versions: the kinds of its messages in order (S:V / C:V for the statuses). */
  async function readVersions(knobs: string[]) {
    const d = tmp();
    const cfg = writeJson(d, 'c.json', { version: 1714557600123, rows: 3 });
    const disc = await runShim('tap-versions', [], ['discover', '--config', cfg]);
    const stream = disc.messages.find((m) => m.type === 'CATALOG').catalog.streams[0];
    const cat = writeJson(d, 'cat.json', { streams: [{ stream, sync_mode: 'incremental', destination_sync_mode: 'append', cursor_field: ['id'] }] });
    const r = await runShim('tap-versions', knobs, ['read', '--config', cfg, '--catalog', cat]);
    const kinds = r.messages.map((m) =>
      m.type === 'TRACE' && m.trace.type === 'STREAM_STATUS' ? `${m.trace.stream_status.status}:${m.trace.stream_status.activate_version}:${m.trace.stream_status.stream_descriptor.name}` : m.type === 'RECORD' ? `R${m.record.data.id}` : m.type === 'TRACE' ? `TRACE ${m.trace.type}` : m.type,
    );
    return { r, kinds };
  }

  it('ACTIVATE_VERSION at start and end: STARTED before the first record, COMPLETE after the last', async () => {
    const { r, kinds } = await readVersions([]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(kinds).toEqual(['STARTED:1714557600123:rows', 'R1', 'R2', 'R3', 'COMPLETE:1714557600123:rows', 'STATE']);
  });

  it('only the closing ACTIVATE_VERSION (pipelinewise after the first run): STARTED at the first versioned record', async () => {
    const { r, kinds } = await readVersions(['--only-closing']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(kinds).toEqual(['STARTED:1714557600123:rows', 'R1', 'R2', 'R3', 'COMPLETE:1714557600123:rows', 'STATE']);
  });

  it('only the opening ACTIVATE_VERSION and exit 0: COMPLETE at the end', async () => {
    const { r, kinds } = await readVersions(['--only-opening']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(kinds).toEqual(['STARTED:1714557600123:rows', 'R1', 'R2', 'R3', 'STATE', 'COMPLETE:1714557600123:rows']);
  });

  it('a tap failing before the closing ACTIVATE_VERSION: STARTED, records, no COMPLETE', async () => {
    const { r, kinds } = await readVersions(['--fail-before-closing']);
    expect(r.exitCode).toBe(1);
    expect(kinds).toEqual(['STARTED:1714557600123:rows', 'R1', 'R2', 'R3', 'TRACE ERROR']);
  });

  // End to end: needs the --out writer's activate_version support (replacement file swapped in at COMPLETE).
  it('host read --out: a new table version replaces the stream\'s earlier data; a run that fails before the closing message keeps it', async () => {
    const d = tmp();
    const out = join(d, 'out');
    const run = (version: number, rows: number, knobs: string[] = []) => hostSinger('read', 'tap-versions', ['--config', writeJson(d, `c${version}.json`, { version, rows }), '--out', out], knobs);
    const r1 = await run(100, 3);
    expect(r1.exitCode, r1.stderr).toBe(0);
    expect(jsonLines(join(out, 'rows.jsonl'))).toEqual([1, 2, 3].map((id) => ({ id, v: 100 })));
    const r2 = await run(200, 2, ['--only-closing']);
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(jsonLines(join(out, 'rows.jsonl'))).toEqual([1, 2].map((id) => ({ id, v: 200 })));
    expect(readJson(join(out, 'state.json')).states[0].data).toEqual({ bookmarks: { rows: { version: 200 } } });
    const r3 = await run(300, 4, ['--fail-before-closing']);
    expect(r3.exitCode).toBe(3);
    expect(jsonLines(join(out, 'rows.jsonl'))).toEqual([1, 2].map((id) => ({ id, v: 200 })));
    expect(readJson(join(out, 'state.json')).states[0].data).toEqual({ bookmarks: { rows: { version: 200 } } });
  });
});
