// The reverse shim: a protocol source presented as a Singer tap, so Meltano and plain
// `tap | target` pipelines run any protocol source. The host library does the work (spec,
// config validation, discover, read with its secret masking, process handling and Singer
// output); this module only translates the Singer command line, catalog and state.
// Used by the standalone executable shims/protocol-tap.mjs.
//
//   protocol-tap.mjs [--source REF] --about [--format json|markdown]
//   protocol-tap.mjs [--source REF] --config F [--config F2] --discover
//   protocol-tap.mjs [--source REF] --config F [--catalog F | --properties F] [--state F]
//   (the source: --source REF, or after -- PROGRAM ARGS..., or $CONNECTOR_HOST_SOURCE)

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, LOG_LEVELS, type Logger } from '../log/logger.js';
import { HostError, UsageError, ConfigError, StateError } from '../errors.js';
import { resolveConnector, type ConnectorRef } from '../connector/resolve.js';
import { registerReferenceKinds } from '../connector/reference-kinds.js';
import { spec, discover, readWith, type CommonOptions } from '../run/operations.js';
import type { Message } from '../run/simple-command.js';
import type { ReadSink } from '../run/sink.js';
import type { ConfiguredStreamLike, RunStream, StateMessage } from '../run/streams.js';
import { RunFiles } from '../connector/process.js';
import { parseJsonFile } from '../config/config.js';
import { StdoutSink, singerStreamId } from '../output/stdout-sink.js';
import { writeStateFile, readStateFile, streamKey, isEmptyState, HOST_STATE_MARKER, type StoredState } from '../state/state.js';
import { parseLossless, stringifyLossless, toPlain, isPlainObject, type LosslessValue } from '../json/lossless.js';

type Json = any;

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** What the shim declares in `--about`: a catalog tap (Meltano passes `--catalog`), never `properties`. */
export const CAPABILITIES = ['catalog', 'discover', 'state', 'about'] as const;

export const SOURCE_ENV = 'CONNECTOR_HOST_SOURCE';
export const LOG_LEVEL_ENV = 'CONNECTOR_HOST_LOG_LEVEL';

const HELP = `protocol-tap: a protocol (Airbyte-compatible) source, run as a Singer tap

usage:
  protocol-tap.mjs [SOURCE] --about [--format json|markdown]
  protocol-tap.mjs [SOURCE] --config FILE... --discover
  protocol-tap.mjs [SOURCE] --config FILE... [--catalog FILE | --properties FILE] [--state FILE]

SOURCE: --source REF (a path, pypi:NAME[==VER], npm:NAME, git:..., docker:IMAGE or a registry
name), or -- PROGRAM [ARGS...] at the end, or the environment variable ${SOURCE_ENV}.

  --about            name, version, capabilities and settings (the source's spec)
  --format F         for --about: json or markdown (default: plain text)
  --config FILE      config file (JSON, JSON with comments, YAML); repeat to layer, later wins
  --discover         print the Singer catalog
  --catalog FILE     sync the streams the Singer catalog selects (none selected at all: every stream)
  --properties FILE  the same, the legacy flag
  --state FILE       resume from a Singer state (our STATE value, {"singer_state": ...}, or a STATE message)
  --log-level L      ${LOG_LEVELS.join('|')} (default info, or $${LOG_LEVEL_ENV}); logs go to stderr
  --cache-dir DIR    where pypi:, npm: and git: sources are installed
  --python BIN       Python interpreter for pypi: sources
  --registry FILE    registry file of named connectors
  -h, --help         this text
  --version          the shim's version

Without --discover or --about it syncs: Singer SCHEMA, RECORD and STATE messages on stdout.
`;

// ---------------------------------------------------------------- command line

export interface TapArgs {
  source: string | string[] | undefined;
  config: string[];
  about: boolean;
  format: 'json' | 'markdown' | undefined;
  discover: boolean;
  catalog: string | undefined;
  properties: string | undefined;
  state: string | undefined;
  logLevel: string;
  cacheDir: string | undefined;
  python: string | undefined;
  registry: string | undefined;
  help: boolean;
  version: boolean;
}

const VALUE_FLAGS = ['config', 'format', 'catalog', 'properties', 'state', 'source', 'log-level', 'cache-dir', 'python', 'registry'] as const;
const BOOL_FLAGS = ['about', 'discover', 'help', 'version'] as const;

/** Parse the Singer tap command line (without node and the script). Throws UsageError. */
export function parseTapArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): TapArgs {
  const values = new Map<string, string[]>();
  const bools = new Set<string>();
  let rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      rest = argv.slice(i + 1);
      break;
    }
    if (a === '-h') {
      bools.add('help');
      continue;
    }
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument ${a}: name the source with --source REF or after -- PROGRAM ARGS`);
    const eq = a.indexOf('=');
    const name = eq === -1 ? a.slice(2) : a.slice(2, eq);
    if ((BOOL_FLAGS as readonly string[]).includes(name)) {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      bools.add(name);
    } else if ((VALUE_FLAGS as readonly string[]).includes(name)) {
      const v = eq === -1 ? argv[++i] : a.slice(eq + 1);
      if (v === undefined || v === '' || (eq === -1 && v.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
      values.set(name, [...(values.get(name) ?? []), v]);
    } else throw new UsageError(`unknown option --${name}`);
  }
  const one = (n: string) => values.get(n)?.at(-1);
  const format = one('format');
  if (format !== undefined && format !== 'json' && format !== 'markdown') throw new UsageError(`--format must be json or markdown, not ${format}`);
  const logLevel = one('log-level') ?? (env[LOG_LEVEL_ENV] || 'info');
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) throw new UsageError(`the log level must be one of ${LOG_LEVELS.join(', ')}, not ${logLevel}`);
  if (rest.length && one('source')) throw new UsageError('name the source either with --source or after --, not both');
  return {
    source: rest.length ? rest : (one('source') ?? (env[SOURCE_ENV]?.trim() || undefined)),
    config: values.get('config') ?? [],
    about: bools.has('about'),
    format: format as TapArgs['format'],
    discover: bools.has('discover'),
    catalog: one('catalog'),
    properties: one('properties'),
    state: one('state'),
    logLevel,
    cacheDir: one('cache-dir'),
    python: one('python'),
    registry: one('registry'),
    help: bools.has('help'),
    version: bools.has('version'),
  };
}

function checkCombination(a: TapArgs): void {
  if (a.format && !a.about) throw new UsageError('--format goes with --about');
  if (a.about && a.discover) throw new UsageError('give --about or --discover, not both');
  if (a.catalog && a.properties) throw new UsageError('give --catalog or --properties, not both');
  if (a.discover && (a.catalog || a.properties || a.state)) throw new UsageError('--discover takes only --config (no --catalog, --properties or --state)');
  if (!a.about && a.config.length === 0) throw new UsageError(`${a.discover ? '--discover' : 'a sync'} needs --config FILE`);
  if (a.source === undefined) throw new UsageError(`no protocol source: name it with --source REF, after -- PROGRAM [ARGS...], or in $${SOURCE_ENV}`);
}

// ---------------------------------------------------------------- --about

/** The spec's connectionSpecification as Singer settings: `airbyte_secret` fields also `secret` and `writeOnly`. */
export function settingsFromSpec(schema: unknown, depth = 0): unknown {
  if (Array.isArray(schema)) return schema.map((x) => settingsFromSpec(x, depth + 1));
  if (!isPlainObject(schema) || depth > 64) return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) out[k] = settingsFromSpec(v, depth + 1);
  if (schema['airbyte_secret'] === true) {
    out['secret'] = true;
    out['writeOnly'] = true;
  }
  return out;
}

export function aboutSource(ref: ConnectorRef, specMsg: Message): Json {
  const cs = isPlainObject(specMsg['spec']) ? toPlain(specMsg['spec']['connectionSpecification'] as LosslessValue) : undefined;
  const title = isPlainObject(cs) ? (cs['title'] ?? cs['description']) : undefined;
  return {
    name: ref.name,
    ...(typeof title === 'string' ? { description: title } : {}),
    version: VERSION,
    capabilities: [...CAPABILITIES],
    settings: settingsFromSpec(cs ?? { type: 'object', properties: {} }),
  };
}

function cell(v: unknown): string {
  return String(v).replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

export function formatAbout(about: Json, format: 'json' | 'markdown' | undefined): string {
  if (format === 'json') return JSON.stringify(about, null, 2) + '\n';
  const props: Record<string, Json> = isPlainObject(about.settings?.properties) ? about.settings.properties : {};
  const required: string[] = Array.isArray(about.settings?.required) ? about.settings.required : [];
  if (format === 'markdown') {
    const rows = Object.entries(props).map(
      ([k, p]) => `| ${cell(k)} | ${required.includes(k) ? 'True' : 'False'} | ${p?.default === undefined ? 'None' : cell(JSON.stringify(p.default))} | ${cell(p?.description ?? p?.title ?? '')}${p?.secret ? ' (secret)' : ''} |`,
    );
    return [
      `# \`${about.name}\``,
      '',
      ...(about.description ? [about.description, ''] : []),
      `A protocol source run as a Singer tap by connector-host ${about.version}.`,
      '',
      '## Capabilities',
      '',
      ...about.capabilities.map((c: string) => `* \`${c}\``),
      '',
      '## Settings',
      '',
      '| Setting | Required | Default | Description |',
      '|:--------|:--------:|:-------:|:------------|',
      ...rows,
      '',
    ].join('\n');
  }
  return [`Name: ${about.name}`, ...(about.description ? [`Description: ${about.description}`] : []), `Version: ${about.version}`, `Capabilities: [${about.capabilities.join(', ')}]`, `Settings: ${JSON.stringify(about.settings, null, 2)}`, ''].join('\n');
}

// ---------------------------------------------------------------- protocol catalog -> Singer catalog

function topLevel(paths: unknown): string[] {
  if (!Array.isArray(paths)) return [];
  return [...new Set(paths.map((p) => (Array.isArray(p) ? p[0] : p)).filter((k): k is string => typeof k === 'string'))];
}

/** A protocol CATALOG (its `catalog` object) as a Singer catalog, one entry per stream. */
export function singerCatalog(catalog: unknown): { streams: Json[] } {
  const streams: Json[] = isPlainObject(catalog) && Array.isArray(catalog['streams']) ? catalog['streams'] : [];
  return {
    streams: streams.map((s) => {
      const keys = topLevel(s.source_defined_primary_key);
      const modes: string[] = s.supported_sync_modes ?? ['full_refresh'];
      const cursor: unknown[] = Array.isArray(s.default_cursor_field) ? s.default_cursor_field : [];
      const root: Json = { inclusion: 'available', 'selected-by-default': true, 'table-key-properties': keys };
      if (cursor.length === 1 && typeof cursor[0] === 'string') root['valid-replication-keys'] = [cursor[0]];
      if (!modes.includes('incremental')) root['forced-replication-method'] = 'FULL_TABLE';
      else if (!modes.includes('full_refresh')) root['forced-replication-method'] = 'INCREMENTAL';
      if (s.namespace) root['schema-name'] = s.namespace;
      const schema = isPlainObject(s.json_schema) ? s.json_schema : { type: 'object' };
      const fields = isPlainObject(schema['properties']) ? Object.keys(schema['properties']) : [];
      return {
        tap_stream_id: singerStreamId(s.name, s.namespace),
        stream: s.name,
        schema,
        key_properties: keys,
        metadata: [
          { breadcrumb: [], metadata: root },
          ...fields.map((f) => ({ breadcrumb: ['properties', f], metadata: keys.includes(f) ? { inclusion: 'automatic' } : { inclusion: 'available', 'selected-by-default': true } })),
        ],
      };
    }),
  };
}

// ---------------------------------------------------------------- Singer catalog -> configured catalog

interface Descriptor {
  name: string;
  namespace?: string;
}

export interface Translated {
  /** The configured streams, for the host's read. */
  streams: ConfiguredStreamLike[];
  /** Deselected top-level fields, removed from the records, by stream key. */
  dropped: Map<string, string[]>;
  /** Every stream of the catalog (selected or not) by its Singer stream id, for the state. */
  ids: Map<string, Descriptor>;
  /** No stream said `selected` at all, so all were selected. */
  selectedAll: boolean;
}

function metaAt(entry: Json, breadcrumb: string[]): Json {
  const m = (Array.isArray(entry.metadata) ? entry.metadata : []).find(
    (x: Json) => Array.isArray(x?.breadcrumb) && x.breadcrumb.length === breadcrumb.length && x.breadcrumb.every((b: unknown, i: number) => b === breadcrumb[i]),
  );
  return isPlainObject(m?.metadata) ? m.metadata : {};
}

const isTrue = (v: unknown) => v === true || v === 'true';
const isFalse = (v: unknown) => v === false || v === 'false';
const upper = (v: unknown) => (typeof v === 'string' ? v.toUpperCase() : undefined);

/**
 * Translate a Singer catalog into a configured catalog: selected streams (breadcrumb [] `selected`,
 * or `selected` in the schema; none at all: every stream), deselected fields out of the schema,
 * `replication-method` to the sync mode with `replication-key` as the cursor, destination append.
 */
export function configuredFromSinger(catalog: unknown, file: string, warn: (msg: string) => void): Translated {
  if (!isPlainObject(catalog) || !Array.isArray(catalog['streams'])) throw new ConfigError(`the Singer catalog ${file} has no "streams" array`, { file }, 'CATALOG_INVALID');
  const entries = (catalog['streams'] as Json[]).filter((e) => isPlainObject(e));
  const selectedAll = !entries.some((e) => metaAt(e, [])['selected'] !== undefined || (isPlainObject(e.schema) && e.schema.selected !== undefined));
  const out: Translated = { streams: [], dropped: new Map(), ids: new Map(), selectedAll };
  for (const e of entries) {
    const root = metaAt(e, []);
    const name = String(e.stream ?? e.tap_stream_id);
    const id = String(e.tap_stream_id ?? name);
    const desc: Descriptor = typeof root['schema-name'] === 'string' && root['schema-name'] ? { name, namespace: root['schema-name'] } : { name };
    out.ids.set(id, desc);
    const sel = root['selected'] !== undefined ? root['selected'] : isPlainObject(e.schema) ? e.schema.selected : undefined;
    if (!selectedAll && !isTrue(sel)) continue;

    const forced = upper(root['forced-replication-method']);
    const modes = forced === 'FULL_TABLE' ? ['full_refresh'] : forced === 'INCREMENTAL' || forced === 'LOG_BASED' ? ['incremental'] : ['full_refresh', 'incremental'];
    const validKeys = Array.isArray(root['valid-replication-keys']) ? (root['valid-replication-keys'] as unknown[]).filter((k): k is string => typeof k === 'string') : [];
    const method = upper(root['replication-method'] ?? e.replication_method);
    // no method given: incremental where the stream has a cursor, as the host configures by default
    let incremental = method === 'INCREMENTAL' || method === 'LOG_BASED' || (method === undefined && modes.includes('incremental') && (validKeys.length > 0 || !modes.includes('full_refresh')));
    if (incremental && !modes.includes('incremental')) {
      warn(`stream ${id}: replication-method ${method} asked, but the source reads it only in full; reading it in full`);
      incremental = false;
    } else if (!incremental && !modes.includes('full_refresh')) {
      warn(`stream ${id}: the source reads it only incrementally; reading it incrementally`);
      incremental = true;
    }
    const cursor = [root['replication-key'], e.replication_key, validKeys[0]].find((k): k is string => typeof k === 'string' && k !== '');
    const keys = topLevel(root['table-key-properties'] ?? e.key_properties);

    // deselected (or unsupported) fields leave the schema; key fields and the cursor stay
    const schema: Json = isPlainObject(e.schema) ? structuredClone(e.schema) : { type: 'object' };
    delete schema.selected;
    const props: Json = isPlainObject(schema.properties) ? schema.properties : {};
    const dropped: string[] = [];
    for (const f of Object.keys(props)) {
      const fm = metaAt(e, ['properties', f]);
      const off = isFalse(fm['selected']) || fm['inclusion'] === 'unsupported' || (isPlainObject(props[f]) && isFalse(props[f].selected));
      if (isPlainObject(props[f])) delete props[f].selected;
      // automatic fields stay (Singer's rule); so do the key and the replication key, as SDK taps keep them
      if (!off || fm['inclusion'] === 'automatic' || keys.includes(f) || (incremental && f === cursor)) continue;
      delete props[f];
      dropped.push(f);
    }

    const stream: ConfiguredStreamLike['stream'] = { name, json_schema: schema, supported_sync_modes: modes };
    if (desc.namespace) stream.namespace = desc.namespace;
    if (keys.length) stream['source_defined_primary_key'] = keys.map((k) => [k]);
    if (validKeys.length) stream['default_cursor_field'] = [validKeys[0]!];
    const c: ConfiguredStreamLike = { stream, sync_mode: incremental ? 'incremental' : 'full_refresh', destination_sync_mode: 'append' };
    if (incremental && cursor) c.cursor_field = [cursor];
    if (keys.length) c.primary_key = keys.map((k) => [k]);
    out.streams.push(c);
    if (dropped.length) out.dropped.set(streamKey(name, desc.namespace), dropped);
  }
  return out;
}

// ---------------------------------------------------------------- Singer state -> host state

/** Meltano's `{"singer_state": ...}` and a whole `{"type":"STATE","value": ...}` message, unwrapped. */
export function unwrapSingerState(v: LosslessValue): LosslessValue {
  for (let i = 0; i < 3 && isPlainObject(v); i++) {
    if (v['singer_state'] !== undefined) v = v['singer_state'] as LosslessValue;
    else if (v['type'] === 'STATE' && v['value'] !== undefined) v = v['value'] as LosslessValue;
    else break;
  }
  return v;
}

/**
 * A Singer state value as the host's stored state. Ours (an object keyed by Singer stream id, as
 * our STATE lines write it; `__shared_state`: GLOBAL) becomes per-stream states; anything else
 * is a LEGACY blob handed to the source unchanged. Undefined when there is no state.
 */
export function storedFromSingerState(value: LosslessValue, ids: ReadonlyMap<string, Descriptor>): StoredState | undefined {
  const v = unwrapSingerState(value);
  if (isEmptyState(v)) return undefined;
  if (!isPlainObject(v)) throw new StateError('the --state file holds no Singer state object', {}, 'STATE_INVALID');
  const shared = v['__shared_state'];
  const keys = Object.keys(v).filter((k) => k !== '__shared_state');
  const blobs = keys.every((k) => v[k] === null || isPlainObject(v[k])) && (shared === undefined || shared === null || isPlainObject(shared));
  const ours = blobs && (shared !== undefined || keys.some((k) => ids.has(k)));
  if (!ours) return { kind: 'LEGACY', states: [{ type: 'LEGACY', data: v }], files: {} };
  const streamStates = keys
    .filter((k) => v[k] !== null)
    .map((k) => ({ stream_descriptor: { ...(ids.get(k) ?? { name: k }) } as unknown as LosslessValue, stream_state: v[k] as LosslessValue }));
  if (shared !== undefined) {
    const global: Record<string, LosslessValue> = { stream_states: streamStates };
    if (shared !== null) global['shared_state'] = shared;
    return { kind: 'GLOBAL', states: [{ type: 'GLOBAL', global }], files: {} };
  }
  if (streamStates.length === 0) return undefined;
  return { kind: 'STREAM', states: streamStates.map((s) => ({ type: 'STREAM', stream: s })), files: {} };
}

function readSingerState(file: string, ids: ReadonlyMap<string, Descriptor>): StoredState | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read the state file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file });
  }
  if (!text.replace(/^\ufeff/, '').trim()) return undefined; // an empty file: no state yet
  const v = parseJsonFile(file, 'state');
  if (isPlainObject(v) && v[HOST_STATE_MARKER] !== undefined) return readStateFile(file); // a host state file
  try {
    return storedFromSingerState(v, ids);
  } catch (e) {
    throw e instanceof StateError ? new StateError(`${e.message} (${file})`, { file }, 'STATE_INVALID') : e;
  }
}

function describeState(s: StoredState): string {
  if (s.kind === 'LEGACY') return 'a state blob (LEGACY), handed to the source as it is';
  const names = s.kind === 'GLOBAL' ? ((s.states[0]!['global'] as Json).stream_states as Json[]) : s.states.map((m) => (m as Json).stream);
  return `${s.kind} state for ${names.map((x) => singerStreamId(x.stream_descriptor.name, x.stream_descriptor.namespace)).join(', ') || 'no stream'}`;
}

// ---------------------------------------------------------------- sync output

const decoder = new TextDecoder();

/** The Singer stdout sink, with deselected fields taken out of the records the source still sends. */
class FieldDropSink implements ReadSink {
  private readonly inner: StdoutSink;
  private readonly dropped: ReadonlyMap<string, string[]>;
  constructor(inner: StdoutSink, dropped: ReadonlyMap<string, string[]>) {
    this.inner = inner;
    this.dropped = dropped;
  }
  get closed(): boolean {
    return this.inner.closed;
  }
  record(stream: RunStream, data: Uint8Array, ds: number, de: number, line: Uint8Array, ls: number, le: number): void {
    const fields = this.dropped.get(stream.key);
    if (!fields) return this.inner.record(stream, data, ds, de, line, ls, le);
    const v = parseLossless(decoder.decode(data.subarray(ds, de)));
    if (isPlainObject(v)) for (const f of fields) delete v[f];
    const b = Buffer.from(stringifyLossless(v));
    this.inner.record(stream, b, 0, b.length, line, ls, le);
  }
  state(msg: StateMessage, line: Uint8Array, ls: number, le: number): void {
    this.inner.state(msg, line, ls, le);
  }
  streamStatus(stream: RunStream, status: string): void {
    (this.inner as ReadSink).streamStatus(stream, status);
  }
  drain(): void {
    this.inner.drain();
  }
  finish(ok: boolean) {
    return this.inner.finish(ok);
  }
}

// ---------------------------------------------------------------- the commands

async function doSync(ref: ConnectorRef, a: TapArgs, common: CommonOptions, logger: Logger): Promise<number> {
  const warn = (m: string) => logger.warn(m);
  const file = a.catalog ?? a.properties;
  let t: Translated;
  if (file) {
    t = configuredFromSinger(toPlain(parseJsonFile(file, 'catalog')), file, warn);
    if (t.selectedAll) logger.warn(`no stream in the catalog ${file} has "selected" metadata: reading every stream (${t.streams.length})`);
  } else {
    const msg = await discover(ref, { ...common, configFile: a.config });
    t = configuredFromSinger(singerCatalog(toPlain(msg['catalog']!)), 'discovered', warn);
    logger.info(`no --catalog: reading every discovered stream (${t.streams.length})`);
  }
  if (t.streams.length === 0) {
    logger.warn('the catalog selects no stream: nothing to read');
    return 0;
  }
  // the Singer state goes to the source through a host state file in a private temp folder
  const files = new RunFiles();
  try {
    let stateFile: string | undefined;
    const stored = a.state ? readSingerState(a.state, t.ids) : undefined;
    if (stored) {
      stateFile = join(files.dir, 'state.json');
      writeStateFile(stateFile, stored);
      logger.info(`resuming from --state: ${describeState(stored)}`);
    }
    const r = await readWith(ref, { ...common, configFile: a.config, catalog: { streams: t.streams }, stateFile, format: 'singer' }, (ctx) => new FieldDropSink(new StdoutSink({ stored: ctx.stored, commitIntervalMs: 0, format: 'singer' }), t.dropped));
    logger.info({ records: r.records, streams: Object.fromEntries(r.streams.map((s) => [singerStreamId(s.name, s.namespace), s.records])) }, `${r.ok ? 'read' : 'read failed after'} ${r.records} records`);
    if (r.error) throw r.error;
    return 0;
  } finally {
    files.cleanup();
  }
}

/** A multi-line message (stderr tails, ajv errors) on one line. */
const oneLine = (m: string) => m.replace(/:\s*\n\s*/g, ': ').replace(/\s*\n\s*/g, ' | ');

function report(e: unknown, logger: Logger | undefined): number {
  if (e instanceof HostError) {
    // one line: Meltano and shells show the tap's last stderr line as the reason
    process.stderr.write(`protocol-tap: ${oneLine(e.message)}${e.code === 'USAGE' ? ' (see --help)' : ''}\n`);
    return e.exitCode;
  }
  logger?.debug({ err: e }, 'internal error');
  process.stderr.write(`protocol-tap: internal error: ${oneLine(String((e as Error)?.message ?? e))} (run with --log-level debug for details)\n`);
  return 1;
}

/** The standalone shim: answer one Singer tap invocation; returns the exit code (never throws). */
export async function runProtocolTap(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  registerReferenceKinds();
  let logger: Logger | undefined;
  // SIGTERM (Meltano stopping the tap when the target died) stops the source's process group
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => controller.abort(sig);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const a = parseTapArgs(argv, env);
    if (a.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (a.version) {
      process.stdout.write(`${VERSION}\n`);
      return 0;
    }
    checkCombination(a);
    logger = createLogger({ level: a.logLevel as never });
    const common: CommonOptions = { logger, signal: controller.signal, resolve: { cacheDir: a.cacheDir, python: a.python, registry: a.registry } };
    const ref = await resolveConnector(a.source!, { logger, ...common.resolve });
    if (a.about) {
      process.stdout.write(formatAbout(aboutSource(ref, await spec(ref, common)), a.format));
      return 0;
    }
    if (a.discover) {
      const msg = await discover(ref, { ...common, configFile: a.config });
      // one indented document, as SDK taps print it
      process.stdout.write(stringifyLossless(singerCatalog(msg['catalog']), 2) + '\n');
      return 0;
    }
    return await doSync(ref, a, common, logger);
  } catch (e) {
    return report(e, logger);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
