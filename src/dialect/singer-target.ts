// A Singer target as a dialect of `host run`'s destination sink (src/run/destination-sink.ts):
// the host writes the target's stdin and reads its stdout itself, no shim process between.
//
// - from a protocol source: a SCHEMA (from the configured catalog: key_properties, and the
//   cursor as bookmark_properties) before each stream's first RECORD, RECORD with the data bytes
//   as they came, STATE with one Singer state value (the run's states merged);
// - from a Singer tap (sourceDialect 'singer'): its RECORD, SCHEMA and ACTIVATE_VERSION lines as
//   it wrote them, its STATE lines too (BATCH is not forwarded: the engine hands the batch
//   file's records over as RECORD lines);
// - what the target writes on stdout (a bare state value, or a wrapped {"type":"STATE","value":…},
//   often late and only the last one) is matched against the values sent; a match acknowledges
//   that state and every one before it. A value never sent is ignored with a warning, an empty
//   one acknowledges nothing, other lines are noise (counted, the first logged).
//
// Also here: spec (from `--about --format json`, cached per target, a "no --about" answer too)
// and check (start the target with the config and an empty input) in-process. The standalone
// shim (src/shims/singer-target.ts) runs the same code.

import type { BatchWriter } from '../run/batch-writer.js';
import type { DestinationDialect, AckHandler, PassthroughKind } from '../run/destination-sink.js';
import type { RunStream, StateMessage, ConfiguredStreamLike } from '../run/streams.js';
import type { ConnectorRef } from '../connector/resolve.js';
import type { Logger } from '../log/logger.js';
import { basename } from 'node:path';
import { MAX_WARNINGS } from '../log/limit.js';
import { parseLossless, stringifyLossless, isPlainObject, type LosslessValue } from '../json/lossless.js';
import { canonical } from '../testing/normalise.js';
import { StateMerger, emptyState } from '../state/state.js';
import { singerStreamId, singerStateValue } from '../output/stdout-sink.js';
import { Masker } from '../secrets/mask.js';
import { spawnConnector, assertStarted } from '../connector/process.js';
import { ConnectorError } from '../errors.js';

/** What a Singer target is told about replacing data: nothing (Singer has no sync modes), so it decides. */
export const SINGER_TARGET_MODE = 'append (target decides)';

/** The Singer SCHEMA message of a configured stream: its schema, primary key, and cursor for an incremental stream. */
export function singerSchemaMessage(c: ConfiguredStreamLike): Record<string, unknown> {
  const name = singerStreamId(c.stream.name, c.stream.namespace);
  const keys = (c.primary_key ?? (c.stream['source_defined_primary_key'] as string[][] | undefined) ?? []).map((p) => p[0]!);
  const schema: Record<string, unknown> = { type: 'SCHEMA', stream: name, schema: c.stream.json_schema ?? {}, key_properties: keys };
  if (c.sync_mode === 'incremental' && c.cursor_field?.length) schema['bookmark_properties'] = [c.cursor_field[0]];
  return schema;
}

/** A target's stdout line as a state value: wrapped {"type":"STATE","value"} or bare; undefined when it is neither. */
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

interface StreamOut {
  /** `{"type":"RECORD","stream":NAME,"record":` */
  prefix: Buffer;
  schemaLine: string;
  /** A SCHEMA went to the target (ours, or the tap's own). */
  sent: boolean;
}

const CLOSE = Buffer.from('}');

export class SingerTargetDialect implements DestinationDialect {
  readonly decidesMode = SINGER_TARGET_MODE;
  readonly noiseMore = 'more target stdout lines were not states; only their count is logged at the end';
  private readonly out = new Map<RunStream, StreamOut>();
  // the Singer state value sent to the target: this run's states merged (as `host read --format singer`)
  private readonly merger = new StateMerger(emptyState());

  constructor(streams: readonly RunStream[] = []) {
    for (const s of streams) this.streamOut(s);
  }

  private streamOut(s: RunStream): StreamOut {
    let o = this.out.get(s);
    if (!o) {
      const schema = singerSchemaMessage(s.configured);
      o = { prefix: Buffer.from(`{"type":"RECORD","stream":${JSON.stringify(schema['stream'])},"record":`), schemaLine: stringifyLossless(schema as LosslessValue), sent: false };
      this.out.set(s, o);
    }
    return o;
  }

  args(f: { config: string }): string[] {
    return ['--config', f.config];
  }

  record(w: BatchWriter, stream: RunStream, data: Uint8Array, ds: number, de: number, line: Uint8Array, ls: number, le: number, fromSinger: boolean): void {
    const o = this.out.get(stream) ?? this.streamOut(stream);
    if (!o.sent) {
      w.text(o.schemaLine);
      o.sent = true;
    }
    if (fromSinger) w.line(line, ls, le);
    else w.wrapped(o.prefix, data, ds, de, CLOSE);
  }

  state(w: BatchWriter, msg: StateMessage, _id: number, line: Uint8Array, ls: number, le: number, fromSinger: boolean): string {
    if (fromSinger) {
      // the tap's STATE line as it wrote it; the target echoes its value
      w.line(line, ls, le);
      if (msg['type'] === 'LEGACY' && msg['data'] !== undefined) return canonical(msg['data']);
      const v = targetStateValue(Buffer.from(line.buffer, line.byteOffset + ls, le - ls).toString('utf8'));
      return canonical(v ?? null);
    }
    this.merger.apply(msg);
    const value = singerStateValue(this.merger.snapshot());
    w.text(stringifyLossless({ type: 'STATE', value }));
    return canonical(value);
  }

  passthrough(w: BatchWriter, kind: PassthroughKind, line: Uint8Array, ls: number, le: number, stream: RunStream | undefined): void {
    // only for a stream of the run (selection applies); BATCH files arrive as records
    if (!stream || kind === 'BATCH') return;
    if (kind === 'SCHEMA') (this.out.get(stream) ?? this.streamOut(stream)).sent = true;
    w.line(line, ls, le);
  }

  end(): void {
    // a Singer target has no stream status: the end of its input is the end
  }

  onLine(b: Buffer, s: number, e: number, lineNo: number, h: AckHandler): void {
    const value = targetStateValue(b.toString('utf8', s, e));
    if (value === undefined) return h.noise(() => `target stdout line ${lineNo} is not a state, ignored: ${h.quote(b, s, e)}`);
    if (isPlainObject(value) && Object.keys(value).length === 0) return; // an empty state acknowledges nothing
    h.ack(undefined, canonical(value), lineNo, () => `the target wrote a state that was never sent to it (or one already acknowledged; stdout line ${lineNo}); ignored: ${h.quote(b, s, e)}`);
  }

  done(h: AckHandler, noiseCount: number): void {
    if (noiseCount > MAX_WARNINGS) h.log.warn(`${noiseCount} lines of the target's stdout were not states, ignored`);
  }
}

// ---------------------------------------------------------------- spec and check, in-process

/** A short name for messages: the script a program runs (a venv's python runs bin/target-x), else the program. */
export function targetName(ref: Pick<ConnectorRef, 'command' | 'args'>): string {
  const script = (ref.args ?? []).find((a) => !a.startsWith('-'));
  return basename(script ?? ref.command);
}

type AboutSpecResult = { spec: Record<string, unknown>; warnings: string[] } | { problem: string };

// Until src/connector/spec-cache.ts exists: memoised per process (the same key it uses).
const memo = new Map<string, Promise<unknown>>();
async function cached<T>(ref: ConnectorRef, kind: string, compute: () => Promise<T>): Promise<T> {
  const key = JSON.stringify([kind, ref.command, ref.args, (ref as { cacheKey?: string }).cacheKey ?? null]);
  let p = memo.get(key) as Promise<T> | undefined;
  if (!p) {
    p = compute();
    memo.set(key, p);
    p.catch(() => memo.delete(key));
  }
  return p;
}

/**
 * The target's SPEC message, from `--about --format json` (either settings form; secrets marked).
 * The answer is cached per target, "no --about" too, so a target known to lack it is not started
 * again for it. An unusable --about output is a config error of the connector's setup.
 */
export async function singerTargetSpec(ref: ConnectorRef, logger?: Logger): Promise<Record<string, LosslessValue>> {
  const r = await cached<AboutSpecResult>(ref, 'singer-target-about', async () => {
    const { aboutSpec } = await import('../shims/singer-tap.js');
    return aboutSpec({ command: ref.command, args: ref.args, ...(ref.env ? { env: ref.env } : {}) }, 'target', targetName(ref));
  });
  if ('problem' in r) throw new ConnectorError(`${r.problem} [config_error]`, { failureType: 'config_error' }, 'CONNECTOR_CONFIG_ERROR');
  for (const w of r.warnings) logger?.warn({ connector: ref.name }, w);
  return { type: 'SPEC', spec: { connectionSpecification: r.spec, supported_destination_sync_modes: ['append', 'overwrite'] } } as Record<string, LosslessValue>;
}

export interface TargetCheckOptions {
  logger: Logger;
  masker?: Masker | undefined;
  timeoutMs: number;
  killGraceMs?: number | undefined;
  /** The private directory the config file is in (for a ref's prepareArgs). */
  filesDir?: string | undefined;
}

/** Singer targets have no check: start the target with the config and no input, and see it exit cleanly. A CONNECTION_STATUS message. */
export async function singerTargetCheck(ref: ConnectorRef, configPath: string, o: TargetCheckOptions): Promise<Record<string, LosslessValue>> {
  const proc = spawnConnector(ref, ['--config', configPath], { logger: o.logger, masker: o.masker ?? new Masker(), killGraceMs: o.killGraceMs ?? 5000, filesDir: o.filesDir, stdin: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void proc.stop();
  }, o.timeoutMs);
  proc.stdin!.on('error', () => {});
  proc.stdin!.end();
  proc.stdout.resume();
  const exit = await proc.wait().finally(() => clearTimeout(timer));
  assertStarted(exit, ref);
  const tail = proc.stderrTail();
  const how = 'a Singer target has no check command: it was started with the config and an empty input';
  if (exit.exitCode === 0 && !timedOut) return { type: 'CONNECTION_STATUS', connectionStatus: { status: 'SUCCEEDED', message: `${how}, and exited cleanly` } };
  const why = timedOut ? `did not exit within ${o.timeoutMs / 1000} s` : exit.exitCode !== undefined ? `exited with code ${exit.exitCode}` : `was killed by ${exit.signal}`;
  return { type: 'CONNECTION_STATUS', connectionStatus: { status: 'FAILED', message: `${how}, and ${why}${tail.length ? `: ${tail.slice(-5).join(' | ')}` : ''}` } };
}
