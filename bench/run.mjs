#!/usr/bin/env node
// Read-path benchmark: `host read` against baselines on the same bytes.
//
//   npm run bench [-- --records N] [--runs R] [--sizes 1000000,5000000] [--quick]
//                 [--only host-out,parse,...] [--results bench/results.md] [--no-results]
//
// Workloads (one run of each per round; the order rotates every round so that machine noise
// hits all alike; the median of the rounds is reported):
//   cat            cat FILE > /dev/null                                 (I/O floor)
//   drain          Node: read FILE, count newlines, no parse           (Node stream floor)
//   parse          Node: read FILE, Buffer#indexOf split, JSON.parse    (THE baseline)
//   ndjson         Node: read FILE | ndjson.parse()                     (the package replaced)
//   host-out       host read --out DIR                  on the plain file
//   host-state     host read --out DIR                  on the STATE-every-1000 file
//   host-stdout    host read > /dev/null                on the plain file
//   host-validate  host read --out DIR --validate warn  on the plain file
//   host-startup   host read --out DIR                  on an empty file (fixed cost)
// The host runs `sh bench/replay-source.sh --file FILE`, which `exec`s cat on read.
//
// Every command runs under bench/measure.py (wall time, peak RSS via wait4/GNU time; see
// there). Every host run is verified: exit 0, line counts of DIR/orders.jsonl and
// DIR/customers.jsonl equal to the generator's counts, state.json present (and, for the
// STATE workload, holding the last orders cursor); baselines must report N records.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate, DATA_DIR, STATE_EVERY } from './generate.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH);
const NODE = process.execPath;
const HOST = join(ROOT, 'bin', 'host.js');
const REPLAY = join(BENCH, 'replay-source.sh');
const MEASURE = join(BENCH, 'measure.py');
const PARSE = join(BENCH, 'parse-loop.mjs');
const TMP = join(DATA_DIR, 'tmp');

// ---- options ---------------------------------------------------------------------------------
const argv = process.argv.slice(2);
function opt(name, dflt) {
  const i = argv.indexOf(name);
  if (i < 0) return dflt;
  const v = argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`${name} needs a value`);
  return v;
}
const num = (s) => {
  const n = Number(String(s).replace(/_/g, ''));
  if (!Number.isFinite(n) || n < 0) throw new Error(`not a number: ${s}`);
  return Math.round(n);
};
const quick = argv.includes('--quick');
let sizes = opt('--sizes') ? opt('--sizes').split(',').map(num) : [num(opt('--records', quick ? 200_000 : 1_000_000))];
const runs = num(opt('--runs', quick ? 3 : 5));
const only = opt('--only') ? new Set(opt('--only').split(',')) : undefined;
const resultsPath = argv.includes('--no-results') ? undefined : opt('--results', join(BENCH, 'results.md'));
if (runs < 1) throw new Error('--runs must be at least 1');
sizes = sizes.filter((n) => n > 0);
if (!sizes.length) throw new Error('no sizes');

// ---- helpers ---------------------------------------------------------------------------------
const log = (m) => process.stderr.write(m + '\n');
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const MB = 1e6;

function measure(cmd, { stdout, stderr } = {}) {
  const a = [MEASURE];
  if (stdout) a.push('--stdout', stdout);
  if (stderr) a.push('--stderr', stderr);
  a.push('--', ...cmd);
  const r = spawnSync('python3', a, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`measure.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

function countLines(path) {
  const r = spawnSync('wc', ['-l', path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`wc -l ${path}: ${r.stderr}`);
  return Number(r.stdout.trim().split(/\s+/)[0]);
}

class VerifyError extends Error {}
function check(cond, what) {
  if (!cond) throw new VerifyError(what);
}

function tail(path, n = 20) {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}

// ---- workloads -------------------------------------------------------------------------------
const CFG = join(TMP, 'config.json');

function hostCmd(file, outDir, extra = []) {
  const c = [NODE, HOST, 'read', '--config', CFG, '--log-level', 'warn'];
  if (outDir) c.push('--out', outDir);
  return [...c, ...extra, '--', 'sh', REPLAY, '--file', file];
}

function verifyOut(dir, meta, { state }) {
  const orders = join(dir, 'orders.jsonl');
  const customers = join(dir, 'customers.jsonl');
  check(existsSync(orders), `${orders} missing`);
  check(existsSync(customers), `${customers} missing`);
  const no = countLines(orders);
  const nc = countLines(customers);
  check(no === meta.orders, `orders.jsonl has ${no} lines, expected ${meta.orders}`);
  check(nc === meta.customers, `customers.jsonl has ${nc} lines, expected ${meta.customers}`);
  const sf = join(dir, 'state.json');
  check(existsSync(sf), `${sf} missing`);
  if (state) {
    const st = JSON.parse(readFileSync(sf, 'utf8'));
    const s = (st.states ?? []).find((x) => x?.stream?.stream_descriptor?.name === 'orders');
    const cursor = s?.stream?.stream_state?.cursor;
    check(cursor === meta.lastOrderId, `state.json: orders cursor ${JSON.stringify(cursor)}, expected ${meta.lastOrderId}`);
  }
}

function verifySummary(errFile, n) {
  const text = readFileSync(errFile, 'utf8');
  check(new RegExp(`^read ${n} records in `, 'm').test(text), `host summary does not say "read ${n} records": ${text.slice(-400)}`);
  return text;
}

/** The host's own engine rate from its summary line ("read N records in X s"). */
function engineSeconds(text) {
  const m = /^read \d+ records in ([\d.]+) s/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

function workloads(plain, state, empty) {
  const w = [];
  const out = (id) => join(TMP, `out-${id}`);
  const err = (id) => join(TMP, `${id}.stderr`);
  const so = (id) => join(TMP, `${id}.stdout`);
  const baseline = (id, label, mode) => ({
    id,
    label,
    meta: plain,
    cmd: () => [NODE, PARSE, '--mode', mode, plain.path],
    io: { stdout: so(id), stderr: err(id) },
    verify() {
      const r = JSON.parse(readFileSync(so(id), 'utf8'));
      check(r.lines === plain.lines, `${id}: ${r.lines} lines, expected ${plain.lines}`);
      if (mode !== 'drain') check(r.records === plain.records, `${id}: ${r.records} records, expected ${plain.records}`);
    },
  });
  const host = (id, label, meta, { outDir = true, extra = [], stateCheck = false } = {}) => ({
    id,
    label,
    meta,
    host: true,
    before() {
      rmSync(out(id), { recursive: true, force: true });
    },
    cmd: () => hostCmd(meta.path, outDir ? out(id) : undefined, extra),
    io: { stderr: err(id) },
    verify() {
      const text = verifySummary(err(id), meta.records);
      if (outDir) verifyOut(out(id), meta, { state: stateCheck });
      if (extra.includes('--validate')) check(!/does not match its schema/.test(text), `schema warnings: ${text.slice(0, 400)}`);
      rmSync(out(id), { recursive: true, force: true });
      return { engine_s: engineSeconds(text) };
    },
  });
  w.push({
    id: 'cat',
    label: 'cat > /dev/null',
    meta: plain,
    cmd: () => ['cat', plain.path],
    io: {},
    verify() {},
  });
  w.push(baseline('drain', 'node: read + split, no parse', 'drain'));
  w.push(baseline('parse', 'node: split + JSON.parse loop', 'buffer'));
  w.push(baseline('ndjson', 'node: ndjson.parse()', 'ndjson'));
  w.push(host('host-out', 'host read --out', plain));
  w.push(host('host-state', `host read --out, STATE every ${STATE_EVERY}`, state, { stateCheck: true }));
  w.push(host('host-stdout', 'host read > /dev/null', plain, { outDir: false }));
  w.push(host('host-validate', 'host read --out --validate warn', plain, { extra: ['--validate', 'warn'] }));
  w.push(host('host-startup', 'host read --out, 0 records (fixed cost)', empty));
  return only ? w.filter((x) => only.has(x.id)) : w;
}

function runOne(wl) {
  wl.before?.();
  const m = measure(wl.cmd(), wl.io);
  if (m.exit !== 0) {
    throw new VerifyError(`${wl.id}: exit ${m.exit}\n${wl.io.stderr ? tail(wl.io.stderr) : ''}`);
  }
  const extra = wl.verify() ?? {};
  return { ...m, ...extra };
}

// ---- environment -----------------------------------------------------------------------------
function env() {
  let cpu = 'unknown';
  try {
    cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpu;
  } catch {}
  const git = (args) => {
    const r = spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trim() : '';
  };
  const head = git(['rev-parse', '--short', 'HEAD']);
  const dirty = git(['status', '--porcelain', '--', 'src']).split('\n').filter(Boolean).length;
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpu,
    cores: cpus().length,
    kernel: release(),
    commit: head ? `${head}${dirty ? ` + ${dirty} uncommitted change(s) in src/` : ''}` : 'unknown',
  };
}

// ---- report ----------------------------------------------------------------------------------
const fmtInt = (n) => Math.round(n).toLocaleString('en-US');
const fmt = (n, d = 1) => (n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(d));

function summarise(wl, results) {
  const walls = results.map((r) => r.wall_s);
  const rss = results.map((r) => r.maxrss_kb * 1024 / MB);
  const hwm = results.map((r) => (r.vmhwm_kb ?? 0) * 1024 / MB);
  const wall = median(walls);
  const n = wl.meta.records;
  const engine = results.every((r) => r.engine_s) ? median(results.map((r) => r.engine_s)) : undefined;
  return {
    id: wl.id,
    label: wl.label,
    n,
    bytes: wl.meta.bytes,
    wall,
    wallMin: Math.min(...walls),
    wallMax: Math.max(...walls),
    recs: n / wall,
    mbs: wl.meta.bytes / MB / wall,
    rssMed: median(rss),
    rssMax: Math.max(...rss),
    hwmMax: Math.max(...hwm),
    engine,
    engineRecs: engine ? n / engine : undefined,
    host: !!wl.host,
    runs: results,
  };
}

function table(rows) {
  const parse = rows.find((r) => r.id === 'parse');
  const cat = rows.find((r) => r.id === 'cat');
  const lines = [
    '| workload | records/s | MB/s | wall s (min-max) | peak RSS MB med / max | vs JSON.parse loop | vs cat | host-reported records/s |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const startup = r.id === 'host-startup';
    lines.push(
      `| ${r.label} | ${startup ? '-' : fmtInt(r.recs)} | ${startup ? '-' : fmt(r.mbs)} | ${fmt(r.wall, 2)} (${fmt(r.wallMin, 2)}-${fmt(r.wallMax, 2)}) | ${fmt(r.rssMed)} / ${fmt(r.rssMax)} | ` +
        `${parse && !startup ? `${fmt(r.recs / parse.recs, 2)}x` : '-'} | ${cat && !startup ? `${fmt(r.mbs / cat.mbs, 3)}x` : '-'} | ${r.engineRecs && !startup ? fmtInt(r.engineRecs) : '-'} |`,
    );
  }
  return lines.join('\n');
}

function targets(bySize) {
  const out = [];
  for (const [n, rows] of bySize) {
    const parse = rows.find((r) => r.id === 'parse');
    const host = rows.find((r) => r.id === 'host-out');
    if (parse && host) {
      const ok = host.recs >= parse.recs;
      out.push(`- ${fmtInt(n)} records: host read --out ${fmtInt(host.recs)} records/s vs JSON.parse loop ${fmtInt(parse.recs)} records/s = ${fmt(host.recs / parse.recs, 2)}x: **${ok ? 'PASS' : 'FAIL'}** (target >= 1.00x)`);
      if (host.engineRecs) out.push(`  - start-up excluded (the host's own summary): ${fmtInt(host.engineRecs)} records/s = ${fmt(host.engineRecs / parse.recs, 2)}x`);
    }
    for (const r of rows.filter((x) => x.host)) {
      out.push(`- ${fmtInt(n)} records: ${r.label}: peak RSS max ${fmt(r.rssMax)} MB: **${r.rssMax <= 150 ? 'PASS' : 'FAIL'}** (target <= 150 MB)`);
    }
  }
  if (bySize.size > 1) {
    const per = [...bySize].map(([n, rows]) => [n, rows.find((r) => r.id === 'host-out')]).filter(([, r]) => r);
    if (per.length > 1) {
      const vals = per.map(([, r]) => r.rssMax);
      const spread = Math.max(...vals) - Math.min(...vals);
      const ok = spread <= Math.max(10, 0.1 * Math.min(...vals));
      out.push(`- host read --out peak RSS across sizes: ${per.map(([n, r]) => `${fmtInt(n)}: ${fmt(r.rssMax)} MB`).join(', ')} (spread ${fmt(spread)} MB): **${ok ? 'PASS' : 'FAIL'}** (target: flat, spread <= max(10 MB, 10 %))`);
    }
  }
  return out.join('\n');
}

const METHOD = `Method: each workload is one process (or the host plus its replay child) started by
bench/measure.py; wall time covers process start to reap, so host rows include Node start-up,
the connector's spec and discover, and the final state commit (the "0 records" row is that
fixed cost). Peak RSS is ru_maxrss from wait4() through GNU time: the max over the process and
the children it waited for; the host's replay child is \`sh\` exec'ing \`cat\` (~1-2 MB), so the
figure is the host's own. MB = 10^6 bytes; MB/s counts the input file's bytes (RECORD lines,
plus the STATE lines in the STATE workload). "vs JSON.parse loop" divides records/s; "vs cat"
divides MB/s. "host-reported records/s" is the host's own summary line (records / engine time,
start-up excluded). The JSON.parse loop is bench/parse-loop.mjs --mode buffer: fs read stream,
1 MiB chunks, Buffer#indexOf(10), JSON.parse(chunk.toString('utf8', s, e)); the fastest of the
variants tried (string/StringDecoder, readline, ndjson). The host reads a pipe fed by cat
(64 KiB pipe buffer); the baselines read the file directly. Files are in the page cache (warmed
before the first round). The order of workloads rotates each round.`;

// ---- main ------------------------------------------------------------------------------------
async function main() {
  const e = env();
  log(`node ${e.node}, ${e.cpu}, ${e.cores} cores; sizes ${sizes.join(', ')}, ${runs} run(s) each`);
  mkdirSync(TMP, { recursive: true });
  writeFileSync(CFG, '{}\n');
  const empty = await generate(0, 'plain', { log });
  const bySize = new Map();
  const started = Date.now();
  let failed = false;
  for (const n of sizes) {
    const plain = await generate(n, 'plain', { log });
    const state = await generate(n, 'state', { log });
    for (const f of [plain.path, state.path]) spawnSync('sh', ['-c', `cat "${f}" > /dev/null`]); // page cache
    const wls = workloads(plain, state, empty);
    const results = new Map(wls.map((w) => [w.id, []]));
    log(`\n== ${fmtInt(n)} records (${(plain.bytes / MB).toFixed(1)} MB; ${plain.orders} orders, ${plain.customers} customers) ==`);
    for (let round = 0; round < runs; round++) {
      const order = wls.map((_, i) => wls[(i + round) % wls.length]);
      for (const wl of order) {
        let r;
        try {
          r = runOne(wl);
        } catch (err) {
          if (!(err instanceof VerifyError)) throw err;
          log(`VERIFY FAILED [${wl.id}, ${fmtInt(n)} records, round ${round + 1}]: ${err.message}`);
          failed = true;
          continue;
        }
        results.get(wl.id).push(r);
        log(
          `  round ${round + 1}/${runs} ${wl.id.padEnd(13)} ${r.wall_s.toFixed(2).padStart(7)} s  ${(r.maxrss_kb / 1024).toFixed(0).padStart(4)} MiB rss` +
            `${r.vmhwm_kb ? ` (own VmHWM ${(r.vmhwm_kb / 1024).toFixed(0)} MiB)` : ''}${r.engine_s ? `  engine ${r.engine_s.toFixed(2)} s` : ''}`,
        );
      }
    }
    const rows = wls.filter((w) => results.get(w.id).length).map((w) => summarise(w, results.get(w.id)));
    bySize.set(n, rows);
    console.log(`\n### ${fmtInt(n)} records (${(plain.bytes / MB).toFixed(0)} MB), median of ${runs} run(s)\n\n${table(rows)}\n`);
  }
  rmSync(TMP, { recursive: true, force: true });
  const tgt = targets(bySize);
  console.log(`Targets:\n${tgt}\n`);
  const secs = (Date.now() - started) / 1000;
  log(`bench time ${secs.toFixed(0)} s`);

  if (resultsPath) {
    const cmd = `node bench/run.mjs ${argv.join(' ')}`.trim();
    const md = [
      '# Read benchmark results',
      '',
      `- Date: ${e.date}`,
      `- Node: ${e.node}`,
      `- CPU: ${e.cpu}, ${e.cores} cores (kernel ${e.kernel})`,
      `- Source: ${e.commit}`,
      `- Command: \`${cmd}\` (${runs} run(s) per workload and size, ${secs.toFixed(0)} s in all)`,
      `- Data: bench/generate.mjs, seed 1: RECORD lines of ~${Math.round((bySize.size ? [...bySize.values()][0][0].bytes : 0) / sizes[0])} bytes, two streams (orders ~70 %, incremental on id; customers ~30 %, full refresh)`,
      '',
      ...[...bySize].flatMap(([n, rows]) => [`## ${fmtInt(n)} records (${(rows[0].bytes / MB).toFixed(0)} MB)`, '', table(rows), '']),
      '## Targets',
      '',
      tgt,
      '',
      '## Method',
      '',
      METHOD,
      '',
      '## Raw runs (wall s / peak RSS MB)',
      '',
      ...[...bySize].flatMap(([n, rows]) => [
        `- ${fmtInt(n)} records: ` + rows.map((r) => `${r.id}: ${r.runs.map((x) => `${x.wall_s.toFixed(2)}/${fmt((x.maxrss_kb * 1024) / MB, 0)}`).join(' ')}`).join('; '),
      ]),
      '',
    ].join('\n');
    writeFileSync(resultsPath, md);
    log(`wrote ${relative(process.cwd(), resultsPath)}`);
  }
  if (failed) {
    log('\nFAILED: some runs did not verify (see VERIFY FAILED above)');
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
