// `host init source|destination|processor NAME [--lang python|typescript] [--dir PARENT]`
// (issue 12): each of the six templates, made in a temp folder outside the project, passes its
// own suite (`host test`; for a processor its sample through `host process`, via its test.sh);
// the source reads incrementally into --out (a second run reads nothing new, a larger count
// only the new items); a destination takes the source's records through `host run` and the
// sample through `write`; and the refusals (a non-empty folder, bad names, kinds, languages).

import { describe, it, expect } from 'vitest';
import { execa } from 'execa';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { host, tmp, jsonLines, lines, readJson, streamState, HOST, ROOT } from '../helpers.js';

type Lang = 'python' | 'typescript';
const LANGS: Lang[] = ['python', 'typescript'];
const EXT: Record<Lang, string> = { python: 'py', typescript: 'ts' };

/** `host init KIND NAME --lang LANG --dir PARENT` in a fresh temp folder; the new folder. */
async function init(kind: string, name: string, lang: Lang, parent = tmp('ch-init-')): Promise<string> {
  const r = await host(['init', kind, name, '--lang', lang, '--dir', parent]);
  expect(r.exitCode, r.stderr).toBe(0);
  const dir = join(parent, name);
  expect(relative(ROOT, dir).startsWith('..'), 'made outside the project').toBe(true);
  expect(r.stdout).toContain(`(a ${lang} ${kind})`);
  return dir;
}

/** Every file under dir, relative. */
function files(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name), base) : [relative(base, join(dir, e.name))])).sort();
}

function noPlaceholders(dir: string): void {
  for (const f of files(dir)) expect(readFileSync(join(dir, f), 'utf8'), f).not.toMatch(/__(NAME|SOURCE_FN|WRITER_CLASS|PROCESSOR_REF)__/);
}

const inDir = (dir: string) => ({ cwd: dir });

describe.each(LANGS)('host init source --lang %s', (lang) => {
  const src = `./source.${EXT[lang]}`;

  it('writes the connector, config.json, a suite, a README; the suite passes as written', async () => {
    const dir = await init('source', 'my-api', lang);
    const fs = files(dir);
    for (const f of [`source.${EXT[lang]}`, 'config.json', 'README.md', '.gitignore', 'tests/default/config.json', 'tests/default/golden/spec.json', 'tests/default/golden/read.jsonl', 'tests/default/golden/incremental-state.json', 'tests/default/future-state.json']) expect(fs).toContain(f);
    noPlaceholders(dir);
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toContain(`host test ${src} --suite tests`);
    const spec = readJson(join(dir, 'tests/default/golden/spec.json'));
    expect(spec.connectionSpecification.title).toBe('my-api');
    expect(spec.connectionSpecification.properties.api_key.airbyte_secret).toBe(true);

    const t = await host(['test', src, '--suite', 'tests'], inDir(dir));
    expect(t.exitCode, t.stdout + t.stderr).toBe(0);
    expect(t.stdout).toMatch(/PASS case default/);
    for (const step of ['spec', 'check', 'discover', 'read', 'incremental']) expect(t.stdout).toMatch(new RegExp(`ok +${step} `));
    // the golden files are what the connector makes: --update changes nothing
    const before = files(dir).map((f) => readFileSync(join(dir, f), 'utf8'));
    const u = await host(['test', src, '--suite', 'tests', '--update'], inDir(dir));
    expect(u.exitCode, u.stdout + u.stderr).toBe(0);
    expect(files(dir).map((f) => readFileSync(join(dir, f), 'utf8'))).toEqual(before);
  });

  it('host read --out twice: 5 items, then nothing new; a larger count reads only the new ones', async () => {
    const dir = await init('source', 'inc', lang);
    const read = () => host(['read', src, '--config', 'config.json', '--out', 'output', '--progress', 'off'], inDir(dir));
    const r1 = await read();
    expect(r1.exitCode, r1.stderr).toBe(0);
    expect(jsonLines(join(dir, 'output/items.jsonl')).map((r) => r['id'])).toEqual([1, 2, 3, 4, 5]);
    expect(streamState(join(dir, 'output/state.json'), 'items')).toEqual({ updated_at: '2024-01-01T05:00:00Z' });
    expect(r1.stderr).toMatch(/^read 5 records/m);
    expect(r1.stderr).not.toContain('replace-me'); // the example api_key: a secret

    const r2 = await read();
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(r2.stderr).toMatch(/^read 0 records/m);
    expect(lines(join(dir, 'output/items.jsonl'))).toHaveLength(5);

    const cfg = readJson(join(dir, 'config.json'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, count: 7 }));
    const r3 = await read();
    expect(r3.exitCode, r3.stderr).toBe(0);
    expect(r3.stderr).toMatch(/^read 2 records/m);
    expect(jsonLines(join(dir, 'output/items.jsonl')).map((r) => r['id'])).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(streamState(join(dir, 'output/state.json'), 'items')).toEqual({ updated_at: '2024-01-01T07:00:00Z' });
  });

  it('an empty api_key: a config error naming the field, not a stack trace', async () => {
    const dir = await init('source', 'nokey', lang);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ api_key: '', count: 2 }));
    const r = await host(['read', src, '--config', 'config.json', '--out', 'output', '--progress', 'off'], inDir(dir));
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('api_key is empty');
    expect(r.stderr).not.toMatch(/Traceback|    at /);
  });
});

describe.each(LANGS)('host init destination --lang %s', (lang) => {
  const dst = `./destination.${EXT[lang]}`;

  it('its suite (spec, check) passes as written; write acknowledges the sample STATEs after writing', async () => {
    const dir = await init('destination', 'my-dest', lang);
    noPlaceholders(dir);
    const t = await host(['test', dst, '--suite', 'tests'], inDir(dir));
    expect(t.exitCode, t.stdout + t.stderr).toBe(0);
    expect(t.stdout).toMatch(/ok +spec /);
    expect(t.stdout).toMatch(/ok +check /);
    expect(existsSync(join(dir, 'output')), 'check creates nothing').toBe(false);

    const w = await host(['connectors', 'exec', dst, '--', 'write', '--config', 'config.json', '--catalog', 'sample/catalog.json'], { ...inDir(dir), stdin: { file: join(dir, 'sample/input.jsonl') } });
    expect(w.exitCode, w.stderr).toBe(0);
    const acks = w.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((m) => m.type === 'STATE');
    expect(acks.map((m) => m.state.stream.stream_state.updated_at)).toEqual(['2024-01-01T02:00:00Z', '2024-01-01T03:00:00Z']);
    expect(jsonLines(join(dir, 'output/items.jsonl')).map((r) => r['id'])).toEqual([1, 2, 3]);
  });

  it('destination_sync_mode overwrite: a second write replaces the file; a write of no records empties it', async () => {
    const dir = await init('destination', 'ow', lang);
    const catalog = readJson(join(dir, 'sample/catalog.json'));
    catalog.streams[0].destination_sync_mode = 'overwrite';
    writeFileSync(join(dir, 'overwrite.json'), JSON.stringify(catalog));
    const write = (input: string) => host(['connectors', 'exec', dst, '--', 'write', '--config', 'config.json', '--catalog', 'overwrite.json'], { ...inDir(dir), stdin: { file: input } });
    for (let i = 0; i < 2; i++) {
      const w = await write(join(dir, 'sample/input.jsonl'));
      expect(w.exitCode, w.stderr).toBe(0);
      expect(jsonLines(join(dir, 'output/items.jsonl')).map((r) => r['id'])).toEqual([1, 2, 3]);
    }
    writeFileSync(join(dir, 'empty.jsonl'), '');
    const e = await write(join(dir, 'empty.jsonl'));
    expect(e.exitCode, e.stderr).toBe(0);
    expect(lines(join(dir, 'output/items.jsonl'))).toEqual([]);
    // a hostile stream name stays inside the folder
    const evil = JSON.stringify({ type: 'RECORD', record: { stream: '../../escape', data: { id: 1 }, emitted_at: 0 } }) + '\n';
    writeFileSync(join(dir, 'evil.jsonl'), evil);
    // (the TypeScript kit refuses a stream the catalog does not list: the catalog names it)
    catalog.streams.push({ ...catalog.streams[0], stream: { ...catalog.streams[0].stream, name: '../../escape' }, destination_sync_mode: 'append' });
    writeFileSync(join(dir, 'overwrite.json'), JSON.stringify(catalog));
    const ev = await write(join(dir, 'evil.jsonl'));
    expect(ev.exitCode, ev.stderr).toBe(0);
    expect(existsSync(join(dir, '..', 'escape.jsonl'))).toBe(false);
    expect(readdirSync(join(dir, 'output')).sort()).toEqual(['_.._escape.jsonl', 'items.jsonl']);
  });

  it('host run from the source template into it: the records in PATH/items.jsonl, the state committed', async () => {
    const parent = tmp('ch-init-');
    const src = await init('source', 'src', lang, parent);
    const dir = await init('destination', 'dst', lang, parent);
    const run = () => host(['run', join(src, `source.${EXT[lang]}`), '--config', join(src, 'config.json'), '--destination', dst, '--destination-config', 'config.json', '--state', 'state.json', '--progress', 'off'], inDir(dir));
    const r = await run();
    expect(r.exitCode, r.stderr).toBe(0);
    expect(jsonLines(join(dir, 'output/items.jsonl')).map((x) => x['id'])).toEqual([1, 2, 3, 4, 5]);
    expect(streamState(join(dir, 'state.json'), 'items')).toEqual({ updated_at: '2024-01-01T05:00:00Z' });
    const again = await run();
    expect(again.exitCode, again.stderr).toBe(0);
    expect(lines(join(dir, 'output/items.jsonl'))).toHaveLength(5); // incremental: nothing new, nothing appended
  });
});

describe.each(LANGS)('host init processor --lang %s', (lang) => {
  it('test.sh passes as written: host process on tests/sample.jsonl makes tests/expected.jsonl', async () => {
    const dir = await init('processor', 'clean-users', lang);
    noPlaceholders(dir);
    for (const f of [`processor.${EXT[lang]}`, 'vars.json', 'tests/sample.jsonl', 'tests/expected.jsonl', 'test.sh', 'README.md']) expect(files(dir)).toContain(f);
    const sh = await execa('sh', ['test.sh'], { cwd: dir, reject: false, env: { HOST: `${process.execPath} ${HOST}`, CONNECTOR_HOST_LOG_FORMAT: 'json' } });
    expect(sh.exitCode, String(sh.stdout) + String(sh.stderr)).toBe(0);
    expect(String(sh.stdout)).toContain('ok: the output of tests/sample.jsonl matches tests/expected.jsonl');

    const ref = lang === 'python' ? './processor.py:process' : './processor.ts';
    const p = await host(['process', ref, '--sample', 'tests/sample.jsonl', '--vars', 'vars.json'], inDir(dir));
    expect(p.exitCode, p.stderr).toBe(0);
    const out = p.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(out.map((r) => [r.id, r.email, r.email_domain])).toEqual([
      [1, 'ada@example.com', 'example.com'],
      [2, 'grace@navy.example', 'navy.example'],
      [5, 'zoe@example.com', 'example.com'],
    ]);

    // a changed processor: test.sh fails and shows the difference
    const file = join(dir, `processor.${EXT[lang]}`);
    writeFileSync(file, readFileSync(file, 'utf8').replace('.lower()', '.upper()').replace('.toLowerCase()', '.toUpperCase()'));
    const bad = await execa('sh', ['test.sh'], { cwd: dir, reject: false, env: { HOST: `${process.execPath} ${HOST}` } });
    expect(bad.exitCode).toBe(1);
    expect(String(bad.stdout)).toContain('+{"id":1,"name":"Ada Lovelace","email":"ADA@EXAMPLE.COM"');
  });

  it('in a read: the source template\'s items pass through untouched (the processor names users only)', async () => {
    const parent = tmp('ch-init-');
    const src = await init('source', 'src', lang, parent);
    const dir = await init('processor', 'proc', lang, parent);
    const ref = lang === 'python' ? './processor.py:process' : './processor.ts';
    const r = await host(['read', join(src, `source.${EXT[lang]}`), '--config', join(src, 'config.json'), '--processor', ref, '--processor-vars', 'vars.json', '--out', 'output', '--progress', 'off'], inDir(dir));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(jsonLines(join(dir, 'output/items.jsonl')).map((x) => x['id'])).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('host init: names and refusals', () => {
  it('--lang defaults to python; an odd name is substituted everywhere and the suite still passes', async () => {
    const parent = tmp('ch-init-');
    const r = await host(['init', 'source', '3d-Printer_API', '--dir', parent]);
    expect(r.exitCode, r.stderr).toBe(0);
    const dir = join(parent, '3d-Printer_API');
    expect(existsSync(join(dir, 'source.py'))).toBe(true);
    noPlaceholders(dir);
    expect(readFileSync(join(dir, 'source.py'), 'utf8')).toContain('def source_3d_printer_api_source(config):');
    const t = await host(['test', './source.py', '--suite', 'tests'], inDir(dir));
    expect(t.exitCode, t.stdout + t.stderr).toBe(0);
    // the named form works too
    const s = await host(['spec', './source.py:source_3d_printer_api_source'], inDir(dir));
    expect(s.exitCode, s.stderr).toBe(0);
    expect(JSON.parse(s.stdout).spec.connectionSpecification.title).toBe('3d-Printer_API');
    const d = await host(['init', 'destination', 'warehouse', '--dir', parent]);
    expect(d.exitCode, d.stderr).toBe(0);
    expect(readFileSync(join(parent, 'warehouse', 'destination.py'), 'utf8')).toContain('class WarehouseWriter');
    // Python keywords as names still make valid Python
    for (const [kind, name, file] of [['source', 'import', 'source.py'], ['destination', 'class', 'destination.py']] as const) {
      expect((await host(['init', kind, name, '--dir', parent])).exitCode).toBe(0);
      const sp = await host(['spec', `./${file}`], inDir(join(parent, name)));
      expect(sp.exitCode, sp.stderr).toBe(0);
      expect(JSON.parse(sp.stdout).spec.connectionSpecification.title).toBe(name);
    }
  });

  it('refuses a folder that exists and is not empty (exit 2), and changes nothing in it', async () => {
    const parent = tmp('ch-init-');
    mkdirSync(join(parent, 'taken'));
    writeFileSync(join(parent, 'taken', 'mine.txt'), 'keep me');
    const r = await host(['init', 'source', 'taken', '--dir', parent]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('exists and is not empty: nothing written');
    expect(readdirSync(join(parent, 'taken'))).toEqual(['mine.txt']);
    expect(readFileSync(join(parent, 'taken', 'mine.txt'), 'utf8')).toBe('keep me');
    expect(readdirSync(parent)).toEqual(['taken']); // no staging folder left
    // a file of that name: refused too
    writeFileSync(join(parent, 'afile'), 'x');
    const f = await host(['init', 'source', 'afile', '--dir', parent]);
    expect(f.exitCode).toBe(2);
    expect(f.stderr).toContain('is not a folder');
    // an empty folder is fine; a missing --dir parent is made
    mkdirSync(join(parent, 'empty'));
    expect((await host(['init', 'destination', 'empty', '--dir', parent])).exitCode).toBe(0);
    expect(existsSync(join(parent, 'empty', 'destination.py'))).toBe(true);
    expect((await host(['init', 'processor', 'deep', '--dir', join(parent, 'a', 'b')])).exitCode).toBe(0);
    expect(statSync(join(parent, 'a', 'b', 'deep', 'processor.py')).isFile()).toBe(true);
  });

  it('bad names, kinds and languages: exit 2, nothing written', async () => {
    const parent = tmp('ch-init-');
    for (const name of ['bad name', '../escape', 'a/b', '.hidden', '_x', 'x'.repeat(65), 'naïve', '__proto__x$', 'semi;colon']) {
      const r = await host(['init', 'source', name, '--dir', parent]);
      expect(r.exitCode, name).toBe(2);
      expect(r.stderr, name).toMatch(/cannot be used: use letters, digits, - and _/);
    }
    const k = await host(['init', 'sink', 'x', '--dir', parent]);
    expect(k.exitCode).toBe(2);
    expect(k.stderr).toMatch(/Invalid values|source, destination, processor/);
    const l = await host(['init', 'source', 'x', '--lang', 'rust', '--dir', parent]);
    expect(l.exitCode).toBe(2);
    expect(l.stderr).toMatch(/Invalid values|python, typescript/);
    const n = await host(['init', 'source', '--dir', parent]);
    expect(n.exitCode).toBe(2);
    expect(readdirSync(parent)).toEqual([]);
  });
});
