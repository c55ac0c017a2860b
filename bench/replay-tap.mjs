#!/usr/bin/env node
// Replay Singer tap for the benchmark: the same records as bench/replay-source.sh, as Singer
// messages, so that `host read --protocol singer` (the Singer-tap shim) can be compared with a
// plain `host read` on the same records.
//
//   node bench/replay-tap.mjs --about --format json          capabilities catalog, discover, state
//   node bench/replay-tap.mjs --config F --discover          a Singer catalog: orders, customers
//   node bench/replay-tap.mjs --config F --catalog F [--state F]   sync
//
// Config: {"file": "<a file made by bench/generate.mjs --variant singer>"} (or $REPLAY_FILE).
// Sync streams that file (SCHEMA per stream, then RECORD lines and a STATE every 1,000 records)
// to stdout unchanged, as fast as the pipe takes it: no parsing, so the time measured is the
// shim's and the host's. It refuses a catalog that does not select both streams (the file
// holds both), and ignores --state (a replay starts at the beginning).
import { readFileSync } from 'node:fs';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { SCHEMAS } from './generate.mjs';

const argv = process.argv.slice(2);
const opt = (f) => {
  const i = argv.indexOf(f);
  return i >= 0 ? argv[i + 1] : undefined;
};
const fail = (m) => {
  process.stderr.write(`replay-tap: ${m}\n`);
  process.exit(2);
};

if (argv.includes('--about')) {
  process.stdout.write(
    JSON.stringify({
      name: 'replay-tap',
      version: '0.1.0',
      capabilities: ['catalog', 'discover', 'state', 'about'],
      settings: { type: 'object', properties: { file: { type: 'string', description: 'a Singer messages file (bench/generate.mjs --variant singer)' } } },
    }) + '\n',
  );
  process.exit(0);
}

const fields = (schema) => Object.keys(schema.properties).map((k) => ({ breadcrumb: ['properties', k], metadata: { inclusion: k === 'id' ? 'automatic' : 'available' } }));
const CATALOG = {
  streams: [
    {
      tap_stream_id: 'orders',
      stream: 'orders',
      schema: SCHEMAS.orders,
      metadata: [{ breadcrumb: [], metadata: { 'table-key-properties': ['id'], 'valid-replication-keys': ['id'], 'forced-replication-method': 'INCREMENTAL' } }, ...fields(SCHEMAS.orders)],
    },
    {
      tap_stream_id: 'customers',
      stream: 'customers',
      schema: SCHEMAS.customers,
      metadata: [{ breadcrumb: [], metadata: { 'table-key-properties': ['id'], 'forced-replication-method': 'FULL_TABLE' } }, ...fields(SCHEMAS.customers)],
    },
  ],
};

if (argv.includes('--discover')) {
  process.stdout.write(JSON.stringify(CATALOG) + '\n');
  process.exit(0);
}

const configFile = opt('--config');
const catalogFile = opt('--catalog') ?? opt('--properties');
if (!configFile || !catalogFile) fail('sync needs --config F and --catalog F');
const config = JSON.parse(readFileSync(configFile, 'utf8'));
const file = config.file ?? process.env.REPLAY_FILE;
if (!file) fail('no data file: config {"file": ...} or $REPLAY_FILE');
const catalog = JSON.parse(readFileSync(catalogFile, 'utf8'));
for (const name of ['orders', 'customers']) {
  const e = (catalog.streams ?? []).find((s) => s.tap_stream_id === name);
  const root = e?.metadata?.find((m) => Array.isArray(m.breadcrumb) && m.breadcrumb.length === 0)?.metadata;
  if (root?.selected !== true) fail(`stream ${name} is not selected: the replay file holds both streams, select both`);
}
await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), process.stdout);
