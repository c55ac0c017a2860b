// The record-processor benchmark (`npm run bench -- --only processor`): bench/run.mjs calls processorBench().
//
// N records of the bench's generated data (bench/generate.mjs, the plain variant: two streams,
// ~245-byte RECORD lines, big integers in orders.ext_id) through `host read --out DIR` from
// bench/replay-source.sh:
//   proc-none        no processor (the reference)
//   proc-py-ident    --processor ident.py    def process(r): return r
//   proc-py-change   --processor change.py   one field set (r["status"] = "processed")
//   proc-mjs-ident   --processor ident.mjs   export default (r) => r
//   proc-py-loop     the Python child's floor: python3, json.loads + json.dumps (the child's
//                    arguments: ensure_ascii=False, compact separators) of each record's data
//                    line, over the same records (no host, no pipes)
// Each run is under bench/measure.py (wall time, CPU time of the process tree, peak RSS); rounds
// interleaved (the order rotates each round); medians; the ratios are against proc-none in the
// same round (the median of the per-round ratios). Host runs are verified: exit 0, the line
// counts of orders.jsonl and customers.jsonl, and for change.py the changed field.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from './generate.mjs';

export const PROC_IDS = ['proc-none', 'proc-py-ident', 'proc-py-change', 'proc-mjs-ident', 'proc-py-loop'];

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmtInt = (n) => Math.round(n).toLocaleString('en-US');
const fmt = (n, d = 1) => (n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(d));
const MB = 1e6;

const LOOP_PY = `import json, sys
dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
n = 0
with open(sys.argv[1], "rb") as f, open(sys.argv[2], "wb") as out:
    for line in f:
        out.write(dumps(json.loads(line)).encode("utf-8") + b"\\n")
        n += 1
print(n)
`;

/**
 * Run the processor workloads selected in `only` (undefined or 'processor': all). Returns the
 * markdown section, the target lines and whether a run failed to verify.
 */
export async function processorBench({ root, runs, records, only, log, tmp }) {
  const BENCH = join(root, 'bench');
  const MEASURE = join(BENCH, 'measure.py');
  const HOST = join(root, 'bin', 'host.js');
  const REPLAY = join(BENCH, 'replay-source.sh');
  const want = (id) => !only || only.has(id) || only.has('processor');
  let failed = false;
  mkdirSync(tmp, { recursive: true });
  const meta = await generate(records, 'plain', { log });
  const cfg = join(tmp, 'config.json');
  writeFileSync(cfg, '{}\n');
  const file = (name, text) => {
    const p = join(tmp, name);
    writeFileSync(p, text);
    return p;
  };
  const IDENT_PY = file('ident.py', 'def process(r):\n    return r\n');
  const CHANGE_PY = file('change.py', 'def process(r):\n    r["status"] = "processed"\n    return r\n');
  const IDENT_MJS = file('ident.mjs', 'export default (r) => r;\n');
  const LOOP = file('loop.py', LOOP_PY);
  // the data lines of the records, one a line, for the Python floor (cut out of the RECORD lines by bytes)
  const DATA = join(tmp, 'data.jsonl');
  if (want('proc-py-loop')) {
    const r = spawnSync('python3', ['-c', 'import sys,json\nout=open(sys.argv[2],"w",encoding="utf-8")\nfor l in open(sys.argv[1],encoding="utf-8"):\n    m=json.loads(l)\n    if m.get("type")=="RECORD": out.write(json.dumps(m["record"]["data"],ensure_ascii=False,separators=(",",":"))+"\\n")\n', meta.path, DATA], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`processor bench: cannot write ${DATA}: ${r.stderr}`);
  }
  spawnSync('sh', ['-c', 'cat "$1" > /dev/null', 'sh', meta.path]); // page cache

  const lineCount = (p) => (existsSync(p) ? Number(spawnSync('wc', ['-l', p], { encoding: 'utf8' }).stdout.trim().split(/\s+/)[0]) : -1);
  const hostWl = (id, label, processor, check) => {
    const out = join(tmp, `out-${id}`);
    return {
      id,
      label,
      cmd: [process.execPath, HOST, 'read', '--config', cfg, '--log-level', 'warn', '--out', out, ...(processor ? ['--processor', processor] : []), '--', 'sh', REPLAY, '--file', meta.path],
      before: () => rmSync(out, { recursive: true, force: true }),
      verify() {
        for (const s of ['orders', 'customers']) {
          const c = lineCount(join(out, `${s}.jsonl`));
          if (c !== meta[s]) return `${s}.jsonl has ${c} lines, expected ${meta[s]}`;
        }
        const msg = check?.(readFileSync(join(out, 'orders.jsonl'), 'utf8').split('\n', 1)[0]);
        rmSync(out, { recursive: true, force: true });
        return msg;
      },
    };
  };
  const wls = [];
  if (want('proc-none')) wls.push(hostWl('proc-none', 'host read --out, no processor', undefined));
  if (want('proc-py-ident')) wls.push(hostWl('proc-py-ident', 'Python processor, identity (`return r`)', IDENT_PY));
  if (want('proc-py-change')) wls.push(hostWl('proc-py-change', 'Python processor, one field changed', CHANGE_PY, (l) => (l.includes('"status":"processed"') ? undefined : `orders not changed: ${l.slice(0, 200)}`)));
  if (want('proc-mjs-ident')) wls.push(hostWl('proc-mjs-ident', 'JavaScript processor (.mjs), identity', IDENT_MJS));
  if (want('proc-py-loop')) {
    const o = join(tmp, 'loop.out');
    wls.push({ id: 'proc-py-loop', label: 'floor: python3 json.loads + json.dumps per record, no host', cmd: ['python3', LOOP, DATA, o], before() {}, verify: (stdout) => (Number(stdout.trim()) === records ? undefined : `the loop wrote ${stdout.trim()} records, expected ${records}`) });
  }
  if (!wls.length) return { markdown: '', targets: '', failed };

  const results = new Map(wls.map((w) => [w.id, []]));
  const perRound = [];
  log(`\n== processors: ${fmtInt(records)} records through host read --out ==`);
  for (let round = 0; round < runs; round++) {
    const order = wls.map((_, i) => wls[(i + round) % wls.length]);
    const got = {};
    for (const wl of order) {
      wl.before();
      const so = join(tmp, `${wl.id}.stdout`);
      const se = join(tmp, `${wl.id}.stderr`);
      const r = spawnSync('python3', [MEASURE, '--stdout', so, '--stderr', se, '--', ...wl.cmd], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`measure.py failed: ${r.stderr}`);
      const m = JSON.parse(r.stdout.trim().split('\n').pop());
      const bad = m.exit !== 0 ? `exit ${m.exit}: ${readFileSync(se, 'utf8').slice(-500)}` : wl.verify(readFileSync(so, 'utf8'));
      if (bad) {
        log(`VERIFY FAILED [${wl.id}, round ${round + 1}]: ${bad}`);
        failed = true;
        continue;
      }
      results.get(wl.id).push(m);
      got[wl.id] = m;
      log(`  round ${round + 1}/${runs} ${wl.id.padEnd(15)} ${m.wall_s.toFixed(2).padStart(7)} s  ${fmt((m.user_s ?? 0) + (m.sys_s ?? 0), 2).padStart(6)} s CPU  ${(m.maxrss_kb / 1024).toFixed(0).padStart(4)} MiB rss`);
    }
    perRound.push(got);
  }
  const rows = wls
    .filter((w) => results.get(w.id).length)
    .map((w) => {
      const rs = results.get(w.id);
      const walls = rs.map((x) => x.wall_s);
      const wall = median(walls);
      const ratios = perRound.filter((g) => g[w.id] && g['proc-none']).map((g) => g['proc-none'].wall_s / g[w.id].wall_s);
      return { ...w, wall, wallMin: Math.min(...walls), wallMax: Math.max(...walls), recs: records / wall, cpu: median(rs.map((x) => (x.user_s ?? 0) + (x.sys_s ?? 0))), rss: Math.max(...rs.map((x) => (x.maxrss_kb * 1024) / MB)), ratio: ratios.length ? median(ratios) : undefined, runs: rs };
    });
  const lines = [
    '| workload | records/s | wall s (min-max) | CPU s, all processes | peak RSS MB | vs no processor, same round |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.label} | ${fmtInt(r.recs)} | ${fmt(r.wall, 2)} (${fmt(r.wallMin, 2)}-${fmt(r.wallMax, 2)}) | ${fmt(r.cpu, 2)} | ${fmt(r.rss)} | ${r.id === 'proc-none' ? '1.00x' : r.ratio === undefined ? '-' : `${fmt(r.ratio, 2)}x`} |`),
  ];
  const table = lines.join('\n');
  console.log(`\n### Record processors: ${fmtInt(records)} records, median of ${runs} run(s)\n\n${table}\n`);
  const targets = rows.filter((r) => r.id !== 'proc-none' && r.id !== 'proc-py-loop').map((r) => `- ${fmtInt(records)} records, ${r.label}: ${fmtInt(r.recs)} records/s, ${r.ratio === undefined ? '-' : fmt(r.ratio, 2)}x of host read --out without a processor (same rounds)`);
  const markdown = [
    `## Record processors: ${fmtInt(records)} records through host read --out`,
    '',
    table,
    '',
    'Processor method: each workload under bench/measure.py, rounds interleaved (the order rotates), medians; the ratio is the median over the rounds of wall(no processor) / wall(workload) in the same round. The processor child runs beside the host (one child per run, batches of up to 1,000 records, up to 4 batches in flight); "CPU s" adds up the host, the child and the replay source. The floor row is the Python child\'s own unavoidable work: json.loads and json.dumps of each record, nothing else.',
    '',
    'Raw runs (wall s): ' + rows.map((r) => `${r.id}: ${r.runs.map((x) => x.wall_s.toFixed(2)).join(' ')}`).join('; '),
    '',
  ].join('\n');
  return { markdown, targets: targets.join('\n'), failed };
}
