// The library API: spec, check, discover and read, with the same validation,
// state and process handling as the CLI (which is a thin layer over these).

import { join } from 'node:path';
import type { Logger } from '../log/logger.js';
import { silentLogger } from '../log/logger.js';
import { resolveConnector, type ConnectorRef, type ResolveOptions } from '../connector/resolve.js';
import { RunFiles } from '../connector/process.js';
import { loadConfig, parseJsonFile, parseConfigFile, writeBackConfig, describeSkipped, environmentValues, type LoadedConfig } from '../config/config.js';
import { registryConfig } from '../connector/registry.js';
import { parseConfigUri, configFromUri } from '../config/config-uri.js';
import { isPlainObject, stringifyLossless, toPlain, getPath, setPath, defineOwn, ownValue, type LosslessValue } from '../json/lossless.js';
import { Masker, collectSecrets } from '../secrets/mask.js';
import { ConfigError, UsageError, CheckFailedError, ProtocolError } from '../errors.js';
import { compileSchema, getValidator, formatAjvErrors } from '../protocol/schemas.js';
import { configMismatchMessage } from '../config/spec-errors.js';
import { runSimpleCommand, type Message } from './simple-command.js';
import { configureCatalog, configuredStreams, catalogInput } from '../catalog/configure.js';
import { applySelection, takeFieldSelection } from '../catalog/select.js';
import { StreamTable, type ConfiguredStreamLike, type RunStream } from './streams.js';
import { ReadEngine, type ReadOutcome, type ValidateMode } from './read-engine.js';
import type { ReadSink } from './sink.js';
import { DirSink } from '../output/dir-sink.js';
import { ensureOutDir } from '../output/paths.js';
import { StdoutSink } from '../output/stdout-sink.js';
import { acquireLock } from '../state/lock.js';
import { recordHistory } from '../state/history.js';
import { readStateFile, emptyState, stateForConnector, checkStateFile, writeStateFile, type StoredState, type RunInput } from '../state/state.js';
import { existsSync } from 'node:fs';
import type { ProcessorOptions, ProcessorChild } from './processor.js';
import { DEFAULTS } from './defaults.js';

export type ConnectorInput = string | readonly string[] | ConnectorRef;

export interface CommonOptions {
  logger?: Logger | undefined;
  /** Time limit for spec, check and discover (ms). Default 5 minutes. */
  timeoutMs?: number | undefined;
  /** Between SIGTERM and SIGKILL when stopping a connector (ms). Default 10 s. */
  killGraceMs?: number | undefined;
  signal?: AbortSignal | undefined;
  maxLineBytes?: number | undefined;
  /** How package, git and Docker references are installed (cache folder, Python). */
  resolve?: ResolveOptions | undefined;
}

export interface ConfigInput {
  /** Config files, later ones winning (CONTROL messages are written back into the file a field came from). */
  configFile?: string | string[] | undefined;
  /** Or the config itself. */
  config?: Record<string, unknown> | undefined;
  /**
   * `custom://NAME?k=v&k2=v2` (src/config/config-uri.ts): the parameters, typed by the spec,
   * merged over the config; NAME picks the kit object of a file or folder reference without `:NAME`.
   */
  configUri?: string | undefined;
}

export { DEFAULTS };

async function toRef(c: ConnectorInput, o: CommonOptions = {}): Promise<ConnectorRef> {
  if (typeof c === 'object' && !Array.isArray(c) && 'command' in (c as object)) return c as ConnectorRef;
  return resolveConnector(c as string | readonly string[], { logger: o.logger, ...o.resolve });
}

function simpleOpts(o: CommonOptions, masker?: Masker, filesDir?: string) {
  return { logger: o.logger ?? silentLogger(), masker, timeoutMs: o.timeoutMs ?? DEFAULTS.timeoutMs, killGraceMs: o.killGraceMs, maxLineBytes: o.maxLineBytes, signal: o.signal, filesDir };
}

/** The connector's SPEC message. */
export async function spec(connector: ConnectorInput, o: CommonOptions = {}): Promise<Message> {
  return runSimpleCommand(await toRef(connector, o), 'spec', [], simpleOpts(o));
}

interface Session {
  ref: ConnectorRef;
  spec: Message;
  config: LoadedConfig;
  masker: Masker;
  files: RunFiles;
  configPath: string;
}

/** Deep merge: objects merge, everything else from `top` replaces `base`. */
export function mergeConfig(base: Record<string, LosslessValue>, top: Record<string, LosslessValue>): Record<string, LosslessValue> {
  const out: Record<string, LosslessValue> = { ...base }; // spread defines own keys, `__proto__` too
  for (const [k, v] of Object.entries(top)) {
    const b = ownValue(out, k);
    defineOwn(out, k, isPlainObject(b) && isPlainObject(v) ? mergeConfig(b, v) : v);
  }
  return out;
}

function loadConfigInput(c: ConfigInput): LoadedConfig {
  if (c.configFile !== undefined) return loadConfig(c.configFile);
  return { value: (c.config ?? {}) as Record<string, LosslessValue>, file: undefined };
}

/**
 * Validate a config against the connector's spec: every error with its JSON pointer, never a value
 * (see config/spec-errors.ts). `how`: the option that names the files (--config), whose spec
 * (connector), and whether a config was given other than as files (an object).
 */
export function validateConfig(specMsg: Message, config: LoadedConfig, how: { option?: string; who?: string; given?: boolean } = {}): void {
  const cs = isPlainObject(specMsg['spec']) ? specMsg['spec']['connectionSpecification'] : undefined;
  if (!isPlainObject(cs)) return;
  let validate: ReturnType<typeof compileSchema>;
  try {
    validate = compileSchema(toPlain(cs) as object);
  } catch (e) {
    throw new ProtocolError(`the connector's spec is not a valid JSON Schema (connectionSpecification): ${(e as Error).message}`);
  }
  if (validate(toPlain(config.value))) return;
  const files = config.files?.length ? config.files : config.file ? [config.file] : [];
  const secrets = [...collectSecrets(toPlain(config.value), toPlain(cs)), ...environmentValues(config)];
  throw new ConfigError(configMismatchMessage(validate.errors, toPlain(cs), { files, given: files.length > 0 || how.given === true, option: how.option, who: how.who, secrets }), { file: config.file });
}

async function openSession(connector: ConnectorInput, c: ConfigInput, o: CommonOptions): Promise<Session> {
  const uri = c.configUri !== undefined ? parseConfigUri(c.configUri) : undefined;
  const ref = await toRef(connector, uri?.name !== undefined ? { ...o, resolve: { ...o.resolve, objectName: uri.name } } : o);
  const config = loadConfigInput(c);
  if (ref.registry) {
    // the registry's defaults and environment fields sit under the user's own config
    const base = registryConfig(ref.registry);
    config.value = mergeConfig(base, config.value);
  }
  const specMsg = await runSimpleCommand(ref, 'spec', [], simpleOpts(o));
  const cs = isPlainObject(specMsg['spec']) ? specMsg['spec']['connectionSpecification'] : undefined;
  // the URI's parameters over the files (typed by the spec), before the masker learns the secrets
  if (uri) config.value = mergeConfig(config.value, configFromUri(uri, toPlain(cs ?? {})));
  const masker = new Masker(collectSecrets(toPlain(config.value), toPlain(cs ?? {})));
  // values taken from the environment (`${VAR}` in a file, or a registry's env fields) are treated as secrets
  masker.add(environmentValues(config).filter((v) => v.length >= 4)); // not "1" or "us": masking those would garble every message
  if (ref.registry?.env) masker.add(Object.values(ref.registry.env).map((v) => ownValue(process.env, v) ?? '').filter((v) => v.length >= 4));
  validateConfig(specMsg, config, { given: c.config !== undefined || uri !== undefined });
  const files = new RunFiles();
  const configPath = files.write('config.json', stringifyLossless(config.value));
  return { ref, spec: specMsg, config, masker, files, configPath };
}

/**
 * What to do with a CONTROL CONNECTOR_CONFIG message (read, check or discover): write the
 * changed fields back into the file each came from, never a field taken from the environment.
 */
function controlHandler(s: Session, logger: Logger, onConfigUpdate?: (fields: string[]) => void): (cfg: LosslessValue) => void {
  return (cfg) => {
    const specSchema = toPlain((s.spec['spec'] as Record<string, LosslessValue>)['connectionSpecification'] ?? {});
    // the manifest runner injects the manifest into its config: never write that back
    if (isPlainObject(cfg) && !Object.hasOwn(s.config.value, '__injected_declarative_manifest')) delete cfg['__injected_declarative_manifest'];
    // fields a registry takes from the environment are never written into a file
    const fromEnv: string[] = [];
    if (s.ref.registry?.env && isPlainObject(cfg)) {
      for (const [field, variable] of Object.entries(s.ref.registry.env)) {
        const path = field.split('.');
        if (stringifyLossless(getPath(cfg, path) ?? null) !== stringifyLossless(getPath(s.config.value, path) ?? null)) {
          setPath(cfg, path, getPath(s.config.value, path));
          fromEnv.push(`${field} (from $${variable}, set in the registry)`);
        }
      }
    }
    const fields = writeBackConfig(s.config, cfg);
    // the new values are secrets too when the spec says so, written or not
    s.masker.add([...collectSecrets(toPlain(s.config.value), specSchema), ...environmentValues(s.config).filter((v) => v.length >= 4)]);
    if (fields.length) {
      logger.info({ fields }, `the connector updated its config in ${fields.files.join(', ')}: ${fields.join(', ')}`);
      onConfigUpdate?.(fields);
    }
    const skipped = describeSkipped(fields.skipped);
    if (skipped) logger.warn(skipped);
    if (fromEnv.length) logger.warn(`the connector changed config fields that come from the environment; they were not written anywhere, update the variables yourself: ${fromEnv.join(', ')}`);
  };
}

export interface CheckResult {
  message: Message;
  status: 'SUCCEEDED' | 'FAILED';
  text: string | undefined;
}

/** Validate the config against the spec, then run check. Throws CheckFailedError on FAILED unless `noThrow`. */
export async function check(connector: ConnectorInput, c: ConfigInput & CommonOptions & { noThrow?: boolean }): Promise<CheckResult> {
  const s = await openSession(connector, c, c);
  try {
    const msg = await runSimpleCommand(s.ref, 'check', ['--config', s.configPath], { ...simpleOpts(c, s.masker, s.files.dir), onControl: controlHandler(s, c.logger ?? silentLogger()) });
    const cs = msg['connectionStatus'] as Record<string, LosslessValue>;
    const status = cs['status'] as 'SUCCEEDED' | 'FAILED';
    const text = typeof cs['message'] === 'string' ? s.masker.mask(cs['message']) : undefined;
    if (typeof cs['message'] === 'string') cs['message'] = text!;
    if (status === 'FAILED' && !c.noThrow) throw new CheckFailedError(`check failed: ${text ?? 'no reason given'}`, { message: msg });
    return { message: msg, status, text };
  } finally {
    s.files.cleanup();
  }
}

/** The connector's CATALOG message (config validated against the spec first). */
export async function discover(connector: ConnectorInput, c: ConfigInput & CommonOptions): Promise<Message> {
  const s = await openSession(connector, c, c);
  try {
    return await runSimpleCommand(s.ref, 'discover', ['--config', s.configPath], { ...simpleOpts(c, s.masker, s.files.dir), onControl: controlHandler(s, c.logger ?? silentLogger()) });
  } finally {
    s.files.cleanup();
  }
}

export interface ReadOptions extends ConfigInput, CommonOptions {
  /** A configured catalog file, or the catalog itself; without one, discover and select. */
  catalogFile?: string | undefined;
  catalog?: { streams: ConfiguredStreamLike[] } | undefined;
  /** Streams to select (`name` or `namespace.name`) when discovering. */
  streams?: string[] | undefined;
  /** Meltano-style `--select` patterns (`users.*`, `orders.id`, `!users.email`), applied after `streams` (src/catalog/select.ts). */
  select?: string[] | undefined;
  /** The state file: read at start, committed during the run. Default with `out`: out/state.json. */
  stateFile?: string | undefined;
  /** The embedded output directory. Without it, records and states go to stdout (CLI). */
  out?: string | undefined;
  validate?: ValidateMode | undefined;
  /** Invalid UTF-8 in a connector's line: replace it with U+FFFD and count it (default), or fail the run. */
  onInvalidUtf8?: 'replace' | 'fail' | undefined;
  /** Without `out`: the messages on stdout, Airbyte (default) or Singer (SCHEMA/RECORD/STATE). */
  format?: 'airbyte' | 'singer' | undefined;
  heartbeatMs?: number | undefined;
  commitIntervalMs?: number | undefined;
  /**
   * Ignore the stored state for the streams read: the connector gets no state, their data is
   * replaced (as a full refresh), and the stored state is replaced only when the run succeeds.
   */
  fullRefresh?: boolean | undefined;
  /** `host run`: the destination's config files (named here so that the state file cannot be one of them). */
  destinationConfigFile?: string | string[] | undefined;
  /** Called after each CONTROL write-back with the changed field names. */
  onConfigUpdate?: ((fields: string[]) => void) | undefined;
  /** Called once the streams are known and the state is locked, just before the connector starts (the live view). */
  onStart?: ((streams: RunStream[], stateFile: string | undefined) => void) | undefined;
  /**
   * At most this many records per stream (an integer >= 1): later ones are dropped, the
   * connector is stopped once every stream has them (or has finished), and no state is
   * committed (STATE messages are not passed on; the state file keeps its streams' states).
   * With `out`, the records are kept in the files after the committed data, uncommitted: the next
   * run cuts them off and reads them again (see `limitedDirSink`). `result.limited` says what was dropped.
   */
  limit?: number | undefined;
  /**
   * A record processor between the source and the output (`--processor`): started once, before
   * the output (a destination's catalog carries the output schemas it declares), fed in batches.
   */
  processor?: ProcessorOptions | undefined;
}

export interface ReadResult extends ReadOutcome {
  stateFile: string | undefined;
}

async function resolveCatalog(s: Session, o: ReadOptions): Promise<ConfiguredStreamLike[]> {
  const select = (streams: ConfiguredStreamLike[]) => {
    const r = applySelection(streams, o.select);
    for (const n of r.notes) (o.logger ?? silentLogger()).info(n);
    return r.streams;
  };
  if (o.catalogFile || o.catalog) {
    const file = o.catalogFile ?? 'given';
    const given = catalogInput(o.catalog ?? toPlain(parseJsonFile(o.catalogFile!, 'catalog')), file);
    if (given.kind === 'discovered') {
      // `host discover`'s output (or its catalog): every stream, configured as without --catalog
      const v = getValidator('AirbyteCatalog');
      if (!v(given.catalog)) throw new ConfigError(`the catalog ${file} is not a valid discovered catalog:\n  ${formatAjvErrors(v.errors).join('\n  ')}`, { file: o.catalogFile }, 'CATALOG_INVALID');
      return select(configureCatalog(given.catalog, o.streams).streams);
    }
    if (o.streams) throw new UsageError('give either a configured catalog or --streams, not both (--streams works with a discovered catalog)');
    const v = getValidator('ConfiguredAirbyteCatalog');
    if (!v(given.catalog)) throw new ConfigError(`the catalog ${file} is not a valid configured catalog:\n  ${formatAjvErrors(v.errors).join('\n  ')}`, { file: o.catalogFile }, 'CATALOG_INVALID');
    return select(configuredStreams(given.catalog, file));
  }
  const msg = await runSimpleCommand(s.ref, 'discover', ['--config', s.configPath], simpleOpts(o, s.masker, s.files.dir));
  return select(configureCatalog(toPlain(msg['catalog']!), o.streams).streams);
}

/**
 * `host catalog`: discover, select (`streams`, then `select` patterns) and return the configured
 * catalog, editable and accepted by `--catalog`. Streams with deselected fields carry `selected_fields`.
 */
export async function buildCatalog(connector: ConnectorInput, o: ConfigInput & CommonOptions & { streams?: string[] | undefined; select?: string[] | undefined }): Promise<{ streams: ConfiguredStreamLike[] }> {
  const s = await openSession(connector, o, o);
  try {
    const streams = await resolveCatalog(s, { ...o, catalogFile: undefined, catalog: undefined });
    if (streams.length === 0) throw new UsageError('the selection leaves no streams');
    return { streams };
  } finally {
    s.files.cleanup();
  }
}

/** The files a run reads (configs, catalog, a destination's configs), which its state file must not be. */
function runInputs(s: Session, o: ReadOptions): RunInput[] {
  const list = (f: string | readonly string[] | undefined) => (f === undefined ? [] : typeof f === 'string' ? [f] : [...f]);
  const content = (read: () => LosslessValue): LosslessValue | undefined => {
    try {
      return read();
    } catch {
      return undefined; // read (and reported) elsewhere
    }
  };
  const configs = (files: string[], what: string) => files.map((file) => ({ file, what, value: content(() => parseConfigFile(file, what).raw) }));
  return [
    ...configs(s.config.files ?? list(s.config.file), 'config file'),
    { file: '', what: 'config given (its fields merged and interpolated)', value: s.config.value },
    ...list(o.catalogFile).map((file) => ({ file, what: 'catalog', value: content(() => parseJsonFile(file, 'catalog')) })),
    ...configs(list(o.destinationConfigFile), 'destination config file'),
  ];
}

/**
 * Prepare a read: spec, config validation, catalog, state and lock. The caller
 * provides the sink (or gets the --out directory / stdout one) and runs it.
 */
export async function readWith(connector: ConnectorInput, o: ReadOptions, makeSink?: (ctx: { stored: StoredState; streams: StreamTable; stateFile: string | undefined; masker: Masker }) => ReadSink): Promise<ReadResult> {
  const logger = o.logger ?? silentLogger();
  if (o.format === 'singer' && o.out) throw new UsageError('--format singer is for stdout; --out writes the data files');
  if (o.limit !== undefined && !(Number.isSafeInteger(o.limit) && o.limit >= 1)) throw new UsageError(`limit ${String(o.limit)}: give a whole number of records of at least 1`);
  if (o.limit !== undefined && o.fullRefresh && o.out) throw new UsageError('--limit with --full-refresh into --out would replace the data with a sample; drop one of them, or give another --out');
  const s = await openSession(connector, o, o);
  let lock: { release(): void } | undefined;
  let processorChild: ProcessorChild | undefined;
  try {
    // `selected_fields` (the host's field selection) becomes each stream's record filter; the connector never sees it
    const selection = takeFieldSelection(await resolveCatalog(s, o), o.catalogFile ?? 'given');
    for (const n of selection.notes) logger.info(n);
    const configured = selection.streams;
    if (configured.length === 0) throw new UsageError('the catalog selects no streams; nothing to read');
    const streams = new StreamTable(configured);
    streams.list.forEach((x, i) => (x.fields = selection.filters[i]));
    const stateFile = o.stateFile ?? (o.out ? join(o.out, 'state.json') : undefined);
    if (o.out) ensureOutDir(o.out); // a clear error for an --out that is not a writable folder, before the lock is made in it
    if (stateFile) {
      // before the lock and the history: neither may copy a config that was named as the state
      checkStateFile(stateFile, runInputs(s, o));
      lock = acquireLock(stateFile, (info) => logger.warn(`taking over a stale lock left by pid ${info.pid} (started ${info.started_at})${info.stoppedGroups ? `; stopped the connector it left running` : ''}`));
      // the state before this run, so that a bad run can be undone (host state set --from-history N)
      if (o.limit === undefined) recordHistory(stateFile, 'before run', { onError: (e) => logger.warn(e.message) });
    }
    const stored = (stateFile ? readStateFile(stateFile) : undefined) ?? emptyState();
    let processorStage: import('./processor.js').ProcessorStage | undefined;
    if (o.processor) {
      const p = await import('./processor.js');
      processorChild = await p.startProcessor(o.processor, { logger, masker: s.masker, killGraceMs: o.killGraceMs ?? DEFAULTS.killGraceMs, heartbeatMs: o.heartbeatMs ?? DEFAULTS.heartbeatMs, startTimeoutMs: o.timeoutMs ?? DEFAULTS.timeoutMs, resolve: o.resolve });
      const info = processorChild.info;
      const changed = p.applyOutputSchemas(info, streams.list, logger, processorChild.display);
      const applied = streams.list.filter((x) => p.appliesTo(info, x));
      logger.info(`processor ${processorChild.display}: ${applied.length ? `streams ${applied.map((x) => x.display).join(', ')}` : 'no stream of this run'}${info.batch ? ', in batches' : ''}${changed.length ? `; output schema of ${changed.join(', ')} from the processor` : ''}`);
      const keys = new Map(applied.map((x) => [x.key, x]));
      // it applies to no stream of this run: the connector's output goes straight on
      if (keys.size === 0) await processorChild.stop();
      else processorStage = new p.ProcessorStage({
        child: processorChild,
        errors: o.processor.errors ?? 'fail',
        masker: s.masker,
        logger,
        maxLineBytes: o.maxLineBytes ?? DEFAULTS.maxLineBytes,
        processed: (name, namespace) => {
          const x = keys.size ? streams.get(name, namespace) : undefined;
          return x && keys.has(x.key) ? x : undefined;
        },
      });
    }
    const commitIntervalMs = o.commitIntervalMs ?? DEFAULTS.commitIntervalMs;
    // --limit commits no state: a sink gets no state file, the --out one a private copy of it
    const limited = o.limit !== undefined && !makeSink && o.out ? limitedDirSink(s, o, stateFile!, stored, streams, logger) : undefined;
    const sink = makeSink
      ? makeSink({ stored, streams, stateFile: o.limit === undefined ? stateFile : undefined, masker: s.masker })
      : limited
        ? limited.sink
        : o.out
        ? new DirSink({ dir: o.out, stateFile: stateFile!, stored, streams: streams.list, logger, commitIntervalMs, fullRefresh: o.fullRefresh })
        : new StdoutSink({ stateFile: o.limit === undefined ? stateFile : undefined, stored, commitIntervalMs, format: o.format, fullRefresh: o.fullRefresh, streams: streams.list });
    const args = ['read', '--config', s.configPath, '--catalog', s.files.write('catalog.json', JSON.stringify({ streams: configured }))];
    const stateText = o.fullRefresh ? undefined : stateForConnector(stored);
    if (o.fullRefresh) logger.info(`--full-refresh: ${streams.list.map((x) => x.display).join(', ')} read from the start; the stored state is replaced only if the run succeeds`);
    if (stateText !== undefined) args.push('--state', s.files.write('state.json', stateText));
    const engine = new ReadEngine({
      ref: s.ref,
      args,
      streams,
      sink,
      logger,
      masker: s.masker,
      maxLineBytes: o.maxLineBytes ?? DEFAULTS.maxLineBytes,
      validate: o.validate ?? DEFAULTS.validate,
      onInvalidUtf8: o.onInvalidUtf8 ?? 'replace',
      heartbeatMs: o.heartbeatMs ?? DEFAULTS.heartbeatMs,
      killGraceMs: o.killGraceMs ?? DEFAULTS.killGraceMs,
      signal: o.signal,
      filesDir: s.files.dir,
      onControl: controlHandler(s, logger, o.onConfigUpdate),
      limit: o.limit,
      processor: processorStage,
    });
    o.onStart?.(streams.list, stateFile);
    const outcome = await engine.run();
    if (limited) {
      limited.keepBookkeeping();
      outcome.sink = { ...outcome.sink, stateFile, stateCommitted: false };
    } else if (o.limit !== undefined) outcome.sink = { ...outcome.sink, stateFile, stateCommitted: false };
    return { ...outcome, stateFile };
  } finally {
    await processorChild?.stop();
    lock?.release();
    s.files.cleanup();
  }
}

/**
 * The --out sink of a `--limit` run. The records are written into the stream files after their
 * committed data, as a crashed run's would be, but nothing is committed: the DirSink keeps its
 * state in a private copy of the state file, so the real one keeps every stream's state and every
 * file's committed length, and the next run into the folder cuts the files back to those lengths
 * and reads the records again (each lands exactly once). One case needs a write: a file that the
 * state file has no committed length for (a first run into the folder, a new stream), which the
 * next run would otherwise take as data to append to. For those, `keepBookkeeping` records the
 * length the file had before this run (and nothing else: no stream state changes).
 */
function limitedDirSink(s: Session, o: ReadOptions, stateFile: string, stored: StoredState, streams: StreamTable, logger: Logger): { sink: DirSink; keepBookkeeping(): void } {
  const busy = [...(stored.swap_pending ?? []), ...Object.entries(stored.files).filter(([rel, e]) => rel.endsWith('.partial') || e.replace === true || e.activate_version !== undefined).map(([rel]) => rel)];
  if (busy.length) throw new UsageError(`the state file ${stateFile} records a replacement in progress (${busy.slice(0, 3).join(', ')}); a --limit run cannot write a sample beside it: run without --limit first, or give another --out`);
  const copy = join(s.files.dir, 'limited-state.json');
  const sink = new DirSink({ dir: o.out!, stateFile: copy, stored, streams: streams.list, logger, commitIntervalMs: 0 });
  // the DirSink's starting point: the stored state and each file's length before this run
  const start = readStateFile(copy);
  return {
    sink,
    keepBookkeeping() {
      const missing = Object.entries(start?.files ?? {}).filter(([rel, e]) => e.mode === 'append' && !rel.endsWith('.partial') && !Object.hasOwn(stored.files, rel) && existsSync(join(o.out!, rel)));
      if (!missing.length) return;
      writeStateFile(stateFile, { ...stored, files: { ...stored.files, ...Object.fromEntries(missing) } });
      logger.info(`--limit: ${stateFile} now records where the committed data of ${missing.map(([rel]) => rel).join(', ')} ends (no stream state is changed), so that the next run reads these records again`);
    },
  };
}
