// Run-time access to the protocol JSON Schemas in <package>/protocol/ (the single source of
// truth) and to ajv validators built from them.
//
// Two Ajv instances, both created lazily on first use:
// - the protocol one: every protocol/*.schema.json added once; each definition compiled on
//   first request and cached (ajv compile is the expensive part, validation is cheap);
// - the user one: arbitrary user schemas (config specs, stream json_schemas), formats NOT
//   validated (connectors use them loosely), compiled once per schema object.

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import type { AnySchemaObject, ErrorObject, ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type * as Types from './types.js';

/** Every definition name in protocol/index.json, in its order. Checked by the drift test. */
export const SCHEMA_NAMES = [
  'AirbyteMessageType',
  'AirbyteMessage',
  'AirbyteRecordMessage',
  'AirbyteRecordMessageMeta',
  'AirbyteRecordMessageMetaChange',
  'AirbyteRecordChangeType',
  'AirbyteRecordChangeReason',
  'AirbyteRecordMessageFileReference',
  'AirbyteStateType',
  'AirbyteStateMessage',
  'AirbyteStreamState',
  'AirbyteGlobalState',
  'AirbyteStateBlob',
  'AirbyteStateStats',
  'LogLevel',
  'AirbyteLogMessage',
  'AirbyteTraceType',
  'AirbyteTraceMessage',
  'FailureType',
  'AirbyteErrorTraceMessage',
  'EstimateType',
  'AirbyteEstimateTraceMessage',
  'AirbyteStreamStatus',
  'AirbyteStreamStatusReasonType',
  'AirbyteStreamStatusRateLimitedReason',
  'AirbyteStreamStatusReason',
  'AirbyteStreamStatusTraceMessage',
  'AirbyteAnalyticsTraceMessage',
  'AirbyteControlType',
  'AirbyteControlMessage',
  'AirbyteControlConnectorConfigMessage',
  'ConnectionStatusValue',
  'AirbyteConnectionStatus',
  'ConnectorSpecification',
  'AuthSpecification',
  'OAuth2Specification',
  'AdvancedAuth',
  'OAuthConfigSpecification',
  'AirbyteCatalog',
  'AirbyteStream',
  'ConfiguredAirbyteCatalog',
  'ConfiguredAirbyteStream',
  'DestinationCatalog',
  'DestinationOperation',
  'StreamDescriptor',
  'SyncMode',
  'DestinationSyncMode',
  'StateInput',
  'HostStateFile',
  'HostFileMode',
  'HostStateFileEntry',
] as const;

export type SchemaName = (typeof SCHEMA_NAMES)[number];

/** The TypeScript type each definition validates to (see types.ts). */
export interface SchemaTypeMap {
  AirbyteMessageType: Types.AirbyteMessageType;
  AirbyteMessage: Types.AirbyteMessage;
  AirbyteRecordMessage: Types.AirbyteRecordMessage;
  AirbyteRecordMessageMeta: Types.AirbyteRecordMessageMeta;
  AirbyteRecordMessageMetaChange: Types.AirbyteRecordMessageMetaChange;
  AirbyteRecordChangeType: Types.AirbyteRecordChangeType;
  AirbyteRecordChangeReason: Types.AirbyteRecordChangeReason;
  AirbyteRecordMessageFileReference: Types.AirbyteRecordMessageFileReference;
  AirbyteStateType: Types.AirbyteStateType;
  AirbyteStateMessage: Types.AirbyteStateMessage;
  AirbyteStreamState: Types.AirbyteStreamState;
  AirbyteGlobalState: Types.AirbyteGlobalState;
  AirbyteStateBlob: Types.AirbyteStateBlob;
  AirbyteStateStats: Types.AirbyteStateStats;
  LogLevel: Types.LogLevel;
  AirbyteLogMessage: Types.AirbyteLogMessage;
  AirbyteTraceType: Types.AirbyteTraceType;
  AirbyteTraceMessage: Types.AirbyteTraceMessage;
  FailureType: Types.FailureType;
  AirbyteErrorTraceMessage: Types.AirbyteErrorTraceMessage;
  EstimateType: Types.EstimateType;
  AirbyteEstimateTraceMessage: Types.AirbyteEstimateTraceMessage;
  AirbyteStreamStatus: Types.AirbyteStreamStatus;
  AirbyteStreamStatusReasonType: Types.AirbyteStreamStatusReasonType;
  AirbyteStreamStatusRateLimitedReason: Types.AirbyteStreamStatusRateLimitedReason;
  AirbyteStreamStatusReason: Types.AirbyteStreamStatusReason;
  AirbyteStreamStatusTraceMessage: Types.AirbyteStreamStatusTraceMessage;
  AirbyteAnalyticsTraceMessage: Types.AirbyteAnalyticsTraceMessage;
  AirbyteControlType: Types.AirbyteControlType;
  AirbyteControlMessage: Types.AirbyteControlMessage;
  AirbyteControlConnectorConfigMessage: Types.AirbyteControlConnectorConfigMessage;
  ConnectionStatusValue: Types.ConnectionStatusValue;
  AirbyteConnectionStatus: Types.AirbyteConnectionStatus;
  ConnectorSpecification: Types.ConnectorSpecification;
  AuthSpecification: Types.AuthSpecification;
  OAuth2Specification: Types.OAuth2Specification;
  AdvancedAuth: Types.AdvancedAuth;
  OAuthConfigSpecification: Types.OAuthConfigSpecification;
  AirbyteCatalog: Types.AirbyteCatalog;
  AirbyteStream: Types.AirbyteStream;
  ConfiguredAirbyteCatalog: Types.ConfiguredAirbyteCatalog;
  ConfiguredAirbyteStream: Types.ConfiguredAirbyteStream;
  DestinationCatalog: Types.DestinationCatalog;
  DestinationOperation: Types.DestinationOperation;
  StreamDescriptor: Types.StreamDescriptor;
  SyncMode: Types.SyncMode;
  DestinationSyncMode: Types.DestinationSyncMode;
  StateInput: Types.StateInput;
  HostStateFile: Types.HostStateFile;
  HostFileMode: Types.HostFileMode;
  HostStateFileEntry: Types.HostStateFileEntry;
}

/** Base URI of every protocol schema's `$id`. */
export const PROTOCOL_BASE_URI = 'https://connector-host.dev/protocol/';

/**
 * The package's protocol/ folder. Same relative path from src/protocol/ (tests) and from
 * dist/protocol/ (compiled).
 */
export const PROTOCOL_DIR: URL = new URL('../../protocol/', import.meta.url);

export interface ProtocolSchemas {
  /** Parsed schema files by file name, e.g. 'state.schema.json'. */
  readonly files: ReadonlyMap<string, AnySchemaObject>;
  /** Definition name -> reference relative to PROTOCOL_BASE_URI (from protocol/index.json). */
  readonly definitions: Readonly<Record<string, string>>;
}

let protocolSchemas: ProtocolSchemas | undefined;

/** Reads protocol/*.schema.json and protocol/index.json once (synchronously; small files). */
export function loadProtocolSchemas(): ProtocolSchemas {
  if (protocolSchemas) return protocolSchemas;
  const dir = fileURLToPath(PROTOCOL_DIR);
  const files = new Map<string, AnySchemaObject>();
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('.schema.json')) continue;
    files.set(name, JSON.parse(readFileSync(new URL(name, PROTOCOL_DIR), 'utf8')) as AnySchemaObject);
  }
  const index = JSON.parse(readFileSync(new URL('index.json', PROTOCOL_DIR), 'utf8')) as {
    definitions: Record<string, string>;
  };
  protocolSchemas = { files, definitions: index.definitions };
  return protocolSchemas;
}

type FormatsPlugin = (ajv: Ajv) => Ajv;
// ajv-formats is CommonJS; under NodeNext its default import is module.exports, which carries
// the plugin both as itself and as `.default`.
const addFormats: FormatsPlugin =
  ((addFormatsModule as unknown as { default?: FormatsPlugin }).default ??
    (addFormatsModule as unknown as FormatsPlugin));

// Validators compiled at build time (scripts/build-validators.mjs), used only when they were
// built from exactly the schema files present now; otherwise ajv compiles at run time.
let precompiled: Record<string, unknown> | null | undefined;

function loadPrecompiled(): Record<string, unknown> | null {
  if (precompiled !== undefined) return precompiled;
  precompiled = null;
  try {
    const mod = createRequire(import.meta.url)('./validators.generated.cjs') as Record<string, unknown>;
    const dir = fileURLToPath(PROTOCOL_DIR);
    const hash = createHash('sha256');
    for (const name of readdirSync(dir).sort()) {
      if (!name.endsWith('.schema.json')) continue;
      hash.update(name).update('\0').update(readFileSync(join(dir, name), 'utf8')).update('\0');
    }
    if (mod['PROTOCOL_HASH'] === hash.digest('hex')) precompiled = mod;
  } catch {
    // not built (e.g. running from src/ in tests): compile at run time
  }
  return precompiled;
}

/** True when the validators come from the build-time module (for tests and diagnostics). */
export function validatorsPrecompiled(): boolean {
  return loadPrecompiled() !== null;
}

let protocolAjv: Ajv | undefined;
const validators = new Map<SchemaName, ValidateFunction>();

function getProtocolAjv(): Ajv {
  if (protocolAjv) return protocolAjv;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  for (const schema of loadProtocolSchemas().files.values()) ajv.addSchema(schema);
  protocolAjv = ajv;
  return ajv;
}

/**
 * The compiled validator of one protocol definition, e.g. getValidator('AirbyteMessage').
 * Compiled on first use and cached. The function is a type guard for the matching type in
 * types.ts; after a failed call, `validate.errors` holds the ajv errors (format them with
 * formatAjvErrors).
 */
export function getValidator<N extends SchemaName>(name: N): ValidateFunction<SchemaTypeMap[N]> {
  const cached = validators.get(name);
  if (cached) return cached as ValidateFunction<SchemaTypeMap[N]>;
  const pre = loadPrecompiled()?.[name];
  if (typeof pre === 'function') {
    validators.set(name, pre as ValidateFunction);
    return pre as ValidateFunction<SchemaTypeMap[N]>;
  }
  const ref = loadProtocolSchemas().definitions[name];
  if (ref === undefined) throw new Error(`unknown protocol schema definition: ${name}`);
  const validate = getProtocolAjv().getSchema(PROTOCOL_BASE_URI + ref);
  if (!validate) throw new Error(`protocol schema definition not found: ${ref}`);
  validators.set(name, validate);
  return validate as ValidateFunction<SchemaTypeMap[N]>;
}

export interface FormatAjvErrorsOptions {
  /** At most this many lines (default 20); a last line says how many were left out. */
  maxErrors?: number;
}

/**
 * Turns ajv errors into short lines: `<JSON pointer>: <message>`, e.g.
 * `/connectionSpecification/properties: must be object`, and for enum/const the allowed
 * values. A missing required property is reported at its parent (`/: must have required
 * property 'type'`). The offending value itself is never included (it may be a secret); only
 * keys are (property names, e.g. a bad key in a propertyNames check).
 */
export function formatAjvErrors(
  errors: readonly ErrorObject[] | null | undefined,
  opts: FormatAjvErrorsOptions = {},
): string[] {
  if (!errors || errors.length === 0) return [];
  const max = Math.max(1, opts.maxErrors ?? 20);
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    // `if` only says "must match then schema"; the failing `then` keyword is reported itself.
    if (error.keyword === 'if') continue;
    // Errors about a property *name* are summarised by their propertyNames error below.
    if (error.propertyName !== undefined && error.keyword !== 'propertyNames') continue;
    const line = `${error.instancePath || '/'}: ${describe(error)}`;
    if (seen.has(line)) continue;
    seen.add(line);
    lines.push(line);
  }
  if (lines.length > max) {
    const rest = lines.length - max;
    lines.length = max;
    lines.push(`... and ${rest} more error${rest === 1 ? '' : 's'}`);
  }
  return lines;
}

function describe(error: ErrorObject): string {
  const message = error.message ?? `failed keyword ${error.keyword}`;
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'enum' && Array.isArray(params.allowedValues)) {
    return `${message}: ${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  if (error.keyword === 'propertyNames' && typeof params.propertyName === 'string') {
    // A key, not a value: safe to show, and needed to find the culprit.
    return `property name ${JSON.stringify(params.propertyName)} is invalid`;
  }
  if (error.keyword === 'const' && 'allowedValue' in params) {
    return `${message}: ${JSON.stringify(params.allowedValue)}`;
  }
  return message;
}

let userAjv: Ajv | undefined;
const userValidators = new WeakMap<object, ValidateFunction>();

function getUserAjv(): Ajv {
  if (userAjv) return userAjv;
  // addUsedSchema: false, so that two user schemas with the same $id do not collide.
  userAjv = new Ajv({ strict: false, allErrors: true, validateFormats: false, addUsedSchema: false });
  return userAjv;
}

/**
 * Compiles an arbitrary user JSON Schema (a connector's connectionSpecification, a stream's
 * json_schema) with draft-07 semantics; formats are not validated. Cached by schema object
 * identity, so pass the same object to reuse the compiled function. Throws when the schema
 * itself is invalid. A `$schema` naming a draft ajv does not know is treated as draft-07.
 */
export function compileSchema<T = unknown>(schema: object): ValidateFunction<T> {
  const cached = userValidators.get(schema);
  if (cached) return cached as ValidateFunction<T>;
  const ajv = getUserAjv();
  let toCompile = schema as AnySchemaObject;
  const declared = toCompile.$schema;
  if (typeof declared === 'string' && !knownMetaSchema(ajv, declared)) {
    // e.g. draft-04 or 2019-09: validate with the draft-07 meta-schema instead of failing.
    const { $schema: _ignored, ...rest } = toCompile;
    toCompile = rest;
  }
  const validate = ajv.compile(toCompile);
  userValidators.set(schema, validate);
  return validate as ValidateFunction<T>;
}

function knownMetaSchema(ajv: Ajv, uri: string): boolean {
  try {
    return ajv.getSchema(uri) !== undefined;
  } catch {
    return false;
  }
}
