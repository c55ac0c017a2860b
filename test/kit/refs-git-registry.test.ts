// Kit objects inside git: references (`git:URL#REF:sources.py:MySource`, `#REF:pkg:Deep`) and
// registry entries (`ref: ./sources.py:MyCustomSource`, relative to the registry file), through
// the real CLI and real git (a repository made in a temp folder).

import { describe, it, expect, beforeAll } from 'vitest';
import { execa } from 'execa';
import { cpSync, chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { host, tmp, FIX, writeJson, recordsOf } from '../helpers.js';
import { parseGitReference, displayGitReference } from '../../dist/connector/git.js';

const K = join(FIX, 'kit-refs');
const gitEnv = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid', GIT_CONFIG_NOSYSTEM: '1' };
const git = async (cwd: string, ...args: string[]) => (await execa('git', args, { cwd, env: gitEnv })).stdout.trim();

const records = recordsOf;

let work: string;
let repo: string; // a plain repository: sources.py, pkg/, objects.mjs, tools/run.sh
let url: string; // its bare clone as file://

beforeAll(async () => {
  work = tmp('ch-kitgit-');
  repo = join(work, 'repo');
  mkdirSync(repo);
  await git(work, 'init', '-q', '-b', 'main', repo);
  for (const n of ['sources.py', 'pkg', 'objects.mjs']) cpSync(join(K, n), join(repo, n), { recursive: true });
  chmodSync(join(repo, 'sources.py'), 0o644);
  mkdirSync(join(repo, 'tools'));
  writeFileSync(join(repo, 'tools', 'run.sh'), '#!/bin/sh\necho hi\n');
  await git(repo, 'add', '-A');
  await git(repo, 'commit', '-q', '-m', 'kit objects');
  const bare = join(work, 'repo.git');
  await git(work, 'clone', '-q', '--bare', repo, bare);
  url = `file://${bare}`;
});

describe('git: references to kit objects', () => {
  it('parses SUBDIR:NAME (a file or a folder, then the object); the display keeps it', () => {
    const a = parseGitReference(`${url}#main:sources.py:MySource`);
    expect([a.ref, a.subdir, a.object]).toEqual(['main', 'sources.py', 'MySource']);
    expect(displayGitReference(a)).toBe(`git:${url}#main:sources.py:MySource`);
    const b = parseGitReference('../repo#v1:sub/pkg:Deep');
    expect([b.ref, b.subdir, b.object]).toEqual(['v1', 'sub/pkg', 'Deep']);
    const c = parseGitReference(`${url}#main:sub`);
    expect([c.subdir, c.object]).toEqual(['sub', undefined]);
    expect(() => parseGitReference(`${url}#main:sources.py:`)).toThrow(/nothing after ':'/);
  });

  it('git:file://…#main:sources.py:MySource runs the object (config from --config-uri)', async () => {
    const cache = tmp('ch-kitgit-cache-');
    const r = await host(['read', `git:${url}#main:sources.py:MySource`, '--cache-dir', cache, '--config-uri', 'custom://?count=2']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(records(r.stdout)).toEqual([
      { stream: 'numbers', id: 1 },
      { stream: 'numbers', id: 2 },
    ]);
  });

  it('a local path: git:../repo#main:pkg:Deep (a package folder in the repository)', async () => {
    const cache = tmp('ch-kitgit-cache-');
    // from inside the repository, ../repo is the repository itself
    const fromSub = await host(['read', 'git:../repo#main:pkg:Deep', '--cache-dir', cache], { cwd: join(work, 'repo') });
    expect(fromSub.exitCode, fromSub.stderr).toBe(0);
    expect(records(fromSub.stdout)).toEqual([{ stream: 'deep', where: 'deep' }]);
  });

  it('a JS export in a repository: #main:objects.mjs:users', async () => {
    const r = await host(['read', `git:${url}#main:objects.mjs:users`, '--cache-dir', tmp('ch-kitgit-cache-')]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(records(r.stdout).map((x) => x['id'])).toEqual([1, 2]);
  });

  it('no NAME in the reference: --config-uri custom://NAME picks it', async () => {
    const r = await host(['read', `git:${url}#main:sources.py`, '--cache-dir', tmp('ch-kitgit-cache-'), '--config-uri', 'custom://Other']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(records(r.stdout)).toEqual([{ stream: 'others', other: true }]);
  });

  it('a missing NAME, a missing file, an object in a shell script: exit 2 with a clear message', async () => {
    const cache = tmp('ch-kitgit-cache-');
    const nope = await host(['spec', `git:${url}#main:sources.py:Nope`, '--cache-dir', cache]);
    expect(nope.exitCode).toBe(2);
    expect(nope.stderr).toContain("sources.py has no 'Nope'; its kit objects:");
    const missing = await host(['spec', `git:${url}#main:missing.py:X`, '--cache-dir', cache]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('no "missing.py" in');
    const sh = await host(['spec', `git:${url}#main:tools/run.sh:X`, '--cache-dir', cache]);
    expect(sh.exitCode).toBe(2);
    expect(sh.stderr).toContain('names an object (:X) in run.sh, but only .py, .mjs, .js and .ts files and Python package folders hold kit objects');
  });

  it('a NAME in the reference and another in --config-uri: a usage error', async () => {
    const r = await host(['read', `git:${url}#main:sources.py:MySource`, '--cache-dir', tmp('ch-kitgit-cache-'), '--config-uri', 'custom://Other']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('names the object "MySource", but --config-uri names "Other"');
  });
});

describe('registry entries naming kit objects', () => {
  function registry(): { dir: string; file: string } {
    const dir = tmp('ch-kitreg-');
    for (const n of ['sources.py', 'pkg', 'objects.mjs']) cpSync(join(K, n), join(dir, 'conn', n), { recursive: true });
    const file = join(dir, 'conn', 'connectors.yaml');
    writeFileSync(
      file,
      [
        'connectors:',
        '  mine:',
        '    ref: ./sources.py:MySource',
        '    config: { count: 4 }',
        '  bare:',
        '    ref: sources.py:Other',
        '  deep:',
        '    ref: ./pkg:Deep',
        '  js:',
        '    ref: ./objects.mjs:orders',
        '  pick:',
        '    ref: ./sources.py',
        '',
      ].join('\n'),
    );
    return { dir, file };
  }

  it('ref: ./sources.py:MySource and sources.py:Other resolve relative to the registry file, from any folder', async () => {
    const { dir, file } = registry();
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    const mine = await host(['read', 'mine', '--registry', file], { cwd: elsewhere });
    expect(mine.exitCode, mine.stderr).toBe(0);
    expect(records(mine.stdout).map((x) => x['id'])).toEqual([1, 2, 3, 4]); // the registry's default config
    const bare = await host(['read', 'bare', '--registry', file], { cwd: elsewhere });
    expect(bare.exitCode, bare.stderr).toBe(0);
    expect(records(bare.stdout)).toEqual([{ stream: 'others', other: true }]);
  });

  it('a package folder and a JS export in the registry', async () => {
    const { file } = registry();
    const deep = await host(['read', 'deep', '--registry', file]);
    expect(deep.exitCode, deep.stderr).toBe(0);
    expect(records(deep.stdout)).toEqual([{ stream: 'deep', where: 'deep' }]);
    const js = await host(['read', 'js', '--registry', file]);
    expect(js.exitCode, js.stderr).toBe(0);
    expect(records(js.stdout)).toEqual([{ stream: 'orders', order: 7 }]);
  });

  it('layering: registry defaults < --config files < --config-uri; the URI NAME picks the object of an entry without one', async () => {
    const { dir, file } = registry();
    const cfg = writeJson(dir, 'c.json', { count: 3 });
    const a = await host(['read', 'mine', '--registry', file, '--config', cfg]);
    expect(records(a.stdout).map((x) => x['id'])).toEqual([1, 2, 3]);
    const b = await host(['read', 'mine', '--registry', file, '--config', cfg, '--config-uri', 'custom://?count=1']);
    expect(b.exitCode, b.stderr).toBe(0);
    expect(records(b.stdout).map((x) => x['id'])).toEqual([1]);
    const pick = await host(['read', 'pick', '--registry', file, '--config-uri', 'custom://MySource?count=2']);
    expect(pick.exitCode, pick.stderr).toBe(0);
    expect(records(pick.stdout).map((x) => x['id'])).toEqual([1, 2]);
  });

  it('a registry entry naming a missing object: the kit says so, naming the registry name in the log tag', async () => {
    const dir = tmp('ch-kitreg-');
    cpSync(join(K, 'sources.py'), join(dir, 'sources.py'));
    const file = join(dir, 'connectors.yaml');
    writeFileSync(file, 'connectors:\n  broken:\n    ref: ./sources.py:Missing\n  gone:\n    ref: ./gone.py:X\n');
    const r = await host(['spec', 'broken', '--registry', file]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("sources.py has no 'Missing'");
    const g = await host(['spec', 'gone', '--registry', file]);
    expect(g.exitCode).toBe(2);
    expect(g.stderr).toContain(`connector not found: ${join(dir, 'gone.py')}:X`);
  });
});
