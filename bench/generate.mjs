#!/usr/bin/env node
// Deterministic replay data for the read benchmark.
//
//   node bench/generate.mjs --records N [--variant plain|state|singer] [--seed S] [--force]
//
// Writes bench/.data/replay-<N>-<variant>-s<seed>.jsonl (Airbyte RECORD lines, ~240 bytes
// each, two streams interleaved: `orders` ~70 %, `customers` ~30 %) and a sidecar
// <same>.meta.json with the counts the benchmark verifies against. The `state` variant has
// the same RECORD lines plus a STREAM STATE for `orders` (cursor = last orders id) after
// every 1,000 records. The `singer` variant has the same records as Singer messages for
// bench/replay-tap.mjs: a SCHEMA per stream first, then {"type":"RECORD","stream":S,"record":DATA}
// (DATA: the same bytes as the protocol variants' `data`) and a Singer STATE
// {"type":"STATE","value":{"bookmarks":{"orders":{"id":N}}}} after every 1,000 records.
// Files are cached: an existing file with a matching meta is reused.
//
// Field mix per record: ints (an int > 2^53 in ~25 % of orders: ext_id), strings (a few with
// an escaped quote or non-ASCII, some null), a float, booleans, an ISO date-time and a nested
// object (orders.ship, customers.address). Lines average ~245 bytes.

import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DATA_DIR = join(dirname(fileURLToPath(import.meta.url)), '.data');
export const STATE_EVERY = 1000;
const GEN_VERSION = 2; // bump when the record shape changes: invalidates the cache

// mulberry32: small, fast, seeded
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CITIES = ['Lyon', 'Berlin', 'Osaka', 'Porto', 'Austin', 'Nairobi', 'Zürich', 'Montréal', 'São Paulo', 'Kraków', 'Oslo', 'Pune'];
const STATUSES = ['pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded'];
const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Margaret', 'Linus', 'Zoë', 'Søren'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Thompson', 'Hamilton', 'Torvalds', 'Ångström', 'Kierkegaard'];
const WORDS = ['fast', 'blue', 'ship', 'box', 'gift', 'wrap', 'priority', 'fragile', 'leave', 'door', 'call', 'before', 'after', 'noon', 'rear'];
const BASE_MS = Date.UTC(2024, 0, 1);
const BIG = 9007199254740993n; // 2^53 + 1: not representable as a double

function pick(r, a) {
  return a[Math.floor(r() * a.length)];
}
function words(r, n) {
  let s = pick(r, WORDS);
  for (let k = 1; k < n; k++) s += ' ' + pick(r, WORDS);
  return s;
}
function isoDate(r) {
  return new Date(BASE_MS + Math.floor(r() * 365 * 86400) * 1000).toISOString().replace('.000Z', 'Z');
}

function orderData(r, id) {
  const ext = r() < 0.25 ? String(BIG + BigInt(id)) : String(100000 + Math.floor(r() * 9e8));
  let note = r() < 0.3 ? null : words(r, 1 + Math.floor(r() * 2));
  const x = r();
  if (note !== null && x < 0.03) note += ' \\"rush\\"'; // an escaped quote in the JSON text
  else if (note !== null && x < 0.06) note += ' — déjà vu'; // non-ASCII
  return (
    `{"id":${id},"ext_id":${ext},"status":"${pick(r, STATUSES)}","amount":${(r() * 5000).toFixed(2)},"paid":${r() < 0.7},` +
    `"created_at":"${isoDate(r)}","note":${note === null ? null : `"${note}"`},"ship":{"city":"${pick(r, CITIES)}"}}`
  );
}

function customerData(r, id) {
  const first = pick(r, FIRST);
  const last = pick(r, LAST);
  const user = (first + '.' + last).toLowerCase().normalize('NFD').replace(/[^a-z.]/g, '');
  return (
    `{"id":${id},"name":"${first} ${last}","email":"${user}@example.com","active":${r() < 0.85},` +
    `"score":${(r() * 100).toFixed(3)},"signed_up_at":"${isoDate(r)}","address":{"city":"${pick(r, CITIES)}"}}`
  );
}

/** The JSON Schemas of the two streams (the same as bench/replay-source.sh discovers). */
export const SCHEMAS = {
  orders: {
    type: 'object',
    required: ['id'],
    properties: {
      id: { type: 'integer' },
      ext_id: { type: 'integer' },
      status: { type: 'string', enum: STATUSES },
      amount: { type: 'number' },
      paid: { type: 'boolean' },
      created_at: { type: 'string', format: 'date-time' },
      note: { type: ['string', 'null'] },
      ship: { type: 'object', properties: { city: { type: 'string' } } },
    },
  },
  customers: {
    type: 'object',
    required: ['id'],
    properties: {
      id: { type: 'integer' },
      name: { type: 'string' },
      email: { type: 'string' },
      active: { type: 'boolean' },
      score: { type: 'number' },
      signed_up_at: { type: 'string', format: 'date-time' },
      address: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  },
};

export function dataPath(records, variant, seed = 1) {
  return join(DATA_DIR, `replay-${records}-${variant}-s${seed}.jsonl`);
}

function readMeta(path) {
  try {
    return JSON.parse(readFileSync(`${path}.meta.json`, 'utf8'));
  } catch {
    return undefined;
  }
}

function stateLine(singer, lastOrderId) {
  return singer
    ? `{"type":"STATE","value":{"bookmarks":{"orders":{"id":${lastOrderId}}}}}\n`
    : `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"orders"},"stream_state":{"cursor":${lastOrderId}}}}}\n`;
}

/** Generate (or reuse) one data file; returns its meta. */
export async function generate(records, variant = 'plain', { seed = 1, force = false, log = () => {} } = {}) {
  if (variant !== 'plain' && variant !== 'state' && variant !== 'singer') throw new Error(`unknown variant ${variant}`);
  const path = dataPath(records, variant, seed);
  const old = readMeta(path);
  if (!force && old && old.version === GEN_VERSION && existsSync(path)) return old;
  mkdirSync(DATA_DIR, { recursive: true });
  log(`generating ${path} (${records} records, ${variant})...`);
  const t0 = Date.now();
  const tmp = `${path}.tmp`;
  const out = createWriteStream(tmp, { highWaterMark: 1 << 20 });
  const r = rng(seed);
  let orders = 0;
  let customers = 0;
  let lastOrderId = 0;
  let states = 0;
  let bytes = 0;
  const singer = variant === 'singer';
  let batch = singer
    ? `{"type":"SCHEMA","stream":"orders","schema":${JSON.stringify(SCHEMAS.orders)},"key_properties":["id"],"bookmark_properties":["id"]}\n` +
      `{"type":"SCHEMA","stream":"customers","schema":${JSON.stringify(SCHEMAS.customers)},"key_properties":["id"]}\n`
    : '';
  const other = singer ? 2 : 0; // lines that are neither RECORD nor STATE
  const EMITTED = 1_717_171_717_000;
  for (let i = 0; i < records; i++) {
    let line;
    if (r() < 0.7) {
      lastOrderId = 1_000_000 + orders;
      orders++;
      const data = orderData(r, lastOrderId);
      line = singer ? `{"type":"RECORD","stream":"orders","record":${data}}\n` : `{"type":"RECORD","record":{"stream":"orders","data":${data},"emitted_at":${EMITTED + i}}}\n`;
    } else {
      customers++;
      const data = customerData(r, customers);
      line = singer ? `{"type":"RECORD","stream":"customers","record":${data}}\n` : `{"type":"RECORD","record":{"stream":"customers","data":${data},"emitted_at":${EMITTED + i}}}\n`;
    }
    batch += line;
    if (variant !== 'plain' && (i + 1) % STATE_EVERY === 0) {
      batch += stateLine(singer, lastOrderId);
      states++;
    }
    if (batch.length > 1 << 20) {
      bytes += Buffer.byteLength(batch);
      if (!out.write(batch)) await new Promise((res) => out.once('drain', res));
      batch = '';
    }
  }
  if (variant !== 'plain' && records % STATE_EVERY !== 0) {
    batch += stateLine(singer, lastOrderId);
    states++;
  }
  bytes += Buffer.byteLength(batch);
  out.write(batch);
  await new Promise((res, rej) => out.end((e) => (e ? rej(e) : res())));
  renameSync(tmp, path);
  const meta = { version: GEN_VERSION, path, records, variant, seed, orders, customers, lastOrderId, states, bytes, lines: records + states + other };
  writeFileSync(`${path}.meta.json`, JSON.stringify(meta, null, 2) + '\n');
  log(`  ${(bytes / 1e6).toFixed(1)} MB, ${(bytes / Math.max(1, records + states + other)).toFixed(0)} bytes/line, in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return meta;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const get = (k, d) => {
    const i = args.indexOf(k);
    return i >= 0 ? args[i + 1] : d;
  };
  const records = Number(get('--records', '1000000'));
  const variant = get('--variant', 'plain');
  const seed = Number(get('--seed', '1'));
  const meta = await generate(records, variant, { seed, force: args.includes('--force'), log: (m) => console.error(m) });
  console.log(JSON.stringify(meta));
}
