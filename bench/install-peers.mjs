#!/usr/bin/env node
// The peers of the pipeline benchmark (bench/pipelines-bench.mjs): Meltano, installed from PyPI
// into a cached virtualenv, and a Meltano project whose extractor and loaders are the bench's own
// scripts as custom plugins (no Meltano Hub, no network beyond the PyPI install).
//
//   node bench/install-peers.mjs [--python PY] [--force]
//
// Installs meltano==MELTANO_VERSION into .cache/bench-peers/meltano-venv (git-ignored: .cache/)
// with uv when one is found (the host's own tools dir .cache/interop/tools/uv, or uv on PATH),
// else `python -m venv` + pip; bytecode compiled at install, so the first timed run does not pay
// for it. Prints the meltano command. Idempotent: an existing venv with the right version is
// reused. The project itself (meltanoProject) is written by the bench before each use: its
// plugins name absolute paths of this checkout, which is why it lives under .cache/ and is not
// committed.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const MELTANO_VERSION = '4.4.1';
const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
export const PEERS_DIR = join(ROOT, '.cache', 'bench-peers');
const VENV = join(PEERS_DIR, 'meltano-venv');
const MELTANO = join(VENV, 'bin', 'meltano');
const STAMP = join(VENV, '.bench-peers.json');

/** The environment every meltano command of the bench runs with: no usage stats, no colour. */
export function meltanoEnv(project, extra = {}) {
  return {
    ...process.env,
    // the bench's scripts are `#!/usr/bin/env node`: the node running the bench
    PATH: [dirname(process.execPath), process.env.PATH].filter(Boolean).join(':'),
    MELTANO_SEND_ANONYMOUS_USAGE_STATS: 'false',
    MELTANO_PROJECT_ROOT: project,
    MELTANO_CLI_LOG_LEVEL: 'info',
    NO_COLOR: '1',
    ...extra,
  };
}

function findUv() {
  for (const c of [join(ROOT, '.cache', 'interop', 'tools', 'uv', 'bin', 'uv'), 'uv']) {
    const r = spawnSync(c, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return c;
  }
  return undefined;
}

/**
 * Meltano in its cached venv: { meltano } (the executable), or { error } saying why not.
 * `log` gets progress lines.
 */
export function ensureMeltano({ python = 'python3', force = false, log = () => {} } = {}) {
  try {
    const st = JSON.parse(readFileSync(STAMP, 'utf8'));
    if (!force && st.version === MELTANO_VERSION && existsSync(MELTANO)) return { meltano: MELTANO, version: st.version };
  } catch {}
  mkdirSync(PEERS_DIR, { recursive: true });
  rmSync(VENV, { recursive: true, force: true });
  const t0 = Date.now();
  log(`installing meltano==${MELTANO_VERSION} into ${VENV} ...`);
  const uv = findUv();
  const run = (cmd, args, env = process.env) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status ?? r.signal}: ${(r.stderr || r.stdout || String(r.error ?? '')).trim().split('\n').slice(-5).join(' | ')}`);
    return r;
  };
  try {
    if (uv) {
      run(uv, ['venv', '--quiet', '--python', python, VENV]);
      run(uv, ['pip', 'install', '--quiet', '--compile-bytecode', `meltano==${MELTANO_VERSION}`], { ...process.env, VIRTUAL_ENV: VENV });
    } else {
      run(python, ['-m', 'venv', VENV]);
      run(join(VENV, 'bin', 'python'), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', `meltano==${MELTANO_VERSION}`]);
    }
    const v = run(MELTANO, ['--version'], meltanoEnv(PEERS_DIR));
    if (!v.stdout.includes(MELTANO_VERSION)) throw new Error(`meltano --version says ${v.stdout.trim()}`);
  } catch (err) {
    rmSync(VENV, { recursive: true, force: true });
    return { error: String(err?.message ?? err) };
  }
  writeFileSync(STAMP, JSON.stringify({ version: MELTANO_VERSION, installed_at: new Date().toISOString(), installer: uv ? 'uv' : 'pip' }) + '\n');
  log(`  meltano ${MELTANO_VERSION} installed in ${((Date.now() - t0) / 1000).toFixed(1)} s${uv ? ' (uv)' : ''}`);
  return { meltano: MELTANO, version: MELTANO_VERSION };
}

const q = (s) => JSON.stringify(s); // a YAML double-quoted scalar is a JSON string

/**
 * Write (or rewrite) a Meltano project at `dir`: extractor tap-replay (bench/replay-tap.mjs,
 * capabilities catalog/discover/state, every stream selected), loaders target-null
 * (bench/null-target.mjs) and, when `targetJsonl` is given, target-jsonl (that executable).
 * Settings come from the environment at run time: TAP_REPLAY_FILE, TARGET_NULL_REPORT,
 * TARGET_JSONL_DESTINATION_PATH, TARGET_JSONL_DO_TIMESTAMP_FILE.
 */
export function meltanoProject(dir, { targetJsonl } = {}) {
  mkdirSync(dir, { recursive: true });
  const bench = join(ROOT, 'bench');
  const yml = [
    'version: 1',
    'default_environment: dev',
    'project_id: connector-host-bench',
    'send_anonymous_usage_stats: false',
    'environments:',
    '- name: dev',
    'plugins:',
    '  extractors:',
    '  - name: tap-replay',
    '    namespace: tap_replay',
    `    executable: ${q(join(bench, 'replay-tap.mjs'))}`,
    '    capabilities: [catalog, discover, state]',
    '    settings:',
    '    - name: file',
    '    select:',
    "    - '*.*'",
    '  loaders:',
    '  - name: target-null',
    '    namespace: target_null',
    `    executable: ${q(join(bench, 'null-target.mjs'))}`,
    '    settings:',
    '    - name: report',
    ...(targetJsonl
      ? [
          '  - name: target-jsonl',
          '    namespace: target_jsonl',
          `    executable: ${q(targetJsonl)}`,
          '    settings:',
          '    - name: destination_path',
          '    - name: do_timestamp_file',
          '      kind: boolean',
        ]
      : []),
    '',
  ].join('\n');
  const file = join(dir, 'meltano.yml');
  let old;
  try {
    old = readFileSync(file, 'utf8');
  } catch {}
  if (old !== yml) writeFileSync(file, yml);
  return file;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const i = argv.indexOf('--python');
  const r = ensureMeltano({ python: i >= 0 ? argv[i + 1] : 'python3', force: argv.includes('--force'), log: (m) => console.error(m) });
  if (r.error) {
    console.error(`meltano could not be installed: ${r.error}`);
    process.exit(1);
  }
  console.log(r.meltano);
}
