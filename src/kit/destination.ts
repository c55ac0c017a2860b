// Runs a defineDestination() definition as an Airbyte-protocol destination: spec, check, write.
// write: messages on stdin; records go to writeBatch in batches per stream; a STATE is echoed
// (acknowledged) only after commit() returned; at the end of input commit(), close(), exit 0.

import { basename } from 'node:path';
import type { DestinationDefinition, ConfiguredCatalog, ConfiguredStream, DestinationContext, DataRecord, WriteContext } from './index.js';
import { parseJson, stringifyJson } from './json.js';
import { parseArgs, readJsonFile, loadConfig, fullSpec, fail, finish, describe, output, log, UsageFailure, type Args } from './common.js';
import { kitState } from './internal.js';

function toCatalog(raw: unknown, file: string): ConfiguredCatalog {
  if (!raw || typeof raw !== 'object' || !Array.isArray((raw as { streams?: unknown }).streams)) throw new UsageFailure(`the catalog file ${file} has no "streams" array`);
  const streams: ConfiguredStream[] = ((raw as { streams: unknown[] }).streams as Record<string, any>[]).map((c) => ({
    name: String(c?.['stream']?.name),
    namespace: typeof c?.['stream']?.namespace === 'string' ? c['stream'].namespace : null,
    syncMode: String(c?.['sync_mode'] ?? 'full_refresh'),
    destinationSyncMode: String(c?.['destination_sync_mode'] ?? 'append'),
    primaryKey: Array.isArray(c?.['primary_key']) ? c['primary_key'] : [],
    cursorField: Array.isArray(c?.['cursor_field']) ? c['cursor_field'] : [],
    jsonSchema: c?.['stream']?.json_schema ?? {},
    raw: c,
  }));
  return { streams, raw: raw as DataRecord };
}

export async function runDestination(def: DestinationDefinition<any>, file: string, argv: string[]): Promise<never> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    return fail(e, file);
  }
  switch (args.command) {
    case 'spec':
      output.line(stringifyJson({ type: 'SPEC', spec: fullSpec(def.spec, { supported_destination_sync_modes: ['append', 'overwrite', 'append_dedup'] }) }));
      return finish();
    case 'check': {
      let config;
      try {
        config = loadConfig(args.config, def.spec);
      } catch (e) {
        return fail(e, file);
      }
      let message: string | undefined;
      try {
        if (typeof def.check === 'function') await def.check({ config, log });
      } catch (e) {
        message = kitState.mask(describe(e));
      }
      output.line(JSON.stringify({ type: 'CONNECTION_STATUS', connectionStatus: message === undefined ? { status: 'SUCCEEDED' } : { status: 'FAILED', message } }));
      return finish();
    }
    case 'write':
      return write(def, file, args);
    case 'discover':
    case 'read':
      return fail(new UsageFailure(`${basename(file)} names a destination, not a source: it runs spec, check --config F, write --config F --catalog F (messages on stdin)`), file);
    default:
      return fail(new UsageFailure(`${args.command === undefined ? 'no command given' : `unknown command "${args.command}"`}: a destination runs spec, check --config F, write --config F --catalog F (messages on stdin)`), file);
  }
}

async function write(def: DestinationDefinition<any>, file: string, args: Args): Promise<never> {
  if (typeof def.writeBatch !== 'function') return fail(new UsageFailure('the destination definition has no writeBatch(stream, records, ctx) function', 'system_error'), file);
  let ctx: DestinationContext<unknown>;
  try {
    const config = loadConfig(args.config, def.spec);
    const catalog = args.catalog ? toCatalog(readJsonFile(args.catalog, 'catalog'), args.catalog) : { streams: [], raw: { streams: [] } };
    ctx = { config, catalog, log };
  } catch (e) {
    return fail(e, file, 'write');
  }
  output.batching = true;
  const batchSize = Math.max(1, def.batchSize ?? 1000);
  const known = new Map<string, ConfiguredStream>();
  for (const s of ctx.catalog.streams) known.set(`${s.namespace ?? ''}\u0000${s.name}`, s);
  const buffers = new Map<string, { name: string; namespace: string | null; records: DataRecord[] }>();
  let step = 'open';
  let lineNo = 0;

  const writeOut = async (b: { name: string; namespace: string | null; records: DataRecord[] }) => {
    if (b.records.length === 0) return;
    const records = b.records;
    b.records = [];
    const wctx: WriteContext<unknown> = { ...ctx, namespace: b.namespace, configured: known.get(`${b.namespace ?? ''}\u0000${b.name}`) };
    step = `writeBatch (stream ${b.name})`;
    await def.writeBatch(b.name, records, wctx);
  };
  const flushAll = async () => {
    for (const b of buffers.values()) await writeOut(b);
  };
  const commit = async () => {
    await flushAll();
    step = 'commit';
    await def.commit?.(ctx);
  };

  try {
    if (typeof def.open === 'function') await def.open(ctx);
    let rest = '';
    process.stdin.setEncoding('utf8');
    const handle = async (line: string) => {
      lineNo++;
      if (line.trim() === '') return;
      let msg: any;
      try {
        msg = parseJson(line);
      } catch {
        log.warn(`input line ${lineNo} is not JSON; skipped`);
        return;
      }
      if (msg?.type === 'RECORD') {
        const r = msg.record;
        if (!r || typeof r.stream !== 'string' || !r.data || typeof r.data !== 'object' || Array.isArray(r.data)) {
          log.warn(`input line ${lineNo}: a RECORD without a stream name or an object as data; skipped`);
          return;
        }
        const ns = typeof r.namespace === 'string' ? r.namespace : null;
        const key = `${ns ?? ''}\u0000${r.stream}`;
        if (known.size > 0 && !known.has(key)) throw new UsageFailure(`input line ${lineNo}: a record of stream "${r.stream}", which the configured catalog does not list`, 'system_error');
        let b = buffers.get(key);
        if (!b) buffers.set(key, (b = { name: r.stream, namespace: ns, records: [] }));
        b.records.push(r.data as DataRecord);
        if (b.records.length >= batchSize) await writeOut(b);
      } else if (msg?.type === 'STATE') {
        await commit();
        // the acknowledgement: the STATE as it came, once everything before it is committed
        output.push(line.trim());
        await output.flush();
      }
    };
    for await (const chunk of process.stdin as AsyncIterable<string>) {
      const text = rest + chunk;
      let start = 0;
      for (;;) {
        const nl = text.indexOf('\n', start);
        if (nl < 0) break;
        await handle(text.slice(start, nl));
        start = nl + 1;
      }
      rest = text.slice(start);
    }
    if (rest) await handle(rest);
    await commit();
    step = 'close';
    await def.close?.(ctx);
  } catch (e) {
    return fail(e, file, step);
  }
  return finish();
}
