// connector-host: the library. The CLI (src/cli/main.ts) is a thin layer over these.

import { registerBuiltinReferenceKinds } from './connector/register-builtins.js';
import { registerGitAndDockerReferenceKinds } from './connector/register-git-docker.js';

// pypi:, npm:, manifest:, git: and docker: references work as soon as the library is imported
registerBuiltinReferenceKinds();
registerGitAndDockerReferenceKinds();

export { spec, check, discover, readWith, validateConfig, DEFAULTS } from './run/operations.js';
export type { ConnectorInput, CommonOptions, ConfigInput, ReadOptions, ReadResult, CheckResult } from './run/operations.js';
export { read } from './run/iterate.js';
export { run, DestinationSink } from './run/pipeline.js';
export type { RunOptions, RunResult, DestinationSyncMode } from './run/pipeline.js';
export type { ReadRun, ReadEvent, RecordEvent, StateEvent } from './run/iterate.js';
export type { ReadOutcome, ValidateMode, TraceFailure } from './run/read-engine.js';
export type { ReadSink, SinkResult } from './run/sink.js';
export { resolveConnector, registerReferenceKind, type ConnectorRef, type ResolveOptions } from './connector/resolve.js';
export { loadRegistry, type Registry, type RegistryEntry } from './connector/registry.js';
export { readGitProvenance, listGitProvenance, type GitProvenance } from './connector/register-git-docker.js';
export { cacheRoot } from './connector/cache.js';
export { HostError, UsageError, ConfigError, ConnectorError, CheckFailedError, TimeoutError, StateError, ProtocolError, InterruptedError, EXIT } from './errors.js';
export type { ErrorCode } from './errors.js';
export { LosslessNumber, parseLossless, stringifyLossless } from './json/lossless.js';
export { readStateFile, stateForConnector, type StoredState } from './state/state.js';
export * as stateCommands from './state/commands.js';
export { createLogger } from './log/logger.js';
export * from './protocol/types.js';
