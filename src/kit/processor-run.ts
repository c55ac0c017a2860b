// The JavaScript runtime of record processors: `node dist/kit/processor-run.js /abs/clean.mjs[:NAME] [--vars FILE]`
// (for .ts files the host starts node with tsx's loader). The wire protocol is the Python
// runtime's (kits/python/connector_host/processor.py):
//
//   child -> {"type":"PROCESSOR","streams":[...]|null,"schemas":{...},"batch":false}
//   host  -> {"type":"BATCH","id":1,"stream":"users","namespace":null,"records":[...]}
//   child -> {"type":"RESULT","id":1,"records":[...],"from":[...],"errors":[{"index":i,"message":"...","where":"clean.mjs:12 in fn"}]}
//
// What it runs: the export NAME, else the default export, else the only defineProcessor() export,
// else an export named `process`, else the only exported function. A function is a per-record
// processor for every stream; an object { streams?, schemas?, batch?, process } (defineProcessor
// from 'connector-host/kit', or a plain object) says more. process(record, ctx) returns a record
// (changed), null/undefined (dropped) or an array of records (split), or a promise of one;
// ctx = { stream, namespace, args, kwargs, log }. Integers beyond 2^53 arrive as BigInt and are
// written back exactly.

import { register } from 'node:module';
import { existsSync, statSync, readFileSync } from 'node:fs';
import { resolve as resolvePath, basename } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';
import { isKitDefinition, log as kitLog } from './index.js';
import { parseJson, stringifyJson } from './json.js';
import { authorWhere } from './where.js';

type Rec = Record<string, unknown>;
interface Def {
  streams: string[] | null;
  schemas: Record<string, unknown>;
  batch: boolean;
  process: (input: unknown, ctx: unknown) => unknown;
}
interface RecordError {
  index: number;
  message: string;
  where?: string;
}

class StartError extends Error {}

// ---- a BATCH line, record by record

function skipString(t: string, i: number): number {
  for (let j = i + 1; j < t.length; j++) {
    const c = t.charCodeAt(j);
    if (c === 0x5c) j++;
    else if (c === 0x22) return j + 1;
  }
  return -1;
}

const isWs = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
function skipWs(t: string, i: number): number {
  while (i < t.length && isWs(t.charCodeAt(i))) i++;
  return i;
}

/** Where the JSON value at t[i] ends (its brackets matched, not validated: JSON.parse does that), or -1. */
function skipValue(t: string, i: number): number {
  const c0 = t.charCodeAt(i);
  if (c0 === 0x22) return skipString(t, i);
  if (c0 !== 0x7b && c0 !== 0x5b) {
    let j = i;
    while (j < t.length) {
      const c = t.charCodeAt(j);
      if (c === 0x2c || c === 0x7d || c === 0x5d || isWs(c)) break;
      j++;
    }
    return j > i ? j : -1;
  }
  let depth = 0;
  for (let j = i; j < t.length; ) {
    const c = t.charCodeAt(j);
    if (c === 0x22) {
      j = skipString(t, j);
      if (j < 0) return -1;
      continue;
    }
    if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      if (--depth === 0) return j + 1;
    }
    j++;
  }
  return -1;
}

/**
 * The message of a BATCH line, its records parsed one by one: parseJson takes JSON.parse for a
 * text without long numbers, so one record with an integer beyond 2^53 no longer sends the whole
 * batch through the lossless parser. The same values as parseJson(line); undefined when the line
 * is not in the shape this expects (one top-level "records" array), and the caller parses it whole.
 */
// parseJson's test (src/kit/json.ts): a text without these holds only numbers JSON.parse keeps exactly
const LONG_NUMBER = /[\d.]{16,}|\d[eE][+-]?\d/;

function parseBatch(t: string): Rec | undefined {
  let i = skipWs(t, 0);
  if (t.charCodeAt(i) !== 0x7b) return undefined;
  i = skipWs(t, i + 1);
  let span: [number, number] | undefined;
  const records: unknown[] = [];
  while (t.charCodeAt(i) === 0x22) {
    const ke = skipString(t, i);
    if (ke < 0) return undefined;
    const key = t.slice(i, ke);
    i = skipWs(t, ke);
    if (t.charCodeAt(i) !== 0x3a) return undefined;
    const vs = skipWs(t, i + 1);
    // a key written with escapes could be "records" too: parsed whole
    if (key.includes('\\')) return undefined;
    if (key === '"records"') {
      // one "records", an array of objects
      if (span || t.charCodeAt(vs) !== 0x5b) return undefined;
      let j = skipWs(t, vs + 1);
      if (t.charCodeAt(j) !== 0x5d) {
        for (;;) {
          if (t.charCodeAt(j) !== 0x7b) return undefined;
          const re = skipValue(t, j);
          if (re < 0) return undefined;
          records.push(parseJson(t.slice(j, re)));
          j = skipWs(t, re);
          if (t.charCodeAt(j) === 0x2c) {
            j = skipWs(t, j + 1);
            continue;
          }
          if (t.charCodeAt(j) !== 0x5d) return undefined;
          break;
        }
      }
      span = [vs, j + 1];
      i = skipWs(t, j + 1);
    } else {
      const ve = skipValue(t, vs);
      if (ve < 0) return undefined;
      i = skipWs(t, ve);
    }
    if (t.charCodeAt(i) === 0x2c) {
      i = skipWs(t, i + 1);
      continue;
    }
    break;
  }
  if (!span) return undefined;
  // the rest of the message (type, id, stream, namespace), parsed as it was written
  const msg = parseJson(`${t.slice(0, span[0])}[]${t.slice(span[1])}`);
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) return undefined;
  (msg as Rec)['records'] = records;
  return msg as Rec;
}

const write = (s: string): Promise<void> | void => {
  if (!process.stdout.write(s)) return new Promise<void>((r) => process.stdout.once('drain', () => r()));
};

/** Say why it cannot start (stderr, and a TRACE ERROR for the host), exit 1; never resolves. */
function failStart(message: string): Promise<never> {
  process.stderr.write(`connector-host processor: ${message}\n`);
  process.stdout.write(`${JSON.stringify({ type: 'TRACE', trace: { type: 'ERROR', error: { message, failure_type: 'config_error' } } })}\n`, () => process.exit(1));
  return new Promise<never>(() => {});
}

function splitTarget(t: string): { file: string; name: string | undefined } {
  if (existsSync(t)) return { file: t, name: undefined };
  const i = t.lastIndexOf(':');
  if (i > 0 && /^[A-Za-z_$][\w$]*$/.test(t.slice(i + 1))) return { file: t.slice(0, i), name: t.slice(i + 1) };
  return { file: t, name: undefined };
}

const isObj = (v: unknown): v is Rec => v !== null && typeof v === 'object' && !Array.isArray(v);
const isProcessorLike = (v: unknown) => typeof v === 'function' || (isObj(v) && typeof v['process'] === 'function');

function asDef(v: unknown, where: string): Def {
  if (typeof v === 'function') return { streams: null, schemas: {}, batch: false, process: v as Def['process'] };
  if (!isObj(v) || typeof v['process'] !== 'function') throw new StartError(`${where} is not a processor: export a function process(record, ctx), or defineProcessor({ process }) from 'connector-host/kit'`);
  const streams = v['streams'];
  if (streams !== undefined && streams !== null && !(Array.isArray(streams) && streams.every((s) => typeof s === 'string' && s))) throw new StartError(`${where}: streams must be a list of stream names`);
  const schemas = v['schemas'];
  if (schemas !== undefined && schemas !== null && !(isObj(schemas) && Object.values(schemas).every(isObj))) throw new StartError(`${where}: schemas must be an object {stream name: JSON Schema}`);
  return { streams: (streams as string[] | undefined) ?? null, schemas: (schemas as Rec | undefined) ?? {}, batch: v['batch'] === true, process: (v['process'] as Def['process']).bind(v) };
}

function pick(mod: Rec, name: string | undefined, where: string): Def {
  const names = Object.keys(mod);
  const list = () => (names.length ? `it exports: ${names.join(', ')}` : 'it exports nothing');
  if (name !== undefined) {
    if (!Object.hasOwn(mod, name)) throw new StartError(`${where} has no export named "${name}"; ${list()}`);
    return asDef(mod[name], `${where}:${name}`);
  }
  if (mod['default'] !== undefined && isProcessorLike(mod['default'])) return asDef(mod['default'], `${where} (default export)`);
  const tagged = names.filter((k) => isKitDefinition(mod[k]) && (mod[k] as { kind?: string }).kind === 'processor');
  if (tagged.length === 1) return asDef(mod[tagged[0]!], `${where}:${tagged[0]}`);
  if (tagged.length > 1) throw new StartError(`${where} exports several processors (${tagged.join(', ')}): name one, as ${where}:${tagged[0]}`);
  if (isProcessorLike(mod['process'])) return asDef(mod['process'], `${where}:process`);
  const fns = names.filter((k) => typeof mod[k] === 'function');
  if (fns.length === 1) return asDef(mod[fns[0]!], `${where}:${fns[0]}`);
  throw new StartError(fns.length ? `${where} exports several functions (${fns.join(', ')}): name one, as ${where}:${fns[0]}` : `${where} has no processor to run; ${list()}`);
}

function loadVars(file: string): { args: unknown[]; kwargs: Rec } {
  let v: unknown;
  try {
    v = parseJson(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new StartError(`cannot read the vars file ${file}: ${(e as Error).message}`);
  }
  if (!isObj(v)) throw new StartError(`the vars file ${file} must be an object {"args": [...], "kwargs": {...}}`);
  const args = v['args'] ?? [];
  const kwargs = v['kwargs'] ?? {};
  if (!Array.isArray(args) || !isObj(kwargs)) throw new StartError(`the vars file ${file}: "args" must be a list and "kwargs" an object`);
  return { args, kwargs };
}

const describeType = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);

/** A thrown value as "TypeError: message". */
function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message ? `${e.name}: ${e.message}` : e.name;
  return `thrown: ${typeof e === 'string' ? e : describeType(e)}`;
}

class Returned extends Error {}

/** The output records of one call's result, as JSON text. */
function outputs(res: unknown, fname: string): string[] {
  if (res === null || res === undefined) return [];
  const one = (x: unknown, what: string): string => {
    if (!isObj(x)) throw new Returned(`${what} is ${describeType(x)}, not an object (a record is a JSON object)`);
    return stringifyJson(x);
  };
  if (Array.isArray(res)) return res.map((x, k) => one(x, `item ${k} of what ${fname} returned`));
  if (isObj(res)) return [one(res, `the record ${fname} returned`)];
  throw new Returned(`${fname} returned ${describeType(res)}; return a record (changed), null (dropped) or an array of records (split)`);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let target: string | undefined;
  let varsFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--vars' && argv[i + 1] !== undefined) varsFile = argv[++i];
    else if (target === undefined && !argv[i]!.startsWith('--')) target = argv[i];
    else await failStart(`usage: processor-run.js /abs/clean.mjs[:NAME] [--vars FILE] (unexpected ${JSON.stringify(argv[i])})`);
  }
  if (!target) await failStart('usage: processor-run.js /abs/clean.mjs[:NAME] [--vars FILE]');
  const { file, name } = splitTarget(target!);
  const abs = resolvePath(file);
  const where = basename(abs);
  if (!existsSync(abs) || !statSync(abs).isFile()) await failStart(`processor file not found: ${abs}`);
  register('./hooks.js', import.meta.url);
  // console.log in author code would land among the protocol lines: to stderr instead
  console.log = console.info = console.debug = console.error;

  let def: Def;
  let vars: { args: unknown[]; kwargs: Rec };
  try {
    vars = varsFile ? loadVars(varsFile) : { args: [], kwargs: {} };
    let mod: Rec;
    try {
      mod = (await import(pathToFileURL(abs).href)) as Rec;
    } catch (e) {
      const w = authorWhere(e);
      throw new StartError(`cannot load the processor ${where}: ${messageOf(e)}${w ? ` (${w})` : ''}`);
    }
    def = pick(mod, name, where);
  } catch (e) {
    await failStart(e instanceof StartError ? e.message : messageOf(e));
  }
  const fname = `${def!.process.name || 'process'}()`;
  await write(`${JSON.stringify({ type: 'PROCESSOR', streams: def!.streams, schemas: def!.schemas, batch: def!.batch })}\n`);

  const errorOf = (index: number, e: unknown): RecordError => {
    const w = e instanceof Returned ? undefined : authorWhere(e);
    return { index, message: e instanceof Returned ? e.message : messageOf(e), ...(w ? { where: w } : {}) };
  };
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    let msg: unknown;
    try {
      // a line without long numbers: one JSON.parse (parseJson's fast path); else record by record
      if (LONG_NUMBER.test(line)) {
        try {
          msg = parseBatch(line);
        } catch {
          msg = undefined; // parsed whole below: the same error as always
        }
      }
      msg ??= parseJson(line);
    } catch (e) {
      process.stderr.write(`connector-host processor: the host sent a line that is not JSON (${(e as Error).message})\n`);
      process.exit(2);
    }
    if (!isObj(msg) || msg['type'] !== 'BATCH' || !Array.isArray(msg['records'])) {
      process.stderr.write('connector-host processor: the host sent something other than a BATCH\n');
      process.exit(2);
    }
    const records = msg['records'] as unknown[];
    const ctx = { stream: String(msg['stream']), namespace: typeof msg['namespace'] === 'string' ? msg['namespace'] : null, args: vars!.args, kwargs: vars!.kwargs, log: kitLog };
    let out: string[] = [];
    let from: number[] | undefined = [];
    const errors: RecordError[] = [];
    if (def!.batch) {
      from = undefined;
      try {
        const res = await def!.process(records, ctx);
        if (!Array.isArray(res)) throw new Returned(`${fname} returned ${describeType(res)}; a batch processor returns the array of output records ([] to drop them all)`);
        out = outputs(res, fname);
      } catch (e) {
        out = [];
        errors.push(errorOf(-1, e));
      }
    } else {
      for (let i = 0; i < records.length; i++) {
        try {
          let res = def!.process(records[i], ctx);
          if (res !== null && typeof res === 'object' && typeof (res as { then?: unknown }).then === 'function') res = await res;
          const enc = outputs(res, fname);
          for (const r of enc) {
            out.push(r);
            from!.push(i);
          }
        } catch (e) {
          errors.push(errorOf(i, e));
        }
      }
    }
    await write(`{"type":"RESULT","id":${stringifyJson(msg['id'] ?? null)},"records":[${out.join(',')}]${from ? `,"from":[${from.join(',')}]` : ''},"errors":${JSON.stringify(errors)}}\n`);
  }
}

await main();
