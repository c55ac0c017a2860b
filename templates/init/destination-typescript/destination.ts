// __NAME__: a destination written with the connector-host kit. No build step and no npm install:
// the host runs this file through its own TypeScript loader, and `connector-host/kit` resolves
// to the host's own copy of the kit.
//
// The kit reads the records from stdin, hands them to writeBatch() in batches, and on each STATE
// calls commit(); only after commit() returned is the STATE passed back to the host, which then
// saves it. So commit() must make everything written so far durable.
//
// This one writes each stream's records to PATH/<stream>.jsonl: appended, or for a stream
// configured with destination_sync_mode overwrite, replacing the file's old content.
//
// Run it (see README.md):
//   host run ../my-source/source.ts --config ../my-source/config.json \
//     --destination ./destination.ts --destination-config config.json --state state.json

import { defineDestination, ConfigError, stringifyJson } from 'connector-host/kit';
import { accessSync, constants, existsSync, mkdirSync, openSync, writeSync, fsyncSync, closeSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

interface Config {
  path: string;
  api_key?: string;
}

/** A stream's file: a name like "../x" or "a/b" must not write outside the folder. */
function fileName(stream: string): string {
  const safe = String(stream).replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '');
  return `${safe || '_'}.jsonl`;
}

let folder = '';
let pending = new Map<string, string[]>(); // stream -> lines not yet committed
let toReplace = new Set<string>(); // overwrite streams whose old file is not truncated yet

function writeFile(stream: string, text: string, flags: 'a' | 'w'): void {
  const fd = openSync(join(folder, fileName(stream)), flags);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export default defineDestination({
  spec: {
    documentationUrl: 'https://example.invalid/__NAME__',
    supported_destination_sync_modes: ['append', 'overwrite'],
    connectionSpecification: {
      $schema: 'http://json-schema.org/draft-07/schema#',
      title: '__NAME__',
      type: 'object',
      required: ['path'],
      properties: {
        path: {
          type: 'string',
          title: 'Output folder',
          description: "Each stream's records are appended to PATH/<stream>.jsonl.",
        },
        api_key: {
          type: 'string',
          title: 'API key',
          description: 'What a real destination would send with each request (unused here); masked in logs.',
          airbyte_secret: true,
        },
      },
    },
  },
  async check({ config }) {
    // the nearest folder that exists must be writable: check creates nothing
    let dir = resolve((config as Config).path);
    while (!existsSync(dir)) dir = dirname(dir);
    if (!statSync(dir).isDirectory()) throw new ConfigError(`cannot write under ${dir}: not a folder`);
    try {
      accessSync(dir, constants.W_OK);
    } catch {
      throw new ConfigError(`cannot write under ${dir}`);
    }
  },
  async open({ config, catalog }) {
    folder = (config as Config).path;
    if (!folder) throw new ConfigError('path is empty: name the output folder in the config');
    pending = new Map();
    toReplace = new Set(catalog.streams.filter((s) => s.destinationSyncMode === 'overwrite').map((s) => s.name));
  },
  async writeBatch(stream, records) {
    let lines = pending.get(stream);
    if (!lines) pending.set(stream, (lines = []));
    for (const r of records) lines.push(stringifyJson(r) + '\n'); // big integers (BigInt) exactly as received
  },
  async commit() {
    mkdirSync(folder, { recursive: true });
    for (const [stream, lines] of pending) {
      if (lines.length === 0) continue;
      writeFile(stream, lines.join(''), toReplace.delete(stream) ? 'w' : 'a');
    }
    pending = new Map();
  },
  async close() {
    // an overwrite stream that sent no records at all: its old records go too
    for (const stream of toReplace) if (existsSync(join(folder, fileName(stream)))) writeFile(stream, '', 'w');
  },
});
