// TypeScript mirror of the JSON Schemas in protocol/ (the single source of truth).
// test/protocol/types-drift.test.ts fails when these types and the schemas drift apart:
// keep one `interface` per schema object and one string-literal union per schema enum.
//
// Every open schema object (additionalProperties: true) carries `[key: string]: unknown`:
// unknown fields are kept and passed on, never dropped.

// ---------------------------------------------------------------- common.schema.json

/** Identity of a stream: (namespace, name). Absent or null namespace means none. */
export interface StreamDescriptor {
  name: string;
  namespace?: string | null;
  [key: string]: unknown;
}

export type SyncMode = 'full_refresh' | 'incremental';

export type DestinationSyncMode = 'append' | 'overwrite' | 'append_dedup' | 'update' | 'soft_delete';

// ---------------------------------------------------------------- record.schema.json

export interface AirbyteRecordMessage {
  namespace?: string | null;
  stream: string;
  /** The record. When fidelity matters (int64, key order), use the raw line bytes instead. */
  data: Record<string, unknown>;
  /** Epoch milliseconds (integer). */
  emitted_at: number;
  meta?: AirbyteRecordMessageMeta;
  file_reference?: AirbyteRecordMessageFileReference;
  [key: string]: unknown;
}

export interface AirbyteRecordMessageMeta {
  changes?: AirbyteRecordMessageMetaChange[];
  [key: string]: unknown;
}

export interface AirbyteRecordMessageMetaChange {
  field: string;
  change: AirbyteRecordChangeType;
  reason: AirbyteRecordChangeReason;
  [key: string]: unknown;
}

export type AirbyteRecordChangeType = 'NULLED' | 'TRUNCATED';

export type AirbyteRecordChangeReason =
  | 'SOURCE_RECORD_SIZE_LIMITATION'
  | 'DESTINATION_RECORD_SIZE_LIMITATION'
  | 'PLATFORM_RECORD_SIZE_LIMITATION'
  | 'SOURCE_FIELD_SIZE_LIMITATION'
  | 'DESTINATION_FIELD_SIZE_LIMITATION'
  | 'PLATFORM_FIELD_SIZE_LIMITATION'
  | 'SOURCE_SERIALIZATION_ERROR'
  | 'DESTINATION_SERIALIZATION_ERROR'
  | 'PLATFORM_SERIALIZATION_ERROR'
  | 'SOURCE_RETRIEVAL_ERROR'
  | 'DESTINATION_TYPECAST_ERROR';

export interface AirbyteRecordMessageFileReference {
  staging_file_url?: string;
  source_file_relative_path?: string;
  file_size_bytes?: number;
  [key: string]: unknown;
}

// ---------------------------------------------------------------- state.schema.json

/** Absent `type` means LEGACY. */
export type AirbyteStateType = 'GLOBAL' | 'STREAM' | 'LEGACY';

/**
 * A checkpoint. The schema requires `stream` when type is STREAM, `global` when GLOBAL and
 * `data` when LEGACY or absent; see the narrowed aliases below.
 */
export interface AirbyteStateMessage {
  type?: AirbyteStateType;
  stream?: AirbyteStreamState;
  global?: AirbyteGlobalState;
  /** LEGACY state blob. */
  data?: Record<string, unknown>;
  sourceStats?: AirbyteStateStats;
  destinationStats?: AirbyteStateStats;
  [key: string]: unknown;
}

export type AirbyteStreamStateMessage = AirbyteStateMessage & { type: 'STREAM'; stream: AirbyteStreamState };
export type AirbyteGlobalStateMessage = AirbyteStateMessage & { type: 'GLOBAL'; global: AirbyteGlobalState };
export type AirbyteLegacyStateMessage = AirbyteStateMessage & {
  type?: 'LEGACY';
  data: Record<string, unknown>;
};

export interface AirbyteStreamState {
  stream_descriptor: StreamDescriptor;
  /** null removes the stream's entry from the stored state. */
  stream_state?: AirbyteStateBlob | null;
  [key: string]: unknown;
}

export interface AirbyteGlobalState {
  shared_state?: AirbyteStateBlob | null;
  stream_states: AirbyteStreamState[];
  [key: string]: unknown;
}

/** Opaque connector-defined state (cursor values must keep int64 precision). */
export interface AirbyteStateBlob {
  [key: string]: unknown;
}

export interface AirbyteStateStats {
  /** A float in the Airbyte protocol. */
  recordCount?: number;
  [key: string]: unknown;
}

// ---------------------------------------------------------------- log.schema.json

export type LogLevel = 'FATAL' | 'ERROR' | 'WARN' | 'INFO' | 'DEBUG' | 'TRACE';

export interface AirbyteLogMessage {
  level: LogLevel;
  message: string;
  stack_trace?: string;
  [key: string]: unknown;
}

// ---------------------------------------------------------------- trace.schema.json

export type AirbyteTraceType = 'ERROR' | 'ESTIMATE' | 'STREAM_STATUS' | 'ANALYTICS';

/** The schema requires the payload named by `type` (error, estimate, stream_status, analytics). */
export interface AirbyteTraceMessage {
  type: AirbyteTraceType;
  /** Epoch milliseconds; a number (may be fractional). */
  emitted_at: number;
  error?: AirbyteErrorTraceMessage;
  estimate?: AirbyteEstimateTraceMessage;
  stream_status?: AirbyteStreamStatusTraceMessage;
  analytics?: AirbyteAnalyticsTraceMessage;
  [key: string]: unknown;
}

export type FailureType = 'system_error' | 'config_error' | 'transient_error';

export interface AirbyteErrorTraceMessage {
  message: string;
  internal_message?: string;
  stack_trace?: string;
  failure_type?: FailureType;
  stream_descriptor?: StreamDescriptor;
  [key: string]: unknown;
}

export type EstimateType = 'STREAM' | 'SYNC';

export interface AirbyteEstimateTraceMessage {
  name: string;
  type: EstimateType;
  namespace?: string | null;
  row_estimate?: number;
  byte_estimate?: number;
  [key: string]: unknown;
}

export type AirbyteStreamStatus = 'STARTED' | 'RUNNING' | 'COMPLETE' | 'INCOMPLETE';

export type AirbyteStreamStatusReasonType = 'RATE_LIMITED';

export interface AirbyteStreamStatusRateLimitedReason {
  quota_reset?: number;
  [key: string]: unknown;
}

export interface AirbyteStreamStatusReason {
  type: AirbyteStreamStatusReasonType;
  rate_limited?: AirbyteStreamStatusRateLimitedReason;
  [key: string]: unknown;
}

export interface AirbyteStreamStatusTraceMessage {
  stream_descriptor: StreamDescriptor;
  status: AirbyteStreamStatus;
  reasons?: AirbyteStreamStatusReason[];
  /** Host extension: Singer ACTIVATE_VERSION (STARTED: a replacement begins; COMPLETE: it takes effect). */
  activate_version?: number | string;
  [key: string]: unknown;
}

export interface AirbyteAnalyticsTraceMessage {
  type: string;
  value?: string;
  [key: string]: unknown;
}

// ---------------------------------------------------------------- control.schema.json

export type AirbyteControlType = 'CONNECTOR_CONFIG';

export interface AirbyteControlMessage {
  type: AirbyteControlType;
  emitted_at: number;
  /** Required by the schema when type is CONNECTOR_CONFIG. */
  connectorConfig?: AirbyteControlConnectorConfigMessage;
  [key: string]: unknown;
}

export interface AirbyteControlConnectorConfigMessage {
  /** The complete new config to persist. */
  config: Record<string, unknown>;
  [key: string]: unknown;
}

// ---------------------------------------------------------------- connection-status.schema.json

export type ConnectionStatusValue = 'SUCCEEDED' | 'FAILED';

export interface AirbyteConnectionStatus {
  status: ConnectionStatusValue;
  message?: string;
  [key: string]: unknown;
}

// ---------------------------------------------------------------- spec.schema.json

export interface ConnectorSpecification {
  documentationUrl?: string;
  changelogUrl?: string;
  /** Draft-07 JSON Schema of the config; `airbyte_secret: true` marks secrets. */
  connectionSpecification: Record<string, unknown>;
  supportsIncremental?: boolean;
  supportsNormalization?: boolean;
  supportsDBT?: boolean;
  supported_destination_sync_modes?: DestinationSyncMode[];
  authSpecification?: AuthSpecification;
  advanced_auth?: AdvancedAuth;
  protocol_version?: string;
  [key: string]: unknown;
}

/** Deprecated by Airbyte in favour of advanced_auth. */
export interface AuthSpecification {
  auth_type?: 'oauth2.0';
  oauth2Specification?: OAuth2Specification;
  [key: string]: unknown;
}

export interface OAuth2Specification {
  rootObject?: Array<string | number>;
  oauthFlowInitParameters?: string[][];
  oauthFlowOutputParameters?: string[][];
  [key: string]: unknown;
}

export interface AdvancedAuth {
  auth_flow_type?: 'oauth2.0' | 'oauth1.0';
  predicate_key?: string[];
  predicate_value?: string;
  oauth_config_specification?: OAuthConfigSpecification;
  [key: string]: unknown;
}

export interface OAuthConfigSpecification {
  oauth_user_input_from_connector_config_specification?: Record<string, unknown>;
  oauth_connector_input_specification?: Record<string, unknown>;
  complete_oauth_output_specification?: Record<string, unknown>;
  complete_oauth_server_input_specification?: Record<string, unknown>;
  complete_oauth_server_output_specification?: Record<string, unknown>;
  [key: string]: unknown;
}

// ---------------------------------------------------------------- catalog.schema.json

export interface AirbyteCatalog {
  streams: AirbyteStream[];
  [key: string]: unknown;
}

export interface AirbyteStream {
  name: string;
  /** Draft-07 JSON Schema of the stream's records. */
  json_schema: Record<string, unknown>;
  supported_sync_modes: SyncMode[];
  source_defined_cursor?: boolean;
  default_cursor_field?: string[];
  source_defined_primary_key?: string[][];
  namespace?: string | null;
  is_resumable?: boolean;
  is_file_based?: boolean;
  [key: string]: unknown;
}

// ---------------------------------------------------------------- configured-catalog.schema.json

export interface ConfiguredAirbyteCatalog {
  streams: ConfiguredAirbyteStream[];
  [key: string]: unknown;
}

export interface ConfiguredAirbyteStream {
  stream: AirbyteStream;
  sync_mode: SyncMode;
  cursor_field?: string[];
  destination_sync_mode: DestinationSyncMode;
  destination_object_name?: string;
  primary_key?: string[][];
  generation_id?: number;
  minimum_generation_id?: number;
  sync_id?: number;
  include_files?: boolean;
  [key: string]: unknown;
}

// ---------------------------------------------------------------- destination-catalog.schema.json

export interface DestinationCatalog {
  operations: DestinationOperation[];
  [key: string]: unknown;
}

export interface DestinationOperation {
  object_name: string;
  sync_mode: DestinationSyncMode;
  json_schema: Record<string, unknown>;
  matching_keys?: string[][];
  [key: string]: unknown;
}

// ---------------------------------------------------------------- message.schema.json

export type AirbyteMessageType =
  | 'RECORD'
  | 'STATE'
  | 'LOG'
  | 'SPEC'
  | 'CONNECTION_STATUS'
  | 'CATALOG'
  | 'TRACE'
  | 'CONTROL'
  | 'DESTINATION_CATALOG';

// One envelope per message type; the schema requires the payload key named by `type`.
export interface AirbyteRecordEnvelope {
  type: 'RECORD';
  record: AirbyteRecordMessage;
  [key: string]: unknown;
}
export interface AirbyteStateEnvelope {
  type: 'STATE';
  state: AirbyteStateMessage;
  [key: string]: unknown;
}
export interface AirbyteLogEnvelope {
  type: 'LOG';
  log: AirbyteLogMessage;
  [key: string]: unknown;
}
export interface AirbyteSpecEnvelope {
  type: 'SPEC';
  spec: ConnectorSpecification;
  [key: string]: unknown;
}
export interface AirbyteConnectionStatusEnvelope {
  type: 'CONNECTION_STATUS';
  connectionStatus: AirbyteConnectionStatus;
  [key: string]: unknown;
}
export interface AirbyteCatalogEnvelope {
  type: 'CATALOG';
  catalog: AirbyteCatalog;
  [key: string]: unknown;
}
export interface AirbyteTraceEnvelope {
  type: 'TRACE';
  trace: AirbyteTraceMessage;
  [key: string]: unknown;
}
export interface AirbyteControlEnvelope {
  type: 'CONTROL';
  control: AirbyteControlMessage;
  [key: string]: unknown;
}
export interface AirbyteDestinationCatalogEnvelope {
  type: 'DESTINATION_CATALOG';
  destination_catalog: DestinationCatalog;
  [key: string]: unknown;
}

/** One line of connector output, discriminated on `type`. */
export type AirbyteMessage =
  | AirbyteRecordEnvelope
  | AirbyteStateEnvelope
  | AirbyteLogEnvelope
  | AirbyteSpecEnvelope
  | AirbyteConnectionStatusEnvelope
  | AirbyteCatalogEnvelope
  | AirbyteTraceEnvelope
  | AirbyteControlEnvelope
  | AirbyteDestinationCatalogEnvelope;

/** The envelope for one message type, e.g. `AirbyteMessageOf<'RECORD'>`. */
export type AirbyteMessageOf<T extends AirbyteMessageType> = Extract<AirbyteMessage, { type: T }>;

// ---------------------------------------------------------------- state-input.schema.json

/** The `--state` file: an array of state messages, or (LEGACY) the bare state blob. */
export type StateInput = AirbyteStateMessage[] | Record<string, unknown>;

// ---------------------------------------------------------------- host-state-file.schema.json

export type HostFileMode = 'append' | 'overwrite';

/** The host's state file (format version 1). */
export interface HostStateFile {
  connector_host_state: 1;
  /** Kind of every entry in `states`; null before any state was committed. */
  kind: AirbyteStateType | null;
  /** STREAM: one message per stream; GLOBAL/LEGACY: at most one. */
  states: AirbyteStateMessage[];
  /** Keyed by path relative to the output directory (forward slashes). */
  files: Record<string, HostStateFileEntry>;
  /** ISO 8601 date-time. */
  committed_at: string;
  out_dir?: string;
  /** A --full-refresh commit in progress: files whose .partial versions are renamed over them. */
  swap_pending?: string[];
  /** `host run` into a destination: the last sync_id and each stream's generation_id. */
  destination?: { sync_id: number; generations: Record<string, number>; [key: string]: unknown };
  [key: string]: unknown;
}

export interface HostStateFileEntry {
  /** Committed length in bytes; the file is truncated back to it on the next start. */
  bytes: number;
  records: number;
  mode: HostFileMode;
  stream: StreamDescriptor;
  /** On a <file>.partial entry: the Singer version whose copy is under way. */
  activate_version?: string;
  /** The stream's state was cleared: the next run replaces the file instead of appending to it. */
  replace?: boolean;
  [key: string]: unknown;
}
