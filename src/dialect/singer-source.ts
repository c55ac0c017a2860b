// The Singer tap dialect: a tap's stdout (SCHEMA, RECORD, STATE, ACTIVATE_VERSION, BATCH) read
// line by line and handed to an emitter, once, for both ways a tap runs:
//   - in the host (src/dialect/singer-engine.ts): the read engine frames the tap's stdout and
//     this reader gives each record to the sink in place, the tap's line as written;
//   - in the standalone shim (src/shims/singer-tap.ts): the same calls become Airbyte protocol
//     lines on stdout, for other platforms.
// Routing (tap_stream_id, stream, table_name), table versions, BATCH files and noise live here.

import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import { parseLossless, stringifyLossless, isPlainObject, type LosslessValue } from '../json/lossless.js';
import { skipWs, skipString, skipValue, isKey, hasBackslash } from '../json/scan.js';
import { LineFramer } from '../io/line-framer.js';
import { lookalike, typeText } from '../run/message-shape.js';

type Json = any;

export interface StreamTarget {
  name: string;
  namespace?: string;
}

export function displayTarget(t: StreamTarget): string {
  return t.namespace ? `${t.namespace}.${t.name}` : t.name;
}

/**
 * Something the tap's output makes impossible to go on with: `system_error` and `config_error`
 * are the tap's failure (the user may fix a config error); `violation` is lost data (a record that
 * cannot be stored), reported as the host reports a protocol connector's.
 */
export class SingerTapError extends Error {
  constructor(
    message: string,
    readonly failureType: 'system_error' | 'config_error' | 'violation' = 'system_error',
  ) {
    super(message);
  }
}

/**
 * Which selected stream a Singer message's `stream` names. A tap_stream_id names its stream
 * exactly and wins; `stream` and `table_name` are aliases, and an alias that two selected
 * streams share cannot route a message: that is an error, never a guess.
 */
export class StreamRoutes {
  private readonly exact = new Map<string, StreamTarget>();
  private readonly aliases = new Map<string, StreamTarget[]>();
  private count = 0;

  add(entry: Json, t: StreamTarget): void {
    this.count++;
    const id = entry.tap_stream_id;
    if (id !== undefined && id !== null && !this.exact.has(String(id))) this.exact.set(String(id), t);
    for (const k of [entry.stream, entry.table_name]) {
      if (k === undefined || k === null) continue;
      const list = this.aliases.get(String(k)) ?? [];
      if (!list.includes(t)) list.push(t);
      this.aliases.set(String(k), list);
    }
  }

  /** The number of selected streams. */
  get size(): number {
    return this.count;
  }

  /** The target of a message about `stream` (a stream not in the catalog keeps its name). */
  resolve(stream: string, type: string): StreamTarget {
    const t = this.exact.get(stream);
    if (t) return t;
    const list = this.aliases.get(stream);
    if (!list) return { name: stream };
    if (list.length === 1) return list[0]!;
    throw new SingerTapError(
      `the tap sent a ${type} for stream ${JSON.stringify(stream)}, a name that ${list.length} selected streams share (${list.map(displayTarget).join(', ')}): it cannot be routed; select only one of them`,
      'config_error',
    );
  }

  /** The same without the error: undefined when the name is ambiguous. */
  lookup(stream: string): StreamTarget | undefined {
    try {
      return this.resolve(stream, 'message');
    } catch {
      return undefined;
    }
  }
}

/**
 * Where the reader's output goes. Called synchronously, in the order of the tap's lines; the
 * buffers are only valid during the call.
 */
export interface SingerEmitter {
  /**
   * A record of `t`: its data is data[ds, de). `line[ls, le)` is the tap's RECORD line when it is
   * a plain one whose "stream" is `t.name`; undefined when there is none as written (a BATCH
   * file's record, a routed alias, a line the reader had to parse).
   */
  record(t: StreamTarget, data: Buffer, ds: number, de: number, line: Buffer | undefined, ls: number, le: number): void;
  /** A STATE: its value as the tap wrote it (`raw`) and parsed; the tap's line at line[ls, le). */
  state(raw: string, value: LosslessValue, line: Buffer, ls: number, le: number): void;
  /** A table version begins (STARTED) or takes effect (COMPLETE). */
  streamStatus(t: StreamTarget, status: 'STARTED' | 'COMPLETE', version: string): void;
  /** The tap's other messages, as written, after the reader handled them (BATCH: its records were given first). */
  other?(kind: 'SCHEMA' | 'ACTIVATE_VERSION' | 'BATCH', line: Buffer, ls: number, le: number, t: StreamTarget | undefined): void;
  log(level: 'WARN' | 'DEBUG', message: string): void;
}

/** A Singer RECORD line for `t` with data in it: `{"type":"RECORD","stream":NAME,"record":DATA}`; data at [ds, de). */
export function singerRecordLine(t: StreamTarget, data: Uint8Array, ds: number, de: number): { line: Buffer; ds: number; de: number } {
  const head = Buffer.from(`{"type":"RECORD","stream":${JSON.stringify(t.name)},"record":`);
  const line = Buffer.allocUnsafe(head.length + (de - ds) + 1);
  head.copy(line, 0);
  line.set(data.subarray(ds, de), head.length);
  line[line.length - 1] = 0x7d;
  return { line, ds: head.length, de: head.length + (de - ds) };
}

// ---------------------------------------------------------------- table versions

/**
 * Singer table versions → stream statuses carrying `activate_version` (a host extension):
 * STARTED when a version begins — its first ACTIVATE_VERSION, or its first RECORD when none was
 * seen yet (pipelinewise taps send ACTIVATE_VERSION only at the end after their first run) —
 * and COMPLETE on the ACTIVATE_VERSION that closes it. The writer puts the records from STARTED
 * on in a replacement for the stream's data, swapped in at COMPLETE. A tap that sends
 * ACTIVATE_VERSION only before the records (opening, never closing) and exits 0 gets its COMPLETE
 * at the end: in Singer the opening message already means "this version replaces the data".
 */
class VersionTracker {
  // per stream (namespace, name): the current version, whether it was closed, whether an ACTIVATE_VERSION opened it
  private readonly current = new Map<string, { t: StreamTarget; version: string; complete: boolean; opened: boolean }>();

  constructor(private readonly out: SingerEmitter) {}

  private key(t: StreamTarget): string {
    return `${t.namespace ?? ''}\u0000${t.name}`;
  }

  private start(t: StreamTarget, version: string, opened: boolean): void {
    this.current.set(this.key(t), { t, version, complete: false, opened });
    this.out.streamStatus(t, 'STARTED', version);
  }

  /** A RECORD of this version needs no status. */
  isCurrent(t: StreamTarget, version: string): boolean {
    return this.current.get(this.key(t))?.version === version;
  }

  record(t: StreamTarget, version: string): void {
    const c = this.current.get(this.key(t));
    if (!c || c.version !== version) this.start(t, version, false);
  }

  activate(t: StreamTarget, version: string): void {
    const c = this.current.get(this.key(t));
    if (!c || c.version !== version) return this.start(t, version, true);
    if (c.complete) return;
    c.complete = true;
    this.out.streamStatus(t, 'COMPLETE', version);
  }

  /** The tap exited 0: close the versions an ACTIVATE_VERSION opened and none closed. */
  finish(): void {
    for (const c of this.current.values()) if (c.opened && !c.complete) this.activate(c.t, c.version);
  }
}

/** Lines on the tap's stdout that are not Singer messages (print() debugging): warned about, capped. */
const SINGER_TYPES = new Set(['SCHEMA', 'RECORD', 'STATE', 'ACTIVATE_VERSION', 'BATCH']);
// where a Singer RECORD and STATE carry their payload
const SINGER_PAYLOAD = { record: 'record', state: 'value' };

class NoiseReporter {
  private static readonly MAX = 20;
  private count = 0;

  constructor(private readonly out: SingerEmitter) {}

  report(lineNo: number, line: string, what: string): void {
    this.count++;
    if (this.count > NoiseReporter.MAX) return;
    const more = this.count === NoiseReporter.MAX ? ' (further such lines are only counted)' : '';
    this.out.log('WARN', `the Singer tap's stdout line ${lineNo} ${what}; ignored${more}: ${JSON.stringify(line.slice(0, 120))}`);
  }

  summary(): void {
    if (this.count > NoiseReporter.MAX) this.out.log('WARN', `the Singer tap printed ${this.count} lines on stdout that are not Singer messages (ignored)`);
  }
}

// ---------------------------------------------------------------- scanning a RECORD line

/** Where scanRecord found the parts of a RECORD line: [start, end) byte offsets. */
const scanned = { streamStart: 0, streamEnd: 0, recordStart: 0, recordEnd: 0, versionStart: -1, versionEnd: -1 };

/**
 * The end (one past the closing brace) of the object at b[i], found by counting brackets
 * outside strings, without checking what is inside; -1 when it does not close before `end`.
 */
function skipObjectLoose(b: Uint8Array, i: number, end: number): number {
  let depth = 0;
  for (; i < end; i++) {
    const c = b[i];
    if (c === 0x22) {
      for (i++; i < end; i++) {
        const d = b[i];
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
      if (i >= end) return -1;
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      if (--depth === 0) return i + 1;
    }
  }
  return -1;
}

/**
 * One pass over the top-level keys of a line: true for a plain Singer RECORD — `"type":"RECORD"`
 * (upper case), a string `stream`, an object `record`, each key once and none escaped, valid JSON
 * around them — its parts in `scanned` (`version` too, when present and not null). Anything else
 * (another type, odd spellings, bad JSON) is false and takes the full parse. `strict`: the record
 * object's grammar is checked too (in the host, where nothing checks it later); else it is only
 * delimited (the shim: the host it feeds checks the data bytes).
 */
function scanRecord(b: Buffer, start: number, end: number, strict: boolean): boolean {
  let i = skipWs(b, start, end);
  if (b[i] !== 0x7b) return false;
  i = skipWs(b, i + 1, end);
  let type = false;
  let stream = false;
  let record = false;
  let version = false;
  scanned.versionStart = -1;
  for (;;) {
    if (b[i] !== 0x22) return false;
    const ke = skipString(b, i, end);
    if (ke < 0) return false;
    const ks = i + 1;
    i = skipWs(b, ke, end);
    if (b[i] !== 0x3a) return false;
    const vs = skipWs(b, i + 1, end);
    i = !strict && b[vs] === 0x7b && isKey(b, ks, ke - 1, 'record') ? skipObjectLoose(b, vs, end) : skipValue(b, vs, end);
    if (i < 0) return false;
    if (isKey(b, ks, ke - 1, 'type')) {
      if (type || !isKey(b, vs, i, '"RECORD"')) return false;
      type = true;
    } else if (isKey(b, ks, ke - 1, 'stream')) {
      if (stream || b[vs] !== 0x22) return false;
      stream = true;
      scanned.streamStart = vs;
      scanned.streamEnd = i;
    } else if (isKey(b, ks, ke - 1, 'record')) {
      if (record || b[vs] !== 0x7b) return false;
      record = true;
      scanned.recordStart = vs;
      scanned.recordEnd = i;
    } else if (isKey(b, ks, ke - 1, 'version')) {
      if (version) return false;
      version = true;
      if (b[vs] !== 0x6e) {
        scanned.versionStart = vs;
        scanned.versionEnd = i;
      }
    } else if (hasBackslash(b, ks, ke - 1)) return false; // could be an escaped "type"
    i = skipWs(b, i, end);
    if (b[i] === 0x2c) {
      i = skipWs(b, i + 1, end);
      continue;
    }
    if (b[i] !== 0x7d) return false;
    return type && stream && record && skipWs(b, i + 1, end) === end;
  }
}

/** The [start, end) of a top-level key's value in the JSON object line b[start, end), or undefined. */
function rawFieldRange(b: Buffer, start: number, end: number, key: string): [number, number] | undefined {
  let i = skipWs(b, start, end);
  if (b[i] !== 0x7b) return undefined;
  i = skipWs(b, i + 1, end);
  if (b[i] === 0x7d) return undefined;
  for (;;) {
    if (b[i] !== 0x22) return undefined;
    const ke = skipString(b, i, end);
    if (ke < 0) return undefined;
    const k = JSON.parse(b.toString('utf8', i, ke)) as string;
    i = skipWs(b, ke, end);
    if (b[i] !== 0x3a) return undefined;
    i = skipWs(b, i + 1, end);
    const vs = i;
    i = skipValue(b, i, end);
    if (i < 0) return undefined;
    if (k === key) return [vs, i];
    i = skipWs(b, i, end);
    if (b[i] !== 0x2c) return undefined;
    i = skipWs(b, i + 1, end);
  }
}

/** The exact bytes of a top-level key's value in a JSON object line, or undefined. */
export function rawField(line: string, key: string): string | undefined {
  const b = Buffer.from(line, 'utf8');
  const r = rawFieldRange(b, 0, b.length, key);
  return r && b.toString('utf8', r[0], r[1]);
}

// ---------------------------------------------------------------- the reader

interface FastStream {
  /** The `stream` value's bytes as the tap wrote them, quotes included. */
  raw: Buffer;
  target: StreamTarget;
  /** The tap's name is the target's: its line can be handed on as written. */
  named: boolean;
}

export interface SingerReaderOptions {
  /** Stop at the first RECORD or BATCH (`stop` becomes true), emitting nothing: the check. */
  probe?: boolean | undefined;
  /** Check each record's JSON grammar (see scanRecord). */
  strict?: boolean | undefined;
  /** Backpressure while a BATCH file is streamed, every few thousand records. */
  drain?: (() => Promise<void> | void) | undefined;
}

/** One sync's worth of a tap's stdout: feed `line` each line, await `settle()` after each chunk, `finish()` at the end. */
export class SingerTapReader {
  /** A SCHEMA, RECORD or BATCH came. */
  sawData = false;
  /** The stream of the first RECORD or BATCH. */
  firstStream: string | undefined;
  /** Probe: the first data came; the caller stops the tap and reads no more. */
  stop = false;
  private readonly versions: VersionTracker;
  private readonly noise: NoiseReporter;
  private readonly byName = new Map<string, FastStream>();
  private last: FastStream | undefined;
  private readonly strict: boolean;
  /** A BATCH file being streamed, and the lines that came after it meanwhile (buffer, line number). */
  private busy: Promise<void> | undefined;
  private backlog: (Buffer | number)[] | undefined;

  constructor(
    private readonly routes: StreamRoutes,
    private readonly out: SingerEmitter,
    private readonly opts: SingerReaderOptions = {},
  ) {
    this.versions = new VersionTracker(out);
    this.noise = new NoiseReporter(out);
    this.strict = opts.strict === true;
  }

  /** One line of the tap's stdout, buf[s, e). Throws SingerTapError. */
  line = (buf: Buffer, s: number, e: number, lineNo: number): void => {
    if (this.stop) return;
    if (this.backlog) {
      this.backlog.push(Buffer.from(buf.subarray(s, e)), lineNo);
      return;
    }
    if (!this.opts.probe && this.fastRecord(buf, s, e)) return;
    this.slowLine(buf, s, e, lineNo);
  };

  /** Wait for a BATCH file the lines started, then handle the lines that came after it. */
  async settle(): Promise<void> {
    while (this.busy) {
      try {
        await this.busy;
      } finally {
        this.busy = undefined;
      }
      const q = this.backlog!;
      this.backlog = undefined;
      // a later BATCH in q starts a new backlog: the rest of q goes into it, in order
      for (let i = 0; i < q.length; i += 2) this.line(q[i] as Buffer, 0, (q[i] as Buffer).length, q[i + 1] as number);
    }
  }

  /** The tap has exited (`ok`: with 0 and nothing failed): close the versions left open, count the noise. */
  finish(ok: boolean): void {
    if (ok && !this.opts.probe) this.versions.finish();
    this.noise.summary();
  }

  /** A plain RECORD line of a stream at its current version: to the emitter as written. */
  private fastRecord(b: Buffer, start: number, end: number): boolean {
    if (!scanRecord(b, start, end, this.strict)) return false;
    const s = this.stream(b, scanned.streamStart, scanned.streamEnd);
    if (!s) return false;
    if (scanned.versionStart >= 0 && !this.versions.isCurrent(s.target, b.toString('utf8', scanned.versionStart, scanned.versionEnd))) return false;
    this.sawData = true;
    this.out.record(s.target, b, scanned.recordStart, scanned.recordEnd, s.named ? b : undefined, start, end);
    return true;
  }

  private stream(b: Buffer, start: number, end: number): FastStream | undefined {
    const last = this.last;
    if (last && last.raw.length === end - start && b.compare(last.raw, 0, last.raw.length, start, end) === 0) return last;
    const escaped = hasBackslash(b, start + 1, end - 1);
    const name = escaped ? (JSON.parse(b.toString('utf8', start, end)) as string) : b.toString('utf8', start + 1, end - 1);
    let s = this.byName.get(name);
    if (!s) {
      let target: StreamTarget;
      try {
        target = this.routes.resolve(name, 'RECORD');
      } catch {
        return undefined; // ambiguous: the slow path reports it
      }
      s = { raw: Buffer.from(b.subarray(start, end)), target, named: !escaped && name === target.name };
      this.byName.set(name, s);
    }
    if (s.raw.length === end - start && b.compare(s.raw, 0, s.raw.length, start, end) === 0) this.last = s;
    return s;
  }

  /** The first RECORD or BATCH: true when a probe stops here. */
  private firstData(stream: string): boolean {
    this.sawData = true;
    this.firstStream ??= stream;
    if (!this.opts.probe) return false;
    this.stop = true;
    return true;
  }

  /** Every line that is not a plain RECORD: a full parse. */
  private slowLine(buf: Buffer, s: number, e: number, lineNo: number): void {
    const line = buf.toString('utf8', s, e);
    if (!line.trim()) return;
    let msg: Json;
    try {
      msg = parseLossless(line);
    } catch {
      return this.noise.report(lineNo, line, 'is not JSON');
    }
    // a RECORD or STATE in all but its type is lost data: stop before a later STATE is passed on
    const kind = isPlainObject(msg) && !SINGER_TYPES.has(String(msg.type ?? '').toUpperCase()) ? lookalike(msg.type, msg, SINGER_PAYLOAD) : undefined;
    if (kind) throw new SingerTapError(`the tap's stdout line ${lineNo} is a ${kind} in all but its type (${typeText(msg.type)}), so the sync stops before a later STATE is passed on: ${JSON.stringify(line.slice(0, 80))}`);
    if (!isPlainObject(msg) || typeof msg.type !== 'string') {
      return this.noise.report(lineNo, line, `is JSON but not a Singer message (${isPlainObject(msg) ? 'an object without "type"' : 'not an object'})`);
    }
    const type = String(msg.type ?? '').toUpperCase();
    if (type === 'SCHEMA') {
      this.sawData = true;
      this.out.other?.('SCHEMA', buf, s, e, this.routes.lookup(String(msg.stream)));
    } else if (type === 'RECORD') {
      if (this.firstData(String(msg.stream))) return;
      const t = this.routes.resolve(String(msg.stream), type);
      if (msg.version !== undefined && msg.version !== null) this.versions.record(t, stringifyLossless(msg.version));
      if (this.strict && !isPlainObject(msg.record)) throw new SingerTapError(`the tap's stdout line ${lineNo} is a RECORD whose "record" is ${msg.record === undefined ? 'missing' : 'not an object'}: the record cannot be stored`, 'violation');
      const r = rawFieldRange(buf, s, e, 'record');
      if (r) this.out.record(t, buf, r[0], r[1], undefined, s, e);
      else {
        const data = Buffer.from(stringifyLossless(msg.record as LosslessValue));
        this.out.record(t, data, 0, data.length, undefined, 0, 0);
      }
    } else if (type === 'STATE') {
      if (this.opts.probe) return;
      const r = rawFieldRange(buf, s, e, 'value');
      this.out.state(r ? buf.toString('utf8', r[0], r[1]) : stringifyLossless(msg.value as LosslessValue), msg.value as LosslessValue, buf, s, e);
    } else if (type === 'BATCH') {
      if (this.firstData(String(msg.stream))) return;
      const enc = (msg.encoding ?? {}) as Json;
      if (enc.format && String(enc.format) !== 'jsonl') throw new SingerTapError(`BATCH encoding format ${enc.format} is not supported (only jsonl)`, 'config_error');
      const urls = ((msg.manifest ?? []) as LosslessValue[]).map(String);
      const bad = urls.find((u) => !u.startsWith('file://'));
      if (bad !== undefined) throw new SingerTapError(`BATCH file ${bad}: only file:// URLs are supported`, 'config_error');
      const t = this.routes.resolve(String(msg.stream), type);
      const copy = Buffer.from(buf.subarray(s, e));
      this.backlog = [];
      this.busy = (async () => {
        for (const url of urls) await this.batchFile(url, String(enc.compression ?? '') === 'gzip', t);
        this.out.other?.('BATCH', copy, 0, copy.length, t);
      })();
    } else if (type === 'ACTIVATE_VERSION') {
      if (this.opts.probe || msg.version === undefined || msg.version === null) return;
      const t = this.routes.resolve(String(msg.stream), type);
      this.versions.activate(t, stringifyLossless(msg.version));
      this.out.other?.('ACTIVATE_VERSION', buf, s, e, t);
    } else {
      this.out.log('DEBUG', `tap message of type ${type || '(none)'} ignored`);
    }
  }

  /** A BATCH file's JSON lines, each a record of `t`. */
  private async batchFile(url: string, gzip: boolean, t: StreamTarget): Promise<void> {
    const path = fileURLToPath(url);
    let input: NodeJS.ReadableStream = createReadStream(path);
    if (gzip || path.endsWith('.gz')) input = input.pipe(createGunzip());
    let n = 0;
    for await (const l of createInterface({ input, crlfDelay: Infinity })) {
      const text = l.trim();
      if (!text) continue;
      const b = Buffer.from(text);
      n++;
      if (this.strict && (b[0] !== 0x7b || skipValue(b, 0, b.length) !== b.length)) throw new SingerTapError(`BATCH file ${path} line ${n}: not a JSON object, so the record cannot be stored`, 'violation');
      this.out.record(t, b, 0, b.length, undefined, 0, 0);
      if (n % 4096 === 0) await this.opts.drain?.();
    }
  }
}

// ---------------------------------------------------------------- a sync outside the engine

/** A running tap: the shim's own child, or the host's (check's test sync). */
export interface TapProcess {
  stdout: Readable;
  /** Stop it (SIGTERM, SIGKILL after a grace). */
  kill(): void;
  exit: Promise<TapExit>;
  /** The last lines of its stderr. */
  tail(): string[];
}

export interface TapExit {
  exitCode: number | undefined;
  failed: boolean;
  /** Why it failed: "exited with code 1", "was killed by SIGTERM", ... */
  error?: string | undefined;
}

export interface SyncOutcome {
  exitCode: number | undefined;
  tail: string[];
  sawData: boolean;
  error?: string;
  failureType?: 'system_error' | 'config_error' | 'violation';
  stoppedEarly?: boolean;
  firstStream?: string | undefined;
}

/** A longer stdout line from the tap fails the sync (Meltano's default limit is 50 MiB). */
export const MAX_LINE_BYTES = 256 * 1024 * 1024;

/**
 * Read a started tap's stdout through `reader` to its end (or a probe's first record, or
 * `timeoutMs`), awaiting `flush` after each chunk (where a slow output applies backpressure).
 */
export async function runSingerSync(sub: TapProcess, reader: SingerTapReader, opts: { timeoutMs?: number | undefined; probe?: boolean | undefined; flush?: (() => Promise<void> | void) | undefined } = {}): Promise<SyncOutcome> {
  const out: SyncOutcome = { exitCode: undefined, tail: [], sawData: false };
  let timer: NodeJS.Timeout | undefined;
  if (opts.timeoutMs) {
    timer = setTimeout(() => {
      out.stoppedEarly = false;
      out.error = `no RECORD within ${opts.timeoutMs! / 1000}s`;
      sub.kill();
    }, opts.timeoutMs);
  }
  let tooLong: { lineNo: number } | undefined;
  const framer = new LineFramer({ maxLineBytes: MAX_LINE_BYTES, overflow: 'error', onLine: reader.line, onTooLong: (_h, lineNo) => void (tooLong ??= { lineNo }) });
  const check = (): void => {
    if (tooLong) throw new SingerTapError(`the tap's stdout line ${tooLong.lineNo} is longer than ${MAX_LINE_BYTES / 1024 / 1024} MiB`);
  };
  try {
    let stopped = false;
    for await (const chunk of sub.stdout) {
      framer.push(chunk as Buffer);
      await reader.settle();
      check();
      await opts.flush?.();
      if (reader.stop) {
        stopped = true;
        out.stoppedEarly = true;
        sub.kill();
        break;
      }
    }
    if (!stopped) {
      framer.end();
      await reader.settle();
      check();
      if (reader.stop) out.stoppedEarly = true;
    }
  } catch (e) {
    out.error = (e as Error).message;
    out.failureType = e instanceof SingerTapError ? e.failureType : 'system_error';
    sub.kill();
  }
  await opts.flush?.();
  const r = await sub.exit;
  if (timer) clearTimeout(timer);
  reader.finish(r.exitCode === 0 && !out.error);
  await opts.flush?.();
  out.exitCode = r.exitCode;
  out.tail = sub.tail();
  out.sawData = reader.sawData;
  out.firstStream = reader.firstStream;
  if (!out.error && r.failed && !out.stoppedEarly) out.error = r.exitCode !== undefined ? `the Singer tap exited with code ${r.exitCode}` : `the Singer tap ${r.error}`;
  return out;
}
