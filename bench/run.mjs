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
//   host-tty       host read --out DIR --progress=tty   under a pseudo-terminal (script -qfec): the
//                  live display on, redrawn 4 times a second
//   host-off       host read --out DIR --progress=off   stderr to a file: no live view at all
//                  (host-tty / host-off shows what the display costs the data path)
//   select-none / select-all / select-field   (only with --only select) host read --out with no
//                  --select, with --select '*.*' (nothing deselected: the byte path) and with
//                  --select '!orders.note' (orders records scanned and rewritten)
//   kit            (--only kit: these alone; also in the default run) bench/kit-bench.mjs: N records
//                  through the Python kit's @resource vs a hand-written json.dumps loop (into a
//                  pipe), and the SPEC start-up time of kit connectors (Python and TypeScript)
//   processor      (only with --only processor) bench/processor-bench.mjs: --processor-records N
//                  (default 200,000; --quick 50,000) through host read --out with no processor, an
//                  identity and a field-changing Python processor, an identity .mjs processor, and
//                  the Python floor (json.loads + json.dumps per record)
// The host runs `sh bench/replay-source.sh --file FILE`, which `exec`s cat on read.
//
// Pipelines and shims (a second table, at --pipe-records N, default 200,000: the Singer path is
// several times slower than the plain read, and 1M records would take a minute per run):
//   ref-out        host read --out DIR                  on the plain file (the reference)
//   ref-state      host read --out DIR                  on the STATE-every-1000 file
//   singer         host read bench/replay-tap.mjs --protocol singer --out DIR: the Singer-tap
//                  shim on the same records as Singer messages (a STATE every 1000 records)
//   ref-startup, singer-startup   the same two on 0 records (the fixed cost: for the shim also
//                  the tap's --about and --discover, in shim processes of their own)
//   run-discard    host run <replay source> --destination dest-jsonl.mjs --destination-arg=--discard
//                  (the STATE-every-1000 file; every STATE echoed by the destination)
//   run-write      the same, the destination writing the records to files
//   dest-discard   cat FILE | node dest-jsonl.mjs --discard write ...   (the destination alone)
//   dest-write     cat FILE | node dest-jsonl.mjs write ...
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
import { kitBench, KIT_IDS } from './kit-bench.mjs';
import { processorBench, PROC_IDS } from './processor-bench.mjs';
import { pipelinesBench, PIPE13_IDS, PIPE13_GROUP } from './pipelines-bench.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH);
const NODE = process.execPath;
const HOST = join(ROOT, 'bin', 'host.js');
const REPLAY = join(BENCH, 'replay-source.sh');
const REPLAY_TAP = join(BENCH, 'replay-tap.mjs');
const DEST = join(ROOT, 'fixtures', 'connectors', 'destinations', 'dest-jsonl.mjs');
const MEASURE = join(BENCH, 'measure.py');
const PARSE = join(BENCH, 'parse-loop.mjs');
// per process: two bench runs at once (e.g. --only subsets) must not remove each other's files
const TMP = join(DATA_DIR, `tmp-${process.pid}`);

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
// `--only select`: the three field-selection workloads (not in the default set)
const SELECT_IDS = ['select-none', 'select-all', 'select-field'];
if (only?.has('select')) for (const id of SELECT_IDS) only.add(id);
// `--only kit`: the kit workloads (bench/kit-bench.mjs; also in the default run); only kit ids: no read or pipe tables
if (only?.has('kit')) for (const id of KIT_IDS) only.add(id);
// `--only processor`: the record-processor workloads (bench/processor-bench.mjs; not in the default set)
if (only?.has('processor')) for (const id of PROC_IDS) only.add(id);
const procWanted = only !== undefined && PROC_IDS.some((id) => only.has(id));
const procRecords = num(opt('--processor-records', quick ? 50_000 : 200_000));
const kitOnly = only !== undefined && [...only].every((id) => id === 'kit' || KIT_IDS.includes(id) || id === 'processor' || PROC_IDS.includes(id) || id === PIPE13_GROUP || PIPE13_IDS.includes(id));
// the issue-13 pipeline rows (bench/pipelines-bench.mjs; `--only singer-pipe`; also in the default run)
const pipe13Wanted = !only || only.has(PIPE13_GROUP) || PIPE13_IDS.some((id) => only.has(id));
const singerRecords = num(opt('--singer-records', quick ? 100_000 : 1_000_000));
const singerSmall = num(opt('--singer-small', 1000));
const kitWanted = !only || KIT_IDS.some((id) => only.has(id));
const pipeRecords = num(opt('--pipe-records', quick ? 50_000 : 200_000));
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
const SINGER_CFG = join(TMP, 'singer-config.json');
const SINGER_EMPTY_CFG = join(TMP, 'singer-empty-config.json');
const DEST_CATALOG = join(TMP, 'dest-catalog.json');

function hostCmd(file, outDir, extra = []) {
  const c = [NODE, HOST, 'read', '--config', CFG, '--log-level', 'warn'];
  if (outDir) c.push('--out', outDir);
  return [...c, ...extra, '--', 'sh', REPLAY, '--file', file];
}

function verifyOut(dir, meta, { state }) {
  const orders = join(dir, 'orders.jsonl');
  const customers = join(dir, 'customers.jsonl');
  // a stream's file is created with its first record (issue 10: no descriptor per idle stream)
  check(existsSync(orders) || meta.orders === 0, `${orders} missing`);
  check(existsSync(customers) || meta.customers === 0, `${customers} missing`);
  const no = existsSync(orders) ? countLines(orders) : 0;
  const nc = existsSync(customers) ? countLines(customers) : 0;
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

// what a terminal received, without its control sequences (the live display's redraws)
// eslint-disable-next-line no-control-regex
const stripTerminal = (t) => t.replace(/\x1b\[[0-9;?]*[ -\/]*[@-~]/g, '').replace(/\r/g, '');

/** `script -qfec CMD /dev/null`: CMD on a pseudo-terminal (stdin, stdout, stderr), its output on our stdout. */
function onPty(cmd) {
  const q = (a) => `'${String(a).replace(/'/g, `'\\''`)}'`;
  return ['script', '-qfec', cmd.map(q).join(' '), '/dev/null'];
}

function verifySummary(errFile, n) {
  const text = stripTerminal(readFileSync(errFile, 'utf8'));
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
  const host = (id, label, meta, { outDir = true, extra = [], stateCheck = false, pty = false, check: more } = {}) => ({
    id,
    label,
    meta,
    host: true,
    before() {
      rmSync(out(id), { recursive: true, force: true });
    },
    cmd: () => (pty ? onPty : (c) => c)(hostCmd(meta.path, outDir ? out(id) : undefined, extra)),
    // on a pty, stderr (and stdout) reach script, which copies them to its stdout
    io: pty ? { stdout: err(id) } : { stderr: err(id) },
    verify() {
      const text = verifySummary(err(id), meta.records);
      if (pty) check(text !== readFileSync(err(id), 'utf8') && /^ {2}orders\s+RUNNING\s/m.test(text), `${id}: no live display in the terminal output`);
      if (outDir) verifyOut(out(id), meta, { state: stateCheck });
      if (extra.includes('--validate')) check(!/does not match its schema/.test(text), `schema warnings: ${text.slice(0, 400)}`);
      more?.(out(id));
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
  w.push(host('host-tty', 'host read --out, live display on a pty (--progress=tty)', plain, { extra: ['--progress=tty'], pty: true }));
  w.push(host('host-off', 'host read --out, stderr to a file, --progress=off', plain, { extra: ['--progress=off'] }));
  // field selection (--only select): no --select, `*.*` (nothing deselected: the byte path), and
  // one field deselected (orders records scanned and rewritten; customers untouched)
  if (only && SELECT_IDS.some((id) => only.has(id))) {
    const firstOrder = (dir) => JSON.parse(readFileSync(join(dir, 'orders.jsonl'), 'utf8').split('\n', 1)[0]);
    w.push(host('select-none', 'host read --out (no --select)', plain, { check: (d) => check('note' in firstOrder(d), 'orders lost note') }));
    w.push(host('select-all', "host read --out --select '*.*'", plain, { extra: ['--select', '*.*'], check: (d) => check('note' in firstOrder(d), 'orders lost note') }));
    w.push(host('select-field', "host read --out --select '!orders.note' (orders rewritten)", plain, { extra: ['--select', '!orders.note'], check: (d) => check(!('note' in firstOrder(d)), 'orders still have note') }));
  }
  return only ? w.filter((x) => only.has(x.id)) : w;
}

/** The STREAM state of `orders` in a host state file (--out DIR/state.json or run --state). */
function ordersCursor(file) {
  const st = JSON.parse(readFileSync(file, 'utf8'));
  if (st.kind === 'LEGACY') return st.states?.[0]?.data?.bookmarks?.orders?.id;
  return (st.states ?? []).find((x) => x?.stream?.stream_descriptor?.name === 'orders')?.stream?.stream_state?.cursor;
}

function pipeWorkloads(plain, state, singer, emptyPlain) {
  const w = [];
  const out = (id) => join(TMP, `out-${id}`);
  const err = (id) => join(TMP, `${id}.stderr`);
  const so = (id) => join(TMP, `${id}.stdout`);
  const stateFile = (id) => join(TMP, `${id}.state.json`);
  const destCfg = (id) => join(TMP, `${id}.dest-config.json`);
  const counts = (dir, meta) => {
    for (const s of ['orders', 'customers']) {
      const f = join(dir, `${s}.jsonl`);
      check(existsSync(f), `${f} missing`);
      const c = countLines(f);
      check(c === meta[s], `${s}.jsonl has ${c} lines, expected ${meta[s]}`);
    }
  };
  const readOut = (id, label, meta, cmd) => ({
    id,
    label,
    meta,
    host: true,
    before() {
      rmSync(out(id), { recursive: true, force: true });
    },
    cmd,
    io: { stderr: err(id) },
    verify() {
      const text = verifySummary(err(id), meta.records);
      counts(out(id), meta);
      const sf = join(out(id), 'state.json');
      check(existsSync(sf), `${sf} missing`);
      if (meta.states) check(ordersCursor(sf) === meta.lastOrderId, `state.json: orders cursor ${ordersCursor(sf)}, expected ${meta.lastOrderId}`);
      rmSync(out(id), { recursive: true, force: true });
      return { engine_s: engineSeconds(text) };
    },
  });
  w.push(readOut('ref-out', 'host read --out (reference)', plain, () => hostCmd(plain.path, out('ref-out'))));
  w.push(readOut('ref-state', `host read --out, STATE every ${STATE_EVERY} (reference)`, state, () => hostCmd(state.path, out('ref-state'))));
  w.push(
    readOut('singer', `host read --protocol singer (Singer-tap shim), STATE every ${STATE_EVERY}`, singer, () => [
      NODE, HOST, 'read', REPLAY_TAP, '--protocol', 'singer', '--config', SINGER_CFG, '--log-level', 'warn', '--out', out('singer'),
    ]),
  );
  // fixed cost: 0 records (Node start-up, spec, discover, the commit; for the shim also the
  // tap's --about and --discover, each in a shim process of its own)
  const startup = (id, label, cmd) => ({
    id,
    label,
    meta: emptyPlain,
    host: true,
    startup: true,
    before() {
      rmSync(out(id), { recursive: true, force: true });
    },
    cmd,
    io: { stderr: err(id) },
    verify() {
      verifySummary(err(id), 0);
      rmSync(out(id), { recursive: true, force: true });
    },
  });
  w.push(startup('ref-startup', 'host read --out, 0 records (fixed cost)', () => hostCmd(emptyPlain.path, out('ref-startup'))));
  w.push(
    startup('singer-startup', 'host read --protocol singer, 0 records (fixed cost)', () => [
      NODE, HOST, 'read', REPLAY_TAP, '--protocol', 'singer', '--config', SINGER_EMPTY_CFG, '--log-level', 'warn', '--out', out('singer-startup'),
    ]),
  );
  const run = (id, label, discard) => ({
    id,
    label,
    meta: state,
    host: true,
    before() {
      rmSync(out(id), { recursive: true, force: true });
      rmSync(stateFile(id), { force: true });
      writeFileSync(destCfg(id), JSON.stringify({ path: out(id) }) + '\n');
    },
    cmd: () => {
      const c = [NODE, HOST, 'run', '--config', CFG, '--log-level', 'warn', '--destination', DEST, '--destination-config', destCfg(id), '--state', stateFile(id)];
      if (discard) c.push('--destination-arg=--discard');
      return [...c, '--', 'sh', REPLAY, '--file', state.path];
    },
    io: { stderr: err(id) },
    verify() {
      const text = verifySummary(err(id), state.records);
      const m = /(\d+) states? acknowledged/.exec(text);
      check(m && Number(m[1]) === state.states, `host summary: ${m ? m[1] : 'no'} states acknowledged, expected ${state.states}`);
      check(existsSync(stateFile(id)), `${stateFile(id)} missing`);
      check(ordersCursor(stateFile(id)) === state.lastOrderId, `state: orders cursor ${ordersCursor(stateFile(id))}, expected ${state.lastOrderId}`);
      if (!discard) counts(out(id), state);
      rmSync(out(id), { recursive: true, force: true });
      rmSync(stateFile(id), { force: true });
      return { engine_s: engineSeconds(text) };
    },
  });
  w.push(run('run-discard', 'host run → dest-jsonl --discard', true));
  w.push(run('run-write', 'host run → dest-jsonl (writes files)', false));
  const dest = (id, label, discard) => ({
    id,
    label,
    meta: state,
    before() {
      rmSync(out(id), { recursive: true, force: true });
      writeFileSync(destCfg(id), JSON.stringify({ path: out(id) }) + '\n');
    },
    // cat FILE | node dest-jsonl.mjs [--discard] write --config DC --catalog CAT
    cmd: () => ['sh', '-c', `cat "$1" | "$2" "$3" ${discard ? '--discard ' : ''}write --config "$4" --catalog "$5"`, 'sh', state.path, NODE, DEST, destCfg(id), DEST_CATALOG],
    io: { stdout: so(id), stderr: err(id) },
    verify() {
      const text = readFileSync(err(id), 'utf8');
      check(new RegExp(`dest-jsonl: wrote ${state.records} records`).test(text), `${id}: ${text.slice(-300)}`);
      const acks = countLines(so(id));
      check(acks === state.states, `${id}: ${acks} STATE echoed, expected ${state.states}`);
      if (!discard) counts(out(id), state);
      rmSync(out(id), { recursive: true, force: true });
    },
  });
  w.push(dest('dest-discard', 'dest-jsonl --discard alone, fed by cat (no host)', true));
  w.push(dest('dest-write', 'dest-jsonl alone, fed by cat (no host, writes files)', false));
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
    startup: !!wl.startup,
    cpu: median(results.map((r) => (r.user_s ?? 0) + (r.sys_s ?? 0))),
    procs: procPeaks(results),
    runs: results,
  };
}

// The processes of a run, by role (measure.py's per-process VmHWM samples): the median over the
// runs of each role's peak (the max over the role's processes in one run: e.g. the shim runs
// for spec, check, discover and read).
const ROLES = [
  ['host', /host\.js/],
  ['shim', /singer-tap\.mjs/],
  ['tap', /replay-tap\.mjs/],
  ['destination', /dest-jsonl\.mjs/],
];
function procPeaks(results) {
  const out = {};
  for (const [role, re] of ROLES) {
    const per = results.map((r) => Math.max(0, ...(r.procs ?? []).filter((p) => re.test(p.cmd)).map((p) => p.vmhwm_kb))).filter((x) => x > 0);
    if (per.length) out[role] = median(per) * 1024 / MB;
  }
  return out;
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

function pipeTable(rows) {
  const ref = rows.find((r) => r.id === 'ref-out');
  const refState = rows.find((r) => r.id === 'ref-state');
  const lines = [
    '| workload | records/s | wall s (min-max) | CPU s, all processes | peak RSS MB med / max | per process MB (sampled VmHWM) | vs host read --out | vs host read --out, STATE | host-reported records/s |',
    '|---|---:|---:|---:|---:|---|---:|---:|---:|',
  ];
  for (const r of rows) {
    const procs = Object.entries(r.procs).map(([k, v]) => `${k} ${fmt(v, 0)}`).join(', ') || '-';
    if (r.startup) {
      lines.push(`| ${r.label} | - | ${fmt(r.wall, 2)} (${fmt(r.wallMin, 2)}-${fmt(r.wallMax, 2)}) | ${fmt(r.cpu, 2)} | ${fmt(r.rssMed)} / ${fmt(r.rssMax)} | ${procs} | - | - | - |`);
      continue;
    }
    lines.push(
      `| ${r.label} | ${fmtInt(r.recs)} | ${fmt(r.wall, 2)} (${fmt(r.wallMin, 2)}-${fmt(r.wallMax, 2)}) | ${fmt(r.cpu, 2)} | ${fmt(r.rssMed)} / ${fmt(r.rssMax)} | ${procs} | ` +
        `${ref ? `${fmt(r.recs / ref.recs, 2)}x` : '-'} | ${refState ? `${fmt(r.recs / refState.recs, 2)}x` : '-'} | ${r.engineRecs ? fmtInt(r.engineRecs) : '-'} |`,
    );
  }
  return lines.join('\n');
}

function pipeTargets(n, rows) {
  const out = [];
  const ref = rows.find((r) => r.id === 'ref-out');
  const singer = rows.find((r) => r.id === 'singer');
  if (ref && singer) {
    const x = singer.recs / ref.recs;
    out.push(`- ${fmtInt(n)} records: Singer-tap shim ${fmtInt(singer.recs)} records/s vs host read --out ${fmtInt(ref.recs)} records/s = ${fmt(x, 2)}x: **${x >= 0.5 ? 'PASS' : 'FAIL'}** (target >= 0.50x)`);
    if (singer.engineRecs && ref.engineRecs) out.push(`  - start-up excluded (the host's own summary): ${fmtInt(singer.engineRecs)} vs ${fmtInt(ref.engineRecs)} records/s = ${fmt(singer.engineRecs / ref.engineRecs, 2)}x`);
  }
  for (const id of ['run-discard', 'run-write']) {
    const r = rows.find((x) => x.id === id);
    const d = rows.find((x) => x.id === id.replace('run-', 'dest-'));
    if (r && ref) out.push(`- ${fmtInt(n)} records: ${r.label}: ${fmt(r.recs / ref.recs, 2)}x host read --out${d ? `; the destination alone (${d.label}) ${fmtInt(d.recs)} records/s, so the pipeline runs at ${fmt(r.recs / d.recs, 2)}x its destination's own speed` : ''}`);
  }
  for (const r of rows.filter((x) => x.host)) out.push(`- ${fmtInt(n)} records: ${r.label}: peak RSS max ${fmt(r.rssMax)} MB: **${r.rssMax <= 150 ? 'PASS' : 'FAIL'}** (target <= 150 MB)`);
  return out.join('\n');
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
    const tty = rows.find((r) => r.id === 'host-tty');
    const off = rows.find((r) => r.id === 'host-off');
    if (tty && off) {
      out.push(`- ${fmtInt(n)} records: the live display: host read --out on a pty with --progress=tty ${fmtInt(tty.recs)} records/s (median ${fmt(tty.wall, 2)} s) vs stderr to a file with --progress=off ${fmtInt(off.recs)} records/s (median ${fmt(off.wall, 2)} s) = ${fmt(tty.recs / off.recs, 3)}x`);
      if (tty.engineRecs && off.engineRecs) out.push(`  - start-up excluded (the host's own summary): ${fmtInt(tty.engineRecs)} vs ${fmtInt(off.engineRecs)} records/s = ${fmt(tty.engineRecs / off.engineRecs, 3)}x`);
      out.push(`  - CPU time (user + system, all processes; median): ${fmt(tty.cpu, 2)} s vs ${fmt(off.cpu, 2)} s = ${fmt(tty.cpu / off.cpu, 3)}x (the pty side also counts \`script\`, which relays the terminal output)`);
    }
    for (const r of rows.filter((x) => x.host)) {
      // ru_maxrss here is the host's own (its child is cat); issue 13: <= 120 MB in every row
      out.push(`- ${fmtInt(n)} records: ${r.label}: peak RSS max ${fmt(r.rssMax)} MB: **${r.rssMax <= 120 ? 'PASS' : 'FAIL'}** (target <= 120 MB)`);
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

const PIPE_NOTES = `The same records in every row (bench/generate.mjs, seed 1): the plain file, the same with a
STREAM STATE every 1,000 records, and (singer row) the same \`data\` bytes as Singer messages
(SCHEMA, RECORD, a Singer STATE every 1,000 records) replayed by bench/replay-tap.mjs through the
Singer-tap shim (shims/singer-tap.mjs). "vs host read --out" divides records/s by the reference
row's, measured in the same rounds. Peak RSS is ru_maxrss (the max over the process tree: host,
connector, shim, tap, destination); "per process" is each role's sampled VmHWM (median over the
runs; a role's max over its processes in a run). CPU s is user + system time of the whole tree.
run-* rows: host run into fixtures/connectors/destinations/dest-jsonl.mjs, which echoes every
STATE (the host commits what is echoed); dest-* rows: the destination alone, fed by cat.`;

// ---- main ------------------------------------------------------------------------------------
let failed = false;

/** Run every workload once per round (the order rotating each round); the rows of medians. */
function rounds(wls, n, title) {
  const results = new Map(wls.map((w) => [w.id, []]));
  log(`\n== ${title} ==`);
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
  return wls.filter((w) => results.get(w.id).length).map((w) => summarise(w, results.get(w.id)));
}

async function main() {
  const e = env();
  log(`node ${e.node}, ${e.cpu}, ${e.cores} cores; sizes ${sizes.join(', ')}, ${runs} run(s) each; pipelines and shims at ${pipeRecords}`);
  mkdirSync(TMP, { recursive: true });
  writeFileSync(CFG, '{}\n');
  const empty = kitOnly ? undefined : await generate(0, 'plain', { log });
  const bySize = new Map();
  const started = Date.now();
  for (const n of kitOnly ? [] : sizes) {
    const plain = await generate(n, 'plain', { log });
    const state = await generate(n, 'state', { log });
    const wls = workloads(plain, state, empty);
    if (!wls.length) continue;
    for (const f of [plain.path, state.path]) spawnSync('sh', ['-c', 'cat "$1" > /dev/null', 'sh', f]); // page cache
    const rows = rounds(wls, n, `${fmtInt(n)} records (${(plain.bytes / MB).toFixed(1)} MB; ${plain.orders} orders, ${plain.customers} customers)`);
    bySize.set(n, rows);
    console.log(`\n### ${fmtInt(n)} records (${(plain.bytes / MB).toFixed(0)} MB), median of ${runs} run(s)\n\n${table(rows)}\n`);
  }

  // pipelines and shims, at their own size
  let pipe;
  if (pipeRecords > 0 && !kitOnly) {
    const n = pipeRecords;
    const plain = await generate(n, 'plain', { log });
    const state = await generate(n, 'state', { log });
    const singer = await generate(n, 'singer', { log });
    writeFileSync(SINGER_CFG, JSON.stringify({ file: singer.path }) + '\n');
    writeFileSync(SINGER_EMPTY_CFG, JSON.stringify({ file: (await generate(0, 'singer', { log })).path }) + '\n');
    const stream = (name, sync, dsm, cursor) => ({
      stream: { name, json_schema: { type: 'object' }, supported_sync_modes: ['full_refresh', 'incremental'] },
      sync_mode: sync,
      ...(cursor ? { cursor_field: [cursor] } : {}),
      destination_sync_mode: dsm,
    });
    writeFileSync(DEST_CATALOG, JSON.stringify({ streams: [stream('orders', 'incremental', 'append', 'id'), stream('customers', 'full_refresh', 'overwrite')] }) + '\n');
    const wls = pipeWorkloads(plain, state, singer, empty);
    if (wls.length) {
      for (const f of [plain.path, state.path, singer.path]) spawnSync('sh', ['-c', 'cat "$1" > /dev/null', 'sh', f]);
      const rows = rounds(wls, n, `pipelines and shims: ${fmtInt(n)} records (${(plain.bytes / MB).toFixed(1)} MB)`);
      pipe = { n, rows, bytes: plain.bytes };
      console.log(`\n### Pipelines and shims: ${fmtInt(n)} records, median of ${runs} run(s)\n\n${pipeTable(rows)}\n`);
    }
  }
  // the kits (bench/kit-bench.mjs): at the first size, the same rounds
  const kit = kitWanted ? await kitBench({ root: ROOT, runs, records: sizes[0], only, log, tmp: join(TMP, 'kit') }) : undefined;
  if (kit?.failed) failed = true;
  const proc = procWanted ? await processorBench({ root: ROOT, runs, records: procRecords, only, log, tmp: join(TMP, 'processor') }) : undefined;
  if (proc?.failed) failed = true;
  const p13 = pipe13Wanted ? await pipelinesBench({ root: ROOT, runs, records: singerRecords, small: singerSmall, only, log, tmp: join(TMP, 'pipelines'), installPeers: !argv.includes('--no-install-peers') }) : undefined;
  if (p13?.failed) failed = true;
  if (p13?.markdown) console.log(`\n${p13.markdown}`);
  if (proc?.failed) failed = true;
  rmSync(TMP, { recursive: true, force: true });
  const tgt = [targets(bySize), pipe ? pipeTargets(pipe.n, pipe.rows) : '', kit?.targets ?? '', proc?.targets ?? '', p13?.targets ?? ''].filter(Boolean).join('\n');
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
      `- Data: bench/generate.mjs, seed 1: RECORD lines of ~${Math.round(bySize.size ? [...bySize.values()][0][0].bytes / sizes[0] : pipe ? pipe.bytes / pipe.n : 0)} bytes, two streams (orders ~70 %, incremental on id; customers ~30 %, full refresh)`,
      '',
      ...[...bySize].flatMap(([n, rows]) => [`## ${fmtInt(n)} records (${(rows[0].bytes / MB).toFixed(0)} MB)`, '', table(rows), '']),
      ...(pipe ? [`## Pipelines and shims: ${fmtInt(pipe.n)} records (${(pipe.bytes / MB).toFixed(0)} MB as protocol RECORD lines)`, '', pipeTable(pipe.rows), '', PIPE_NOTES, ''] : []),
      ...(kit ? [kit.markdown] : []),
      ...(proc?.markdown ? [proc.markdown] : []),
      ...(p13?.markdown ? [p13.markdown] : []),
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
      ...[...bySize, ...(pipe ? [[pipe.n, pipe.rows]] : [])].flatMap(([n, rows]) => [
        `- ${fmtInt(n)} records: ` + rows.map((r) => `${r.id}: ${r.runs.map((x) => `${x.wall_s.toFixed(2)}/${fmt((x.maxrss_kb * 1024) / MB, 0)}`).join(' ')}`).join('; '),
      ]),
      ...(p13?.raw ? [p13.raw] : []),
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
