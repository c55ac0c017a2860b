// --catalog accepts a configured catalog, `host discover`'s CATALOG message, or a bare discovered
// catalog; `host catalog` prints a configured catalog that --catalog takes back (issue 11, item 5).

import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { writeFileSync, readFileSync } from 'node:fs';
import { host, tmp, EXAMPLE, writeJson, jsonLines } from '../helpers.js';

const CONFIG = join(EXAMPLE.node, '..', 'config.json');
const records = (stdout: string) => stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((m) => m.type === 'RECORD').map((m) => ({ stream: m.record.stream, data: m.record.data }));

describe('--catalog forms', () => {
  it('the CATALOG message host discover prints, and its bare catalog, read like no --catalog (all streams, default modes)', async () => {
    const dir = tmp();
    const disc = await host(['discover', EXAMPLE.node, '--config', CONFIG]);
    expect(disc.exitCode).toBe(0);
    const message = join(dir, 'discovered.json');
    writeFileSync(message, disc.stdout);
    const bare = writeJson(dir, 'bare.json', JSON.parse(disc.stdout).catalog);
    const plain = await host(['read', EXAMPLE.node, '--config', CONFIG, '--quiet']);
    const a = await host(['read', EXAMPLE.node, '--config', CONFIG, '--catalog', message, '--quiet']);
    const b = await host(['read', EXAMPLE.node, '--config', CONFIG, '--catalog', bare, '--quiet']);
    expect(plain.exitCode).toBe(0);
    expect(a.exitCode).toBe(0);
    expect(b.exitCode).toBe(0);
    expect(records(plain.stdout)).toHaveLength(3 + 12);
    expect(records(a.stdout)).toEqual(records(plain.stdout));
    expect(records(b.stdout)).toEqual(records(plain.stdout));
    // events configured incremental (the default), so a second read with --out resumes
    const out = join(dir, 'out');
    expect((await host(['read', EXAMPLE.node, '--config', CONFIG, '--catalog', message, '--out', out, '--quiet'])).exitCode).toBe(0);
    expect(jsonLines(join(out, 'events.jsonl'))).toHaveLength(12);
    const again = await host(['read', EXAMPLE.node, '--config', CONFIG, '--catalog', message, '--out', out, '--quiet']);
    expect(again.exitCode).toBe(0);
    expect(jsonLines(join(out, 'events.jsonl'))).toHaveLength(12); // nothing new after cursor 12
  });

  it('--streams narrows a discovered catalog; with a configured catalog it is refused', async () => {
    const dir = tmp();
    const disc = await host(['discover', EXAMPLE.node, '--config', CONFIG]);
    const message = join(dir, 'discovered.json');
    writeFileSync(message, disc.stdout);
    const r = await host(['read', EXAMPLE.node, '--config', CONFIG, '--catalog', message, '--streams', 'users', '--quiet']);
    expect(r.exitCode).toBe(0);
    expect(new Set(records(r.stdout).map((x) => x.stream))).toEqual(new Set(['users']));
    const cat = join(dir, 'configured.json');
    writeFileSync(cat, (await host(['catalog', EXAMPLE.node, '--config', CONFIG])).stdout);
    const both = await host(['read', EXAMPLE.node, '--config', CONFIG, '--catalog', cat, '--streams', 'users', '--quiet']);
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toContain('give either a configured catalog or --streams, not both');
  });

  it('host catalog prints pretty JSON that read --catalog takes; an edit of the file is honoured', async () => {
    const dir = tmp();
    const r = await host(['catalog', EXAMPLE.node, '--config', CONFIG]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('\n  "streams": [\n');
    const cat = JSON.parse(r.stdout);
    expect(cat.streams.map((s: any) => [s.stream.name, s.sync_mode, s.destination_sync_mode])).toEqual([
      ['users', 'full_refresh', 'overwrite'],
      ['events', 'incremental', 'append'],
    ]);
    // edit: drop events, make users keep only name (id stays: the primary key)
    cat.streams = cat.streams.filter((s: any) => s.stream.name === 'users');
    cat.streams[0].selected_fields = ['name'];
    const file = writeJson(dir, 'catalog.json', cat);
    const read = await host(['read', EXAMPLE.node, '--config', CONFIG, '--catalog', file]);
    expect(read.exitCode).toBe(0);
    expect(records(read.stdout).map((x) => x.data)).toEqual([
      { id: 1, name: 'Ada Lovelace' },
      { id: 2, name: 'Zoë Ångström' },
      { id: 3, name: '李雷' },
    ]);
    expect(read.stderr).toMatch(/field \\?"id\\?" kept although not in selected_fields \(primary key\)/);
  });

  it('bad catalog files: the error names the file and what is wrong, never a stack trace', async () => {
    const dir = tmp();
    const cases: [unknown, string][] = [
      [[1, 2], 'is not a JSON object'],
      [{ type: 'SPEC', spec: {} }, 'is a "SPEC" message, not a CATALOG message or a catalog'],
      [{ type: 'CATALOG' }, 'is a CATALOG message without a "catalog" object'],
      [{ nope: 1 }, 'has no "streams" array'],
      [{ streams: [{ name: 'users', json_schema: {} }, { stream: { name: 'x', json_schema: {} }, sync_mode: 'full_refresh', destination_sync_mode: 'append' }] }, 'mixes configured streams'],
      [{ streams: [{ json_schema: {} }] }, 'streams[0] has neither "stream"'],
      [{ streams: ['users'] }, 'streams[0] is not an object'],
      [{ streams: [{ name: 7, json_schema: {} }] }, 'is not a valid discovered catalog'],
      [{ streams: [{ stream: { name: 'users', json_schema: {} }, sync_mode: 'sometimes', destination_sync_mode: 'append' }] }, 'is not a valid configured catalog'],
      [{ streams: [{ stream: { name: 'users', json_schema: {}, supported_sync_modes: ['full_refresh'] }, sync_mode: 'full_refresh', destination_sync_mode: 'append', selected_fields: 'id' }] }, '"selected_fields" must be a list of field names'],
    ];
    for (const [i, [value, msg]] of cases.entries()) {
      const f = writeJson(dir, `bad-${i}.json`, value);
      const r = await host(['read', EXAMPLE.node, '--config', CONFIG, '--catalog', f, '--quiet']);
      expect(r.exitCode, msg).toBe(2);
      expect(r.stderr).toContain(`the catalog ${f}`);
      expect(r.stderr).toContain(msg);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('the connector gets no selected_fields, and a schema without the deselected fields', async () => {
    const dir = tmp();
    const wide = join(EXAMPLE.node, '..', '..', 'select', 'wide.mjs');
    const cfg = writeJson(dir, 'c.json', {});
    const r = await host(['read', '--config', cfg, '--select', 'people.*', '--select', '!people.email', '--', wide, '--echo-catalog']);
    expect(r.exitCode).toBe(0);
    const line = r.stderr.split('\n').find((l) => l.includes('catalog received'))!;
    expect(line).toBeDefined();
    expect(line).not.toContain('selected_fields');
    expect(line).toContain('nested');
    expect(line).not.toContain('email');
    expect(readFileSync(wide, 'utf8')).toContain('"email"'); // (the source has the field)
  });
});
