#!/usr/bin/env node
// CPU profiles of one benchmark run, summarised by self time.
//
//   node bench/profile.mjs [--records N] [--workload out|state|stdout|validate|singer|run|run-write] [--top K]
//
// out|state|stdout|validate: `node --cpu-prof bin/host.js read ...` on the replay source.
// singer: the host and the Singer-tap shim on bench/replay-tap.mjs. The shim is run as the
//   host runs it with --protocol singer (`node shims/singer-tap.mjs --tap-json ...`), given
//   after `--` with --cpu-prof, so that its read gets a profile of its own.
// run, run-write: `host run` into fixtures/connectors/destinations/dest-jsonl.mjs (with
//   --discard, or writing files): the host and the destination (through a wrapper script
//   that starts it with --cpu-prof).
// Prints, per profiled process, the top-K functions by self time (with file:line) and the time
// per source file. The .cpuprofile files are kept in bench/.data/prof/ (open them in Chrome
// DevTools > Performance). Build first (npm run build): it profiles dist/.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate, DATA_DIR } from './generate.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH);
const argv = process.argv.slice(2);
const opt = (k, d) => (argv.includes(k) ? argv[argv.indexOf(k) + 1] : d);
const workload = opt('--workload', 'out');
const n = Number(opt('--records', workload === 'singer' ? '200000' : '1000000'));
const top = Number(opt('--top', '30'));
const WORKLOADS = ['out', 'state', 'stdout', 'validate', 'singer', 'run', 'run-write'];
if (!WORKLOADS.includes(workload)) throw new Error(`--workload: one of ${WORKLOADS.join(', ')}`);

const variant = workload === 'state' || workload.startsWith('run') ? 'state' : workload === 'singer' ? 'singer' : 'plain';
const meta = await generate(n, variant, { log: (m) => console.error(m) });
const profRoot = join(DATA_DIR, 'prof');
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const hostDir = join(profRoot, `${workload}-${stamp}`, 'host');
const childDir = join(profRoot, `${workload}-${stamp}`, workload === 'singer' ? 'shim' : 'destination');
const work = join(profRoot, `${workload}-${stamp}`, 'work');
const outDir = join(work, 'out');
mkdirSync(hostDir, { recursive: true });
mkdirSync(work, { recursive: true });
const cfg = join(work, 'config.json');
writeFileSync(cfg, workload === 'singer' ? JSON.stringify({ file: meta.path }) + '\n' : '{}\n');
const replay = ['sh', join(BENCH, 'replay-source.sh'), '--file', meta.path];
const args = ['--cpu-prof', '--cpu-prof-dir', hostDir, join(ROOT, 'bin', 'host.js')];
if (workload === 'singer') {
  mkdirSync(childDir, { recursive: true });
  const tap = JSON.stringify({ command: process.execPath, args: [join(BENCH, 'replay-tap.mjs')] });
  args.push('read', '--config', cfg, '--log-level', 'warn', '--out', outDir, '--', process.execPath, '--cpu-prof', '--cpu-prof-dir', childDir, join(ROOT, 'shims', 'singer-tap.mjs'), '--tap-json', tap);
} else if (workload === 'run' || workload === 'run-write') {
  mkdirSync(childDir, { recursive: true });
  const wrapper = join(work, 'dest-prof.sh');
  const dest = join(ROOT, 'fixtures', 'connectors', 'destinations', 'dest-jsonl.mjs');
  writeFileSync(wrapper, `#!/bin/sh\nexec "${process.execPath}" --cpu-prof --cpu-prof-dir "${childDir}" "${dest}" "$@"\n`);
  chmodSync(wrapper, 0o755);
  const dcfg = join(work, 'dest-config.json');
  writeFileSync(dcfg, JSON.stringify({ path: join(work, 'dest-out') }) + '\n');
  args.push('run', '--config', cfg, '--log-level', 'warn', '--destination', wrapper, '--destination-config', dcfg, '--state', join(work, 'state.json'));
  if (workload === 'run') args.push('--destination-arg=--discard');
  args.push('--', ...replay);
} else {
  args.push('read', '--config', cfg, '--log-level', 'warn');
  if (workload !== 'stdout') args.push('--out', outDir);
  if (workload === 'validate') args.push('--validate', 'warn');
  args.push('--', ...replay);
}
const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', workload === 'stdout' ? 'ignore' : 'inherit', 'inherit'] });
rmSync(outDir, { recursive: true, force: true });
rmSync(join(work, 'dest-out'), { recursive: true, force: true });
if (r.status !== 0) {
  console.error(`host exited with ${r.status}`);
  process.exit(1);
}

/** The profile of the longest-running process in a directory (the read or write, not spec/discover). */
function longest(dir) {
  let best;
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.cpuprofile'))) {
    const p = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    const span = p.endTime - p.startTime;
    if (!best || span > best.span) best = { file: join(dir, f), prof: p, span };
  }
  if (!best) throw new Error(`no .cpuprofile in ${dir}`);
  return best;
}

const short = (url) => {
  if (!url) return '';
  const p = url.replace(/^file:\/\//, '');
  return p.startsWith(ROOT) ? relative(ROOT, p) : p.replace(/^node:/, 'node:');
};

function summarise(title, { file, prof }) {
  const byId = new Map(prof.nodes.map((nd) => [nd.id, nd]));
  const self = new Map(); // node id -> microseconds
  for (let i = 0; i < prof.samples.length; i++) {
    const id = prof.samples[i];
    self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fnKey = (cf) => `${cf.functionName || '(anonymous)'} ${short(cf.url)}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;
  const byFn = new Map();
  const byFile = new Map();
  let idle = 0;
  for (const [id, us] of self) {
    const cf = byId.get(id).callFrame;
    if (cf.functionName === '(idle)') idle += us;
    byFn.set(fnKey(cf), (byFn.get(fnKey(cf)) ?? 0) + us);
    const f = cf.url ? short(cf.url).replace(/^node_modules\/([^/]+)\/.*/, 'node_modules/$1') : `(${cf.functionName || 'vm'})`;
    byFile.set(f, (byFile.get(f) ?? 0) + us);
  }
  const pct = (us) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
  const ms = (us) => `${(us / 1000).toFixed(0).padStart(6)} ms`;
  console.log(`\n=== ${title}: ${relative(process.cwd(), file)}`);
  console.log(`(${n} records, workload ${workload}, ${(total / 1e6).toFixed(2)} s sampled, ${(idle / 1e6).toFixed(2)} s of it idle)\n`);
  console.log(`top ${top} functions by self time:`);
  for (const [k, us] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(us)} ${pct(us)}  ${k}`);
  console.log('\nself time by file / package:');
  for (const [k, us] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`${ms(us)} ${pct(us)}  ${k}`);
}

summarise('host', longest(hostDir));
if (workload === 'singer') summarise('Singer-tap shim (its read)', longest(childDir));
if (workload === 'run' || workload === 'run-write') summarise('destination dest-jsonl.mjs (its write)', longest(childDir));
