// connector-host: the library. The CLI (src/cli/main.ts) is a thin layer over these.

export { spec, check, discover, readWith, validateConfig, DEFAULTS } from './run/operations.js';
export type { ConnectorInput, CommonOptions, ConfigInput, ReadOptions, ReadResult, CheckResult } from './run/operations.js';
export { read } from './run/iterate.js';
export type { ReadRun, ReadEvent, RecordEvent, StateEvent } from './run/iterate.js';
export type { ReadOutcome, ValidateMode, TraceFailure } from './run/read-engine.js';
export type { ReadSink, SinkResult } from './run/sink.js';
export { resolveConnector, registerReferenceKind, type ConnectorRef } from './connector/resolve.js';
export { HostError, UsageError, ConfigError, ConnectorError, CheckFailedError, TimeoutError, StateError, ProtocolError, InterruptedError, EXIT } from './errors.js';
export type { ErrorCode } from './errors.js';
export { LosslessNumber, parseLossless, stringifyLossless } from './json/lossless.js';
export { readStateFile, stateForConnector, type StoredState } from './state/state.js';
export { createLogger } from './log/logger.js';
export * from './protocol/types.js';
