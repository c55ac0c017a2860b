// Record processors (`--processor ./clean.py:process`): a function between the source and the
// output that changes, drops or splits records, run in one long-lived child process fed in
// batches (the wire protocol: kits/python/connector_host/processor.py).
//
//   connector stdout -> ProcessorStage.transform -> the read engine (as if the connector wrote it)
//
// The stage frames the connector's lines. RECORDs of a processed stream are batched (at most
// BATCH_RECORDS records or BATCH_BYTES bytes of data per batch, one open batch per stream) and
// sent to the child as BATCH lines; every other line passes byte for byte, queued behind the
// batches before it, so nothing overtakes a record it followed. A STATE closes every open batch
// first: records after a STATE never move before it, so a STATE reaches the sink only after every
// record the connector sent before it has come back. Up to MAX_IN_FLIGHT batches are in the child
// at once; while it is that far behind, the connector's stdout is not read (backpressure), and the
// engine pulls the output at its own pace (the other way).
//
// Each output record is rebuilt as a RECORD line with the input record's stream, namespace and
// emitted_at and the data bytes as the child wrote them (so integers beyond 2^53 survive).
// The child dying, hanging (no RESULT within the heartbeat), writing something that is not a
// protocol line or answering another batch id fails the run (exit 7, naming the processor), and
// nothing after the last good record is passed on, so no STATE past it is committed.

import { existsSync, statSync, readFileSync } from 'node:fs';
import { resolve as resolvePath, extname, basename, delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import type { Logger } from '../log/logger.js';
import { pinoLevel } from '../log/logger.js';
import { LineFramer } from '../io/line-framer.js';
import { classifyLine, lastRecord, envelopeOf, skipWs, skipString, skipValue, isKey, hasBackslash, RECORD, NOT_RECORD } from '../json/scan.js';
import { parseLossless, stringifyLossless, isPlainObject, type LosslessValue } from '../json/lossless.js';
import type { Masker } from '../secrets/mask.js';
import { spawnConnector, type ConnectorProcess } from '../connector/process.js';
import type { ConnectorRef, ResolveOptions } from '../connector/resolve.js';
import { ConfigError, UsageError, ProtocolError, type HostError } from '../errors.js';
import type { RunStream } from './streams.js';
import { SAFEPATH_MARK } from '../connector/kit-ref.js';

export type ProcessorErrorMode = 'fail' | 'skip';

export interface ProcessorOptions {
  /** `PATH[:NAME]`: a .py file (or a Python package folder), or a .mjs/.js/.cjs/.ts file. */
  ref: string;
  /** Python packages for it (`NAME` or `NAME==VERSION` each; a string is split at commas), installed into a cached venv. */
  packages?: string[] | string | undefined;
  /** A JSON file `{"args": [...], "kwargs": {...}}` passed to the function. */
  varsFile?: string | undefined;
  /** A record the function raises on: fail the run (default), or skip it (counted and logged). */
  errors?: ProcessorErrorMode | undefined;
}

export interface ProcessorContext {
  logger: Logger;
  masker: Masker;
  killGraceMs: number;
  /** No RESULT for this long while a batch is in the child: it is taken as hung. */
  heartbeatMs: number;
  /** How long the child may take to say what it is (its first line). Default 5 minutes. */
  startTimeoutMs?: number | undefined;
  resolve?: ResolveOptions | undefined;
}

/** What the processor declared in its first line. */
export interface ProcessorInfo {
  /** The streams it applies to (null: all). */
  streams: string[] | null;
  /** Output schemas of the streams whose shape it changes, by stream name. */
  schemas: Record<string, LosslessValue>;
  batch: boolean;
}

/** What the processor did, for the summary. */
export interface ProcessorOutcome {
  display: string;
  recordsIn: number;
  recordsOut: number;
  batches: number;
  /** Records that raised (or were in a batch that raised) and were skipped (--processor-errors skip). */
  skipped: number;
  errors: number;
  mode: ProcessorErrorMode;
}

export const BATCH_RECORDS = 1000;
export const BATCH_BYTES = 1 << 20;
export const MAX_IN_FLIGHT = 4;
const MAX_LOGGED_ERRORS = 100;

/** kits/python: what goes on PYTHONPATH for the Python runtime. */
export const PYTHON_KIT_DIR = fileURLToPath(new URL('../../kits/python', import.meta.url));
/** dist/kit/processor-run.js: the JavaScript runtime. */
export const JS_PROCESSOR_RUNNER = fileURLToPath(new URL('../kit/processor-run.js', import.meta.url));

const PY = new Set(['.py']);
const JS = new Set(['.mjs', '.js', '.cjs', '.ts', '.mts', '.cts']);

/** `PATH[:NAME]` → the absolute path, the name, and the runtime. */
export function parseProcessorRef(ref: string): { file: string; name: string | undefined; lang: 'python' | 'node'; display: string } {
  if (!ref) throw new UsageError('--processor needs a file: ./clean.py[:function] or ./clean.mjs[:export]');
  let path = ref;
  let name: string | undefined;
  const m = /^(.*):([A-Za-z_$][A-Za-z0-9_$]*)$/.exec(ref);
  if (m && m[1] && !existsSync(ref)) {
    path = m[1];
    name = m[2];
  }
  const file = resolvePath(path);
  let st;
  try {
    st = statSync(file);
  } catch {
    throw new ConfigError(`processor not found: ${path} (no such file)`, { file: path });
  }
  const ext = extname(file).toLowerCase();
  if (st.isDirectory()) {
    if (!existsSync(resolvePath(file, '__init__.py'))) throw new ConfigError(`processor ${path} is a folder but not a Python package (no __init__.py)`, { file: path });
    return { file, name, lang: 'python', display: ref };
  }
  if (PY.has(ext)) return { file, name, lang: 'python', display: ref };
  if (JS.has(ext)) return { file, name, lang: 'node', display: ref };
  throw new ConfigError(`processor ${path}: give a .py file (or a Python package folder) or a .mjs, .js, .cjs or .ts file`, { file: path });
}

/** `'p1==1.0.1,p2'` → validated requirements (NAME or NAME==VERSION each). */
export async function parseProcessorPackages(p: string[] | string | undefined): Promise<string[]> {
  if (p === undefined) return [];
  const list = (typeof p === 'string' ? [p] : p).flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean);
  const { parsePypiSpec } = await import('../connector/pypi.js');
  return list.map((x) => {
    const s = parsePypiSpec(x, `--processor-packages ${x}`);
    return s.version ? `${s.name}==${s.version}` : s.name;
  });
}

/** Read and check a vars file: `{"args": [...], "kwargs": {...}}`. */
export function checkVarsFile(file: string): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read the processor vars file ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, { file });
  }
  let v: LosslessValue;
  try {
    v = parseLossless(text);
  } catch (e) {
    throw new ConfigError(`the processor vars file ${file} is not JSON: ${(e as Error).message}`, { file });
  }
  if (!isPlainObject(v)) throw new ConfigError(`the processor vars file ${file} must be an object {"args": [...], "kwargs": {...}}`, { file });
  const extra = Object.keys(v).filter((k) => k !== 'args' && k !== 'kwargs');
  if (extra.length) throw new ConfigError(`the processor vars file ${file} has ${extra.map((k) => JSON.stringify(k)).join(', ')}; it holds only "args" (a list) and "kwargs" (an object), e.g. {"kwargs": {${JSON.stringify(extra[0])}: ...}}`, { file });
  if (Object.hasOwn(v, 'args') && !Array.isArray(v['args'])) throw new ConfigError(`the processor vars file ${file}: "args" must be a list`, { file });
  if (Object.hasOwn(v, 'kwargs') && !isPlainObject(v['kwargs'])) throw new ConfigError(`the processor vars file ${file}: "kwargs" must be an object`, { file });
}

/** The command line of the processor's child (installing its packages first). */
export async function processorCommand(o: ProcessorOptions, ctx: Pick<ProcessorContext, 'logger' | 'resolve'>): Promise<ConnectorRef> {
  const p = parseProcessorRef(o.ref);
  const packages = await parseProcessorPackages(o.packages);
  const target = p.name ? `${p.file}:${p.name}` : p.file;
  const vars = o.varsFile ? ['--vars', resolvePath(o.varsFile)] : [];
  if (o.varsFile) checkVarsFile(o.varsFile);
  const name = `processor ${basename(p.file)}`;
  if (p.lang === 'node') {
    if (packages.length) throw new UsageError(`--processor-packages installs Python packages; ${p.display} is a JavaScript processor (put its packages in a package.json beside it)`);
    const { nodeLoaderArgs } = await import('../kit/command.js');
    return { display: p.display, name, command: process.execPath, args: [...nodeLoaderArgs(p.file), JS_PROCESSOR_RUNNER, target, ...vars] };
  }
  const pythonPath = [PYTHON_KIT_DIR, ...(process.env['PYTHONPATH'] ? [process.env['PYTHONPATH']] : [])].join(delimiter);
  let python = ctx.resolve?.python ?? 'python3';
  // PYTHONSAFEPATH: `-m` must not put the current directory first on sys.path (see pythonModuleEnv)
  const safe: Record<string, string> = Object.hasOwn(process.env, 'PYTHONSAFEPATH') ? {} : { PYTHONSAFEPATH: '1', [SAFEPATH_MARK]: '1' };
  let env: Record<string, string> = { PYTHONPATH: pythonPath, ...safe };
  if (packages.length) {
    const { installRequirements, venvEnv } = await import('../connector/pypi.js');
    const inst = await installRequirements(packages, { ...ctx.resolve, logger: ctx.logger, raw: `processor ${p.display} (--processor-packages ${packages.join(',')})` });
    python = inst.python;
    env = { ...venvEnv(inst.dir), PYTHONPATH: pythonPath, ...safe };
  }
  return { display: p.display, name, command: python, args: ['-m', 'connector_host.processor', target, ...vars], env };
}

// ----------------------------------------------------------------------------------------------
// the child

export interface Batch {
  id: number;
  stream: string;
  namespace: string | undefined;
  key: string;
  display: string;
  /** Data bytes of each record, as separate buffers (host process); the stage leaves it empty and builds `body` instead. */
  records: Buffer[];
  /** Number of records in it (set by the stage, and by send() from `records`). */
  count?: number;
  /** The BATCH line being built: its head, then the data bytes of each record (copies), comma-separated; `len` bytes used. Emptied once sent. */
  body?: Buffer;
  len?: number;
  /** emitted_at of each record, as its JSON text. */
  emitted: string[];
  bytes: number;
  /** Number (1-based, in its stream) of the first record. */
  first: number;
  sent: boolean;
  sentAt: number;
  /** The output lines, once the RESULT is in. */
  output: Buffer | undefined;
  done: boolean;
}

type Segment = { kind: 'bytes'; parts: Buffer[]; bytes: number } | { kind: 'batch'; b: Batch };

const NL = Buffer.from('\n');
const decoder = new TextDecoder();

/**
 * Where the keys of a JSON object are: key → [valueStart, valueEnd). Undefined when b[s] is not an object.
 * With `collect`: the elements of the (first) array under the key `collect.key` are found in the
 * same pass, into `collect.elements` (a RESULT's records are walked once, not twice).
 */
function objectFields(b: Uint8Array, s: number, e: number, collect?: { key: string; elements: [number, number][] | undefined }): Map<string, [number, number]> | undefined {
  let i = skipWs(b, s, e);
  if (b[i] !== 0x7b) return undefined;
  const out = new Map<string, [number, number]>();
  i = skipWs(b, i + 1, e);
  if (b[i] === 0x7d) return out;
  for (;;) {
    if (b[i] !== 0x22) return undefined;
    const ke = skipString(b, i, e);
    if (ke < 0) return undefined;
    const key = hasBackslash(b, i + 1, ke - 1) ? (JSON.parse(decoder.decode(b.subarray(i, ke))) as string) : decoder.decode(b.subarray(i + 1, ke - 1));
    i = skipWs(b, ke, e);
    if (b[i] !== 0x3a) return undefined;
    const vs = skipWs(b, i + 1, e);
    let ve: number;
    if (collect && key === collect.key && b[vs] === 0x5b && !out.has(key)) {
      const els: [number, number][] = [];
      ve = arrayElementsEnd(b, vs, e, els);
      if (ve >= 0) collect.elements = els;
    } else ve = skipValue(b, vs, e);
    if (ve < 0) return undefined;
    if (!out.has(key)) out.set(key, [vs, ve]);
    i = skipWs(b, ve, e);
    if (b[i] === 0x2c) {
      i = skipWs(b, i + 1, e);
      continue;
    }
    return b[i] === 0x7d ? out : undefined;
  }
}

/** The elements of a JSON array at b[s, e): [start, end) each. Undefined when it is not an array. */
function arrayElements(b: Uint8Array, s: number, e: number): [number, number][] | undefined {
  let i = skipWs(b, s, e);
  if (b[i] !== 0x5b) return undefined;
  const out: [number, number][] = [];
  i = skipWs(b, i + 1, e);
  if (b[i] === 0x5d) return out;
  for (;;) {
    const ve = skipValue(b, i, e);
    if (ve < 0) return undefined;
    out.push([i, ve]);
    i = skipWs(b, ve, e);
    if (b[i] === 0x2c) {
      i = skipWs(b, i + 1, e);
      continue;
    }
    return b[i] === 0x5d ? out : undefined;
  }
}

/** The elements of the JSON array at b[s] (a '[') into `out`; returns where it ends, or -1. */
function arrayElementsEnd(b: Uint8Array, s: number, e: number, out: [number, number][]): number {
  let i = skipWs(b, s + 1, e);
  if (b[i] === 0x5d) return i + 1;
  for (;;) {
    const ve = skipValue(b, i, e);
    if (ve < 0) return -1;
    out.push([i, ve]);
    i = skipWs(b, ve, e);
    if (b[i] === 0x2c) {
      i = skipWs(b, i + 1, e);
      continue;
    }
    return b[i] === 0x5d ? i + 1 : -1;
  }
}

/**
 * emittedAtOf for a line classifyLine took as a RECORD (its keys unescaped, one "record"), whose
 * data is at b[ds, de): the same answer without walking the data again.
 */
function emittedAtOfRecord(b: Uint8Array, s: number, e: number, ds: number, de: number): string {
  let i = skipWs(b, s, e);
  if (b[i] !== 0x7b) return emittedAtOf(b, s, e);
  i = skipWs(b, i + 1, e);
  while (b[i] === 0x22) {
    const ke = skipString(b, i, e);
    if (ke < 0) break;
    const isRec = isKey(b, i + 1, ke - 1, 'record');
    i = skipWs(b, ke, e);
    if (b[i] !== 0x3a) break;
    const vs = skipWs(b, i + 1, e);
    if (isRec && b[vs] === 0x7b) {
      let j = skipWs(b, vs + 1, e);
      while (b[j] === 0x22) {
        const fke = skipString(b, j, e);
        if (fke < 0) return emittedAtOf(b, s, e);
        const isEa = isKey(b, j + 1, fke - 1, 'emitted_at');
        j = skipWs(b, fke, e);
        if (b[j] !== 0x3a) return emittedAtOf(b, s, e);
        const fvs = skipWs(b, j + 1, e);
        const fve = fvs === ds ? de : skipValue(b, fvs, e);
        if (fve < 0) return emittedAtOf(b, s, e);
        if (isEa) {
          const text = decoder.decode(b.subarray(fvs, fve));
          return /^-?[0-9]/.test(text) ? text : '0';
        }
        j = skipWs(b, fve, e);
        if (b[j] !== 0x2c) break;
        j = skipWs(b, j + 1, e);
      }
      return b[j] === 0x7d ? '0' : emittedAtOf(b, s, e);
    }
    const ve = skipValue(b, vs, e);
    if (ve < 0) break;
    i = skipWs(b, ve, e);
    if (b[i] !== 0x2c) break;
    i = skipWs(b, i + 1, e);
  }
  return emittedAtOf(b, s, e);
}

/** The emitted_at of a RECORD line, as JSON text ('0' when it has none). */
function emittedAtOf(b: Uint8Array, s: number, e: number): string {
  const top = objectFields(b, s, e);
  const rec = top?.get('record');
  const f = rec ? objectFields(b, rec[0], rec[1]) : undefined;
  const ea = f?.get('emitted_at');
  if (!ea) return '0';
  const text = decoder.decode(b.subarray(ea[0], ea[1]));
  return /^-?[0-9]/.test(text) ? text : '0';
}

const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;

/**
 * The processor's child: started, asked what it is (its first line), then fed BATCH lines and
 * read for RESULT lines. `fail` is called once with the first reason it cannot go on.
 */
export class ProcessorChild {
  readonly display: string;
  info: ProcessorInfo = { streams: null, schemas: {}, batch: false };
  private readonly ctx: ProcessorContext;
  private readonly log: Logger;
  private readonly proc: ConnectorProcess;
  private readonly hello: Promise<ProcessorInfo>;
  private helloDone: ((i: ProcessorInfo) => void) | undefined;
  private helloFailed: ((e: HostError) => void) | undefined;
  private gotHello = false;
  /** Batches sent and not answered, oldest first. */
  readonly inFlight: Batch[] = [];
  failure: HostError | undefined;
  private onFailure: ((e: HostError) => void)[] = [];
  private onResult: ((b: Batch, records: [number, number][], line: Buffer, from: number[] | undefined, errors: { index: number; message: string; where?: string }[]) => void) | undefined;
  private stdinEnded = false;
  /** The host stopped it (the run is over, or failed): its exit is no news. */
  private stopping = false;
  private exited = false;
  private readonly exitPromise: Promise<void>;
  private traceMessage: string | undefined;

  constructor(ref: ConnectorRef, ctx: ProcessorContext) {
    this.display = ref.display;
    this.ctx = ctx;
    this.log = ctx.logger.child({ processor: ref.display });
    this.proc = spawnConnector(ref, [], { logger: ctx.logger, masker: ctx.masker, killGraceMs: ctx.killGraceMs, stdin: true });
    this.hello = new Promise<ProcessorInfo>((res, rej) => {
      this.helloDone = res;
      this.helloFailed = rej;
    });
    this.hello.catch(() => {});
    this.proc.stdin!.on('error', () => {});
    const framer = new LineFramer({
      maxLineBytes: 1 << 30,
      overflow: 'error',
      onLine: (b, s, e, n) => {
        if (e > s && !this.failure) this.onLine(b, s, e, n);
      },
    });
    this.proc.stdout.on('data', (c: Buffer) => {
      if (!this.failure) framer.push(c);
    });
    this.proc.stdout.on('error', () => {});
    this.exitPromise = this.proc.wait().then((x) => {
      this.exited = true;
      if (this.failure || this.stopping) return;
      if (this.stdinEnded && this.inFlight.length === 0 && x.exitCode === 0) return;
      const how = x.spawnError ? `could not be started (${x.spawnError === 'ENOENT' ? `${ref.command}: command not found` : x.spawnError})` : x.exitCode !== undefined ? `exited with code ${x.exitCode}` : `was killed by ${x.signal}`;
      const b = this.inFlight[0];
      const during = !this.gotHello ? ' before it said what it processes' : b ? ` while processing ${this.batchText(b)}` : this.stdinEnded ? ' at the end of its input' : ' before the end of its input';
      this.fail(new ProtocolError(`the processor ${this.display} ${how}${during}${this.traceMessage ? `: ${this.traceMessage}` : ''}${this.tail()}`, { processor: this.display, exitCode: x.exitCode, signal: x.signal, stderrTail: this.proc.stderrTail() }));
    });
  }

  private tail(): string {
    if (this.traceMessage) return '';
    const t = this.proc.stderrTail();
    return t.length ? `; its last stderr lines:\n  ${t.slice(-10).join('\n  ')}` : ' (no stderr output)';
  }

  batchText(b: Batch): string {
    return `batch ${b.id} (stream ${b.display}, record${countOf(b) === 1 ? ` ${b.first}` : `s ${b.first}-${b.first + countOf(b) - 1}`})`;
  }

  /** Stop with this reason (the first one counts). */
  fail(e: HostError): void {
    if (this.failure) return;
    this.failure = e;
    this.helloFailed?.(e);
    for (const f of this.onFailure) f(e);
    void this.proc.stop();
  }

  whenFailed(f: (e: HostError) => void): void {
    if (this.failure) f(this.failure);
    else this.onFailure.push(f);
  }

  setResultHandler(h: ProcessorChild['onResult']): void {
    this.onResult = h;
  }

  /** Wait for its first line (PROCESSOR). */
  async start(): Promise<ProcessorInfo> {
    const ms = this.ctx.startTimeoutMs ?? 5 * 60_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, rej) => {
      timer = setTimeout(() => {
        const e = new ProtocolError(`the processor ${this.display} did not say what it processes (its first line, PROCESSOR) within ${Math.round(ms / 1000)} s; it was stopped`, { processor: this.display });
        this.fail(e);
        rej(e);
      }, ms);
    });
    try {
      return await Promise.race([this.hello, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private lineStart(b: Buffer, s: number, e: number): string {
    return `${JSON.stringify(this.ctx.masker.mask(b.toString('utf8', s, Math.min(e, s + 120))))}${e - s > 120 ? '...' : ''}`;
  }

  private garbage(b: Buffer, s: number, e: number, n: number, what: string): void {
    const during = this.inFlight[0] ? ` (while processing ${this.batchText(this.inFlight[0])})` : '';
    this.fail(new ProtocolError(`the processor ${this.display} wrote ${what} on its stdout line ${n}${during}; stdout is for the protocol (in a processor, print() and console.log go to stderr). It starts: ${this.lineStart(b, s, e)}`, { processor: this.display }));
  }

  private onLine(b: Buffer, s: number, e: number, n: number): void {
    const collect: { key: string; elements: [number, number][] | undefined } = { key: 'records', elements: undefined };
    const top = objectFields(b, s, e, collect);
    const t = top?.get('type');
    if (!top || !t) return this.garbage(b, s, e, n, top ? 'JSON without a message type' : 'a line that is not a JSON message');
    const type = decoder.decode(b.subarray(t[0], t[1]));
    if (type === '"RESULT"') return this.onResultLine(b, s, e, n, top, collect.elements);
    if (type === '"LOG"') {
      const m = parseLossless(b.toString('utf8', s, e)) as Record<string, LosslessValue>;
      const l = isPlainObject(m['log']) ? m['log'] : {};
      this.log[pinoLevel(String(l['level'] ?? 'INFO'))]({ source: 'LOG' }, this.ctx.masker.mask(String(l['message'] ?? '')));
      return;
    }
    if (type === '"PROCESSOR"' && !this.gotHello) {
      const m = parseLossless(b.toString('utf8', s, e)) as Record<string, LosslessValue>;
      const streams = m['streams'];
      const schemas = m['schemas'] ?? {};
      if (!(streams === null || streams === undefined || (Array.isArray(streams) && streams.every((x) => typeof x === 'string'))) || !isPlainObject(schemas) || !Object.values(schemas).every(isPlainObject)) {
        return this.garbage(b, s, e, n, 'a PROCESSOR line whose streams (a list of names or null) or schemas (an object of JSON Schemas) are not valid');
      }
      this.gotHello = true;
      this.info = { streams: (streams as string[] | null | undefined) ?? null, schemas: schemas as Record<string, LosslessValue>, batch: m['batch'] === true };
      this.helloDone?.(this.info);
      return;
    }
    if (type === '"TRACE"' && !this.gotHello) {
      // it could not start: its reason (the child exits after it)
      const m = parseLossless(b.toString('utf8', s, e)) as Record<string, LosslessValue>;
      const tr = isPlainObject(m['trace']) ? m['trace'] : {};
      const er = isPlainObject(tr['error']) ? tr['error'] : {};
      this.traceMessage = this.ctx.masker.mask(String(er['message'] ?? 'unknown error'));
      const Err = er['failure_type'] === 'config_error' ? ConfigError : ProtocolError;
      this.fail(new Err(`the processor ${this.display} cannot start: ${this.traceMessage}`, { processor: this.display }));
      return;
    }
    if (type === '"TRACE"') {
      const m = parseLossless(b.toString('utf8', s, e)) as Record<string, LosslessValue>;
      this.log.debug({ trace: m['trace'] }, 'processor trace message');
      return;
    }
    this.garbage(b, s, e, n, `a message of type ${type.slice(0, 40)}${this.gotHello ? '' : ' before its PROCESSOR line'}`);
  }

  private onResultLine(b: Buffer, s: number, e: number, n: number, top: Map<string, [number, number]>, elements: [number, number][] | undefined): void {
    if (!this.gotHello) return this.garbage(b, s, e, n, 'a RESULT before its PROCESSOR line');
    const idSpan = top.get('id');
    const id = idSpan ? Number(decoder.decode(b.subarray(idSpan[0], idSpan[1]))) : NaN;
    const expected = this.inFlight[0];
    if (!expected) return this.garbage(b, s, e, n, `a RESULT (id ${idSpan ? decoder.decode(b.subarray(idSpan[0], idSpan[1])).slice(0, 20) : 'missing'}) when no batch was waiting for one`);
    if (id !== expected.id) {
      return this.fail(new ProtocolError(`the processor ${this.display} answered batch ${idSpan ? decoder.decode(b.subarray(idSpan[0], idSpan[1])).slice(0, 20) : '(no id)'} when ${this.batchText(expected)} was next; results must come in order, one per batch`, { processor: this.display }));
    }
    const recSpan = top.get('records');
    const recs = recSpan ? (elements ?? arrayElements(b, recSpan[0], recSpan[1])) : undefined;
    if (!recs) return this.garbage(b, s, e, n, `a RESULT for ${this.batchText(expected)} without a "records" list`);
    const bad = recs.findIndex(([rs]) => b[rs] !== 0x7b);
    if (bad >= 0) return this.garbage(b, s, e, n, `a RESULT for ${this.batchText(expected)} whose record ${bad} is not a JSON object`);
    let from: number[] | undefined;
    const fromSpan = top.get('from');
    if (fromSpan) {
      const f = JSON.parse(decoder.decode(b.subarray(fromSpan[0], fromSpan[1]))) as unknown;
      if (f !== null) {
        if (!Array.isArray(f) || f.length !== recs.length || !f.every((x) => Number.isInteger(x) && x >= 0 && x < countOf(expected))) {
          return this.garbage(b, s, e, n, `a RESULT for ${this.batchText(expected)} whose "from" is not one input index per output record`);
        }
        from = f as number[];
      }
    }
    let errors: { index: number; message: string; where?: string }[] = [];
    const errSpan = top.get('errors');
    if (errSpan) {
      const v = JSON.parse(decoder.decode(b.subarray(errSpan[0], errSpan[1]))) as unknown;
      if (v !== null) {
        if (!Array.isArray(v) || !v.every((x) => isPlainObject(x) && Number.isInteger(x['index']) && (x['index'] as number) >= -1 && (x['index'] as number) < countOf(expected))) {
          return this.garbage(b, s, e, n, `a RESULT for ${this.batchText(expected)} whose "errors" are not [{"index": i, "message": ...}]`);
        }
        errors = (v as Record<string, unknown>[]).map((x) => ({ index: x['index'] as number, message: String(x['message'] ?? 'error'), ...(typeof x['where'] === 'string' ? { where: x['where'] } : {}) }));
      }
    }
    this.inFlight.shift();
    this.onResult?.(expected, recs, b, from, errors);
  }

  send(b: Batch): void {
    if (this.failure) return;
    // the stage builds the line as the records come in (batchHead, appendRecord): one write per batch
    if (!b.body) {
      Object.assign(b, batchHead(b.id, b.stream, b.namespace), { count: 0 });
      for (const r of b.records) appendRecord(b as Building, r, 0, r.length);
      b.records = [];
    }
    const w = b as Building;
    appendBytes(w, TAIL, 0, TAIL.length);
    const line = w.len === w.body.length ? w.body : w.body.subarray(0, w.len);
    b.body = EMPTY;
    b.sent = true;
    b.sentAt = Date.now();
    this.inFlight.push(b);
    this.proc.stdin!.write(line);
  }

  /** A batch has waited longer than the heartbeat: the reason, else undefined. */
  hung(now = Date.now()): HostError | undefined {
    const b = this.inFlight[0];
    if (!b || now - b.sentAt < this.ctx.heartbeatMs) return undefined;
    return new ProtocolError(`the processor ${this.display} sent no RESULT for ${this.batchText(b)} within ${Math.round(this.ctx.heartbeatMs / 1000)} s (the heartbeat timeout); it was stopped`, { processor: this.display });
  }

  /** The end of the input: EOF on its stdin, then wait for it to exit 0 (the kill grace at most). */
  async end(): Promise<void> {
    this.stdinEnded = true;
    this.proc.stdin!.end();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.exitPromise,
      new Promise<void>((r) => {
        timer = setTimeout(() => {
          this.log.warn(`the processor ${this.display} did not exit within ${Math.round(this.ctx.killGraceMs / 1000)} s of the end of its input; stopping it`);
          void this.proc.stop().then(r);
        }, this.ctx.killGraceMs);
      }),
    ]);
    clearTimeout(timer);
    await this.exitPromise;
  }

  /** Stop it (a failed or interrupted run) and wait until it is gone. */
  async stop(): Promise<void> {
    this.stdinEnded = true;
    this.stopping = true;
    if (!this.exited) await this.proc.stop();
    await this.exitPromise;
  }

  get stopped(): boolean {
    return this.exited;
  }

  get heartbeatMs(): number {
    return this.ctx.heartbeatMs;
  }
}

const TAIL = Buffer.from(']}\n');
const EMPTY = Buffer.alloc(0);

/** A new batch's line: its BATCH head, in a buffer with room for records. */
export function batchHead(id: number, stream: string, namespace: string | undefined): { body: Buffer; len: number } {
  const head = `{"type":"BATCH","id":${id},"stream":${JSON.stringify(stream)},"namespace":${namespace === undefined ? 'null' : JSON.stringify(namespace)},"records":[`;
  const body = Buffer.allocUnsafe(Math.max(64 << 10, Buffer.byteLength(head) * 2));
  return { body, len: body.write(head, 0) };
}

/** A batch whose line is being built. */
type Building = { body: Buffer; len: number; count: number };
const countOf = (b: Batch): number => b.count ?? b.records.length;

function appendBytes(b: Building, src: Buffer, s: number, e: number): void {
  const n = e - s;
  if (b.len + n > b.body.length) {
    const grown = Buffer.allocUnsafe(Math.max(b.body.length * 2, b.len + n + (64 << 10)));
    b.body.copy(grown, 0, 0, b.len);
    b.body = grown;
  }
  b.len += src.copy(b.body, b.len, s, e);
}

/** One record's data bytes (src[s, e)) into a batch's line, copied. */
function appendRecord(b: Building, src: Buffer, s: number, e: number): void {
  if (b.count > 0) {
    if (b.len + 1 > b.body.length) appendBytes(b, COMMA, 0, 1);
    else b.body[b.len++] = 0x2c;
  }
  appendBytes(b, src, s, e);
  b.count++;
}
const COMMA = Buffer.from(',');

/** Start the child and read its PROCESSOR line. */
export async function startProcessor(o: ProcessorOptions, ctx: ProcessorContext): Promise<ProcessorChild> {
  const ref = await processorCommand(o, ctx);
  const child = new ProcessorChild(ref, ctx);
  try {
    await child.start();
  } catch (e) {
    await child.stop();
    throw e;
  }
  return child;
}

// ----------------------------------------------------------------------------------------------
// the stage

/** The streams of a run the processor applies to (by name or namespace.name). */
export function appliesTo(info: ProcessorInfo, s: { name: string; display: string }): boolean {
  return info.streams === null || info.streams.includes(s.name) || info.streams.includes(s.display);
}

/** The output schema the processor declares for a stream, else undefined. */
export function schemaFor(info: ProcessorInfo, s: { name: string; display: string }): LosslessValue | undefined {
  if (!appliesTo(info, s)) return undefined;
  return Object.hasOwn(info.schemas, s.display) ? info.schemas[s.display] : Object.hasOwn(info.schemas, s.name) ? info.schemas[s.name] : undefined;
}

/**
 * The run's streams with the processor's output schemas: a stream whose shape it changes gets a
 * configured entry of its own with the new json_schema (the connector's catalog is not touched).
 * Returns the display names changed.
 */
export function applyOutputSchemas(info: ProcessorInfo, streams: RunStream[], log: Logger, display: string): string[] {
  const changed: string[] = [];
  for (const s of streams) {
    const schema = schemaFor(info, s);
    if (schema === undefined) continue;
    s.configured = { ...s.configured, stream: { ...s.configured.stream, json_schema: schema } };
    changed.push(s.display);
  }
  if (info.streams) {
    const missing = info.streams.filter((n) => !streams.some((s) => s.name === n || s.display === n));
    if (missing.length) log.warn(`the processor ${display} applies to ${missing.map((m) => JSON.stringify(m)).join(', ')}, which this run does not read (streams: ${streams.map((s) => s.display).join(', ')})`);
  }
  return changed;
}

export interface StageOptions {
  child: ProcessorChild;
  errors: ProcessorErrorMode;
  masker: Masker;
  logger: Logger;
  maxLineBytes: number;
  /** Is this stream (name, namespace) processed? */
  processed: (stream: string, namespace: string | undefined) => { key: string; display: string } | undefined;
}

/** The processor between the connector's stdout and the engine. */
export class ProcessorStage {
  private readonly o: StageOptions;
  private readonly child: ProcessorChild;
  private readonly segments: Segment[] = [];
  private readonly open = new Map<string, Batch>();
  private readonly waiting: Batch[] = [];
  /** Records seen per stream key (numbering for messages). */
  private readonly seen = new Map<string, number>();
  private nextId = 0;
  private wake: (() => void) | undefined;
  private failure: HostError | undefined;
  private readonly out: ProcessorOutcome;
  private loggedErrors = 0;
  private readonly log: Logger;

  constructor(o: StageOptions) {
    this.o = o;
    this.child = o.child;
    this.log = o.logger.child({ processor: o.child.display });
    this.out = { display: o.child.display, recordsIn: 0, recordsOut: 0, batches: 0, skipped: 0, errors: 0, mode: o.errors };
    this.child.setResultHandler((b, recs, line, from, errors) => this.onResult(b, recs, line, from, errors));
    this.child.whenFailed((e) => this.setFailure(e));
  }

  outcome(): ProcessorOutcome {
    return { ...this.out };
  }

  /** The engine's heartbeat fired: when a batch is waiting in the processor, the processor is the one hanging. */
  hangError(): HostError | undefined {
    const b = this.child.inFlight[0];
    // a batch sent a moment ago is not the reason for hours of silence
    if (!b || Date.now() - b.sentAt < this.child.heartbeatMs / 2) return undefined;
    return new ProtocolError(`the processor ${this.child.display} sent no RESULT for ${this.child.batchText(b)} within the heartbeat timeout; it was stopped`, { processor: this.child.display });
  }

  private setFailure(e: HostError): void {
    this.failure ??= e;
    this.poke();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  // -------------------------------------------------------------- input

  private pushBytes(b: Buffer, s: number, e: number): void {
    const last = this.segments[this.segments.length - 1];
    const piece = b.subarray(s, e);
    if (last && last.kind === 'bytes') {
      last.parts.push(piece, NL);
      last.bytes += e - s + 1;
    } else this.segments.push({ kind: 'bytes', parts: [piece, NL], bytes: e - s + 1 });
  }

  private addRecord(stream: string, namespace: string | undefined, key: string, display: string, data: Buffer, ds: number, de: number, emitted: string): void {
    let b = this.open.get(key);
    const n = (this.seen.get(key) ?? 0) + 1;
    this.seen.set(key, n);
    this.out.recordsIn++;
    if (!b) {
      const id = ++this.nextId;
      b = { id, stream, namespace, key, display, records: [], count: 0, ...batchHead(id, stream, namespace), emitted: [], bytes: 0, first: n, sent: false, sentAt: 0, output: undefined, done: false };
      this.open.set(key, b);
      this.segments.push({ kind: 'batch', b });
    }
    appendRecord(b as Building, data, ds, de);
    b.emitted.push(emitted);
    b.bytes += de - ds;
    if (countOf(b) >= BATCH_RECORDS || b.bytes >= BATCH_BYTES) this.close(b);
  }

  private close(b: Batch): void {
    this.open.delete(b.key);
    if (this.child.inFlight.length < MAX_IN_FLIGHT && this.waiting.length === 0) this.sendBatch(b);
    else this.waiting.push(b);
  }

  private closeAll(): void {
    for (const b of [...this.open.values()]) this.close(b);
  }

  private sendBatch(b: Batch): void {
    this.out.batches++;
    this.child.send(b);
  }

  /** Send what waits while the child has room; when it is idle, the open batches too (`eager`). */
  private pump(eager: boolean): void {
    while (this.waiting.length && this.child.inFlight.length < MAX_IN_FLIGHT) this.sendBatch(this.waiting.shift()!);
    if (eager && this.waiting.length === 0 && this.child.inFlight.length < MAX_IN_FLIGHT) {
      for (const b of [...this.open.values()]) {
        if (this.child.inFlight.length >= MAX_IN_FLIGHT) break;
        this.open.delete(b.key);
        this.sendBatch(b);
      }
    }
  }

  private onLine = (buf: Buffer, s: number, e: number): void => {
    if (e === s) return;
    const r = classifyLine(buf, s, e);
    if (r === RECORD) {
      const p = this.o.processed(lastRecord.stream, lastRecord.namespace);
      if (!p) return this.pushBytes(buf, s, e);
      this.addRecord(lastRecord.stream, lastRecord.namespace, p.key, p.display, buf, lastRecord.dataStart, lastRecord.dataEnd, emittedAtOfRecord(buf, s, e, lastRecord.dataStart, lastRecord.dataEnd));
      return;
    }
    if (r === NOT_RECORD) {
      const env = envelopeOf(buf, s, e);
      if (env?.type === 'STATE') this.closeAll();
      else if (env?.type === 'RECORD' && env.record) {
        // a RECORD in a shape the fast path does not take (escaped keys, ...): parsed
        let m: LosslessValue | undefined;
        try {
          m = parseLossless(buf.toString('utf8', s, e));
        } catch {
          m = undefined;
        }
        const rec = isPlainObject(m) ? m['record'] : undefined;
        if (isPlainObject(rec) && typeof rec['stream'] === 'string' && isPlainObject(rec['data'])) {
          const ns = typeof rec['namespace'] === 'string' ? rec['namespace'] : undefined;
          const p = this.o.processed(rec['stream'], ns);
          if (p) {
            const ea = rec['emitted_at'];
            const data = Buffer.from(stringifyLossless(rec['data']));
            this.addRecord(rec['stream'], ns, p.key, p.display, data, 0, data.length, typeof ea === 'number' || (ea !== null && typeof ea === 'object' && !isPlainObject(ea) && !Array.isArray(ea)) ? stringifyLossless(ea) : '0');
            return;
          }
        }
      }
    }
    this.pushBytes(buf, s, e);
  };

  // -------------------------------------------------------------- results

  private onResult(b: Batch, recs: [number, number][], line: Buffer, from: number[] | undefined, errors: { index: number; message: string; where?: string }[]): void {
    b.done = true;
    const bad = new Set<number>();
    for (const er of errors) {
      this.out.errors++;
      const which = er.index < 0 ? `${countOf(b) === 1 ? 'record' : 'records'} ${countOf(b) === 1 ? b.first : `${b.first}-${b.first + countOf(b) - 1}`} (the batch function raised)` : `record ${b.first + er.index}`;
      const text = `${which} of stream ${b.display}: ${this.o.masker.mask(er.message)}${er.where ? ` (${this.o.masker.mask(er.where)})` : ''}`;
      if (this.o.errors === 'fail') {
        this.setFailure(new ProtocolError(`the processor ${this.child.display} failed on ${text}; with --processor-errors skip such records are counted and left out`, { processor: this.child.display, stream: b.display, record: er.index < 0 ? b.first : b.first + er.index }));
        void this.child.stop();
        return;
      }
      if (er.index < 0) for (let k = 0; k < countOf(b); k++) bad.add(k);
      else bad.add(er.index);
      if (this.loggedErrors++ < MAX_LOGGED_ERRORS) this.log.warn({ stream: b.display }, `processor error, record skipped (--processor-errors skip): ${text}`);
      else if (this.loggedErrors === MAX_LOGGED_ERRORS + 1) this.log.warn(`more processor errors; their count is in the summary`);
    }
    this.out.skipped += bad.size;
    // each output record as a RECORD line: the input's stream, namespace and emitted_at, the data as written
    const ns = b.namespace === undefined ? '' : `,"namespace":${JSON.stringify(b.namespace)}`;
    const prefix = Buffer.from(`{"type":"RECORD","record":{"stream":${JSON.stringify(b.stream)}${ns},"emitted_at":`);
    const lastEmitted = b.emitted[b.emitted.length - 1] ?? '0';
    // one buffer for the batch's output: its size first, then the pieces copied in
    let size = 0;
    let eaFor = '';
    let eaBytes = 0;
    for (let k = 0; k < recs.length; k++) {
      const ea = b.emitted[from ? from[k]! : k] ?? lastEmitted;
      if (k === 0 || ea !== eaFor) {
        eaFor = ea;
        eaBytes = Buffer.byteLength(ea);
      }
      size += prefix.length + eaBytes + DATA_KEY.length + (recs[k]![1] - recs[k]![0]) + RECORD_TAIL.length;
    }
    const output = Buffer.allocUnsafe(size);
    let pos = 0;
    for (let k = 0; k < recs.length; k++) {
      const [rs, re] = recs[k]!;
      const ea = b.emitted[from ? from[k]! : k] ?? lastEmitted;
      pos += prefix.copy(output, pos);
      pos += output.write(ea, pos);
      pos += DATA_KEY.copy(output, pos);
      pos += line.copy(output, pos, rs, re);
      pos += RECORD_TAIL.copy(output, pos);
    }
    this.out.recordsOut += recs.length;
    b.output = output;
    b.emitted = [];
    this.pump(true);
    this.poke();
  }

  /** The leading segments that are ready, as one buffer (empty when none is). */
  private ready(): Buffer | undefined {
    const out: Buffer[] = [];
    while (this.segments.length) {
      const seg = this.segments[0]!;
      if (seg.kind === 'bytes') {
        out.push(...seg.parts);
        this.segments.shift();
        continue;
      }
      if (!seg.b.done || !seg.b.output) break;
      out.push(seg.b.output);
      this.segments.shift();
    }
    return out.length ? Buffer.concat(out) : undefined;
  }

  /** Does a batch not yet answered hold up the output? */
  private get blocked(): boolean {
    return this.segments.some((s) => s.kind === 'batch');
  }

  private waitForResult(): Promise<void> {
    return new Promise<void>((r) => {
      this.wake = r;
    });
  }

  /**
   * The connector's stdout with the processor applied. `onError` gets the reason the stage
   * stopped (the iteration then ends without passing on anything after the last good record).
   */
  async *transform(input: AsyncIterable<Buffer | string>, onError: (e: HostError) => void): AsyncGenerator<Buffer> {
    const framer = new LineFramer({
      maxLineBytes: this.o.maxLineBytes,
      overflow: 'error',
      onLine: this.onLine,
      onTooLong: (head, lineNo, bytes) => {
        const m = /"stream"\s*:\s*"([^"\\]{1,200})"/.exec(head.toString('utf8', 0, Math.min(head.length, 4096)));
        this.setFailure(new ProtocolError(`stdout line ${lineNo}${m ? ` (stream ${m[1]})` : ''} is longer than the limit of ${this.o.maxLineBytes} bytes (${bytes}+ bytes); raise --max-line-bytes if the records really are this large. It starts: ${JSON.stringify(this.o.masker.mask(head.toString('utf8', 0, 80)))}`, { stream: m?.[1], line: lineNo }));
      },
    });
    const it = input[Symbol.asyncIterator]();
    const hb = this.child.heartbeatMs;
    const timer = setInterval(() => {
      const h = this.child.hung();
      if (h) this.child.fail(h);
    }, Math.max(50, Math.min(hb / 10, 1000)));
    timer.unref();
    let ended = false;
    let clean = false;
    let next: Promise<IteratorResult<Buffer | string>> | undefined;
    try {
      for (;;) {
        if (this.failure) {
          // what came before the failure (answered batches, the lines between them) still goes on
          const last = this.ready();
          if (last) yield last;
          break;
        }
        const ready = this.ready();
        if (ready) {
          yield ready;
          continue;
        }
        if (ended) {
          if (!this.blocked) {
            clean = true;
            break;
          }
          await this.waitForResult();
          continue;
        }
        // the child is as far behind as it may be: the connector's stdout waits (backpressure)
        if (this.waiting.length > 0) {
          await this.waitForResult();
          continue;
        }
        next ??= it.next();
        const woke = this.waitForResult();
        const r = await Promise.race([next, woke.then(() => undefined)]);
        this.wake = undefined;
        if (r === undefined) continue; // a result came in (or a failure)
        next = undefined;
        if (r.done) {
          ended = true;
          framer.end();
          this.closeAll();
        } else framer.push(typeof r.value === 'string' ? Buffer.from(r.value) : r.value);
        this.pump(true);
      }
      if (clean) {
        await this.child.end();
        if (this.failure) clean = false;
      }
    } finally {
      clearInterval(timer);
      // a read still pending on the connector's stdout (destroyed by the engine after a failure)
      next?.catch(() => {});
      if (!clean) await this.child.stop();
      if (this.failure) onError(this.failure);
    }
  }
}

const RECORD_TAIL = Buffer.from('}}\n');
const DATA_KEY = Buffer.from(',"data":');

/** The summary's line. */
export function describeProcessor(p: ProcessorOutcome): string {
  const batches = `${p.batches} batch${p.batches === 1 ? '' : 'es'}`;
  const skipped = p.mode === 'skip' ? `; ${plural(p.errors, 'error')}, ${plural(p.skipped, 'record')} skipped (--processor-errors skip)` : '';
  return `processor ${p.display}: ${plural(p.recordsIn, 'record')} in, ${plural(p.recordsOut, 'record')} out, ${batches}${skipped}`;
}

/**
 * `host discover --processor`: the catalog as a destination behind the processor sees it, each
 * stream whose shape the processor changes with its output schema (the processor is started to
 * ask it, then stopped). Returns the names changed.
 */
export async function applyToCatalog(catalog: LosslessValue | undefined, o: ProcessorOptions, ctx: ProcessorContext): Promise<string[]> {
  const child = await startProcessor(o, ctx);
  await child.stop();
  const streams = isPlainObject(catalog) && Array.isArray(catalog['streams']) ? catalog['streams'] : [];
  const changed: string[] = [];
  for (const s of streams) {
    if (!isPlainObject(s) || typeof s['name'] !== 'string') continue;
    const display = typeof s['namespace'] === 'string' ? `${s['namespace']}.${s['name']}` : s['name'];
    const schema = schemaFor(child.info, { name: s['name'], display });
    if (schema === undefined) continue;
    s['json_schema'] = schema;
    changed.push(display);
  }
  return changed;
}
