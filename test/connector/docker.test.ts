// docker: references, with a stand-in `docker` (fixtures/docker/docker) first on PATH.
import { describe, it, expect, beforeAll } from 'vitest';
import { execa } from 'execa';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { join, delimiter } from 'node:path';
import { ROOT, HOST, FIX, tmp, lines, pidAlive, sleep } from '../helpers.js';
import { dockerConnector, parseDockerImage, rewriteArgs, CONTAINER_FILES_DIR } from '../../dist/connector/docker.js';
import { registerGitAndDockerReferenceKinds } from '../../dist/connector/register-git-docker.js';
import { ConfigError, spec, TimeoutError } from '../../dist/index.js';
import { RunFiles } from '../../dist/connector/process.js';

const STANDIN = join(ROOT, 'fixtures', 'docker');
const CONFIG = join(FIX, 'example', 'config.json');

const calls = (dir: string) => lines(join(dir, 'argv.jsonl')).map((l) => JSON.parse(l) as { argv: string[]; mounts?: { source: string; target: string; mode: string; files: Record<string, string> }[] });

function withStandin<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = tmp('ch-docker-');
  const old = { PATH: process.env['PATH'], D: process.env['DOCKER_STANDIN_DIR'] };
  process.env['PATH'] = `${STANDIN}${delimiter}${old.PATH}`;
  process.env['DOCKER_STANDIN_DIR'] = dir;
  return fn(dir).finally(() => {
    process.env['PATH'] = old.PATH;
    if (old.D === undefined) delete process.env['DOCKER_STANDIN_DIR'];
    else process.env['DOCKER_STANDIN_DIR'] = old.D;
  });
}

function cli(args: string[], dir: string) {
  return execa(process.execPath, [HOST, ...args], {
    reject: false,
    stdin: 'ignore',
    env: { NO_COLOR: '1', PATH: `${STANDIN}${delimiter}${process.env['PATH']}`, DOCKER_STANDIN_DIR: dir },
  });
}

beforeAll(() => {
  registerGitAndDockerReferenceKinds();
});

describe('docker: image references', () => {
  it.each([
    'fixture/example',
    'airbyte/source-faker:6.2.1',
    'ghcr.io/acme/source-x:latest',
    'localhost:5000/a/b_c__d.e-f',
    `alpine@sha256:${'a'.repeat(64)}`,
    `registry.example.com:443/x/y:v1.2@sha256:${'0'.repeat(64)}`,
  ])('accepts %s', (image) => {
    expect(parseDockerImage(image).image).toBe(image);
  });

  it.each([
    ['-it', /starts with "-"/],
    ['--privileged', /starts with "-"/],
    ['--volume=/:/host', /starts with "-"/],
    ['Upper/Case', /not a valid image reference/],
    ['a b', /not a valid image reference/],
    ['a:b:c', /not a valid image reference/],
    ['a//b', /not a valid image reference/],
    ['x:-tag', /not a valid image reference/],
    ['x/', /not a valid image reference/],
    ['', /no image/],
  ])('refuses %j', async (image, why) => {
    expect(() => parseDockerImage(image)).toThrow(ConfigError);
    expect(() => parseDockerImage(image)).toThrow(why);
    await expect(spec(`docker:${image}`)).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(why) });
  });
});

describe('docker: the docker run command', () => {
  it('mounts a readable copy of the files read-only, rewrites the paths, names the container', () => {
    const files = new RunFiles();
    try {
      const config = files.write('config.json', '{"api_key":"k"}');
      const catalog = files.write('catalog.json', '{}');
      expect(statSync(files.dir).mode & 0o777).toBe(0o700);
      expect(statSync(config).mode & 0o777).toBe(0o600);
      const ref = dockerConnector('airbyte/source-faker:6.2.1');
      expect(ref.command).toBe('docker');
      expect(ref.args).toEqual([]);
      const argv = ref.prepareArgs!(['read', '--config', config, '--catalog', catalog, `--state=${files.dir}/state.json`, '--other', '/etc/x'], files.dir);
      const name = ref.containerName!;
      expect(name).toMatch(/^connector-host-source-faker-\d+-[0-9a-f]{8}$/);
      const shared = readdirSync(files.dir).find((n) => n.startsWith('.docker-'))!;
      expect(argv).toEqual([
        'run',
        '--rm',
        '-i',
        '--name',
        name,
        '-v',
        `${join(files.dir, shared)}:${CONTAINER_FILES_DIR}:ro`,
        'airbyte/source-faker:6.2.1',
        'read',
        '--config',
        `${CONTAINER_FILES_DIR}/config.json`,
        '--catalog',
        `${CONTAINER_FILES_DIR}/catalog.json`,
        `--state=${CONTAINER_FILES_DIR}/state.json`,
        '--other',
        '/etc/x',
      ]);
      // readable by the image's user, private on the host (the parent stays 0700)
      expect(statSync(join(files.dir, shared)).mode & 0o777).toBe(0o755);
      expect(statSync(join(files.dir, shared, 'config.json')).mode & 0o777).toBe(0o644);
      expect(readFileSync(join(files.dir, shared, 'config.json'), 'utf8')).toBe('{"api_key":"k"}');
      expect(statSync(files.dir).mode & 0o777).toBe(0o700);
      // every spawn: a new name; without a files dir (spec): no mount
      expect(ref.prepareArgs!(['spec'], undefined)).toEqual(['run', '--rm', '-i', '--name', ref.containerName, 'airbyte/source-faker:6.2.1', 'spec']);
      expect(ref.containerName).not.toBe(name);
    } finally {
      files.cleanup();
    }
    expect(rewriteArgs(['/tmp/fd', '/tmp/fd/a', '/tmp/fdx/a', '--x=/tmp/fd/b'], '/tmp/fd')).toEqual([CONTAINER_FILES_DIR, `${CONTAINER_FILES_DIR}/a`, '/tmp/fdx/a', `--x=${CONTAINER_FILES_DIR}/b`]);
  });

  it('the stand-in refuses files the container user could not read (what the copy avoids)', async () => {
    const dir = tmp('ch-docker-');
    const files = tmp('ch-files-');
    chmodSync(files, 0o700);
    writeFileSync(join(files, 'config.json'), '{}', { mode: 0o600 });
    const r = await execa(join(STANDIN, 'docker'), ['run', '--rm', '-i', '--name', 'x', '-v', `${files}:/f:ro`, 'fixture/example', 'check', '--config', '/f/config.json'], { reject: false, env: { DOCKER_STANDIN_DIR: dir } });
    expect(r.exitCode).toBe(1);
    expect(String(r.stderr)).toMatch(/permission denied/);
  });
});

describe('docker: end to end (stand-in docker)', () => {
  it('host read docker:fixture/example --config ... --out ...', async () => {
    const dir = tmp('ch-docker-');
    const out = join(tmp('ch-out-'), 'out');
    const r = await cli(['read', 'docker:fixture/example', '--config', CONFIG, '--out', out], dir);
    expect(r.stderr).not.toMatch(/unsupported connector reference/);
    expect(r.exitCode).toBe(0);
    expect(lines(join(out, 'users.jsonl'))).toHaveLength(3);
    expect(lines(join(out, 'events.jsonl')).length).toBeGreaterThan(0);
    const runs = calls(dir).filter((c) => c.argv[0] === 'run');
    const cmds = runs.map((c) => c.argv.find((a) => ['spec', 'check', 'discover', 'read'].includes(a)));
    expect(cmds).toEqual(['spec', 'discover', 'read']);
    const read = runs.at(-1)!;
    expect(read.argv.slice(0, 4)).toEqual(['run', '--rm', '-i', '--name']);
    expect(read.argv).toContain('fixture/example');
    expect(read.argv.slice(read.argv.indexOf('fixture/example') + 1)).toEqual(['read', '--config', `${CONTAINER_FILES_DIR}/config.json`, '--catalog', `${CONTAINER_FILES_DIR}/catalog.json`]);
    expect(read.mounts).toHaveLength(1);
    expect(read.mounts![0]).toMatchObject({ target: CONTAINER_FILES_DIR, ro: true, mode: '0755', files: { 'config.json': '0644', 'catalog.json': '0644' } });
    expect(new Set(runs.map((c) => c.argv[4])).size).toBe(3); // a unique name per run
    expect(existsSync(read.mounts![0]!.source)).toBe(false); // removed with the run's files
    expect(calls(dir).some((c) => c.argv[0] === 'kill')).toBe(false);

    // the second run resumes from the state: it is passed as a rewritten --state
    const r2 = await cli(['read', 'docker:fixture/example', '--config', CONFIG, '--out', out], dir);
    expect(r2.exitCode).toBe(0);
    const read2 = calls(dir).filter((c) => c.argv[0] === 'run').at(-1)!;
    expect(read2.argv.slice(-2)).toEqual(['--state', `${CONTAINER_FILES_DIR}/state.json`]);
  });

  it('SIGTERM to the host: docker kill <name> stops the container', async () => {
    const dir = tmp('ch-docker-');
    const p = cli(['spec', 'docker:fixture/misbehaving/hang', '--kill-grace', '2'], dir);
    const cdir = join(dir, 'containers');
    let started: string | undefined;
    for (let i = 0; i < 200 && !started; i++) {
      await sleep(50);
      started = existsSync(cdir) ? readdirSync(cdir)[0] : undefined;
    }
    expect(started).toBeDefined();
    const name = started!.replace(/\.json$/, '');
    const { pid } = JSON.parse(readFileSync(join(cdir, started!), 'utf8'));
    expect(pidAlive(pid)).toBe(true);
    p.kill('SIGTERM');
    const r = await p;
    expect(r.exitCode).toBe(143);
    const kills = calls(dir).filter((c) => c.argv[0] === 'kill');
    expect(kills.map((c) => c.argv)).toEqual([['kill', name]]);
    for (let i = 0; i < 40 && pidAlive(pid); i++) await sleep(50);
    expect(pidAlive(pid)).toBe(false);
  });

  it('library: a timeout stops the container too', async () => {
    await withStandin(async (dir) => {
      // the timeout leaves the stand-in time to register its container even on a loaded machine
      // (a kill before that finds no container: the test would see no kill)
      await expect(spec('docker:fixture/misbehaving/hang', { timeoutMs: 6000, killGraceMs: 1000 })).rejects.toBeInstanceOf(TimeoutError);
      const run = calls(dir).find((c) => c.argv[0] === 'run')!;
      expect(calls(dir).filter((c) => c.argv[0] === 'kill').map((c) => c.argv)).toEqual([['kill', run.argv[4]]]);
      const killed = lines(join(dir, 'killed.jsonl')).map((l) => JSON.parse(l));
      expect(killed.map((k) => k.name)).toEqual([run.argv[4]]);
    });
  });
});


