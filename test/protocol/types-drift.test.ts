// Keeps src/protocol/types.ts in step with the JSON Schemas in protocol/ (the source of truth),
// and checks the validators built from those schemas against real-looking messages.
//
// The comparison reads types.ts with the TypeScript compiler API (syntax only, no type
// checker) and, for every schema definition, compares:
// - objects: property names, optionality (`?` vs `required`), each property's type shape
//   (string/number/boolean/null, literal values, array/record element shapes, and the name of
//   the $ref'd definition), and that the interface keeps unknown fields (index signature);
// - enums: the string-literal union against `enum`;
// - AirbyteMessage: the discriminated union of envelopes against the envelope schema's if/then.

import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import {
  PROTOCOL_BASE_URI,
  SCHEMA_NAMES,
  compileSchema,
  formatAjvErrors,
  getValidator,
  loadProtocolSchemas,
  type SchemaName,
} from '../../src/protocol/schemas.js';

type Json = Record<string, unknown>;
type SchemaFiles = ReadonlyMap<string, Json>;

const TYPES_PATH = new URL('../../src/protocol/types.ts', import.meta.url);
const typesSource = readFileSync(TYPES_PATH, 'utf8');

// How each schema definition is mirrored in types.ts. 'interface': an interface of the same
// name; 'alias': a type alias of the same name (enums, unions); 'envelope-union': the
// AirbyteMessage discriminated union.
type MappingKind = 'interface' | 'alias' | 'envelope-union';
const MAPPING: Record<SchemaName, { ts: string; kind: MappingKind }> = {
  AirbyteMessageType: { ts: 'AirbyteMessageType', kind: 'alias' },
  AirbyteMessage: { ts: 'AirbyteMessage', kind: 'envelope-union' },
  AirbyteRecordMessage: { ts: 'AirbyteRecordMessage', kind: 'interface' },
  AirbyteRecordMessageMeta: { ts: 'AirbyteRecordMessageMeta', kind: 'interface' },
  AirbyteRecordMessageMetaChange: { ts: 'AirbyteRecordMessageMetaChange', kind: 'interface' },
  AirbyteRecordChangeType: { ts: 'AirbyteRecordChangeType', kind: 'alias' },
  AirbyteRecordChangeReason: { ts: 'AirbyteRecordChangeReason', kind: 'alias' },
  AirbyteRecordMessageFileReference: { ts: 'AirbyteRecordMessageFileReference', kind: 'interface' },
  AirbyteStateType: { ts: 'AirbyteStateType', kind: 'alias' },
  AirbyteStateMessage: { ts: 'AirbyteStateMessage', kind: 'interface' },
  AirbyteStreamState: { ts: 'AirbyteStreamState', kind: 'interface' },
  AirbyteGlobalState: { ts: 'AirbyteGlobalState', kind: 'interface' },
  AirbyteStateBlob: { ts: 'AirbyteStateBlob', kind: 'interface' },
  AirbyteStateStats: { ts: 'AirbyteStateStats', kind: 'interface' },
  LogLevel: { ts: 'LogLevel', kind: 'alias' },
  AirbyteLogMessage: { ts: 'AirbyteLogMessage', kind: 'interface' },
  AirbyteTraceType: { ts: 'AirbyteTraceType', kind: 'alias' },
  AirbyteTraceMessage: { ts: 'AirbyteTraceMessage', kind: 'interface' },
  FailureType: { ts: 'FailureType', kind: 'alias' },
  AirbyteErrorTraceMessage: { ts: 'AirbyteErrorTraceMessage', kind: 'interface' },
  EstimateType: { ts: 'EstimateType', kind: 'alias' },
  AirbyteEstimateTraceMessage: { ts: 'AirbyteEstimateTraceMessage', kind: 'interface' },
  AirbyteStreamStatus: { ts: 'AirbyteStreamStatus', kind: 'alias' },
  AirbyteStreamStatusReasonType: { ts: 'AirbyteStreamStatusReasonType', kind: 'alias' },
  AirbyteStreamStatusRateLimitedReason: { ts: 'AirbyteStreamStatusRateLimitedReason', kind: 'interface' },
  AirbyteStreamStatusReason: { ts: 'AirbyteStreamStatusReason', kind: 'interface' },
  AirbyteStreamStatusTraceMessage: { ts: 'AirbyteStreamStatusTraceMessage', kind: 'interface' },
  AirbyteAnalyticsTraceMessage: { ts: 'AirbyteAnalyticsTraceMessage', kind: 'interface' },
  AirbyteControlType: { ts: 'AirbyteControlType', kind: 'alias' },
  AirbyteControlMessage: { ts: 'AirbyteControlMessage', kind: 'interface' },
  AirbyteControlConnectorConfigMessage: { ts: 'AirbyteControlConnectorConfigMessage', kind: 'interface' },
  ConnectionStatusValue: { ts: 'ConnectionStatusValue', kind: 'alias' },
  AirbyteConnectionStatus: { ts: 'AirbyteConnectionStatus', kind: 'interface' },
  ConnectorSpecification: { ts: 'ConnectorSpecification', kind: 'interface' },
  AuthSpecification: { ts: 'AuthSpecification', kind: 'interface' },
  OAuth2Specification: { ts: 'OAuth2Specification', kind: 'interface' },
  AdvancedAuth: { ts: 'AdvancedAuth', kind: 'interface' },
  OAuthConfigSpecification: { ts: 'OAuthConfigSpecification', kind: 'interface' },
  AirbyteCatalog: { ts: 'AirbyteCatalog', kind: 'interface' },
  AirbyteStream: { ts: 'AirbyteStream', kind: 'interface' },
  ConfiguredAirbyteCatalog: { ts: 'ConfiguredAirbyteCatalog', kind: 'interface' },
  ConfiguredAirbyteStream: { ts: 'ConfiguredAirbyteStream', kind: 'interface' },
  DestinationCatalog: { ts: 'DestinationCatalog', kind: 'interface' },
  DestinationOperation: { ts: 'DestinationOperation', kind: 'interface' },
  StreamDescriptor: { ts: 'StreamDescriptor', kind: 'interface' },
  SyncMode: { ts: 'SyncMode', kind: 'alias' },
  DestinationSyncMode: { ts: 'DestinationSyncMode', kind: 'alias' },
  StateInput: { ts: 'StateInput', kind: 'alias' },
  HostStateFile: { ts: 'HostStateFile', kind: 'interface' },
  HostFileMode: { ts: 'HostFileMode', kind: 'alias' },
  HostStateFileEntry: { ts: 'HostStateFileEntry', kind: 'interface' },
};

// ---------------------------------------------------------------- reading types.ts

interface TsProperty {
  optional: boolean;
  type: ts.TypeNode | undefined;
}
interface TsInterface {
  props: Map<string, TsProperty>;
  indexSignature: boolean;
  heritage: boolean;
}
interface ParsedTypes {
  interfaces: Map<string, TsInterface>;
  aliases: Map<string, ts.TypeNode>;
}

function parseTypes(source: string): ParsedTypes {
  const file = ts.createSourceFile('types.ts', source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const interfaces = new Map<string, TsInterface>();
  const aliases = new Map<string, ts.TypeNode>();
  for (const statement of file.statements) {
    if (ts.isInterfaceDeclaration(statement)) {
      const props = new Map<string, TsProperty>();
      let indexSignature = false;
      for (const member of statement.members) {
        if (ts.isIndexSignatureDeclaration(member)) indexSignature = true;
        else if (ts.isPropertySignature(member)) {
          props.set(propertyName(member.name), { optional: member.questionToken !== undefined, type: member.type });
        }
      }
      interfaces.set(statement.name.text, {
        props,
        indexSignature,
        heritage: (statement.heritageClauses?.length ?? 0) > 0,
      });
    } else if (ts.isTypeAliasDeclaration(statement)) {
      aliases.set(statement.name.text, statement.type);
    }
  }
  return { interfaces, aliases };
}

function propertyName(name: ts.PropertyName): string {
  if (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name)) return name.text;
  return name.getText();
}

/** Shape tokens of a TS type: 'string', 'number', 'boolean', 'null', 'unknown', 'lit:"x"',
 *  'ref:Name', 'object', 'array<...>', 'record<...>'. */
function tsShape(node: ts.TypeNode | undefined): Set<string> {
  const out = new Set<string>();
  const visit = (n: ts.TypeNode | undefined): void => {
    if (!n) return void out.add('unknown');
    if (ts.isUnionTypeNode(n)) return n.types.forEach(visit);
    if (ts.isParenthesizedTypeNode(n)) return visit(n.type);
    if (ts.isArrayTypeNode(n)) return void out.add(`array<${joinShape(tsShape(n.elementType))}>`);
    if (ts.isTypeLiteralNode(n)) return void out.add('object');
    if (ts.isLiteralTypeNode(n)) {
      if (n.literal.kind === ts.SyntaxKind.NullKeyword) return void out.add('null');
      if (ts.isStringLiteral(n.literal)) return void out.add(`lit:${JSON.stringify(n.literal.text)}`);
      if (ts.isNumericLiteral(n.literal)) return void out.add(`lit:${Number(n.literal.text)}`);
      if (n.literal.kind === ts.SyntaxKind.TrueKeyword || n.literal.kind === ts.SyntaxKind.FalseKeyword) {
        return void out.add(`lit:${n.literal.getText()}`);
      }
    }
    if (ts.isTypeReferenceNode(n)) {
      const name = n.typeName.getText();
      const args = n.typeArguments ?? [];
      if (name === 'Array' && args.length === 1) return void out.add(`array<${joinShape(tsShape(args[0]))}>`);
      if (name === 'Record' && args.length === 2) {
        const value = tsShape(args[1]);
        return void out.add(value.size === 1 && value.has('unknown') ? 'object' : `record<${joinShape(value)}>`);
      }
      return void out.add(`ref:${name}`);
    }
    switch (n.kind) {
      case ts.SyntaxKind.StringKeyword:
        return void out.add('string');
      case ts.SyntaxKind.NumberKeyword:
        return void out.add('number');
      case ts.SyntaxKind.BooleanKeyword:
        return void out.add('boolean');
      case ts.SyntaxKind.UnknownKeyword:
      case ts.SyntaxKind.AnyKeyword:
        return void out.add('unknown');
      default:
        return void out.add(`unsupported:${n.getText()}`);
    }
  };
  visit(node);
  return out;
}

// ---------------------------------------------------------------- reading the schemas

function joinShape(shape: Set<string>): string {
  return [...shape].sort().join('|');
}

/** 'state.schema.json#/definitions/X' or '#/definitions/X' -> 'X'. */
function refName(ref: string): string {
  const at = ref.lastIndexOf('/definitions/');
  if (at < 0) throw new Error(`unsupported $ref ${ref}`);
  return ref.slice(at + '/definitions/'.length);
}

/** Shape tokens of a schema, in the same vocabulary as tsShape. */
function schemaShape(schema: unknown): Set<string> {
  const out = new Set<string>();
  const visit = (s: unknown): void => {
    if (s === true || s === undefined) return void out.add('unknown');
    if (!isObject(s)) return void out.add('unsupported');
    if (typeof s.$ref === 'string') return void out.add(`ref:${refName(s.$ref)}`);
    if (Array.isArray(s.anyOf)) return s.anyOf.forEach(visit);
    if (Array.isArray(s.oneOf)) return s.oneOf.forEach(visit);
    if ('const' in s) return void out.add(`lit:${JSON.stringify(s.const)}`);
    const types = Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === 'string' ? [s.type] : [];
    if (types.length === 0) return void out.add('unknown');
    for (const t of types) {
      if (t === 'string' && Array.isArray(s.enum)) s.enum.forEach((v) => out.add(`lit:${JSON.stringify(v)}`));
      else if (t === 'string' || t === 'boolean' || t === 'null') out.add(t);
      else if (t === 'integer' || t === 'number') out.add('number');
      else if (t === 'array') out.add(`array<${joinShape(schemaShape(s.items))}>`);
      else if (t === 'object') {
        const extra = s.additionalProperties;
        out.add(isObject(extra) ? `record<${joinShape(schemaShape(extra))}>` : 'object');
      } else out.add(`unsupported:${t}`);
    }
  };
  visit(schema);
  return out;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Definition name -> [file, definition schema], over all files. */
function collectDefinitions(files: SchemaFiles): Map<string, { file: string; schema: Json }> {
  const defs = new Map<string, { file: string; schema: Json }>();
  for (const [file, schema] of files) {
    for (const [name, def] of Object.entries((schema.definitions ?? {}) as Json)) {
      if (defs.has(name)) throw new Error(`definition ${name} in both ${defs.get(name)!.file} and ${file}`);
      defs.set(name, { file, schema: def as Json });
    }
  }
  return defs;
}

/** Literal values of `if: {properties: {type: {const: X}}}, then: {required: [...]}` branches. */
function envelopeBranches(def: Json): Map<string, string[]> {
  const branches = new Map<string, string[]>();
  for (const branch of (def.allOf ?? []) as Json[]) {
    const ifs = branch.if as Json | undefined;
    const typeConst = ((ifs?.properties as Json | undefined)?.type as Json | undefined)?.const;
    const required = (branch.then as Json | undefined)?.required;
    if (typeof typeConst === 'string' && Array.isArray(required)) branches.set(typeConst, required as string[]);
  }
  return branches;
}

// ---------------------------------------------------------------- the comparison

/** Every difference between the TS types and the schema definitions; empty when in step. */
function compareTypesWithSchemas(
  source: string,
  files: SchemaFiles,
  mapping: Record<string, { ts: string; kind: MappingKind }>,
): string[] {
  const problems: string[] = [];
  const types = parseTypes(source);
  const defs = collectDefinitions(files);

  for (const name of defs.keys()) {
    if (!(name in mapping)) problems.push(`${name}: schema definition has no TypeScript mapping`);
  }
  for (const [name, { ts: tsName, kind }] of Object.entries(mapping)) {
    const def = defs.get(name)?.schema;
    if (!def) {
      problems.push(`${name}: mapped in the test but not defined in any schema`);
      continue;
    }
    if (kind === 'interface') {
      const iface = types.interfaces.get(tsName);
      if (!iface) problems.push(`${tsName}: interface missing from types.ts`);
      else compareObject(tsName, iface, def, problems);
    } else if (kind === 'alias') {
      const alias = types.aliases.get(tsName);
      if (!alias) problems.push(`${tsName}: type alias missing from types.ts`);
      else compareShape(tsName, tsShape(alias), schemaShape(def), problems);
    } else {
      compareEnvelopeUnion(tsName, types, def, defs, problems);
    }
  }
  return problems;
}

function compareObject(tsName: string, iface: TsInterface, def: Json, problems: string[]): void {
  const props = (def.properties ?? {}) as Json;
  const required = new Set((def.required ?? []) as string[]);
  if (iface.heritage) problems.push(`${tsName}: uses 'extends', which this test does not follow; inline the members`);
  if (def.additionalProperties !== false && !iface.indexSignature) {
    problems.push(`${tsName}: schema keeps unknown fields but the interface has no [key: string]: unknown`);
  }
  for (const key of Object.keys(props)) {
    const prop = iface.props.get(key);
    if (!prop) {
      problems.push(`${tsName}.${key}: in the schema but not in the interface`);
      continue;
    }
    if (required.has(key) && prop.optional) problems.push(`${tsName}.${key}: required in the schema but optional (?) in TS`);
    if (!required.has(key) && !prop.optional) problems.push(`${tsName}.${key}: optional in the schema but required in TS`);
    compareShape(`${tsName}.${key}`, tsShape(prop.type), schemaShape(props[key]), problems);
  }
  for (const key of iface.props.keys()) {
    if (!(key in props)) problems.push(`${tsName}.${key}: in the interface but not in the schema`);
  }
  for (const key of required) {
    if (!(key in props)) problems.push(`${tsName}.${key}: required in the schema but has no property schema`);
  }
}

function compareShape(where: string, tsTokens: Set<string>, schemaTokens: Set<string>, problems: string[]): void {
  const a = joinShape(tsTokens);
  const b = joinShape(schemaTokens);
  if (a !== b) problems.push(`${where}: TS type is ${a} but the schema says ${b}`);
}

function compareEnvelopeUnion(
  tsName: string,
  types: ParsedTypes,
  def: Json,
  defs: Map<string, { file: string; schema: Json }>,
  problems: string[],
): void {
  const alias = types.aliases.get(tsName);
  if (!alias) return void problems.push(`${tsName}: type alias missing from types.ts`);
  const props = (def.properties ?? {}) as Json;
  const branches = envelopeBranches(def);
  const typeRef = (props.type as Json | undefined)?.$ref;
  const typeEnum = typeof typeRef === 'string' ? defs.get(refName(typeRef))?.schema.enum : undefined;
  if (!Array.isArray(typeEnum)) problems.push(`${tsName}.type: expected a $ref to the message type enum`);
  else if (joinShape(new Set(typeEnum as string[])) !== joinShape(new Set(branches.keys()))) {
    problems.push(`${tsName}: the if/then branches do not cover exactly the message type enum`);
  }
  const members = ts.isUnionTypeNode(alias) ? alias.types : [alias];
  const covered = new Set<string>();
  for (const member of members) {
    if (!ts.isTypeReferenceNode(member)) {
      problems.push(`${tsName}: union member ${member.getText()} is not a named interface`);
      continue;
    }
    const envName = member.typeName.getText();
    const env = types.interfaces.get(envName);
    if (!env) {
      problems.push(`${tsName}: envelope interface ${envName} missing`);
      continue;
    }
    if (!env.indexSignature) problems.push(`${envName}: envelope has no [key: string]: unknown`);
    const literal = [...tsShape(env.props.get('type')?.type)];
    if (literal.length !== 1 || !literal[0]!.startsWith('lit:')) {
      problems.push(`${envName}.type: must be one string literal`);
      continue;
    }
    const typeValue = JSON.parse(literal[0]!.slice(4)) as string;
    if (covered.has(typeValue)) problems.push(`${tsName}: two envelopes for type ${typeValue}`);
    covered.add(typeValue);
    const payload = branches.get(typeValue);
    if (!payload) {
      problems.push(`${envName}: the schema has no if/then branch for type ${typeValue}`);
      continue;
    }
    for (const [key, prop] of env.props) {
      if (key === 'type') continue;
      if (!(key in props)) {
        problems.push(`${envName}.${key}: in the envelope but not in the schema`);
        continue;
      }
      const requiredBySchema = payload.includes(key) || ((def.required ?? []) as string[]).includes(key);
      if (requiredBySchema === prop.optional) {
        problems.push(`${envName}.${key}: ${requiredBySchema ? 'required' : 'optional'} in the schema for type ${typeValue}`);
      }
      compareShape(`${envName}.${key}`, tsShape(prop.type), schemaShape(props[key]), problems);
    }
    for (const key of payload) {
      if (!env.props.has(key)) problems.push(`${envName}.${key}: required for type ${typeValue} but missing in TS`);
    }
  }
  // The envelope union must cover exactly the message type enum and every payload key.
  for (const value of branches.keys()) {
    if (!covered.has(value)) problems.push(`${tsName}: no envelope for type ${value}`);
  }
  for (const key of Object.keys(props)) {
    if (key === 'type') continue;
    const used = [...branches.values()].some((required) => required.includes(key));
    if (!used) problems.push(`${tsName}.${key}: schema property not tied to any message type`);
  }
}

// ---------------------------------------------------------------- tests

const protocol = loadProtocolSchemas();
const files = protocol.files as SchemaFiles;

describe('protocol schemas', () => {
  it('every file is draft-07 with an $id under the protocol base URI', () => {
    expect(files.size).toBeGreaterThan(10);
    for (const [file, schema] of files) {
      expect(schema.$schema, file).toBe('http://json-schema.org/draft-07/schema#');
      expect(schema.$id, file).toBe(PROTOCOL_BASE_URI + file);
    }
  });

  it('index.json, SCHEMA_NAMES and the files list the same definitions', () => {
    const defs = collectDefinitions(files);
    expect(Object.keys(protocol.definitions).sort()).toEqual([...defs.keys()].sort());
    expect([...SCHEMA_NAMES].sort()).toEqual([...defs.keys()].sort());
    for (const [name, { file }] of defs) expect(protocol.definitions[name]).toBe(`${file}#/definitions/${name}`);
  });

  it('every object in every schema allows additional properties', () => {
    const closed: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${path}/${i}`));
      if (!isObject(node)) return;
      if (node.additionalProperties === false) closed.push(path);
      for (const [k, v] of Object.entries(node)) walk(v, `${path}/${k}`);
    };
    for (const [file, schema] of files) walk(schema, file);
    expect(closed).toEqual([]);
  });

  it('every definition compiles (all $refs resolve)', () => {
    for (const name of SCHEMA_NAMES) expect(typeof getValidator(name), name).toBe('function');
    expect(getValidator('AirbyteMessage')).toBe(getValidator('AirbyteMessage'));
  });
});

describe('types.ts mirrors the schemas', () => {
  it('has no drift', () => {
    expect(compareTypesWithSchemas(typesSource, files, MAPPING)).toEqual([]);
  });

  it('the mapping covers every schema name', () => {
    expect(Object.keys(MAPPING).sort()).toEqual([...SCHEMA_NAMES].sort());
  });

  it('reports a schema changed behind the types’ back', () => {
    const altered = structuredClone(new Map(files)) as Map<string, Json>;
    const record = (altered.get('record.schema.json')!.definitions as Json).AirbyteRecordMessage as Json;
    (record.properties as Json).extra_field = { type: 'string' };
    record.required = ['stream', 'data'];
    const log = (altered.get('log.schema.json')!.definitions as Json).LogLevel as Json;
    (log.enum as string[]).push('NOTICE');
    const stream = (altered.get('catalog.schema.json')!.definitions as Json).AirbyteStream as Json;
    (stream.properties as Json).namespace = { type: 'string' };
    const message = (altered.get('message.schema.json')!.definitions as Json).AirbyteMessage as Json;
    (message.allOf as Json[]).pop(); // no DESTINATION_CATALOG branch any more

    const problems = compareTypesWithSchemas(typesSource, altered, MAPPING);
    expect(problems).toEqual(
      expect.arrayContaining([
        'AirbyteRecordMessage.extra_field: in the schema but not in the interface',
        'AirbyteRecordMessage.emitted_at: optional in the schema but required in TS',
        expect.stringMatching(/^LogLevel: TS type is .* but the schema says .*"NOTICE"/),
        'AirbyteStream.namespace: TS type is null|string but the schema says string',
        'AirbyteDestinationCatalogEnvelope: the schema has no if/then branch for type DESTINATION_CATALOG',
        'AirbyteMessage: the if/then branches do not cover exactly the message type enum',
      ]),
    );
  });

  it('reports types changed behind the schema’s back', () => {
    const altered = typesSource
      .replace('stream_state?: AirbyteStateBlob | null;', 'stream_state?: AirbyteStateBlob;')
      .replace("export type FailureType = 'system_error' | 'config_error' | 'transient_error';", "export type FailureType = 'system_error' | 'config_error';")
      .replace('  stack_trace?: string;\n  [key: string]: unknown;\n}', '  stack_trace?: string;\n  source?: string;\n}')
      .replace('  state: AirbyteStateMessage;', '  state?: AirbyteStateMessage;');
    expect(altered).not.toBe(typesSource);
    const problems = compareTypesWithSchemas(altered, files, MAPPING);
    expect(problems).toEqual(
      expect.arrayContaining([
        'AirbyteStreamState.stream_state: TS type is ref:AirbyteStateBlob but the schema says null|ref:AirbyteStateBlob',
        expect.stringMatching(/^FailureType: TS type is/),
        'AirbyteLogMessage.source: in the interface but not in the schema',
        'AirbyteLogMessage: schema keeps unknown fields but the interface has no [key: string]: unknown',
        'AirbyteStateEnvelope.state: required in the schema for type STATE',
      ]),
    );
  });
});

// ---------------------------------------------------------------- validators

const EMITTED = 1_700_000_000_000;

const validMessages: Array<[string, unknown]> = [
  ['RECORD', { type: 'RECORD', record: { stream: 'users', data: { id: 1, name: 'a' }, emitted_at: EMITTED } }],
  [
    'RECORD with namespace, meta and file_reference',
    {
      type: 'RECORD',
      record: {
        namespace: 'public',
        stream: 'users',
        data: {},
        emitted_at: EMITTED,
        meta: { changes: [{ field: 'bio', change: 'TRUNCATED', reason: 'SOURCE_FIELD_SIZE_LIMITATION' }] },
        file_reference: { staging_file_url: '/tmp/x', source_file_relative_path: 'x', file_size_bytes: 3 },
      },
    },
  ],
  [
    'STATE STREAM',
    {
      type: 'STATE',
      state: {
        type: 'STREAM',
        stream: { stream_descriptor: { name: 'users', namespace: 'public' }, stream_state: { cursor: '2024-01-01' } },
        sourceStats: { recordCount: 2.0 },
      },
    },
  ],
  ['STATE STREAM with null stream_state', { type: 'STATE', state: { type: 'STREAM', stream: { stream_descriptor: { name: 'users' }, stream_state: null } } }],
  [
    'STATE GLOBAL',
    {
      type: 'STATE',
      state: {
        type: 'GLOBAL',
        global: { shared_state: { lsn: 42 }, stream_states: [{ stream_descriptor: { name: 'users' }, stream_state: { id: 7 } }] },
      },
    },
  ],
  ['STATE LEGACY', { type: 'STATE', state: { type: 'LEGACY', data: { users: { cursor: 3 } } } }],
  ['STATE without type (LEGACY)', { type: 'STATE', state: { data: { users: { cursor: 3 } } } }],
  ['LOG', { type: 'LOG', log: { level: 'INFO', message: 'hello' } }],
  [
    'SPEC',
    {
      type: 'SPEC',
      spec: {
        documentationUrl: 'https://example.com/docs',
        connectionSpecification: {
          $schema: 'http://json-schema.org/draft-07/schema#',
          type: 'object',
          required: ['api_key'],
          properties: { api_key: { type: 'string', airbyte_secret: true } },
        },
        supported_destination_sync_modes: ['append', 'overwrite'],
        protocol_version: '0.2.0',
      },
    },
  ],
  ['CONNECTION_STATUS', { type: 'CONNECTION_STATUS', connectionStatus: { status: 'FAILED', message: 'bad key' } }],
  [
    'CATALOG',
    {
      type: 'CATALOG',
      catalog: {
        streams: [
          {
            name: 'users',
            json_schema: { type: 'object', properties: { id: { type: 'integer' } } },
            supported_sync_modes: ['full_refresh', 'incremental'],
            source_defined_cursor: true,
            default_cursor_field: ['updated_at'],
            source_defined_primary_key: [['id']],
          },
        ],
      },
    },
  ],
  [
    'TRACE ERROR',
    {
      type: 'TRACE',
      trace: { type: 'ERROR', emitted_at: EMITTED + 0.5, error: { message: 'boom', failure_type: 'config_error', stream_descriptor: { name: 'users' } } },
    },
  ],
  ['TRACE ESTIMATE', { type: 'TRACE', trace: { type: 'ESTIMATE', emitted_at: EMITTED, estimate: { name: 'users', type: 'STREAM', row_estimate: 10 } } }],
  [
    'TRACE STREAM_STATUS',
    {
      type: 'TRACE',
      trace: {
        type: 'STREAM_STATUS',
        emitted_at: EMITTED,
        stream_status: { stream_descriptor: { name: 'users' }, status: 'COMPLETE', reasons: [{ type: 'RATE_LIMITED', rate_limited: { quota_reset: EMITTED } }] },
      },
    },
  ],
  ['TRACE ANALYTICS', { type: 'TRACE', trace: { type: 'ANALYTICS', emitted_at: EMITTED, analytics: { type: 'cursor-used', value: '2' } } }],
  ['CONTROL', { type: 'CONTROL', control: { type: 'CONNECTOR_CONFIG', emitted_at: EMITTED, connectorConfig: { config: { token: 'new' } } } }],
  [
    'DESTINATION_CATALOG',
    { type: 'DESTINATION_CATALOG', destination_catalog: { operations: [{ object_name: 'users', sync_mode: 'append', json_schema: {} }] } },
  ],
  [
    'unknown fields everywhere',
    { type: 'STATE', id: 17, state: { type: 'STREAM', x_platform: true, stream: { stream_descriptor: { name: 'u', extra: 1 }, stream_state: {} } } },
  ],
];

const invalidMessages: Array<[string, unknown, string]> = [
  ['no type', { record: {} }, "/: must have required property 'type'"],
  ['unknown type', { type: 'HELLO' }, '/type: must be equal to one of the allowed values: "RECORD"'],
  ['RECORD without payload', { type: 'RECORD' }, "/: must have required property 'record'"],
  ['RECORD without emitted_at', { type: 'RECORD', record: { stream: 'u', data: {} } }, "/record: must have required property 'emitted_at'"],
  ['RECORD with array data', { type: 'RECORD', record: { stream: 'u', data: [], emitted_at: 1 } }, '/record/data: must be object'],
  ['RECORD with fractional emitted_at', { type: 'RECORD', record: { stream: 'u', data: {}, emitted_at: 1.5 } }, '/record/emitted_at: must be integer'],
  ['STATE STREAM without stream', { type: 'STATE', state: { type: 'STREAM' } }, "/state: must have required property 'stream'"],
  ['STATE GLOBAL without global', { type: 'STATE', state: { type: 'GLOBAL', data: {} } }, "/state: must have required property 'global'"],
  ['STATE LEGACY without data', { type: 'STATE', state: {} }, "/state: must have required property 'data'"],
  [
    'STATE STREAM without descriptor name',
    { type: 'STATE', state: { type: 'STREAM', stream: { stream_descriptor: {} } } },
    "/state/stream/stream_descriptor: must have required property 'name'",
  ],
  [
    'SPEC with bad connectionSpecification',
    { type: 'SPEC', spec: { connectionSpecification: { properties: [] } } },
    '/spec/connectionSpecification/properties: must be object',
  ],
  [
    'TRACE ERROR bad failure_type',
    { type: 'TRACE', trace: { type: 'ERROR', emitted_at: 1, error: { message: 'x', failure_type: 'oops' } } },
    '/trace/error/failure_type: must be equal to one of the allowed values: "system_error", "config_error", "transient_error"',
  ],
  ['CONTROL without config', { type: 'CONTROL', control: { type: 'CONNECTOR_CONFIG', emitted_at: 1 } }, "/control: must have required property 'connectorConfig'"],
];

describe('getValidator', () => {
  const validate = getValidator('AirbyteMessage');

  it.each(validMessages)('accepts %s', (_label, message) => {
    const ok = validate(message);
    expect(formatAjvErrors(validate.errors)).toEqual([]);
    expect(ok).toBe(true);
  });

  it.each(invalidMessages)('rejects %s', (_label, message, expected) => {
    expect(validate(message)).toBe(false);
    const lines = formatAjvErrors(validate.errors);
    expect(lines.some((line) => line.startsWith(expected)), lines.join('\n')).toBe(true);
  });

  it('validates --state input in both forms', () => {
    const stateInput = getValidator('StateInput');
    expect(stateInput([{ type: 'STREAM', stream: { stream_descriptor: { name: 'a' }, stream_state: { c: 1 } } }])).toBe(true);
    expect(stateInput({ users: { cursor: 1 } })).toBe(true);
    expect(stateInput([{ type: 'STREAM' }])).toBe(false);
    expect(stateInput('nope')).toBe(false);
  });

  it('validates the host state file', () => {
    const host = getValidator('HostStateFile');
    const good = {
      connector_host_state: 1,
      kind: 'STREAM',
      states: [{ type: 'STREAM', stream: { stream_descriptor: { name: 'users', namespace: 'public' }, stream_state: { c: 1 } } }],
      files: { 'public/users.jsonl': { bytes: 120, records: 2, mode: 'append', stream: { name: 'users', namespace: 'public' } } },
      committed_at: '2024-05-01T10:00:00.000Z',
      out_dir: '/data/out',
      written_by: 'a future version',
    };
    expect(host(good), formatAjvErrors(host.errors).join('\n')).toBe(true);
    expect(host({ ...good, kind: null, states: [], files: {} })).toBe(true);
    expect(host({ ...good, kind: 'LEGACY', states: [{ data: { a: 1 } }] })).toBe(true);

    const bad = {
      ...good,
      connector_host_state: 2,
      kind: 'GLOBAL',
      files: { '../etc/passwd': { bytes: -1, records: 0, mode: 'replace', stream: { name: 'x' } } },
      committed_at: 'yesterday',
    };
    expect(host(bad)).toBe(false);
    const lines = formatAjvErrors(host.errors);
    expect(lines).toEqual(
      expect.arrayContaining([
        '/connector_host_state: must be equal to constant: 1',
        '/states/0/type: must be equal to constant: "GLOBAL"',
        '/files: property name "../etc/passwd" is invalid',
        '/files/..~1etc~1passwd/bytes: must be >= 0',
        '/files/..~1etc~1passwd/mode: must be equal to one of the allowed values: "append", "overwrite"',
        '/committed_at: must match format "date-time"',
      ]),
    );
  });
});

describe('formatAjvErrors', () => {
  it('never prints the offending value', () => {
    const validate = getValidator('AirbyteMessage');
    const secret = 'sk_live_hunter2';
    expect(validate({ type: 'LOG', log: { level: secret, message: 1 } })).toBe(false);
    const lines = formatAjvErrors(validate.errors);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toContain('hunter2');
  });

  it('caps the number of lines', () => {
    const validate = getValidator('AirbyteCatalog');
    const streams = Array.from({ length: 30 }, () => ({ name: 1 }));
    expect(validate({ streams })).toBe(false);
    const lines = formatAjvErrors(validate.errors, { maxErrors: 5 });
    expect(lines).toHaveLength(6);
    expect(lines[5]).toMatch(/^\.\.\. and \d+ more errors$/);
    expect(formatAjvErrors(null)).toEqual([]);
  });
});

describe('compileSchema', () => {
  it('compiles once per schema object, ignores formats and unknown keywords', () => {
    const schema = {
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      required: ['id'],
      properties: { id: { type: 'integer' }, at: { type: 'string', format: 'date-time', airbyte_type: 'timestamp_with_timezone' } },
    };
    const validate = compileSchema(schema);
    expect(compileSchema(schema)).toBe(validate);
    expect(validate({ id: 1, at: 'not a date' })).toBe(true);
    expect(validate({ at: 'x' })).toBe(false);
    expect(formatAjvErrors(validate.errors)).toEqual(["/: must have required property 'id'"]);
  });

  it('tolerates other drafts and repeated $ids', () => {
    const a = compileSchema({ $schema: 'http://json-schema.org/draft-04/schema#', type: 'object' });
    expect(a({})).toBe(true);
    const b = compileSchema({ $id: 'https://example.com/s', type: 'string' });
    const c = compileSchema({ $id: 'https://example.com/s', type: 'number' });
    expect(b('x')).toBe(true);
    expect(c(1)).toBe(true);
    expect(c('x')).toBe(false);
  });
});
