// git: references: local repositories in temp folders (file:// URLs and paths), the real git.
import { describe, it, expect, beforeAll } from 'vitest';
import { execa } from 'execa';
import { copyFileSync, chmodSync, mkdirSync, writeFileSync, readFileSync, renameSync, statSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, HOST, EXAMPLE, tmp, host } from '../helpers.js';
import { resolveGit, readGitProvenance, listGitProvenance, parseGitReference, gitRepoCacheDir } from '../../dist/connector/git.js';
import { spdxFromText } from '../../dist/connector/spdx.js';
import { registerGitAndDockerReferenceKinds } from '../../dist/connector/register-git-docker.js';
import { resolveConnector } from '../../dist/connector/resolve.js';
import { spec, ConfigError } from '../../dist/index.js';

const MIT = `MIT License

Copyright (c) 2026 Example

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND.
`;
const APACHE_SHORT = `                                 Apache License
                           Version 2.0, January 2004
                        http://www.apache.org/licenses/
`;

const gitEnv = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid', GIT_CONFIG_NOSYSTEM: '1' };
const git = async (cwd: string, ...args: string[]) => (await execa('git', args, { cwd, env: gitEnv })).stdout.trim();

let work: string;
let src: string; // a plain repository
let bare: string; // its bare clone, served as file://
let url: string;
let commit1: string;
let commit2: string;

beforeAll(async () => {
  registerGitAndDockerReferenceKinds();
  registerGitAndDockerReferenceKinds(); // idempotent
  work = tmp('ch-git-');
  src = join(work, 'src');
  mkdirSync(join(src, 'sub'), { recursive: true });
  await git(work, 'init', '-q', '-b', 'main', src);
  copyFileSync(EXAMPLE.sh, join(src, 'sub', 'source.sh'));
  chmodSync(join(src, 'sub', 'source.sh'), 0o755);
  writeFileSync(join(src, 'sub', 'README.md'), 'the example source\n');
  writeFileSync(join(src, 'LICENSE'), MIT);
  mkdirSync(join(src, 'apache'));
  copyFileSync(EXAMPLE.node, join(src, 'apache', 'main.mjs'));
  chmodSync(join(src, 'apache', 'main.mjs'), 0o644); // not executable: run with node
  writeFileSync(join(src, 'apache', 'LICENSE.txt'), APACHE_SHORT);
  mkdirSync(join(src, 'pkg'));
  writeFileSync(
    join(src, 'pkg', 'pyproject.toml'),
    '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n[project]\nname = "source-x"\nversion = "0.1.0"\n\n[project.scripts]\nsource-x = "source_x:main"\n\n[tool.setuptools]\npy-modules = ["source_x"]\n',
  );
  writeFileSync(
    join(src, 'pkg', 'source_x.py'),
    'import json\n\ndef main():\n    print(json.dumps({"type": "SPEC", "spec": {"connectionSpecification": {"type": "object", "properties": {}}}}))\n',
  );
  mkdirSync(join(src, 'npkg'));
  writeFileSync(join(src, 'npkg', 'package.json'), JSON.stringify({ name: 'source-y', version: '0.1.0', bin: { 'source-y': 'bin.mjs' } }));
  writeFileSync(join(src, 'npkg', 'bin.mjs'), '#!/usr/bin/env node\nconsole.log(JSON.stringify({ type: "SPEC", spec: { connectionSpecification: { type: "object" } } }));\n');
  mkdirSync(join(src, 'two'));
  for (const n of ['a', 'b']) {
    writeFileSync(join(src, 'two', n), '#!/bin/sh\n');
    chmodSync(join(src, 'two', n), 0o755);
  }
  await git(src, 'add', '-A');
  await git(src, 'commit', '-q', '-m', 'one');
  commit1 = await git(src, 'rev-parse', 'HEAD');
  await git(src, 'tag', '-a', 'v1', '-m', 'v1');
  await git(src, 'tag', 'light');
  writeFileSync(join(src, 'sub', 'CHANGELOG'), 'two\n');
  await git(src, 'add', '-A');
  await git(src, 'commit', '-q', '-m', 'two');
  commit2 = await git(src, 'rev-parse', 'HEAD');
  bare = join(work, 'repo.git');
  await git(work, 'clone', '-q', '--bare', src, bare);
  url = `file://${bare}`;
});

describe('git: resolution', () => {
  it('resolves a branch, an annotated tag, a lightweight tag, a full and an abbreviated commit', async () => {
    const cacheDir = tmp('ch-gitcache-');
    const byBranch = await resolveGit(`${url}#main:sub`, { cacheDir });
    expect(byBranch.provenance.commit).toBe(commit2);
    expect(byBranch.provenance.resolved_ref).toBe('refs/heads/main');
    expect(byBranch.fetched).toBe(true);
    expect(byBranch.ref.command).toBe(join(cacheDir, 'git', readdirSync(join(cacheDir, 'git'))[0]!, commit2, 'src', 'sub', 'source.sh'));
    expect(byBranch.ref.args).toEqual([]);
    expect(byBranch.ref.display).toBe(`git:${url}#main:sub`);
    expect(byBranch.ref.name).toBe('sub');

    const byTag = await resolveGit(`${url}#v1:sub`, { cacheDir });
    expect(byTag.provenance.commit).toBe(commit1); // peeled: the commit, not the tag object
    expect(byTag.provenance.resolved_ref).toBe('refs/tags/v1');
    expect((await resolveGit(`${url}#light:sub`, { cacheDir })).provenance.commit).toBe(commit1);
    const bySha = await resolveGit(`${url}#${commit1}:sub`, { cacheDir });
    expect(bySha.provenance.commit).toBe(commit1);
    expect(bySha.fetched).toBe(false); // the tag's resolution already checked it out
    const byShort = await resolveGit(`${url}#${commit2.slice(0, 8)}:sub`, { cacheDir: tmp('ch-gitcache-') });
    expect(byShort.provenance.commit).toBe(commit2);
    await expect(resolveGit(url, { cacheDir })).rejects.toThrow(/no entry point in the root/);
    const byHead = await resolveGit(`${url}#:sub`, { cacheDir });
    expect(byHead.provenance.ref).toBe('HEAD');
    expect(byHead.provenance.commit).toBe(commit2);
  });

  it('a local path works too, and the checkout holds the files of that commit only', async () => {
    const cacheDir = tmp('ch-gitcache-');
    const r = await resolveGit(`${src}#v1:sub`, { cacheDir });
    expect(r.provenance.url).toBe(src);
    const dir = join(r.provenance.path, 'sub');
    expect(existsSync(join(dir, 'source.sh'))).toBe(true);
    expect(existsSync(join(dir, 'CHANGELOG'))).toBe(false); // added by the second commit
    expect(statSync(join(dir, 'source.sh')).mode & 0o111).not.toBe(0);
    expect(existsSync(join(r.provenance.path, '.git'))).toBe(false);
  });

  it('entry points: a named file, a non-executable main.mjs (node), a Python package, an ambiguous folder', async () => {
    const cacheDir = tmp('ch-gitcache-');
    const file = await resolveGit(`${url}#main:sub/source.sh`, { cacheDir });
    expect(file.ref.command.endsWith('/sub/source.sh')).toBe(true);
    const mjs = await resolveGit(`${url}#main:apache`, { cacheDir });
    expect(mjs.ref.command).toBe(process.execPath);
    // a non-executable .mjs runs through the kit's runner (dist/kit/run.js), the file last
    expect(mjs.ref.args.at(-1)!.endsWith('/apache/main.mjs')).toBe(true);
    // a Python package in the checkout is installed into a virtualenv keyed by the commit
    const pkg = await resolveGit(`${url}#main:pkg`, { cacheDir });
    expect(pkg.ref.name).toBe('source-x');
    expect(pkg.ref.args[0]).toMatch(/pypi\/source-x\/git-[0-9a-f]{12}-pkg-cpython-\d+\/bin\/source-x$/);
    const out = await execa(pkg.ref.command, [...pkg.ref.args, 'spec'], { env: pkg.ref.env });
    expect(JSON.parse(String(out.stdout)).type).toBe('SPEC');
    // and a Node package with a bin, installed as a copy
    const npkg = await resolveGit(`${url}#main:npkg`, { cacheDir });
    expect(npkg.ref.name).toBe('source-y');
    const nout = await execa(npkg.ref.command, [...npkg.ref.args, 'spec'], { env: npkg.ref.env });
    expect(JSON.parse(String(nout.stdout)).type).toBe('SPEC');
    await expect(resolveGit(`${url}#main:two`, { cacheDir })).rejects.toThrow(/found 2 executables: a, b/);
    await expect(resolveGit(`${url}#main:nope`, { cacheDir })).rejects.toThrow(/no "nope"/);
    await expect(resolveGit(`${url}#no-such-branch:sub`, { cacheDir })).rejects.toThrow(/no branch or tag "no-such-branch"/);
    await expect(resolveGit(`file://${work}/missing.git#main`, { cacheDir })).rejects.toThrow(ConfigError);
  });
});

describe('git: cache', () => {
  it('a second resolve fetches nothing; offline, a commit and a known branch still resolve', async () => {
    const cacheDir = tmp('ch-gitcache-');
    // a copy of the repository that can be taken away
    const movable = join(work, 'movable.git');
    await git(work, 'clone', '-q', '--bare', src, movable);
    const u = `file://${movable}`;
    const first = await resolveGit(`${u}#main:sub`, { cacheDir });
    expect(first.fetched).toBe(true);
    const repoCache = gitRepoCacheDir(parseGitReference(`${u}#main`), { cacheDir });
    const entry = join(repoCache, commit2);
    const markerTime = statSync(join(entry, '.connector-host.json')).mtimeMs;
    const objects = readdirSync(join(repoCache, 'repo.git', 'objects')).sort();

    const second = await resolveGit(`${u}#main:sub`, { cacheDir });
    expect(second.fetched).toBe(false);
    expect(second.ref.command).toBe(first.ref.command);
    expect(statSync(join(entry, '.connector-host.json')).mtimeMs).toBe(markerTime);
    expect(readdirSync(join(repoCache, 'repo.git', 'objects')).sort()).toEqual(objects);
    expect(readdirSync(repoCache).sort()).toEqual([commit2, 'refs.json', 'repo.git'].sort());

    renameSync(movable, `${movable}.gone`);
    try {
      const bySha = await resolveGit(`${u}#${commit2}:sub`, { cacheDir });
      expect(bySha.fetched).toBe(false);
      const warnings: string[] = [];
      const logger = { warn: (_o: unknown, m: string) => warnings.push(m), info() {}, debug() {}, error() {}, child() { return logger; } } as never;
      const byBranch = await resolveGit(`${u}#main:sub`, { cacheDir, logger });
      expect(byBranch.provenance.commit).toBe(commit2);
      expect(warnings.join('\n')).toMatch(/cannot reach .* using the cached main/);
      await expect(resolveGit(`${u}#v1:sub`, { cacheDir })).rejects.toThrow(/cannot reach/); // never resolved before
    } finally {
      renameSync(`${movable}.gone`, movable);
    }
  });
});

describe('git: provenance', () => {
  it('records URL, ref, commit, subdir, fetch time and the licence with its SPDX id', async () => {
    const cacheDir = tmp('ch-gitcache-');
    const before = Date.now();
    const r = await resolveGit(`${url}#v1:sub`, { cacheDir });
    const file = join(gitRepoCacheDir(parseGitReference(url), { cacheDir }), commit1, 'provenance.json');
    const p = JSON.parse(readFileSync(file, 'utf8'));
    expect(p).toMatchObject({ kind: 'git', url, ref: 'v1', resolved_ref: 'refs/tags/v1', commit: commit1, subdir: 'sub', license: { file: 'LICENSE', spdx: 'MIT' }, entry_point: 'sub/source.sh' });
    expect(Date.parse(p.fetched_at)).toBeGreaterThanOrEqual(before - 1000);
    expect(r.provenance).toEqual(p);

    // a licence in the subdir wins over the root's
    const a = await resolveGit(`${url}#v1:apache`, { cacheDir });
    expect(a.provenance.license).toEqual({ file: 'apache/LICENSE.txt', spdx: 'Apache-2.0' });

    // read back without network, for `host connectors info`
    expect(readGitProvenance(`git:${url}#v1:sub`, { cacheDir })).toMatchObject({ commit: commit1, subdir: 'sub', license: { spdx: 'MIT' } });
    expect(readGitProvenance(`git:${url}#${commit1}:apache`, { cacheDir })).toMatchObject({ commit: commit1, license: { spdx: 'Apache-2.0' } });
    expect(readGitProvenance(`git:${url}#main:sub`, { cacheDir })).toBeUndefined(); // never resolved
    expect(listGitProvenance({ cacheDir }).map((x) => x.commit)).toEqual([commit1]);
  });

  it('strips credentials from the URL it records and shows', () => {
    expect(parseGitReference('https://user:s3cret@example.com/acme/c.git#main').displayUrl).toBe('https://example.com/acme/c.git');
    expect(parseGitReference('https://ghp_token@example.com/acme/c.git#main').displayUrl).toBe('https://example.com/acme/c.git');
    expect(parseGitReference('ssh://git:pw@example.com/acme/c.git#main').displayUrl).toBe('ssh://git@example.com/acme/c.git');
    expect(parseGitReference('git@github.com:acme/c.git#v1:src/x')).toMatchObject({ kind: 'scp', url: 'git@github.com:acme/c.git', ref: 'v1', subdir: 'src/x' });
  });

  it('recognises licences by their text', () => {
    const t = (s: string) => spdxFromText(s);
    expect(t(MIT)).toBe('MIT');
    expect(t(APACHE_SHORT)).toBe('Apache-2.0');
    const bsd = 'Redistribution and use in source and binary forms, with or without modification, are permitted provided that the following conditions are met:\n1. Redistributions of source code must retain the above copyright notice.\n2. Redistributions in binary form must reproduce the above copyright notice.\n';
    expect(t(bsd)).toBe('BSD-2-Clause');
    expect(t(bsd + '3. Neither the name of the copyright holder nor the names of its contributors may be used to endorse or promote products derived from this software without specific prior written permission.')).toBe('BSD-3-Clause');
    expect(t('GNU GENERAL PUBLIC LICENSE\n Version 3, 29 June 2007')).toBe('GPL-3.0');
    expect(t('GNU GENERAL PUBLIC LICENSE\n Version 2, June 1991')).toBe('GPL-2.0');
    expect(t('GNU LESSER GENERAL PUBLIC LICENSE\n Version 2.1, February 1999')).toBe('LGPL-2.1');
    expect(t('GNU LESSER GENERAL PUBLIC LICENSE\n Version 3, 29 June 2007\n ... the GNU General Public License')).toBe('LGPL-3.0');
    expect(t('Mozilla Public License Version 2.0\n==================================')).toBe('MPL-2.0');
    expect(t('ISC License\n\nPermission to use, copy, modify, and/or distribute this software for any\npurpose with or without fee is hereby granted, provided that ...')).toBe('ISC');
    expect(t('Elastic License 2.0\n\nURL: https://www.elastic.co/licensing/elastic-license')).toBe('Elastic-2.0');
    expect(t('All rights reserved. Do not copy.')).toBeUndefined();
  });
});

describe('git: refusals', () => {
  const cases: [string, RegExp][] = [
    ['-oProxyCommand=touch /tmp/x#main', /URL "-oProxyCommand.*starts with "-"/],
    ['--upload-pack=touch /tmp/x#main', /starts with "-"/],
    ['ext::sh -c touch% /tmp/pwned#main', /contains "ext::"/],
    ['fd::17#main', /contains "fd::"/],
    ['foo::https://example.com/x#main', /"foo::" transport/],
    ['https://example.com/r.git --upload-pack=touch#main', /contains "--upload-pack"/],
    ['https://example.com/r.git#-c', /ref "-c" starts with "-"/],
    ['https://example.com/r.git#--upload-pack=touch', /ref .*starts with "-"/],
    ['https://example.com/r.git#main -c', /ref .*white space/],
    ['https://example.com/r.git#ma..in', /not a valid branch, tag or commit/],
    ['https://example.com/r.git#main:../../etc', /must not leave the repository/],
    ['https://example.com/r.git#main:/etc', /relative path/],
    ['http://example.com/r.git#main', /uses http:\/\//],
    ['git://example.com/r.git#main', /uses git:\/\//],
    ['ssh://-oProxyCommand=touch/r#main', /host/],
    ['-oProxyCommand=x:path#main', /starts with "-"/],
    ['git@example.com:-u/r#main', /one starting with "-"/],
    ['#main', /no URL/],
  ];
  it.each(cases)('refuses %s', async (rest, why) => {
    const cacheDir = tmp('ch-gitcache-');
    let err: unknown;
    try {
      await resolveGit(rest, { cacheDir });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/refused/);
    expect((err as Error).message).toMatch(why);
    expect(existsSync(join(cacheDir, 'git'))).toBe(false); // refused before anything ran
  });

  it('through the resolver: a ConfigError (exit code 2)', async () => {
    await expect(resolveConnector('git:ext::sh -c id#main')).rejects.toMatchObject({ code: 'CONFIG_INVALID', exitCode: 2 });
  });
});

describe('git: end to end', () => {
  it('library: spec of git:file://...#main:sub', async () => {
    const cacheDir = tmp('ch-gitcache-');
    const msg = await spec(`git:${url}#main:sub`, { resolve: { cacheDir } });
    expect(msg['type']).toBe('SPEC');
  });

  it('CLI: host spec git:file://...#main:sub, then host connectors info shows provenance and licence', async () => {
    const cacheDir = tmp('ch-gitcache-');
    const r = await host(['spec', `git:${url}#main:sub`, '--cache-dir', cacheDir]);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout).type).toBe('SPEC');
    expect(existsSync(join(gitRepoCacheDir(parseGitReference(url), { cacheDir }), commit2, 'provenance.json'))).toBe(true);
    const info = await host(['connectors', 'info', `git:${url}#main:sub`, '--cache-dir', cacheDir]);
    expect(info.exitCode).toBe(0);
    const p = JSON.parse(info.stdout).provenance;
    expect(p).toMatchObject({ kind: 'git', ref: 'main', commit: commit2, subdir: 'sub', license: { file: 'LICENSE', spdx: 'MIT' } });
    const list = await host(['connectors', 'list', '--cache-dir', cacheDir]);
    expect(list.stdout).toMatch(/: 1 installed/);
    // a refused reference: exit 2 and a message naming what was refused
    const bad = await host(['spec', 'git:ext::sh -c id#main']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('git reference refused');
  });
});
