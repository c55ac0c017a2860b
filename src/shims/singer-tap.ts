// The Singer-tap shim: runs a Singer tap and speaks the Airbyte protocol (v0 envelope) on stdout,
// so the host runs any Singer tap like a protocol source. Used as a library (singerTapConnector)
// and by the standalone executable shims/singer-tap.mjs, which calls runSingerTapShim.
//
//   node shims/singer-tap.mjs --tap-json '{"command":"tap-x","args":[],"env":{}}' spec|check|discover|read
//        [--config F] [--catalog F] [--state F] [--check-timeout S]

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import { resolve, basename } from 'node:path';
import type { Readable } from 'node:stream';
import type { ConnectorRef } from '../connector/resolve.js';
import { parseLossless, stringifyLossless, isPlainObject, defineOwn, ownValue, type LosslessValue } from '../json/lossless.js';
import { PrivateDir } from '../io/temp-dir.js';
import { checkNumber, seconds } from '../cli/numbers.js';
import { StreamRoutes, SingerTapReader, runSingerSync, type SingerEmitter, type StreamTarget, type SyncOutcome } from '../dialect/singer-source.js';

/** Where the standalone shim lives in the package (dist/shims/ -> shims/). */
export const SINGER_TAP_SHIM = resolve(import.meta.dirname, '..', '..', 'shims', 'singer-tap.mjs');

export interface TapSpec {
  command: string;
  args?: string[];
  env?: Record<string, string>;
  /** Overrides the capabilities of `--about` (e.g. ['catalog'] or ['properties']). */
  capabilities?: string[];
}

/** A ConnectorRef that runs `inner` through a shim executable given `--<jsonFlag> {"command","args","env",…}`. */
export function shimConnector(inner: ConnectorRef, shim: string, jsonFlag: string, extra: Partial<TapSpec> = {}): ConnectorRef {
  const program: TapSpec = { command: inner.command, args: inner.args, ...extra };
  if (inner.env) program.env = inner.env;
  return {
    display: `singer:${inner.display}`,
    name: inner.name,
    command: process.execPath,
    args: [shim, `--${jsonFlag}`, JSON.stringify(program)],
    env: inner.env,
    onStop: inner.onStop,
    onStopSync: inner.onStopSync,
    registry: inner.registry,
  };
}

/** A ConnectorRef that runs `inner` (a Singer tap) through the shim, as a protocol source. */
export function singerTapConnector(inner: ConnectorRef, opts: { capabilities?: string[] } = {}): ConnectorRef {
  return shimConnector(inner, SINGER_TAP_SHIM, 'tap-json', opts.capabilities ? { capabilities: opts.capabilities } : {});
}

// ---------------------------------------------------------------- output

type Json = any;

async function emit(obj: Json): Promise<void> {
  await writeLine(JSON.stringify(obj));
}

function writeLine(line: string): Promise<void> | void {
  if (!process.stdout.write(line + '\n')) return new Promise((r) => process.stdout.once('drain', () => r()));
}

function log(level: string, message: string): Promise<void> | void {
  return emit({ type: 'LOG', log: { level, message } });
}

function traceError(message: string, failureType: 'system_error' | 'config_error', stderrTail: string[] = []): Promise<void> {
  return emit({
    type: 'TRACE',
    trace: {
      type: 'ERROR',
      emitted_at: Date.now(),
      error: { message, internal_message: stderrTail.join('\n') || undefined, stack_trace: stderrTail.join('\n') || undefined, failure_type: failureType },
    },
  });
}

// ---------------------------------------------------------------- tap process

const TAIL = 20;

function tapEnv(tap: TapSpec): NodeJS.ProcessEnv {
  return { ...process.env, ...(tap.env ?? {}) };
}

// The taps running now, and the signal that stops the shim: then no new tap starts.
const liveTaps = new Set<{ kill(signal: 'SIGTERM' | 'SIGKILL'): boolean }>();
let stopSignal: string | undefined;

function assertRunning(): void {
  if (stopSignal) throw new Error(`the shim was stopped by ${stopSignal}`);
}

/**
 * SIGTERM or SIGINT to the shim: stop the tap and let the run end as with a failing tap, so the
 * temp files (the config copy holds secrets) are removed and a rotated config is still sent.
 * A second signal kills the tap at once.
 */
function stopOnSignals(): void {
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      const again = stopSignal !== undefined;
      stopSignal ??= sig;
      for (const t of liveTaps) t.kill(again ? 'SIGKILL' : 'SIGTERM');
    });
  }
}

interface TapExit {
  exitCode: number | undefined;
  failed: boolean;
  /** Why it failed: "exited with code 1", "was killed by SIGTERM", ... */
  error?: string;
}

interface TapProcess {
  stdout: Readable;
  /** SIGTERM is followed by SIGKILL when the tap is still there 5 s later. */
  kill(signal: 'SIGTERM' | 'SIGKILL'): boolean;
  exit: Promise<TapExit>;
}

/**
 * Start the tap (an argument array, no shell), stderr forwarded and its tail kept. Plain
 * child_process rather than execa as in the host: the shim starts for every command, and
 * importing execa alone took ~0.13 s of each start.
 */
function startTap(tap: TapSpec, extra: string[], tail: string[], timeoutMs?: number): TapProcess {
  assertRunning();
  const child = spawn(tap.command, [...(tap.args ?? []), ...extra], { env: tapEnv(tap), stdio: ['ignore', 'pipe', 'pipe'] });
  forwardStderr(child.stderr, tail);
  let forceKill: NodeJS.Timeout | undefined;
  let timedOut = false;
  const kill = (signal: 'SIGTERM' | 'SIGKILL'): boolean => {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    if (signal === 'SIGTERM' && !forceKill) forceKill = setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    return child.kill(signal);
  };
  const timer = timeoutMs ? setTimeout(() => ((timedOut = true), kill('SIGTERM')), timeoutMs) : undefined;
  const exit = new Promise<TapExit>((done) => {
    let startError: Error | undefined;
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      clearTimeout(timer);
      clearTimeout(forceKill);
      let error: string | undefined;
      if (startError) error = `could not start ${tap.command}: ${startError.message}`;
      else if (timedOut) error = `timed out after ${timeoutMs! / 1000}s`;
      else if (signal) error = `was killed by ${signal}`;
      else if (code !== 0) error = `exited with code ${code}`;
      done({ exitCode: code ?? undefined, failed: error !== undefined, error });
    };
    child.on('error', (e) => {
      // no process: no 'close' to wait for (a failed kill is no news: the tap had ended)
      if (child.pid === undefined && !startError) ((startError = e), finish(null, null));
    });
    child.once('close', finish);
  });
  const handle = { kill };
  liveTaps.add(handle);
  void exit.finally(() => liveTaps.delete(handle));
  return { stdout: child.stdout!, kill, exit };
}

/** Run the tap to completion, collecting stdout; stderr forwarded and its tail kept. */
async function runCollect(tap: TapSpec, extra: string[], timeoutMs: number, maxBytes = Infinity): Promise<{ exitCode: number | undefined; stdout: string; tail: string[]; failed: boolean; error?: string; tooLarge?: boolean }> {
  const tail: string[] = [];
  const sub = startTap(tap, extra, tail, timeoutMs);
  const chunks: Buffer[] = [];
  let bytes = 0;
  let tooLarge = false;
  sub.stdout.on('data', (c: Buffer) => {
    if (tooLarge) return;
    bytes += c.length;
    if (bytes > maxBytes) {
      // more than any answer of this kind: stop the tap rather than hold it all
      tooLarge = true;
      chunks.length = 0;
      sub.kill('SIGTERM');
      sub.stdout.resume();
    } else chunks.push(c);
  });
  const r = await sub.exit;
  return { exitCode: r.exitCode, stdout: Buffer.concat(chunks).toString('utf8'), tail, failed: r.failed, error: r.error && `the tap ${r.error}`, tooLarge };
}

function forwardStderr(stream: NodeJS.ReadableStream | null | undefined, tail: string[]): void {
  if (!stream) return;
  createInterface({ input: stream, crlfDelay: Infinity }).on('line', (l) => {
    process.stderr.write(l + '\n');
    tail.push(l);
    if (tail.length > TAIL) tail.shift();
  });
}

// ---------------------------------------------------------------- --about and spec

export interface About {
  name?: string;
  capabilities?: string[];
  /** A JSON Schema (Singer SDK) or a list of setting definitions (Meltano: name, kind, ...). */
  settings?: Json;
  /** Meltano: lists of setting names, one of which must be complete. */
  settings_group_validation?: Json;
  /** With a list of settings: the names that must be set. */
  required?: Json;
}

/** Whom an --about problem is about: the output, never a SPEC message the tap did not write. */
export const aboutOutput = (what = 'tap'): string => `the Singer ${what}'s --about --format json output`;
const ABOUT_MAX_BYTES = 16 * 1024 * 1024;
/** More settings than any real tap has (the largest have a few hundred). */
export const MAX_SETTINGS = 10_000;

/** `--about --format json`: the about object; null when the tap offers none; `problem` when it printed something unusable. */
export type AboutOutput = { about: About; problem?: undefined; notJson?: undefined } | { about: null; problem?: string; notJson?: string };

/** Why the tap's --about output or its settings cannot be used (the message names the place in it). */
export class AboutProblem extends Error {}

/** A short name for messages: the script a program runs (`node tap.mjs`, a venv's python), else the program. */
function programName(t: TapSpec): string {
  const script = (t.args ?? []).find((a) => !a.startsWith('-'));
  return basename(script ?? t.command);
}

/** "a string", "a list", "null", ... for a message about a JSON value. */
function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `a string (${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)})`;
  return `${typeof v === 'number' ? 'a number' : typeof v === 'boolean' ? 'a boolean' : typeof v} (${String(v)})`;
}

const quoteName = (s: string): string => JSON.stringify(s.length > 60 ? s.slice(0, 60) + '…' : s);

export async function readAbout(tap: TapSpec, what = 'tap'): Promise<AboutOutput> {
  let r;
  try {
    r = await runCollect(tap, ['--about', '--format', 'json'], 30_000, ABOUT_MAX_BYTES);
  } catch {
    return { about: null };
  }
  if (r.tooLarge) return { about: null, problem: `${aboutOutput(what)} is larger than ${ABOUT_MAX_BYTES / 1024 / 1024} MB` };
  // a tap without --about fails on the unknown flag (or on the missing config): no description, not an error
  if (r.exitCode !== 0) return { about: null };
  return parseAbout(r.stdout, what);
}

/**
 * The about object in the tap's stdout: the whole output as JSON, or — when the tap printed
 * other lines around it (a banner, a log line) — the JSON document that starts on a line of its own.
 */
export function parseAbout(text: string, what = 'tap'): AboutOutput {
  const t = text.trim();
  if (t === '') return { about: null };
  const v = findAboutJson(t);
  // text without a single JSON object line: a program that does not know the flag (it printed a
  // banner, or went on as a target reading stdin): no description, said so, not an error
  if (v === undefined && !/^\s*[{[]/m.test(t)) return { about: null, notJson: `${aboutOutput(what)} is not JSON (it starts with ${quoteName(t.split('\n')[0]!)}${t.length > 200 ? `; ${t.length} characters` : ''})` };
  if (v === undefined) return { about: null, problem: `${aboutOutput(what)} is not JSON, nor has it a line where a JSON object with "name", "capabilities" or "settings" starts (it starts with ${quoteName(t.split('\n')[0]!)}${t.length > 200 ? `; ${t.length} characters` : ''})` };
  if (!isPlainObject(v)) return { about: null, problem: `${aboutOutput(what)} is ${kindOf(v)}, not a JSON object` };
  return { about: v as About };
}

const looksLikeAbout = (v: unknown): boolean => isPlainObject(v) && ['settings', 'capabilities', 'name'].some((k) => Object.hasOwn(v, k));

function findAboutJson(t: string): unknown {
  const tryParse = (s: string): unknown => {
    try {
      return JSON.parse(s);
    } catch {
      return undefined;
    }
  };
  const whole = tryParse(t);
  if (whole !== undefined) return whole;
  const lines = t.split('\n');
  const starts: number[] = [];
  for (let i = 0; i < lines.length && starts.length < 10; i++) if (lines[i]!.trimStart().startsWith('{')) starts.push(i);
  const ends: number[] = [];
  for (let j = lines.length - 1; j >= 0 && ends.length < 5; j--) if (lines[j]!.trimEnd().endsWith('}')) ends.push(j);
  for (const i of starts) {
    // the document to the end, to a later line ending in "}", or the line alone (JSON lines);
    // only an object that looks like an about counts: a part of a cut-off one (a setting) must not
    for (const j of [lines.length - 1, ...ends.filter((e) => e >= i)]) {
      const v = tryParse(lines.slice(i, j + 1).join('\n'));
      if (looksLikeAbout(v)) return v;
    }
  }
  return undefined;
}

export async function tapAbout(tap: TapSpec): Promise<About | null> {
  return (await readAbout(tap)).about;
}

/** A Singer SDK settings schema → connectionSpecification: `secret`/`writeOnly`/`sensitive` fields get airbyte_secret. */
function schemaSettingsToSpec(settings: Record<string, Json>): Json {
  if (settings.type !== undefined && settings.type !== 'object' && !(Array.isArray(settings.type) && settings.type.includes('object'))) {
    throw new AboutProblem(`settings is a JSON Schema of type ${JSON.stringify(settings.type)}; the settings must be an object (type "object" with "properties") or a list of settings`);
  }
  if (settings.properties !== undefined) {
    if (!isPlainObject(settings.properties)) throw new AboutProblem(`settings.properties is ${kindOf(settings.properties)}, expected an object of settings by name`);
    for (const [k, v] of Object.entries(settings.properties)) {
      if (!isPlainObject(v) && typeof v !== 'boolean') throw new AboutProblem(`settings.properties[${quoteName(k)}] is ${kindOf(v)}, expected a JSON Schema object`);
    }
  }
  if (settings.required !== undefined && !(Array.isArray(settings.required) && settings.required.every((x: unknown) => typeof x === 'string'))) {
    throw new AboutProblem(`settings.required is ${kindOf(settings.required)}, expected a list of setting names`);
  }
  const schema = structuredClone(settings);
  const walk = (s: Json): void => {
    if (!s || typeof s !== 'object') return;
    if (Array.isArray(s)) return s.forEach(walk);
    if (s.secret === true || s.writeOnly === true || s.sensitive === true) s.airbyte_secret = true;
    // Singer SDK settings carry bare type names in anyOf (`[{"const": "__NULL__"}, "null"]`): not a schema
    for (const k of ['anyOf', 'oneOf', 'allOf']) if (Array.isArray(s[k])) s[k] = s[k].map((x: Json) => (typeof x === 'string' ? { type: x } : x));
    for (const k of ['properties', 'patternProperties', 'definitions', '$defs']) if (isPlainObject(s[k])) Object.values(s[k]).forEach(walk);
    for (const k of ['items', 'additionalProperties', 'anyOf', 'oneOf', 'allOf']) if (s[k] && typeof s[k] === 'object') walk(s[k]);
  };
  walk(schema);
  if (!schema.type) schema.type = 'object';
  return schema;
}

/** Meltano setting kinds as JSON Schema. */
const KINDS: Record<string, Json> = {
  string: { type: 'string' },
  integer: { type: 'integer' },
  decimal: { type: 'number' },
  number: { type: 'number' },
  boolean: { type: 'boolean' },
  password: { type: 'string', airbyte_secret: true },
  oauth: { type: 'string', airbyte_secret: true },
  object: { type: 'object' },
  array: { type: 'array' },
  options: { type: 'string' },
  date_iso8601: { type: 'string', format: 'date-time' },
  email: { type: 'string', format: 'email' },
  file: { type: 'string' },
  hidden: { type: 'string', airbyte_hidden: true },
};

interface ListContext {
  unknownKinds: string[];
  warnings: string[];
}

/** One Meltano setting (name already checked) → the JSON Schema of its field. */
function settingSchema(e: Record<string, Json>, at: string, name: string, cx: ListContext): Json {
  let kind = e.kind ?? 'string';
  if (typeof kind !== 'string' || !Object.hasOwn(KINDS, kind)) {
    cx.unknownKinds.push(`${at} ${quoteName(name)} (kind ${JSON.stringify(kind)})`);
    kind = 'string';
  }
  const s: Json = { ...KINDS[kind as string] };
  if (typeof e.label === 'string') s.title = e.label;
  if (typeof e.description === 'string') s.description = e.description;
  if (kind === 'options') {
    if (Array.isArray(e.options) && e.options.length > 0) {
      const values = e.options.map((o: Json) => (isPlainObject(o) && Object.hasOwn(o, 'value') ? o.value : o));
      s.enum = values;
      if (!values.every((v: unknown) => typeof v === 'string')) delete s.type;
    } else cx.warnings.push(`${at} ${quoteName(name)} is of kind options but has no "options" list: any string is accepted`);
  }
  if (e.sensitive === true || e.secret === true || e.writeOnly === true) s.airbyte_secret = true;
  if (e.hidden === true) s.airbyte_hidden = true;
  // a secret's default would put a credential into the spec (and into golden files): left out
  if (e.value !== undefined && e.value !== null && s.airbyte_secret !== true) s.default = e.value;
  return s;
}

/** Add `paths` (setting names split at dots) to the `required` of `schema` and of the objects under it. */
function requirePaths(schema: Json, paths: string[][]): void {
  for (const p of paths) {
    const [head, ...rest] = p as [string, ...string[]];
    schema.required ??= [];
    if (!schema.required.includes(head)) schema.required.push(head);
    if (rest.length === 0) continue;
    schema.properties ??= {};
    let child = ownValue(schema.properties, head) as Json;
    if (!isPlainObject(child)) defineOwn(schema.properties, head, (child = {}));
    requirePaths(child, [rest]);
  }
}

function namesList(v: Json, what: string): string[][] {
  if (!Array.isArray(v) || !v.every((n) => typeof n === 'string')) throw new AboutProblem(`${what} is ${kindOf(v)}, expected a list of setting names`);
  return v.map((n: string) => n.split('.'));
}

/** Meltano's list of settings (name, kind, label, description, value, options, sensitive) → connectionSpecification. */
function listSettingsToSpec(list: Json[], about: About, cx: ListContext): Json {
  if (list.length > MAX_SETTINGS) throw new AboutProblem(`settings has ${list.length} entries; at most ${MAX_SETTINGS} are supported`);
  const root: Json = { type: 'object', properties: {} };
  // objects made for the parents of dotted names ("auth.token"): a later "auth" of kind object takes them over
  const implicit = new WeakSet<object>();
  const origin = new Map<string, string>();
  const kinds = new Map<string, string>();
  list.forEach((e: Json, i: number) => {
    const at = `settings[${i}]`;
    if (!isPlainObject(e)) throw new AboutProblem(`${at} is ${kindOf(e)}, expected an object with "name" and "kind"`);
    if (!Object.hasOwn(e, 'name') || e.name === null) throw new AboutProblem(`${at} has no "name"`);
    if (typeof e.name !== 'string') throw new AboutProblem(`${at} has a "name" that is ${kindOf(e.name)}, not a string`);
    const name = e.name.trim();
    if (name === '') throw new AboutProblem(`${at} has an empty "name"`);
    const path = name.split('.');
    if (path.some((p) => p === '')) throw new AboutProblem(`${at} is named ${quoteName(name)}: a dotted name needs a name between the dots`);
    const prop = settingSchema(e, at, name, cx);
    let parent = root;
    for (let k = 0; k < path.length - 1; k++) {
      let child = ownValue(parent.properties, path[k]!) as Json;
      if (child === undefined) {
        child = { type: 'object', properties: {} };
        implicit.add(child);
        defineOwn(parent.properties, path[k]!, child);
      } else if (child.type !== 'object') {
        const of = path.slice(0, k + 1).join('.');
        throw new AboutProblem(`${at} ${quoteName(name)} is nested under ${quoteName(of)}, which ${origin.get(of) ?? 'an earlier setting'} declares as kind ${kinds.get(of) ?? child.type}`);
      }
      child.properties ??= {};
      parent = child;
    }
    const last = path[path.length - 1]!;
    const before = ownValue(parent.properties, last) as Json;
    if (before !== undefined) {
      if (implicit.has(before)) {
        if (prop.type !== 'object') throw new AboutProblem(`${at} ${quoteName(name)} is of kind ${e.kind ?? 'string'}, but earlier settings are nested under it (${quoteName(name + '.' + Object.keys(before.properties)[0])})`);
        prop.properties = before.properties;
        if (before.required) prop.required = before.required;
      } else cx.warnings.push(`${at} repeats the setting ${quoteName(name)} of ${origin.get(name)}: the later one is used`);
    }
    defineOwn(parent.properties, last, prop);
    origin.set(name, at);
    kinds.set(name, typeof e.kind === 'string' ? e.kind : 'string');
    if (e.required === true) requirePaths(root, [path]);
  });
  if (about.required !== undefined) requirePaths(root, namesList(about.required, '"required"'));
  const groups = about.settings_group_validation;
  if (groups !== undefined) {
    if (!Array.isArray(groups)) throw new AboutProblem(`settings_group_validation is ${kindOf(groups)}, expected a list of lists of setting names`);
    const sets = groups.map((g: Json, i: number) => namesList(g, `settings_group_validation[${i}]`)).filter((g) => g.length > 0);
    // one group: all of it is required; several: one of them must be complete (Meltano's rule)
    if (sets.length === 1) requirePaths(root, sets[0]!);
    else if (sets.length > 1) {
      root.anyOf = sets.map((g) => {
        const branch: Json = {};
        requirePaths(branch, g);
        return branch;
      });
    }
  }
  return root;
}

/**
 * The tap's settings as a connectionSpecification, in either form: a JSON Schema (Singer SDK,
 * `secret`/`writeOnly`/`sensitive` → airbyte_secret) or a list of Meltano settings (kind
 * password/oauth or `sensitive: true` → airbyte_secret; unknown kinds read as strings, with a
 * warning). Throws AboutProblem naming the place in the output when it cannot be used.
 */
export function aboutToSpec(about: About): { spec: Json; warnings: string[] } {
  const settings = about.settings;
  if (Array.isArray(settings)) {
    const cx: ListContext = { unknownKinds: [], warnings: [] };
    const spec = listSettingsToSpec(settings, about, cx);
    if (cx.unknownKinds.length > 0) {
      const shown = cx.unknownKinds.slice(0, 5).join(', ');
      cx.warnings.unshift(`unknown setting kind${cx.unknownKinds.length > 1 ? 's' : ''}, read as string: ${shown}${cx.unknownKinds.length > 5 ? ` and ${cx.unknownKinds.length - 5} more` : ''}`);
    }
    return { spec, warnings: cx.warnings.slice(0, 20) };
  }
  if (isPlainObject(settings)) return { spec: schemaSettingsToSpec(settings), warnings: [] };
  throw new AboutProblem(`settings is ${kindOf(settings)}; expected a list of settings (Meltano: [{"name": …, "kind": …}]) or a JSON Schema object (Singer SDK: {"type": "object", "properties": …})`);
}

/** Settings (either form) → connectionSpecification; throws AboutProblem when they cannot be used. */
export function settingsToSpec(settings: Json): Json {
  return aboutToSpec({ settings }).spec;
}

/** The spec of a tap or target from its --about: the SPEC's connectionSpecification, or the problem in the output. */
export async function aboutSpec(tap: TapSpec, what: string, display = programName(tap)): Promise<{ spec: Json; warnings: string[] } | { problem: string }> {
  const r = await readAbout(tap, what);
  if (r.problem) return { problem: r.problem };
  if (!r.about || r.about.settings === undefined || r.about.settings === null) {
    const why = r.about ? `'s --about --format json output has no "settings"` : ' has no --about --format json';
    const warning = r.notJson ? `${r.notJson}: taken as no --about; the config of ${display} is not described (any object is accepted)` : `the Singer ${what} ${display}${why}: its config is not described (any object is accepted)`;
    return { spec: { type: 'object', additionalProperties: true, properties: {} }, warnings: [warning] };
  }
  try {
    const { spec, warnings } = aboutToSpec(r.about);
    return { spec, warnings: warnings.map((w) => `${aboutOutput(what)}: ${w}`) };
  } catch (e) {
    if (e instanceof AboutProblem) return { problem: `${aboutOutput(what)}: ${e.message}` };
    throw e;
  }
}

async function doSpec(tap: TapSpec): Promise<number> {
  const r = await aboutSpec(tap, 'tap');
  if ('problem' in r) {
    // the tap's own output is at fault, not a message it wrote: a config error of the connector's setup (exit 2)
    await traceError(r.problem, 'config_error');
    return 1;
  }
  for (const w of r.warnings) await log('WARN', w);
  await emit({ type: 'SPEC', spec: { connectionSpecification: r.spec } });
  return 0;
}

// ---------------------------------------------------------------- discover

/** One multi-line JSON document, or JSON lines (the last object with `streams`). */
export function parseSingerCatalog(text: string): Json {
  try {
    const v = JSON.parse(text);
    if (isPlainObject(v) && Array.isArray((v as Json).streams)) return v;
  } catch {
    /* JSON lines */
  }
  let found: Json;
  for (const l of text.split('\n')) {
    const t = l.trim();
    if (!t.startsWith('{')) continue;
    try {
      const v = JSON.parse(t);
      if (isPlainObject(v) && Array.isArray((v as Json).streams)) found = v;
    } catch {
      /* not JSON */
    }
  }
  if (!found) throw new Error('the tap printed no Singer catalog (a JSON object with "streams") on --discover');
  return found;
}

function rootMeta(entry: Json): Json {
  const m = (entry.metadata ?? []).find((x: Json) => Array.isArray(x?.breadcrumb) && x.breadcrumb.length === 0);
  return m?.metadata ?? {};
}

export function singerStreamName(entry: Json): string {
  return String(entry.tap_stream_id ?? entry.stream);
}

/**
 * The tap's capabilities, carried in each discovered stream's singer_catalog_entry under this key
 * so that `read` need not run `--about` again; removed before the entry goes back to the tap.
 */
export const CAPABILITIES_KEY = 'x-tap-capabilities';

/**
 * A Singer catalog entry → an AirbyteStream (the entry itself kept as singer_catalog_entry).
 * `capabilities`: the tap's; with `state` and no valid-replication-keys (SQL taps, where any
 * column may be the replication key) incremental is offered without a default cursor, so the
 * user names one in the configured catalog and the default selection stays full refresh.
 */
export function singerEntryToStream(entry: Json, capabilities?: string[]): Json {
  const meta = rootMeta(entry);
  const keys: string[] = meta['table-key-properties'] ?? entry.key_properties ?? [];
  const validKeys: string[] = meta['valid-replication-keys'] ?? [];
  // tap-postgres writes "" for "not forced"
  const forced = typeof meta['forced-replication-method'] === 'string' && meta['forced-replication-method'] ? meta['forced-replication-method'].toUpperCase() : undefined;
  const userCursor = forced === undefined && validKeys.length === 0 && !!capabilities?.includes('state');
  const incremental = forced === 'FULL_TABLE' ? false : forced === 'INCREMENTAL' || forced === 'LOG_BASED' || validKeys.length > 0 || userCursor;
  const s: Json = { name: singerStreamName(entry), json_schema: entry.schema ?? { type: 'object' }, supported_sync_modes: incremental ? ['full_refresh', 'incremental'] : ['full_refresh'] };
  if (meta['schema-name']) s.namespace = String(meta['schema-name']);
  if (incremental && validKeys.length > 0 && forced !== 'LOG_BASED') s.default_cursor_field = [validKeys[0]];
  if (forced === 'LOG_BASED' || (forced === 'INCREMENTAL' && validKeys.length === 1)) s.source_defined_cursor = true;
  if (userCursor) s.source_defined_cursor = false;
  if (keys.length) s.source_defined_primary_key = keys.map((k) => [k]);
  s.singer_catalog_entry = capabilities ? { ...entry, [CAPABILITIES_KEY]: capabilities } : entry;
  return s;
}

async function discoverSinger(tap: TapSpec, config: string, timeoutMs = 300_000): Promise<{ catalog?: Json; tail: string[]; error?: string }> {
  const r = await runCollect(tap, ['--config', config, '--discover'], timeoutMs);
  if (r.exitCode !== 0) return { tail: r.tail, error: r.error ?? `discovery exited with ${r.exitCode}` };
  try {
    return { catalog: parseSingerCatalog(r.stdout), tail: r.tail };
  } catch (e) {
    return { tail: r.tail, error: (e as Error).message };
  }
}

/** Discovery and the tap's capabilities (`--about`, unless the TapSpec names them), side by side. */
async function discoverWithCapabilities(tap: TapSpec, config: string): Promise<[Awaited<ReturnType<typeof discoverSinger>>, string[]]> {
  const [d, about] = await Promise.all([discoverSinger(tap, config), tap.capabilities ? null : tapAbout(tap)]);
  return [d, capabilitiesOf(tap, about)];
}

async function doDiscover(tap: TapSpec, config: string): Promise<number> {
  const [d, caps] = await discoverWithCapabilities(tap, config);
  if (!d.catalog) {
    await traceError(`Singer discovery failed: ${d.error}`, 'system_error', d.tail);
    return 1;
  }
  await emit({ type: 'CATALOG', catalog: { streams: d.catalog.streams.map((e: Json) => singerEntryToStream(e, caps)) } });
  return 0;
}

// ---------------------------------------------------------------- configured catalog → Singer catalog

function findMeta(entry: Json, breadcrumb: string[]): Json {
  entry.metadata ??= [];
  let m = entry.metadata.find((x: Json) => Array.isArray(x?.breadcrumb) && x.breadcrumb.length === breadcrumb.length && x.breadcrumb.every((b: string, i: number) => b === breadcrumb[i]));
  if (!m) {
    m = { breadcrumb, metadata: {} };
    entry.metadata.push(m);
  }
  m.metadata ??= {};
  return m.metadata;
}

/** Mark one Singer entry selected (or not) for a configured stream. */
export function selectEntry(original: Json, configured: Json | undefined, legacySelected = false): Json {
  const entry = structuredClone(original);
  delete entry[CAPABILITIES_KEY];
  const root = findMeta(entry, []);
  root.selected = !!configured;
  if (legacySelected && entry.schema) entry.schema.selected = !!configured;
  const props: Record<string, Json> = entry.schema?.properties ?? {};
  const wanted = configured?.stream?.json_schema?.properties;
  for (const f of Object.keys(props)) {
    const fm = findMeta(entry, ['properties', f]);
    if (!configured) continue;
    if (fm.inclusion === 'unsupported') fm.selected = false;
    else if (fm.inclusion === 'automatic') fm.selected = true;
    else fm.selected = isPlainObject(wanted) ? f in wanted : true;
  }
  if (configured) {
    const forced = typeof root['forced-replication-method'] === 'string' ? root['forced-replication-method'].toUpperCase() : undefined;
    if (configured.sync_mode === 'incremental') {
      root['replication-method'] = forced === 'LOG_BASED' ? 'LOG_BASED' : 'INCREMENTAL';
      const cursor = configured.cursor_field?.[0] ?? configured.stream?.default_cursor_field?.[0] ?? root['valid-replication-keys']?.[0];
      if (cursor && root['replication-method'] === 'INCREMENTAL') root['replication-key'] = cursor;
    } else {
      root['replication-method'] = 'FULL_TABLE';
      delete root['replication-key'];
    }
  }
  return entry;
}

// ---------------------------------------------------------------- reading: src/dialect/singer-source.ts, as protocol lines on stdout

export { rawField } from '../dialect/singer-source.js';

const OUT_BYTES = 256 * 1024;
const STDOUT_BACKLOG = 4 * 1024 * 1024;
const NL = 0x0a;

/**
 * Node writes to a pipe on stdout synchronously (on Linux), so each write waits for the host
 * to read it and the shim cannot read the tap meanwhile. For the read the pipe is made
 * non-blocking: writes queue (bounded by STDOUT_BACKLOG below) and are flushed by the event
 * loop, which also runs until they are written before the process exits.
 */
function asyncStdout(): void {
  const handle = (process.stdout as unknown as { _handle?: { setBlocking?: (b: boolean) => unknown } })._handle;
  handle?.setBlocking?.(false);
}

function streamStatusLine(t: StreamTarget, status: 'STARTED' | 'COMPLETE', version: string): string {
  const desc = `{"name":${JSON.stringify(t.name)}${t.namespace ? `,"namespace":${JSON.stringify(t.namespace)}` : ''}}`;
  return `{"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":${Date.now()},"stream_status":{"stream_descriptor":${desc},"status":"${status}","activate_version":${version}}}}`;
}

/**
 * The shim's emitter: the reader's calls as Airbyte protocol lines, in order, in one output
 * buffer written once per input chunk (or when full) instead of one write per record; a
 * RECORD is its data bytes between a cached per-stream prefix and a suffix.
 */
class ProtocolLines implements SingerEmitter {
  private out = Buffer.allocUnsafe(OUT_BYTES);
  private pos = 0;
  private suffix = Buffer.from('');
  private readonly prefixes = new Map<string, Buffer>();
  /** stdout asked us to wait ('drain'). */
  private blocked = false;

  constructor() {
    this.stamp();
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.out.length) return;
    this.flushSync();
    if (n > this.out.length) this.out = Buffer.allocUnsafe(n);
  }

  private text(line: string): void {
    this.reserve(Buffer.byteLength(line) + 1);
    this.pos += this.out.write(line, this.pos);
    this.out[this.pos++] = NL;
  }

  record(t: StreamTarget, data: Buffer, ds: number, de: number): void {
    const key = `${t.namespace ?? ''}\u0000${t.name}`;
    let prefix = this.prefixes.get(key);
    if (!prefix) {
      prefix = Buffer.from(`{"type":"RECORD","record":{"stream":${JSON.stringify(t.name)},${t.namespace ? `"namespace":${JSON.stringify(t.namespace)},` : ''}"data":`);
      this.prefixes.set(key, prefix);
    }
    this.reserve(prefix.length + (de - ds) + this.suffix.length);
    const o = this.out;
    this.pos += prefix.copy(o, this.pos);
    this.pos += data.copy(o, this.pos, ds, de);
    this.pos += this.suffix.copy(o, this.pos);
  }

  state(raw: string): void {
    this.text(`{"type":"STATE","state":{"type":"LEGACY","data":${raw}}}`);
  }

  streamStatus(t: StreamTarget, status: 'STARTED' | 'COMPLETE', version: string): void {
    this.text(streamStatusLine(t, status, version));
  }

  log(level: string, message: string): void {
    this.text(JSON.stringify({ type: 'LOG', log: { level, message } }));
  }

  private stamp(): void {
    this.suffix = Buffer.from(`,"emitted_at":${Date.now()}}}\n`);
  }

  private flushSync(): void {
    if (this.pos === 0) return;
    // a new buffer: the written one may still be queued in the stream
    if (!process.stdout.write(this.out.subarray(0, this.pos))) this.blocked = true;
    this.out = Buffer.allocUnsafe(OUT_BYTES);
    this.pos = 0;
  }

  /**
   * Write what is buffered, and wait while stdout is full: only above a few MiB of backlog, so
   * that the shim goes on reading the tap while the host reads what was written.
   */
  async flush(): Promise<void> {
    this.flushSync();
    this.stamp();
    if (this.blocked) {
      this.blocked = false;
      if (process.stdout.writableLength < STDOUT_BACKLOG) return;
      await new Promise<void>((r) => process.stdout.once('drain', () => r()));
    }
  }
}

/**
 * Run a sync, its messages as protocol lines on stdout. `probe`: stop (SIGTERM the tap) at the
 * first RECORD or BATCH without emitting anything — the check.
 */
async function runSync(tap: TapSpec, extra: string[], routes: StreamRoutes, opts: { probe?: boolean; timeoutMs?: number } = {}): Promise<SyncOutcome> {
  const tail: string[] = [];
  const sub = startTap(tap, extra, tail);
  const lines = new ProtocolLines();
  const flush = () => lines.flush();
  const reader = new SingerTapReader(routes, lines, { probe: opts.probe, drain: flush });
  return runSingerSync({ stdout: sub.stdout, kill: () => void sub.kill('SIGTERM'), exit: sub.exit, tail: () => tail }, reader, { timeoutMs: opts.timeoutMs, flush });
}

function capabilitiesOf(tap: TapSpec, about: About | null): string[] {
  return tap.capabilities ?? about?.capabilities ?? [];
}

// a private folder (io/temp-dir.ts): removed by cleanup(), at exit whatever the reason, or by the next start's sweep
function tmpFile(name: string, content: string): { path: string; cleanup: () => void } {
  const dir = new PrivateDir('singer-shim-');
  return { path: dir.write(name, content), cleanup: () => dir.remove() };
}

async function doRead(tap: TapSpec, config: string, catalogFile: string, stateFile: string | undefined): Promise<number> {
  asyncStdout();
  const configured = JSON.parse(readFileSync(catalogFile, 'utf8')) as Json;
  const cstreams: Json[] = configured.streams ?? [];
  let entries: { entry: Json; configured?: Json }[];
  if (cstreams.every((c) => isPlainObject(c.stream?.singer_catalog_entry))) {
    entries = cstreams.map((c) => ({ entry: c.stream.singer_catalog_entry, configured: c }));
  } else {
    // The configured catalog lost the Singer entries: discover again.
    const d = await discoverSinger(tap, config);
    if (!d.catalog) {
      await traceError(`Singer discovery (needed to build the tap's catalog) failed: ${d.error}`, 'system_error', d.tail);
      return 1;
    }
    const key = (name: string, ns?: string) => `${ns ?? ''}\u0000${name}`;
    const byKey = new Map(cstreams.map((c) => [key(c.stream.name, c.stream.namespace ?? undefined), c]));
    entries = d.catalog.streams.map((e: Json) => {
      const s = singerEntryToStream(e);
      return { entry: e, configured: byKey.get(key(s.name, s.namespace)) };
    });
  }
  // the capabilities discover put into the entries spare an `--about` here
  const carried = entries.map((x) => x.entry[CAPABILITIES_KEY]);
  const known = carried.length > 0 && carried.every((c) => Array.isArray(c) && c.every((x: unknown) => typeof x === 'string'));
  const about = tap.capabilities || known ? null : await tapAbout(tap);
  const caps = tap.capabilities ?? (known ? (carried[0] as string[]) : capabilitiesOf(tap, about));
  const useCatalog = caps.includes('catalog');
  const singerCatalog = { streams: entries.map((x) => selectEntry(x.entry, x.configured, !useCatalog)) };
  const targets = new StreamRoutes();
  for (const x of entries) {
    if (!x.configured) continue;
    const t: StreamTarget = { name: x.configured.stream.name };
    if (x.configured.stream.namespace) t.namespace = x.configured.stream.namespace;
    targets.add(x.entry, t);
  }
  const cat = tmpFile('catalog.json', JSON.stringify(singerCatalog));
  try {
    const args = ['--config', config];
    if (stateFile) args.push('--state', stateFile);
    args.push(useCatalog ? '--catalog' : '--properties', cat.path);
    const r = await runSync(tap, args, targets);
    if (r.error) {
      await traceError(`Singer tap failed: ${r.error}${r.tail.length ? ` — last stderr: ${r.tail.slice(-5).join(' | ')}` : ''}`, r.failureType === 'config_error' ? 'config_error' : 'system_error', r.tail);
      return 1;
    }
    if (targets.size > 0 && !r.sawData) {
      await traceError(
        `the Singer tap sent no SCHEMA or RECORD although ${targets.size} stream(s) were selected: it probably ignored the catalog passed as ${useCatalog ? '--catalog' : '--properties'}; ` +
          `try the other flag (capabilities ${useCatalog ? "['properties']" : "['catalog']"})`,
        'config_error',
        r.tail,
      );
      return 1;
    }
    return 0;
  } finally {
    cat.cleanup();
  }
}

async function doCheck(tap: TapSpec, config: string, timeoutMs: number): Promise<number> {
  const status = (ok: boolean, message: string) => emit({ type: 'CONNECTION_STATUS', connectionStatus: { status: ok ? 'SUCCEEDED' : 'FAILED', message } });
  const tailText = (t: string[]) => (t.length ? `; last stderr lines:\n${t.slice(-10).join('\n')}` : '');
  const [d, caps] = await discoverWithCapabilities(tap, config);
  if (!d.catalog) {
    // Without a catalog no sync is possible: the discovery failure is the answer.
    await status(false, `discovery failed (${d.error})${tailText(d.tail)}`);
    return 0;
  }
  const useCatalog = caps.includes('catalog');
  const streams = d.catalog.streams.map((e: Json) => selectEntry(e, { sync_mode: 'full_refresh', stream: {} }, !useCatalog));
  if (streams.length === 0) {
    await status(true, 'discovery succeeded (no streams, so no test sync)');
    return 0;
  }
  const cat = tmpFile('catalog.json', JSON.stringify({ streams }));
  try {
    const r = await runSync(tap, ['--config', config, useCatalog ? '--catalog' : '--properties', cat.path], new StreamRoutes(), { probe: true, timeoutMs });
    if (r.stoppedEarly) await status(true, `test sync: the tap sent a record (stream ${r.firstStream}); stopped there`);
    else if (r.error && r.exitCode !== undefined && r.exitCode !== 0 && !/no RECORD within/.test(r.error)) await status(false, `test sync failed: ${r.error}${tailText(r.tail)}`);
    else if (r.error) await status(true, `discovery succeeded; the test sync sent no record within ${timeoutMs / 1000}s`);
    else await status(true, 'test sync finished without records; discovery succeeded');
    return 0;
  } finally {
    cat.cleanup();
  }
}

// ---------------------------------------------------------------- config rewritten by the tap

/**
 * Run the tap on a private copy of its config. Some taps rewrite their config file (a refreshed
 * OAuth token); the change then goes back as CONTROL CONNECTOR_CONFIG (the complete new config),
 * so the host writes it into the user's file: never the file we were given, which stays as is.
 */
async function withConfigCopy(config: string, run: (copy: string) => Promise<number>): Promise<number> {
  const before = readFileSync(config, 'utf8');
  const copy = tmpFile('config.json', before);
  try {
    return await run(copy.path);
  } finally {
    // also after a failure: a rotated token is likely the only valid one now
    await reportConfigChange(before, copy.path);
    copy.cleanup();
  }
}

async function reportConfigChange(before: string, path: string): Promise<void> {
  let after: string;
  try {
    after = readFileSync(path, 'utf8');
  } catch {
    return log('WARN', 'the Singer tap removed its config file; nothing to write back');
  }
  if (after === before) return;
  let next: LosslessValue;
  let prev: LosslessValue;
  try {
    prev = parseLossless(before);
    next = parseLossless(after);
  } catch {
    return log('WARN', 'the Singer tap rewrote its config file, but not as JSON: the change is not written back');
  }
  if (!isPlainObject(next)) return log('WARN', 'the Singer tap rewrote its config file, but not as a JSON object: the change is not written back');
  // loaded only here: config.js brings the YAML parser, which the shim needs nowhere else
  const { configChanges } = await import('../config/config.js');
  if (configChanges(prev, next).length === 0) return;
  await writeLine(`{"type":"CONTROL","control":{"type":"CONNECTOR_CONFIG","emitted_at":${Date.now()},"connectorConfig":{"config":${stringifyLossless(next)}}}}`);
}

// ---------------------------------------------------------------- entry point

function usage(msg: string): number {
  process.stderr.write(`singer-tap shim: ${msg}\nusage: singer-tap.mjs --tap-json '{"command":…,"args":[…],"env":{…}}' spec|check|discover|read [--config F] [--catalog F] [--state F] [--check-timeout S]\n`);
  return 2;
}

/**
 * A Singer shim's argv (both shims): `--<jsonFlag> '{"command":…}' COMMAND [--flag value …]`.
 * A string result is the usage error.
 */
export function parseShimArgv(argv: string[], jsonFlag: string): { program: TapSpec; command: string | undefined; flags: Record<string, string> } | string {
  let program: TapSpec | undefined;
  let command: string | undefined;
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === `--${jsonFlag}`) {
      try {
        program = JSON.parse(argv[++i] ?? '') as TapSpec;
      } catch {
        return `--${jsonFlag} is not JSON`;
      }
    } else if (a.startsWith('--')) flags[a.slice(2)] = argv[++i] ?? '';
    else if (!command) command = a;
    else return `unexpected argument ${a}`;
  }
  if (!program || typeof program.command !== 'string') return `--${jsonFlag} {"command": …} is required`;
  return { program, command, flags };
}

/** The standalone shim: parse argv (without node and script), answer one protocol command, return the exit code. */
export async function runSingerTapShim(argv: string[]): Promise<number> {
  const parsed = parseShimArgv(argv, 'tap-json');
  if (typeof parsed === 'string') return usage(parsed);
  const { program: tap, command, flags } = parsed;
  stopOnSignals();
  const need = (f: string): string | undefined => flags[f];
  const t = tap;
  switch (command) {
    case 'spec':
      return doSpec(tap);
    case 'check':
      if (!need('config')) return usage('check needs --config');
    {
      let timeoutMs: number;
      try {
        timeoutMs = checkNumber('check-timeout', flags['check-timeout'] ?? 30, seconds()) * 1000;
      } catch (e) {
        return usage((e as Error).message);
      }
      return withConfigCopy(need('config')!, (config) => doCheck(t, config, timeoutMs));
    }
    case 'discover':
      if (!need('config')) return usage('discover needs --config');
      return withConfigCopy(need('config')!, (config) => doDiscover(t, config));
    case 'read':
      if (!need('config') || !need('catalog')) return usage('read needs --config and --catalog');
      return withConfigCopy(need('config')!, (config) => doRead(t, config, need('catalog')!, flags['state']));
    default:
      return usage(`unknown command ${command ?? '(none)'}`);
  }
}
