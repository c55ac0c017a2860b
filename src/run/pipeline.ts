// `host run <source> --destination <destination>`: records flow from the source into a
// destination's stdin with backpressure; state is committed only when the destination
// acknowledges it (a protocol destination echoes the STATE message once everything before it is
// persisted; a Singer target writes the state value back). The sink, one for both kinds of
// destination, is src/run/destination-sink.ts; a Singer target's dialect is
// src/dialect/singer-target.ts (the host writes to the target itself, no shim between).

import type { Logger } from '../log/logger.js';
import { silentLogger } from '../log/logger.js';
import { stringifyLossless, isPlainObject, toPlain, type LosslessValue } from '../json/lossless.js';
import { collectSecrets } from '../secrets/mask.js';
import { RunFiles } from '../connector/process.js';
import { resolveConnector, type ConnectorRef } from '../connector/resolve.js';
import { loadConfig } from '../config/config.js';
import { registryConfig } from '../connector/registry.js';
import { UsageError } from '../errors.js';
import { runSimpleCommand, type Message } from './simple-command.js';
import { readWith, validateConfig, mergeConfig, DEFAULTS, type ReadOptions, type ReadResult, type ConnectorInput } from './operations.js';
import type { RunStream } from './streams.js';
import type { DestinationInfo } from '../state/state.js';
import { DestinationSink, ProtocolDestination, syncModeFor, type DestinationSyncMode } from './destination-sink.js';
import { SingerTargetDialect, singerTargetSpec } from '../dialect/singer-target.js';

export { DestinationSink, ProtocolDestination, SINGER_TARGET_MODE, type DestinationSinkOptions, type DestinationDialect, type DestinationSyncMode } from './destination-sink.js';

export interface RunOptions extends ReadOptions {
  /** The destination: a path, a reference, a registry name, an argv, or a resolved ConnectorRef. */
  destination?: ConnectorInput | undefined;
  /** `singer`: the destination is a Singer target (written to in-process, src/dialect/singer-target.ts). */
  destinationProtocol?: 'native' | 'singer' | undefined;
  /** The destination's config files (later ones win), or the config itself. */
  destinationConfigFile?: string | string[] | undefined;
  destinationConfig?: Record<string, unknown> | undefined;
  /** Extra arguments for the destination program (before the command word; for a Singer target, its own arguments). */
  destinationArgs?: string[] | undefined;
  /** Default: overwrite for full refresh streams, append for incremental ones. */
  destinationSyncMode?: DestinationSyncMode | undefined;
}

export interface RunResult extends ReadResult {
  destination: string | undefined;
  /** STATE messages the destination acknowledged. */
  acknowledged: number;
  /** Lines of the destination's stdout that were not protocol messages (only the first are logged). */
  destinationWarnings: number;
}

/** Whether this run replaces the stream's data in the destination: a new generation. */
function replaces(s: RunStream, mode: DestinationSyncMode | undefined, fullRefresh: boolean): boolean {
  return (s.configured.sync_mode === 'full_refresh' || fullRefresh) && syncModeFor(s, mode, fullRefresh) === 'overwrite';
}

/** Each configured stream with the destination fields the Airbyte platform sets. */
export function destinationCatalog(streams: RunStream[], info: DestinationInfo, mode: DestinationSyncMode | undefined, fullRefresh = false): { streams: Record<string, unknown>[] } {
  return {
    streams: streams.map((s) => {
      const c = s.configured;
      const generation = info.generations[s.display] ?? 0;
      return {
        ...c,
        destination_sync_mode: syncModeFor(s, mode, fullRefresh),
        generation_id: generation,
        minimum_generation_id: replaces(s, mode, fullRefresh) ? generation : 0,
        sync_id: info.sync_id,
      };
    }),
  };
}

/** The next run's sync id and generations: a full refresh + overwrite starts a new generation. */
export function nextDestinationInfo(prev: DestinationInfo | undefined, streams: RunStream[], mode: DestinationSyncMode | undefined, fullRefresh = false): DestinationInfo {
  const generations: Record<string, number> = { ...(prev?.generations ?? {}) };
  for (const s of streams) {
    const g = generations[s.display];
    if (replaces(s, mode, fullRefresh)) generations[s.display] = g === undefined ? 0 : g + 1;
    else generations[s.display] = g ?? 0;
  }
  return { sync_id: (prev?.sync_id ?? 0) + 1, generations };
}

async function resolveDestination(o: RunOptions, logger: Logger): Promise<ConnectorRef> {
  const d = o.destination!;
  if (typeof d === 'object' && !Array.isArray(d) && 'command' in (d as object)) return d as ConnectorRef;
  const extra = o.destinationArgs ?? [];
  // `--destination-protocol singer` (or a registry entry with `protocol: singer`): the target itself, dialect singer-target
  const ref = await resolveConnector(d as string | readonly string[], { logger, ...o.resolve, protocol: o.destinationProtocol === 'singer' ? 'singer' : 'native', role: 'destination' });
  return extra.length ? { ...ref, args: [...ref.args, ...extra] } : ref;
}

/**
 * Run a pipeline: without a destination, the built-in `out` directory (the same as read);
 * with one, the destination's spec and config are checked first, then the source is read
 * into it.
 */
export async function run(source: ConnectorInput, o: RunOptions): Promise<RunResult> {
  if (!o.destination) {
    if (!o.out) throw new UsageError('name a --destination, or --out DIR for the built-in JSONL output');
    const r = await readWith(source, o);
    return { ...r, destination: o.out, acknowledged: 0, destinationWarnings: 0 };
  }
  if (o.out) throw new UsageError('give either --destination or --out, not both');
  if (o.format === 'singer') throw new UsageError('--format is for `host read` to stdout; `host run` writes into the destination');
  const logger = o.logger ?? silentLogger();
  const dest = await resolveDestination(o, logger);
  const singerTarget = dest.dialect === 'singer-target';
  const simple = { logger, timeoutMs: o.timeoutMs ?? DEFAULTS.timeoutMs, killGraceMs: o.killGraceMs, maxLineBytes: o.maxLineBytes, signal: o.signal };
  const destSpec: Message = singerTarget ? await singerTargetSpec(dest, logger) : await runSimpleCommand(dest, 'spec', [], simple);
  const config = o.destinationConfigFile !== undefined ? loadConfig(o.destinationConfigFile) : { value: (o.destinationConfig ?? {}) as Record<string, LosslessValue>, file: undefined };
  // a registry entry's defaults (and environment fields) sit under the user's own config
  if (dest.registry) config.value = mergeConfig(registryConfig(dest.registry), config.value);
  validateConfig(destSpec, config, { option: '--destination-config', who: 'destination', given: o.destinationConfig !== undefined });
  const cs = isPlainObject(destSpec['spec']) ? destSpec['spec']['connectionSpecification'] : undefined;
  const destSecrets = collectSecrets(toPlain(config.value), toPlain(cs ?? {}) as object);
  if (!o.stateFile) logger.warn('no --state file: this run starts from scratch and the state the destination acknowledges is not kept');

  const files = new RunFiles();
  let sink: DestinationSink | undefined;
  try {
    const configPath = files.write('destination-config.json', stringifyLossless(config.value));
    const r = await readWith(source, o, (ctx) => {
      ctx.masker.add(destSecrets);
      const info = nextDestinationInfo(ctx.stored.destination, ctx.streams.list, o.destinationSyncMode, o.fullRefresh);
      const catalogPath = files.write('destination-catalog.json', stringifyLossless(destinationCatalog(ctx.streams.list, info, o.destinationSyncMode, o.fullRefresh)));
      const dialect = singerTarget ? new SingerTargetDialect(ctx.streams.list) : new ProtocolDestination();
      sink = new DestinationSink({
        ref: dest,
        args: dialect.args({ config: configPath, catalog: catalogPath }),
        dialect,
        filesDir: files.dir,
        streams: ctx.streams.list,
        stateFile: ctx.stateFile,
        stored: ctx.stored,
        destinationInfo: info,
        logger,
        masker: ctx.masker,
        killGraceMs: o.killGraceMs ?? DEFAULTS.killGraceMs,
        commitIntervalMs: o.commitIntervalMs ?? DEFAULTS.commitIntervalMs,
        signal: o.signal,
        maxLineBytes: o.maxLineBytes ?? DEFAULTS.maxLineBytes,
        fullRefresh: o.fullRefresh,
        destinationSyncMode: o.destinationSyncMode,
      });
      return sink;
    });
    return { ...r, destination: dest.display, acknowledged: sink?.acknowledged ?? 0, destinationWarnings: sink?.noise.count ?? 0 };
  } finally {
    files.cleanup();
  }
}
