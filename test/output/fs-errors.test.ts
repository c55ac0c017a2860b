// What is on disk (or in the stream names) that the --out writer cannot use is a clear error
// naming the path (exit 2 for names and --out itself, 6 for what is in the way), before the
// connector is asked to read, and with nothing written or truncated: never "internal error".

import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { mkdirSync, writeFileSync, symlinkSync, existsSync, readFileSync, rmSync, readdirSync } from 'node:fs';
import { host, tmp, writeJson, readJson, FIX } from '../helpers.js';

const NAMES = join(FIX, 'hostile-output', 'names.mjs');
const RESET = join(FIX, 'hostile-output', 'reset.mjs');

async function read(out: string, fixture: string, ...knobs: string[]) {
  const d = tmp();
  return host(['read', '--config', writeJson(d, 'c.json', {}), '--out', out, '--', process.execPath, fixture, ...knobs]);
}

/** A clear failure: the exit code, the message, no stack, no internal error, nothing read. */
function refused(r: { exitCode: number; stderr: string }, code: number, ...parts: string[]): void {
  expect(r.exitCode, r.stderr).toBe(code);
  for (const p of parts) expect(r.stderr).toContain(p);
  expect(r.stderr).not.toContain('internal error');
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr).not.toMatch(/read \d+ records/);
}

describe('--out: names that collide on disk', () => {
  it('a stream file that is another stream’s namespace folder, either order, and a namespace that is the manifest or the state file', async () => {
    const cases: [string, string][] = [
      ['users,users.jsonl:x', 'stream "users.jsonl.x" needs the folder users.jsonl, which is the file of stream "users"'],
      ['users.jsonl:x,users', 'stream "users" would be written to users.jsonl, which is the folder of stream "users.jsonl.x"'],
      ['USERS.JSONL:x,users', 'which is the folder of stream "USERS.JSONL.x"'],
      ['manifest.json:x', 'stream "manifest.json.x" needs the folder manifest.json, which is the host\'s own manifest.json'],
      ['state.json:x', 'stream "state.json.x" needs the folder state.json'],
    ];
    for (const [names, msg] of cases) {
      const out = join(tmp(), 'out');
      const r = await read(out, NAMES, '--names', names);
      refused(r, 2, msg);
      expect(existsSync(join(out, 'users.jsonl')), names).toBe(false);
    }
  });
});

describe('--out: what is in the way on disk', () => {
  it('--out that is a file, or under a file', async () => {
    const d = tmp();
    writeFileSync(join(d, 'afile'), 'keep');
    refused(await read(join(d, 'afile'), NAMES), 2, `--out ${join(d, 'afile')} is a file, not a folder`);
    refused(await read(join(d, 'afile', 'sub'), NAMES), 6, `cannot write to the output folder ${join(d, 'afile', 'sub')}: a part of the path is a file`);
    expect(readFileSync(join(d, 'afile'), 'utf8')).toBe('keep');
  });

  it('a stream file that is a folder, a symbolic link elsewhere, or a dangling link; a namespace folder that is a file; a .partial that is a folder', async () => {
    const elsewhere = tmp();
    writeFileSync(join(elsewhere, 'target.jsonl'), 'not yours\n');
    const cases: { prep: (out: string) => void; names: string; msg: (out: string) => string }[] = [
      { prep: (out) => mkdirSync(join(out, 'users.jsonl')), names: 'users', msg: (out) => `${join(out, 'users.jsonl')} is a folder, but stream users needs it as a regular file` },
      { prep: (out) => symlinkSync(join(elsewhere, 'target.jsonl'), join(out, 'users.jsonl')), names: 'users', msg: (out) => `${join(out, 'users.jsonl')} is a symbolic link (to ${join(elsewhere, 'target.jsonl')}); the host writes only regular files inside the output folder` },
      { prep: (out) => symlinkSync(join(elsewhere, 'missing.jsonl'), join(out, 'users.jsonl')), names: 'users', msg: (out) => `${join(out, 'users.jsonl')} is a symbolic link (to ${join(elsewhere, 'missing.jsonl')}, which does not exist)` },
      { prep: (out) => writeFileSync(join(out, 'sales'), ''), names: 'sales:orders', msg: (out) => `${join(out, 'sales')} is a file, but stream sales.orders needs it as a folder` },
      { prep: (out) => mkdirSync(join(out, 'users.jsonl.partial')), names: 'users', msg: (out) => `${join(out, 'users.jsonl.partial')} is a folder, but stream users needs it as a regular file` },
    ];
    for (const c of cases) {
      const out = join(tmp(), 'out');
      mkdirSync(out);
      c.prep(out);
      refused(await read(out, NAMES, '--names', c.names), 6, c.msg(out));
    }
    expect(readFileSync(join(elsewhere, 'target.jsonl'), 'utf8')).toBe('not yours\n');
    expect(readdirSync(elsewhere)).toEqual(['target.jsonl']); // the dangling link created nothing
  });

  it('a state file entry that names a folder, or a path through a file: refused before anything is truncated', async () => {
    const out = join(tmp(), 'out');
    expect((await read(out, RESET)).exitCode).toBe(0);
    const itemsBefore = readFileSync(join(out, 'items.jsonl'));
    // an entry of a stream not in this run, whose file has become a folder
    const s = readJson(join(out, 'state.json'));
    s.files['old/x.jsonl'] = { bytes: 5, records: 1, mode: 'append', stream: { name: 'x', namespace: 'old' } };
    writeFileSync(join(out, 'state.json'), JSON.stringify(s));
    mkdirSync(join(out, 'old', 'x.jsonl'), { recursive: true });
    refused(await read(out, RESET), 6, `${join(out, 'old', 'x.jsonl')} is a folder, but the entry old/x.jsonl of the state file ${join(out, 'state.json')} needs it as a regular file`);
    rmSync(join(out, 'old'), { recursive: true });
    writeFileSync(join(out, 'old'), '');
    refused(await read(out, RESET), 6, `${join(out, 'old')} is a file, but the entry old/x.jsonl of the state file`);
    // the stream's own file replaced by a folder (EISDIR after "truncating ... to 0 bytes" before)
    rmSync(join(out, 'old'));
    delete s.files['old/x.jsonl'];
    writeFileSync(join(out, 'state.json'), JSON.stringify(s));
    writeFileSync(join(out, 'other.jsonl'), readFileSync(join(out, 'other.jsonl')) + '{"id":99}\n'); // would be truncated
    rmSync(join(out, 'items.jsonl'));
    mkdirSync(join(out, 'items.jsonl'));
    refused(await read(out, RESET), 6, `${join(out, 'items.jsonl')} is a folder, but`);
    expect(readFileSync(join(out, 'other.jsonl'), 'utf8')).toContain('{"id":99}'); // nothing truncated
    rmSync(join(out, 'items.jsonl'), { recursive: true });
    writeFileSync(join(out, 'items.jsonl'), itemsBefore);
    const ok = await read(out, RESET);
    expect(ok.exitCode, ok.stderr).toBe(0);
  });

  it.skipIf(process.getuid?.() === 0)('an --out folder that is not writable', async () => {
    const d = tmp();
    const { chmodSync } = await import('node:fs');
    mkdirSync(join(d, 'ro'));
    chmodSync(join(d, 'ro'), 0o555);
    refused(await read(join(d, 'ro'), NAMES), 6, `cannot write to the output folder ${join(d, 'ro')}: permission denied`);
  });
});
