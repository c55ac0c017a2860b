#!/usr/bin/env node
// A Singer target that stores nothing, for the pipeline benchmark: whatever runs between the tap
// and this target (a shell pipe, `host run`, `meltano run`) is what gets measured.
//
//   node bench/null-target.mjs [--config F]            reads Singer messages on stdin
//   node bench/null-target.mjs --about [--format json] (no: exits 1, like most targets)
//
// It frames stdin by newline (Buffer#indexOf on the raw chunks, no decoding) and counts the
// RECORD lines: a line starting with {"type":"RECORD" is counted without parsing; any other line
// is JSON.parse'd (so a RECORD written with other spacing or key order still counts). It keeps the
// latest STATE value and writes it on stdout as Singer targets do, as a bare JSON value on a line
// of its own: after each input chunk that brought a new STATE, at most every --state-interval ms
// (default 200), and always the last one at the end of input. Exit 0; a line that is not JSON is
// an error (exit 1), as a real target would fail on it.
//
// Config (optional): {"report": "FILE"} writes {"records", "states", "schemas", "lines",
// "last_state"} there at the end (how the benchmark verifies the run when the
// target's stderr is not where it can read it, e.g. under `host run` or `meltano run`). The same
// counts go to stderr as `null-target: N records, S states, K schemas`.
import { readFileSync, writeFileSync } from 'node:fs';

const argv = process.argv.slice(2);
const opt = (f) => {
  const i = argv.indexOf(f);
  return i >= 0 ? argv[i + 1] : undefined;
};
if (argv.includes('--about')) {
  process.stderr.write('null-target: no --about\n');
  process.exit(1);
}
let config = {};
const cf = opt('--config');
if (cf) config = JSON.parse(readFileSync(cf, 'utf8'));
const interval = Number(opt('--state-interval') ?? config.state_interval_ms ?? 200);

const PREFIX = Buffer.from('{"type":"RECORD"');
const PLEN = PREFIX.length;
let records = 0;
let states = 0;
let schemas = 0;
let lines = 0;
let lastState; // the latest STATE value, as JSON text
let emitted; // the text last written on stdout
let lastEmit = 0;

function other(text) {
  let m;
  try {
    m = JSON.parse(text);
  } catch {
    process.stderr.write(`null-target: line ${lines} is not JSON: ${JSON.stringify(text.slice(0, 120))}\n`);
    process.exit(1);
  }
  const t = typeof m?.type === 'string' ? m.type.toUpperCase() : '';
  if (t === 'RECORD') {
    records++;
  } else if (t === 'STATE') {
    states++;
    lastState = JSON.stringify(m.value);
  } else if (t === 'SCHEMA') schemas++;
}

function emit(force) {
  if (lastState === undefined || lastState === emitted) return;
  const now = Date.now();
  if (!force && now - lastEmit < interval) return;
  lastEmit = now;
  emitted = lastState;
  process.stdout.write(lastState + '\n');
}

let rest; // the partial line at the end of the previous chunk
process.stdin.on('data', (chunk) => {
  let buf = chunk;
  if (rest) {
    buf = Buffer.concat([rest, chunk]);
    rest = undefined;
  }
  let s = 0;
  const n = buf.length;
  for (;;) {
    const e = buf.indexOf(10, s);
    if (e < 0) break;
    lines++;
    if (e - s > PLEN && buf[s + 9] === 82 && buf.compare(PREFIX, 0, PLEN, s, s + PLEN) === 0) records++;
    else if (e > s) {
      const text = buf.toString('utf8', s, e);
      if (text.trim()) other(text);
    }
    s = e + 1;
  }
  if (s < n) rest = buf.subarray(s);
  emit(false);
});
process.stdin.on('end', () => {
  if (rest && rest.length) {
    lines++;
    const text = rest.toString('utf8');
    if (text.startsWith('{"type":"RECORD"')) records++;
    else if (text.trim()) other(text);
  }
  emit(true);
  const report = { records, states, schemas, lines, last_state: lastState === undefined ? null : JSON.parse(lastState) };
  if (config.report) writeFileSync(config.report, JSON.stringify(report) + '\n');
  process.stderr.write(`null-target: ${records} records, ${states} states, ${schemas} schemas\n`);
});
