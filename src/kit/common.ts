// What the source and destination runners share: arguments, files, spec, errors, exit.

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { output } from './output.js';
import { parseJson, stringifyJson } from './json.js';
import { defineOwn } from '../json/lossless.js';
import { kitState, secretValues, setSecrets, writeLog } from './internal.js';
import { authorWhere, authorStack } from './where.js';
import type { JsonSchema, Log } from './index.js';
import { log as kitLog } from './index.js';

export const log: Log = kitLog;

export interface Args {
  command: string | undefined;
  config?: string;
  catalog?: string;
  state?: string;
  rest: string[];
}

export function parseArgs(argv: string[]): Args {
  const a: Args = { command: undefined, rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const s = argv[i]!;
    const m = /^--(config|catalog|state)(?:=(.*))?$/.exec(s);
    if (m) {
      const v = m[2] ?? argv[++i];
      if (v === undefined) throw new UsageFailure(`--${m[1]} needs a file`);
      a[m[1] as 'config' | 'catalog' | 'state'] = v;
    } else if (a.command === undefined && !s.startsWith('-')) a.command = s;
    else a.rest.push(s);
  }
  return a;
}

/** A failure the kit reports itself (no author frame): message, failure_type. */
export class UsageFailure extends Error {
  constructor(
    message: string,
    readonly failureType: 'config_error' | 'system_error' = 'config_error',
  ) {
    super(message);
    this.name = 'UsageFailure';
  }
}

export function readJsonFile(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageFailure(`cannot read the ${what} file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return parseJson(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new UsageFailure(`the ${what} file ${file} is not valid JSON: ${(e as Error).message}`);
  }
}

/** { connectionSpecification, ... } whether the author gave a whole SPEC or only the schema. */
export function fullSpec(spec: unknown, extra: Record<string, unknown> = {}): { connectionSpecification: JsonSchema; [k: string]: unknown } {
  if (spec && typeof spec === 'object' && Object.hasOwn(spec, 'connectionSpecification')) return { ...extra, ...(spec as { connectionSpecification: JsonSchema }) };
  const schema = spec && typeof spec === 'object' ? (spec as JsonSchema) : { type: 'object', properties: {}, additionalProperties: true };
  return { ...extra, connectionSpecification: { $schema: 'http://json-schema.org/draft-07/schema#', ...schema } };
}

/** The config file, with the spec's top-level defaults filled in; its secrets are masked from then on. */
export function loadConfig(file: string | undefined, spec: unknown): Record<string, unknown> {
  if (!file) throw new UsageFailure('no --config FILE given');
  const config = readJsonFile(file, 'config');
  if (!config || typeof config !== 'object' || Array.isArray(config)) throw new UsageFailure(`the config file ${file} does not hold a JSON object`);
  const schema = fullSpec(spec).connectionSpecification;
  setSecrets(secretValues(schema, config));
  const props = schema['properties'];
  if (props && typeof props === 'object') {
    for (const [k, p] of Object.entries(props as Record<string, unknown>)) {
      if (!Object.hasOwn(config, k) && p && typeof p === 'object' && Object.hasOwn(p, 'default')) defineOwn(config as Record<string, unknown>, k, structuredClone((p as Record<string, unknown>)['default']));
    }
  }
  return config as Record<string, unknown>;
}

export function isConfigError(e: unknown): boolean {
  return (e instanceof Error && e.name === 'ConfigError') || (e instanceof UsageFailure && e.failureType === 'config_error');
}

/** One line for the user: "TypeError: x is undefined (at source.mjs:12 in read)". */
export function describe(e: unknown, context?: string): string {
  const prefix = context ? `${context}: ` : '';
  if (e instanceof UsageFailure) return prefix + e.message;
  if (!(e instanceof Error)) return `${prefix}threw ${safe(e)} (not an Error)`;
  const where = authorWhere(e) ?? (typeof (e as unknown as { where?: unknown }).where === 'string' ? (e as unknown as { where: string }).where : undefined);
  const head = e.name === 'ConfigError' ? e.message : `${e.name}: ${e.message}`;
  return `${prefix}${head}${where ? ` (at ${where})` : ''}`;
}

function safe(v: unknown): string {
  try {
    return stringifyJson(v).slice(0, 200);
  } catch {
    return String(v);
  }
}

export function traceError(e: unknown, context?: string, stream?: { name: string; namespace?: string | undefined }): Promise<void> | undefined {
  const failure_type = isConfigError(e) ? 'config_error' : (e instanceof UsageFailure ? e.failureType : 'system_error');
  const message = kitState.mask(describe(e, context));
  const stack = e instanceof Error && !(e instanceof UsageFailure) ? kitState.mask(authorStack(e)) : '';
  const error: Record<string, unknown> = { message, failure_type };
  if (stack) {
    error['internal_message'] = stack;
    error['stack_trace'] = stack;
  }
  if (stream) error['stream_descriptor'] = stream.namespace ? { name: stream.name, namespace: stream.namespace } : { name: stream.name };
  return output.line(JSON.stringify({ type: 'TRACE', trace: { type: 'ERROR', emitted_at: Date.now(), error } }));
}

/** Report a failure (stderr one line, TRACE ERROR on stdout) and exit 1. */
export async function fail(e: unknown, file: string, context?: string, stream?: { name: string; namespace?: string | undefined }): Promise<never> {
  await output.flush();
  const message = kitState.mask(describe(e, context));
  process.stderr.write(message.includes(basename(file)) ? `${message}\n` : `${basename(file)}: ${message}\n`);
  await traceError(e, context, stream);
  await output.end();
  process.exit(1);
}

export async function finish(): Promise<never> {
  await output.end();
  process.exit(0);
}

export { writeLog, output };
