#!/usr/bin/env node
// CPU profile of one host read, summarised by self time.
//
//   node bench/profile.mjs [--records N] [--workload out|state|stdout|validate] [--top K]
//
// Runs `node --cpu-prof bin/host.js read ...` on the bench data (generated if needed), then
// prints the top-K functions by self time (with file:line) and the time per source file.
// The .cpuprofile is kept in bench/.data/prof/ (open it in Chrome DevTools > Performance).
// Build first (npm run build): it profiles dist/.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate, DATA_DIR } from './generate.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH);
const argv = process.argv.slice(2);
const opt = (k, d) => (argv.includes(k) ? argv[argv.indexOf(k) + 1] : d);
const n = Number(opt('--records', '1000000'));
const workload = opt('--workload', 'out');
const top = Number(opt('--top', '30'));

const meta = await generate(n, workload === 'state' ? 'state' : 'plain', { log: (m) => console.error(m) });
const profDir = join(DATA_DIR, 'prof');
const outDir = join(DATA_DIR, 'prof-out');
rmSync(outDir, { recursive: true, force: true });
mkdirSync(profDir, { recursive: true });
const cfg = join(profDir, 'config.json');
writeFileSync(cfg, '{}\n');
const before = new Set(readdirSync(profDir));
const args = ['--cpu-prof', '--cpu-prof-dir', profDir, join(ROOT, 'bin', 'host.js'), 'read', '--config', cfg, '--log-level', 'warn'];
if (workload !== 'stdout') args.push('--out', outDir);
if (workload === 'validate') args.push('--validate', 'warn');
args.push('--', 'sh', join(BENCH, 'replay-source.sh'), '--file', meta.path);
const r = spawnSync(process.execPath, args, { stdio: ['ignore', workload === 'stdout' ? 'ignore' : 'inherit', 'inherit'] });
rmSync(outDir, { recursive: true, force: true });
if (r.status !== 0) {
  console.error(`host exited with ${r.status}`);
  process.exit(1);
}
const file = readdirSync(profDir)
  .filter((f) => f.endsWith('.cpuprofile') && !before.has(f))
  .map((f) => join(profDir, f))
  .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
if (!file) throw new Error('no .cpuprofile written');

const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((nd) => [nd.id, nd]));
const self = new Map(); // node id -> microseconds
for (let i = 0; i < prof.samples.length; i++) {
  const id = prof.samples[i];
  self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
const short = (url) => {
  if (!url) return '';
  const p = url.replace(/^file:\/\//, '');
  return p.startsWith(ROOT) ? relative(ROOT, p) : p.replace(/^node:/, 'node:');
};
const fnKey = (cf) => `${cf.functionName || '(anonymous)'} ${short(cf.url)}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;
const byFn = new Map();
const byFile = new Map();
for (const [id, us] of self) {
  const cf = byId.get(id).callFrame;
  byFn.set(fnKey(cf), (byFn.get(fnKey(cf)) ?? 0) + us);
  const f = cf.url ? short(cf.url).replace(/^node_modules\/([^/]+)\/.*/, 'node_modules/$1') : `(${cf.functionName || 'vm'})`;
  byFile.set(f, (byFile.get(f) ?? 0) + us);
}
const pct = (us) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
const ms = (us) => `${(us / 1000).toFixed(0).padStart(6)} ms`;
console.log(`profile: ${relative(process.cwd(), file)}  (${n} records, workload ${workload}, ${(total / 1e6).toFixed(2)} s sampled)\n`);
console.log(`top ${top} functions by self time:`);
for (const [k, us] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(us)} ${pct(us)}  ${k}`);
console.log('\nself time by file / package:');
for (const [k, us] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`${ms(us)} ${pct(us)}  ${k}`);
