// `host connectors exec NAME|REF -- ARGS` and `host connectors which NAME|REF` through the real
// CLI, with connectors that are scripts (paths, registry names); the pypi: ones are in
// test/connector/uv.test.ts.

import { describe, it, expect } from 'vitest';
import { writeFileSync, chmodSync, mkdirSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { host, tmp, HOST, ROOT, FIX } from '../helpers.js';

const dir = tmp('ch-exec-');

function script(name: string, body: string): string {
  const p = join(dir, name);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

// prints its arguments one a line, then stdin, then exits with $EXIT_WITH (default 0)
const echo = script('echo-args.sh', 'for a in "$@"; do printf "arg=%s\\n" "$a"; done\ncat\nexit "${EXIT_WITH:-0}"');
// says when it is ready, then waits for a signal and says which
const trap = script(
  'trap.sh',
  'trap \'echo "got TERM"; exit 42\' TERM\ntrap \'echo "got INT"; exit 43\' INT\ntrap \'echo "got HUP"; exit 44\' HUP\necho ready\nwhile :; do sleep 0.05; done',
);
const suicide = script('suicide.sh', 'kill -KILL $$');

const registry = join(dir, 'connectors.yaml');
writeFileSync(
  registry,
  [
    'connectors:',
    '  echo:',
    `    ref: ${echo}`,
    '    protocol: singer', // which/exec run the program itself, not the Singer shim
    '  broken:',
    '    ref: ["no-such-program-connector-host-test", "x"]',
    '',
  ].join('\n'),
);

describe('host connectors exec', () => {
  it('runs the connector with the arguments after --, stdin and stdout passed through, its exit code passed on', async () => {
    const r = await host(['connectors', 'exec', echo, '--', '--config', 'a b.json', "it's", ''], { stdin: 'pipe', input: 'from stdin\n', env: { EXIT_WITH: '7' } });
    expect(r.exitCode).toBe(7);
    expect(r.stdout).toBe(['arg=--config', 'arg=a b.json', "arg=it's", 'arg=', 'from stdin'].join('\n'));
    expect(r.stderr).toBe('');
    const ok = await host(['connectors', 'exec', echo, '--', 'x'], { stdin: 'pipe', input: '' });
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout).toBe('arg=x');
  });

  it('a registry name: its own program (no Singer shim), with the registry found by --registry', async () => {
    const r = await host(['connectors', 'exec', 'echo', '--registry', registry, '--', '--about'], { stdin: 'pipe', input: '' });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe('arg=--about');
    const w = await host(['connectors', 'which', 'echo', '--registry', registry]);
    expect(w.stdout).toBe(echo);
  });

  it('forwards SIGTERM, SIGHUP and (off a terminal) SIGINT to the connector, and exits with its code', async () => {
    for (const [sig, said, code] of [
      ['SIGTERM', 'got TERM', 42],
      ['SIGINT', 'got INT', 43],
      ['SIGHUP', 'got HUP', 44],
    ] as const) {
      const sub = execa(process.execPath, [HOST, 'connectors', 'exec', trap], { reject: false, stdin: 'ignore', buffer: true });
      let out = '';
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no "ready" from the connector: ${out}`)), 20_000);
        sub.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('ready')) {
            clearTimeout(t);
            resolve();
          }
        });
      });
      sub.kill(sig);
      // a host that does not exit after the signal is a failure that says so (not the test's timeout)
      let hung = false;
      const guard = setTimeout(() => {
        hung = true;
        sub.kill('SIGKILL');
      }, 30_000);
      const r = await sub;
      clearTimeout(guard);
      expect(hung, `${sig}: the host had not exited 30 s after the signal; stdout: ${out}${String(r.stdout)} stderr: ${r.stderr}`).toBe(false);
      expect(r.exitCode, `${sig}: ${r.stderr}`).toBe(code);
      expect(String(r.stdout)).toContain(said);
    }
  }, 180_000);

  it('a connector killed by a signal: the host exits 128 + its number', async () => {
    const r = await host(['connectors', 'exec', suicide]);
    expect(r.exitCode).toBe(137);
  });

  it('an unknown name: a clear error, exit 2', async () => {
    const none = await host(['connectors', 'exec', 'no-such-connector', '--', 'x'], { cwd: dir, env: { CONNECTOR_HOST_REGISTRY: '' } });
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toMatch(/^host: host connectors exec: unknown connector "no-such-connector": not a connector in the registry .*connectors\.yaml \(it has: echo, broken\), nor a file; name a registry connector, a path, or a reference \(pypi:NAME/);
    const noRegistry = tmp('ch-exec-noreg-');
    const r = await host(['connectors', 'which', 'no-such-connector'], { cwd: noRegistry, env: { CONNECTOR_HOST_REGISTRY: '', XDG_CONFIG_HOME: noRegistry } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/unknown connector "no-such-connector": not a connector in a registry \(there is no registry file: see --registry\), nor a file/);
    expect(r.stdout).toBe('');
  });

  it('a program that cannot be started: exit 2 and why', async () => {
    const r = await host(['connectors', 'exec', 'broken', '--registry', registry]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/cannot run broken: no-such-program-connector-host-test: not found/);
  });

  it('names with odd characters are refused before anything runs or installs (exit 2)', async () => {
    const cache = tmp('ch-exec-cache-');
    const marker = join(dir, 'pwned');
    for (const bad of ['pypi:cowsay;touch ' + marker, 'pypi:cowsay==1.0 --index-url=http://127.0.0.1:9', 'pypi:-e.', 'npm:../../etc', `$(touch ${marker})`, '`touch ' + marker + '`', 'pypi:cowsay[all]', 'git:--upload-pack=touch', 'pypi:']) {
      const r = await host(['connectors', 'exec', bad, '--cache-dir', cache, '--', 'x']);
      expect(r.exitCode, `${bad}: ${r.stderr}`).toBe(2);
      expect(r.stderr, bad).toMatch(/^host: /);
      expect(r.stdout).toBe('');
    }
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(join(cache, 'pypi')) ? readdirSync(join(cache, 'pypi')) : []).toEqual([]);
  }, 60_000);

  it('arguments after -- belong to exec only', async () => {
    const r = await host(['connectors', 'which', echo, '--', 'x']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/takes no arguments after --; did you mean host connectors exec/);
  });
});

describe('host connectors which', () => {
  it('prints one line: the command, each word shell-quoted when it needs it, so that eval runs it', async () => {
    const odd = script("it's a dir/source $x.sh", 'echo "ran with $1"');
    const r = await host(['connectors', 'which', odd]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.split('\n')).toHaveLength(1);
    expect(r.stdout).toBe(`'${odd.replace(/'/g, `'\\''`)}'`);
    const viaShell = await execa('sh', ['-c', `eval "$(node ${HOST} connectors which "$1") hello"`, 'sh', odd], { reject: false });
    expect(viaShell.exitCode, viaShell.stderr).toBe(0);
    expect(viaShell.stdout).toBe('ran with hello');
  });

  it('a script that is not executable: its interpreter and the absolute path', async () => {
    const py = join(dir, 'plain.py');
    writeFileSync(py, 'print("hi")\n');
    const r = await host(['connectors', 'which', py]);
    // with the Python kit on PYTHONPATH, as the host runs it (the script may import connector_host)
    expect(r.stdout).toBe(`env PYTHONPATH=${join(ROOT, 'kits', 'python')} python3 ${py}`);
  });

  it('a kit object (file.py:Name): which prints a line that runs it by hand, exec runs it', async () => {
    const ref = join(FIX, 'kit-python', 'static_source.py:static_source');
    const r = await host(['connectors', 'which', ref]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe(`env PYTHONPATH=${join(ROOT, 'kits', 'python')} PYTHONSAFEPATH=1 CONNECTOR_HOST_SAFEPATH=1 python3 -m connector_host ${ref}`);
    const viaShell = await execa('sh', ['-c', `cd / && eval "$(node ${HOST} connectors which "$1") spec"`, 'sh', ref], { reject: false, env: { PYTHONPATH: '' } });
    expect(viaShell.exitCode, viaShell.stderr).toBe(0);
    expect(JSON.parse(viaShell.stdout).type).toBe('SPEC');
    const ex = await host(['connectors', 'exec', ref, '--', 'spec']);
    expect(ex.exitCode, ex.stderr).toBe(0);
    expect(JSON.parse(ex.stdout).spec.connectionSpecification.type).toBe('object');
    const missing = await host(['connectors', 'exec', join(FIX, 'kit-python', 'no_such_file.py:X'), '--', 'spec']);
    expect(missing.exitCode).toBe(2);
  });

  it('--help shows the exec and which examples', async () => {
    const r = await host(['connectors', '--help']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/\[choices: "list", "info", "install", "remove", "which", "exec"\]/);
    expect(r.stdout).toContain('host connectors which pypi:tap-jsonl');
    expect(r.stdout).toContain('host connectors exec pypi:tap-jsonl -- --about');
    expect(r.stdout).toContain('eval "$(host connectors which faker) --help"');
  });
});

describe('a signal during the install of an exec', () => {
  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('%s: the connector is not started, the host exits %i, no half-made entry is left', async (sig, code) => {
    const cache = tmp('ch-exec-int-');
    const sub = execa(process.execPath, [HOST, 'connectors', 'exec', 'pypi:cowsay==6.1', '--cache-dir', cache, '--', '-t', 'moo-from-exec'], {
      reject: false,
      stdin: 'ignore',
      env: { NO_COLOR: '1', CONNECTOR_HOST_LOG_FORMAT: 'json' },
      // the host finishes the install before it exits: on a loaded machine that takes longer than
      // execa's default 5 s before it follows a kill() with SIGKILL
      forceKillAfterDelay: false,
    });
    let err = '';
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no "installing" line: ${err}`)), 60_000);
      sub.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (/installing/.test(err)) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    sub.kill(sig);
    const r = await sub;
    expect(r.exitCode, String(r.stderr)).toBe(code);
    expect(String(r.stdout)).not.toContain('moo-from-exec');
    // the install either finished (a complete entry) or left nothing; never a temp folder
    const names = existsSync(join(cache, 'pypi', 'cowsay')) ? readdirSync(join(cache, 'pypi', 'cowsay')) : [];
    expect(names.filter((n) => n.includes('.tmp-'))).toEqual([]);
  }, 180_000);
});
