// The Singer-target shim: runs a Singer target and speaks the protocol of a destination,
// so `host run` (or anything that drives Airbyte destinations) can write into any Singer
// target. Used as a library (singerTargetConnector) and by shims/singer-target.mjs.
//
//   node shims/singer-target.mjs --target-json '{"command":"target-x","args":[],"env":{}}' spec|check|write
//        [--config F] [--catalog F]
//
// write: protocol messages on stdin become Singer messages on the target's stdin (a SCHEMA
// before each stream's first RECORD, RECORD with the data bytes as they came, STATE with a
// Singer state value). What the target writes on stdout (a bare state value, or a wrapped
// {"type":"STATE","value":…}, often late and only the last one) is matched against the
// values sent, and acknowledged by echoing the original protocol STATE message, as a
// protocol destination does. A value that was never sent is ignored with a warning.

import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { resolve, basename } from 'node:path';
import type { ConnectorRef } from '../connector/resolve.js';
import { LineFramer } from '../io/line-framer.js';
import { drainAbove, settleBeforeEof, settleMs, STDIN_BACKLOG, MAX_PENDING } from '../io/backpressure.js';
import { WarningLimiter, MAX_WARNINGS } from '../log/limit.js';
import { checkNumber, seconds } from '../cli/numbers.js';
import { HostError } from '../errors.js';
import { classifyLine, lastRecord, RECORD } from '../json/scan.js';
import { parseLossless, stringifyLossless, isPlainObject, type LosslessValue } from '../json/lossless.js';
import { canonical } from '../testing/normalise.js';
import { StateMerger, emptyState } from '../state/state.js';
import { singerStreamId, singerStateValue } from '../output/stdout-sink.js';
import { aboutSpec, parseShimArgv, shimConnector, type TapSpec } from './singer-tap.js';

/** Where the standalone shim lives in the package (dist/shims/ -> shims/). */
export const SINGER_TARGET_SHIM = resolve(import.meta.dirname, '..', '..', 'shims', 'singer-target.mjs');

/** A ConnectorRef that runs `inner` (a Singer target) through the shim, as a protocol destination. */
export function singerTargetConnector(inner: ConnectorRef): ConnectorRef {
  return shimConnector(inner, SINGER_TARGET_SHIM, 'target-json');
}

type Json = any;
const TAIL = 20;

/** A short name for messages: the script a program runs (a venv's python runs bin/target-x), else the program. */
function targetName(t: TapSpec): string {
  const script = (t.args ?? []).find((a) => !a.startsWith('-'));
  return basename(script ?? t.command);
}

function out(obj: Json): void {
  process.stdout.write(stringifyLossless(obj) + '\n');
}

function log(level: string, message: string): void {
  out({ type: 'LOG', log: { level, message } });
}

function traceError(message: string, tail: string[], failureType = 'system_error'): void {
  out({ type: 'TRACE', trace: { type: 'ERROR', emitted_at: Date.now(), error: { message, internal_message: tail.join('\n') || undefined, failure_type: failureType } } });
}

function keepTail(stream: NodeJS.ReadableStream | null | undefined, tail: string[]): void {
  if (!stream) return;
  const framer = new LineFramer({
    maxLineBytes: 64 * 1024,
    overflow: 'truncate',
    onLine: (buf, s, e) => {
      const l = buf.toString('utf8', s, e);
      process.stderr.write(l + '\n');
      tail.push(l);
      if (tail.length > TAIL) tail.shift();
    },
  });
  stream.on('data', (c: Buffer) => framer.push(c));
  stream.on('end', () => framer.end());
}

async function doSpec(target: TapSpec): Promise<number> {
  // either settings form (Meltano list or JSON Schema); an unusable --about is named as such
  const r = await aboutSpec(target, 'target', targetName(target));
  if ('problem' in r) {
    traceError(r.problem, [], 'config_error');
    return 1;
  }
  for (const w of r.warnings) log('WARN', w);
  out({ type: 'SPEC', spec: { connectionSpecification: r.spec, supported_destination_sync_modes: ['append', 'overwrite'] } });
  return 0;
}

/** Singer targets have no check: start the target with the config and no input, and see it exit cleanly. */
async function doCheck(target: TapSpec, config: string, timeoutMs: number): Promise<number> {
  const tail: string[] = [];
  const sub = execa(target.command, [...(target.args ?? []), '--config', config], {
    env: { ...process.env, ...(target.env ?? {}) },
    extendEnv: false,
    input: '',
    stdout: 'ignore',
    stderr: 'pipe',
    buffer: false,
    reject: false,
    timeout: timeoutMs,
    forceKillAfterDelay: 5000,
  });
  keepTail(sub.stderr, tail);
  const r = await sub;
  const how = 'a Singer target has no check command: it was started with the config and an empty input';
  if (r.exitCode === 0) out({ type: 'CONNECTION_STATUS', connectionStatus: { status: 'SUCCEEDED', message: `${how}, and exited cleanly` } });
  else {
    const why = r.timedOut ? `did not exit within ${timeoutMs / 1000} s` : `exited with code ${r.exitCode ?? r.signal}`;
    out({ type: 'CONNECTION_STATUS', connectionStatus: { status: 'FAILED', message: `${how}, and ${why}${tail.length ? `: ${tail.slice(-5).join(' | ')}` : ''}` } });
  }
  return 0;
}

interface StreamInfo {
  prefix: Buffer;
  schemaLine: string;
  sent: boolean;
}

/** Per (namespace, name): the Singer SCHEMA line and the RECORD prefix, from the configured catalog. */
function streamInfos(catalog: Json): Map<string, StreamInfo> {
  const m = new Map<string, StreamInfo>();
  for (const c of (catalog?.streams ?? []) as Json[]) {
    const name = singerStreamId(c.stream.name, c.stream.namespace);
    const keys = ((c.primary_key ?? c.stream.source_defined_primary_key ?? []) as string[][]).map((p) => p[0]);
    const schema: Json = { type: 'SCHEMA', stream: name, schema: c.stream.json_schema ?? {}, key_properties: keys };
    if (c.sync_mode === 'incremental' && c.cursor_field?.length) schema.bookmark_properties = [c.cursor_field[0]];
    m.set(`${c.stream.namespace ?? ''}\u0000${c.stream.name}`, {
      prefix: Buffer.from(`{"type":"RECORD","stream":${JSON.stringify(name)},"record":`),
      schemaLine: stringifyLossless(schema) + '\n',
      sent: false,
    });
  }
  return m;
}

/** A target's stdout line as a state value: wrapped {"type":"STATE","value"} or bare. */
export function targetStateValue(text: string): LosslessValue | undefined {
  let v: LosslessValue;
  try {
    v = parseLossless(text);
  } catch {
    return undefined;
  }
  if (!isPlainObject(v)) return undefined;
  if (typeof v['type'] === 'string' && v['type'].toUpperCase() === 'STATE' && 'value' in v) return v['value'] as LosslessValue;
  return v;
}

async function doWrite(target: TapSpec, configFile: string, catalogFile: string): Promise<number> {
  const catalog = JSON.parse(readFileSync(catalogFile, 'utf8'));
  const streams = streamInfos(catalog);
  const tail: string[] = [];
  const child = execa(target.command, [...(target.args ?? []), '--config', configFile], {
    env: { ...process.env, ...(target.env ?? {}) },
    extendEnv: false,
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    reject: false,
    encoding: 'buffer',
  });
  keepTail(child.stderr, tail);
  const tin = child.stdin!;
  const startedAt = Date.now();
  let targetGone = false;
  // before the shim sends EOF, the target's stdin closing (at its exit) or a failed write means
  // it left before the end of its input
  let endedByUs = false;
  let leftEarly = false;
  const gone = (): void => {
    targetGone = true;
    if (!endedByUs) leftEarly = true;
  };
  tin.on('error', gone);
  tin.on('close', gone);
  const noise = new WarningLimiter((m) => log('WARN', m), { more: 'more target stdout lines were not states; only their count is logged at the end' });
  let allAcked: (() => void) | undefined;

  // States sent to the target, oldest first: the value's canonical text and the protocol message.
  const pending: { key: string; msg: Json }[] = [];
  const merger = new StateMerger(emptyState());
  let acked = 0;

  // The target's stdout: state values to acknowledge.
  const ackFramer = new LineFramer({
    maxLineBytes: 64 * 1024 * 1024,
    overflow: 'truncate',
    onLine: (buf, s, e, lineNo) => {
      if (e === s) return;
      const text = buf.toString('utf8', s, e);
      const value = targetStateValue(text);
      if (value === undefined) {
        noise.warn(() => `target stdout line ${lineNo} is not a state, ignored: ${JSON.stringify(text.slice(0, 120))}`);
        return;
      }
      if (isPlainObject(value) && Object.keys(value).length === 0) return; // an empty state acknowledges nothing
      const key = canonical(value);
      const i = pending.findIndex((p) => p.key === key);
      if (i < 0) {
        noise.warn(() => `the target wrote a state that was never sent to it (stdout line ${lineNo}); ignored: ${JSON.stringify(text.slice(0, 120))}`);
        return;
      }
      out(pending[i]!.msg);
      acked++;
      pending.splice(0, i + 1);
      if (pending.length === 0) allAcked?.();
    },
  });
  const targetOut = new Promise<void>((res) => {
    child.stdout!.on('data', (c: Buffer) => ackFramer.push(c));
    child.stdout!.on('end', () => {
      ackFramer.end();
      res();
    });
    child.stdout!.on('error', () => res());
  });

  // Our stdin: protocol messages from the host.
  const BATCH = 256 * 1024;
  let buf = Buffer.allocUnsafe(BATCH);
  let pos = 0;
  const put = (bytes: Uint8Array, s: number, e: number, prefix?: Buffer, suffix?: boolean): void => {
    const n = e - s + (prefix?.length ?? 0) + 2;
    if (pos + n > buf.length) {
      flush();
      if (n > buf.length) buf = Buffer.allocUnsafe(n);
    }
    if (prefix) {
      prefix.copy(buf, pos);
      pos += prefix.length;
    }
    buf.set(bytes.subarray(s, e), pos);
    pos += e - s;
    if (suffix) buf[pos++] = 0x7d; // }
    buf[pos++] = 0x0a;
  };
  const putText = (t: string): void => {
    const b = Buffer.from(t);
    put(b, 0, b.length);
  };
  let writable = true;
  const flush = (): void => {
    if (pos === 0 || targetGone) {
      pos = 0;
      return;
    }
    writable = tin.write(Buffer.from(buf.subarray(0, pos))) && writable;
    pos = 0;
  };

  const onLine = (line: Buffer, s: number, e: number, lineNo: number): void => {
    if (e === s) return;
    if (classifyLine(line, s, e) === RECORD) {
      const info = streams.get(`${lastRecord.namespace ?? ''}\u0000${lastRecord.stream}`);
      if (!info) {
        log('WARN', `stdin line ${lineNo}: a RECORD for stream ${lastRecord.stream}, which is not in the configured catalog; ignored`);
        return;
      }
      if (!info.sent) {
        putText(info.schemaLine.slice(0, -1));
        info.sent = true;
      }
      put(line, lastRecord.dataStart, lastRecord.dataEnd, info.prefix, true);
      return;
    }
    let msg: Json;
    try {
      msg = parseLossless(line.toString('utf8', s, e));
    } catch {
      log('WARN', `stdin line ${lineNo} is not JSON, ignored`);
      return;
    }
    if (!isPlainObject(msg)) return;
    if (msg['type'] === 'STATE' && isPlainObject(msg['state'])) {
      if (!merger.apply(msg['state'] as Json)) return;
      const value = singerStateValue(merger.snapshot());
      pending.push({ key: canonical(value), msg });
      if (pending.length > MAX_PENDING) pending.splice(0, pending.length - MAX_PENDING / 2); // bounded, as in host run
      putText(stringifyLossless({ type: 'STATE', value }));
    }
    // TRACE (stream status), LOG and the rest have no Singer counterpart for a target
  };
  const framer = new LineFramer({ maxLineBytes: 1024 * 1024 * 1024, overflow: 'error', onLine });

  // SIGTERM (the host stopping the run): let the target have it too, and keep relaying its
  // state until it exits (Singer SDK targets flush and write their state on SIGTERM).
  let terminated = false;
  process.on('SIGTERM', () => {
    terminated = true;
    process.stdin.destroy();
    try {
      child.kill('SIGTERM');
    } catch {
      /* gone */
    }
  });
  process.on('SIGINT', () => {});

  // a target that exits (or dies) ends the input side too
  void child.then(() => {
    targetGone = true;
    process.stdin.destroy();
  });
  try {
    for await (const chunk of process.stdin) {
      if (targetGone || terminated) break;
      framer.push(chunk as Buffer);
      flush();
      if (!writable && !targetGone) {
        await drainAbove(tin, STDIN_BACKLOG, child);
        writable = true;
      }
    }
  } catch {
    /* stdin destroyed: the target exited or we were stopped */
  }
  if (!targetGone && !terminated) {
    framer.end();
    flush();
    // a target that stops without waiting for EOF is seen to exit before it (as in host run)
    if (pending.length || acked === 0) await settleBeforeEof(tin, Promise.race([child, new Promise<void>((r) => (allAcked = r))]), settleMs(startedAt));
  }
  const early = leftEarly && !terminated;
  endedByUs = true;
  tin.end();
  const r = await child;
  await targetOut;
  if (noise.count > MAX_WARNINGS) log('WARN', `${noise.count} lines of the target's stdout were not states, ignored`);
  if (r.exitCode === 0 && early) {
    traceError(`the Singer target ${targetName(target)} exited with code 0 before the end of its input${tail.length ? `: ${tail[tail.length - 1]}` : ''}`, tail);
    return 1;
  }
  if (r.exitCode !== 0) {
    const how = r.exitCode !== undefined ? `exited with code ${r.exitCode}` : `was killed by ${r.signal}`;
    traceError(`the Singer target ${targetName(target)} ${how}${tail.length ? `: ${tail[tail.length - 1]}` : ''}`, tail);
    return r.exitCode ?? 1;
  }
  if (pending.length && acked === 0) log('INFO', `the target wrote no state for the ${pending.length} it was sent`);
  return 0;
}

function usage(msg: string): number {
  process.stderr.write(`singer-target shim: ${msg}\nusage: singer-target.mjs --target-json '{"command":…,"args":[…],"env":{…}}' spec|check|write [--config F] [--catalog F]\n`);
  return 2;
}

/** The standalone shim: parse argv (without node and script), answer one protocol command, return the exit code. */
export async function runSingerTargetShim(argv: string[]): Promise<number> {
  const parsed = parseShimArgv(argv, 'target-json');
  if (typeof parsed === 'string') return usage(parsed);
  const { program: target, command, flags } = parsed;
  switch (command) {
    case 'spec':
      return doSpec(target);
    case 'check':
      if (!flags['config']) return usage('check needs --config');
      try {
        return await doCheck(target, flags['config'], checkNumber('check-timeout', flags['check-timeout'] ?? 60, seconds()) * 1000);
      } catch (e) {
        if (e instanceof HostError) return usage(e.message);
        throw e;
      }
    case 'write':
      if (!flags['config'] || !flags['catalog']) return usage('write needs --config and --catalog');
      return doWrite(target, flags['config'], flags['catalog']);
    default:
      return usage(`unknown command ${command ?? '(none)'}`);
  }
}
