// Config loading is one module: files (JSON, JSON with comments, YAML), `${VAR}`
// interpolation and layering (later files win). CONTROL write-back goes through
// here too: only the fields the connector changed are written, atomically, into
// the file they came from, never over a `${VAR}` placeholder.

import { chmodSync, realpathSync, statSync } from 'node:fs';
import type { Document } from 'yaml';
import { ConfigError } from '../errors.js';
import { setPath, getPath, stringifyLossless, isPlainObject, defineOwn, ownValue, LosslessNumber, type LosslessValue } from '../json/lossless.js';
import { writeFileAtomic } from '../io/atomic.js';
import { parseConfigFile, parseJsonText, readText, losslessToYaml, yamlLib, type ParsedConfigFile } from './formats.js';
import { interpolateString, placeholderVariables, escapeLiteral } from './interpolate.js';

export { interpolateString, escapeLiteral } from './interpolate.js';
export { parseConfigFile, stripJsonComments, type ConfigFormat, type ParsedConfigFile } from './formats.js';

/** Where a field (a leaf: a scalar, an array or an empty object) of the merged config came from. */
export interface FieldSource {
  /** The field's path (object keys). */
  path: string[];
  /** The last file that defined it. */
  file: string;
  /** The environment variables its raw value references (`${VAR}`); empty when it is a literal. */
  variables: string[];
}

export interface LoadedConfig {
  /** The merged, interpolated config (lossless numbers). */
  value: Record<string, LosslessValue>;
  /** The last config file, if any (kept for compatibility). */
  file: string | undefined;
  /** Every config file, in order (later ones win). Absent or empty: the config was given, not loaded. */
  files?: string[] | undefined;
  /** Provenance of every leaf field, by JSON pointer ("/credentials/refresh_token"). */
  sources?: Map<string, FieldSource> | undefined;
}

export interface LoadOptions {
  /** Where `${VAR}` values come from. Default: process.env. */
  env?: NodeJS.ProcessEnv | undefined;
}

/** A JSON pointer for a path. */
export function pointer(path: readonly string[]): string {
  return path.map((k) => '/' + k.replaceAll('~', '~0').replaceAll('/', '~1')).join('');
}

/** Read a JSON file (catalog, state, ...): lossless, BOM allowed; errors name file, line, column. */
export function parseJsonFile(file: string, what: string): LosslessValue {
  let text = readText(file, what);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return parseJsonText(file, what, text, false).value;
}

// ---------------------------------------------------------------- loading

function leaves(v: LosslessValue, path: string[], visit: (path: string[], v: LosslessValue) => void): void {
  if (isPlainObject(v) && Object.keys(v).length > 0) {
    for (const k of Object.keys(v)) leaves(v[k] as LosslessValue, [...path, k], visit);
  } else visit(path, v);
}

function stringsIn(v: LosslessValue, visit: (s: string) => void): void {
  if (typeof v === 'string') visit(v);
  else if (Array.isArray(v)) v.forEach((x) => stringsIn(x, visit));
  else if (isPlainObject(v)) for (const k of Object.keys(v)) stringsIn(v[k] as LosslessValue, visit);
}

function variablesIn(v: LosslessValue): string[] {
  const out = new Set<string>();
  stringsIn(v, (s) => placeholderVariables(s).forEach((n) => out.add(n)));
  return [...out];
}

function interpolateFile(p: ParsedConfigFile, env: NodeJS.ProcessEnv): Record<string, LosslessValue> {
  const missing = new Map<string, string[]>(); // variable -> fields
  const walk = (v: LosslessValue, path: string[]): LosslessValue => {
    if (typeof v === 'string') {
      const r = interpolateString(v, env);
      if (r.error) throw new ConfigError(`the config file ${p.file}, field ${pointer(path) || '/'}: ${r.error}`, { file: p.file, field: pointer(path) });
      for (const m of r.missing) missing.set(m, [...(missing.get(m) ?? []), pointer(path)]);
      return r.value;
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, String(i)]));
    if (isPlainObject(v)) {
      const o: Record<string, LosslessValue> = {};
      for (const k of Object.keys(v)) {
        const x = walk(v[k] as LosslessValue, [...path, k]);
        defineOwn(o, k, x);
      }
      return o;
    }
    return v;
  };
  const value = walk(p.raw, []) as Record<string, LosslessValue>;
  if (missing.size > 0) {
    const list = [...missing].map(([name, fields]) => `\${${name}} (${fields.join(', ')})`).join(', ');
    const names = [...missing.keys()];
    throw new ConfigError(
      `the config file ${p.file} uses environment variable${names.length > 1 ? 's' : ''} that ${names.length > 1 ? 'are' : 'is'} not set: ${list}; set ${names.join(', ')}, or write $\${...} for a literal`,
      { file: p.file, variables: names },
    );
  }
  return value;
}

function cloneValue(v: LosslessValue): LosslessValue {
  if (Array.isArray(v)) return v.map(cloneValue);
  if (isPlainObject(v)) {
    const o: Record<string, LosslessValue> = {};
    for (const k of Object.keys(v)) {
      const x = cloneValue(v[k] as LosslessValue);
      defineOwn(o, k, x);
    }
    return o;
  }
  return v;
}

/** Deep merge `top` into `base` (in place): objects merge, arrays and scalars replace. */
function mergeInto(base: Record<string, LosslessValue>, top: Record<string, LosslessValue>, raw: Record<string, LosslessValue>, file: string, sources: Map<string, FieldSource>, path: string[]): void {
  for (const k of Object.keys(top)) {
    const b = ownValue(base, k); // never an inherited value: `base['__proto__']` is Object.prototype

    const t = top[k] as LosslessValue;
    const p = [...path, k];
    if (isPlainObject(b) && isPlainObject(t) && Object.keys(t).length > 0) {
      if (Object.keys(b).length === 0) sources.delete(pointer(p));
      mergeInto(b as Record<string, LosslessValue>, t as Record<string, LosslessValue>, raw[k] as Record<string, LosslessValue>, file, sources, p);
      continue;
    }
    if (isPlainObject(b) && isPlainObject(t)) continue; // an empty object adds nothing
    const ptr = pointer(p);
    for (const key of [...sources.keys()]) if (key === ptr || key.startsWith(ptr + '/')) sources.delete(key);
    defineOwn(base, k, cloneValue(t));
    leaves(raw[k] as LosslessValue, p, (lp, rv) => sources.set(pointer(lp), { path: lp, file, variables: variablesIn(rv) }));
  }
}

/**
 * Load one or several config files (JSON, JSON with comments, YAML), interpolate
 * `${VAR}` in string values, and merge them: later files win (objects merge,
 * arrays and scalars replace).
 */
export function loadConfig(files: string | string[] | undefined, opts: LoadOptions = {}): LoadedConfig {
  const list = files === undefined ? [] : Array.isArray(files) ? files : [files];
  if (list.length === 0) return { value: {}, file: undefined, files: [], sources: new Map() };
  const env = opts.env ?? process.env;
  const value: Record<string, LosslessValue> = {};
  const sources = new Map<string, FieldSource>();
  for (const file of list) {
    const parsed = parseConfigFile(file, 'config');
    mergeInto(value, interpolateFile(parsed, env), parsed.raw, file, sources, []);
  }
  return { value, file: list[list.length - 1], files: [...list], sources };
}

/**
 * The string values of the config that came (in whole or in part) from the
 * environment: mask them like secrets if the spec does not already.
 */
export function environmentValues(loaded: LoadedConfig): string[] {
  const out = new Set<string>();
  for (const src of loaded.sources?.values() ?? []) {
    if (src.variables.length === 0) continue;
    const v = getPath(loaded.value, src.path);
    if (v !== undefined) stringsIn(v, (s) => s && out.add(s));
  }
  return [...out];
}

// ---------------------------------------------------------------- write-back

function sameJson(a: unknown, b: unknown): boolean {
  return stringifyLossless(a) === stringifyLossless(b);
}

/** The changes that turn `before` into `after`, as paths to set or delete (objects are walked). */
export function configChanges(before: unknown, after: unknown, path: string[] = []): { path: string[]; value: LosslessValue | undefined }[] {
  if (isPlainObject(before) && isPlainObject(after)) {
    const out: { path: string[]; value: LosslessValue | undefined }[] = [];
    for (const k of Object.keys(after)) {
      if (!Object.hasOwn(before, k)) out.push({ path: [...path, k], value: after[k] as LosslessValue });
      else out.push(...configChanges(before[k], after[k], [...path, k]));
    }
    for (const k of Object.keys(before)) if (!Object.hasOwn(after, k)) out.push({ path: [...path, k], value: undefined });
    return out;
  }
  return sameJson(before, after) ? [] : [{ path, value: after as LosslessValue }];
}

/** A literal value as it must be written into a file: every `${` escaped. */
function escapeValue(v: LosslessValue): LosslessValue {
  if (typeof v === 'string') return escapeLiteral(v);
  if (Array.isArray(v)) return v.map(escapeValue);
  if (isPlainObject(v)) {
    const o: Record<string, LosslessValue> = {};
    for (const k of Object.keys(v)) defineOwn(o, k, escapeValue(v[k] as LosslessValue));
    return o;
  }
  return v;
}

function yamlSet(doc: Document, path: string[], value: LosslessValue | undefined): void {
  if (value === undefined) {
    if (doc.hasIn(path)) doc.deleteIn(path);
    return;
  }
  const { isMap, isScalar } = yamlLib();
  for (let i = 1; i < path.length; i++) {
    const prefix = path.slice(0, i);
    if (!isMap(doc.getIn(prefix, true))) doc.setIn(prefix, doc.createNode({}));
  }
  const node = doc.getIn(path, true);
  const isScalarValue = value === null || typeof value !== 'object' || value instanceof LosslessNumber;
  if (isScalar(node) && isScalarValue) {
    // keep the node (its comment; its quoting when both are strings)
    if (typeof node.value !== 'string' || typeof value !== 'string') node.type = undefined;
    node.value = losslessToYaml(value);
    return;
  }
  doc.setIn(path, doc.createNode(losslessToYaml(value)));
}

/** A field the connector changed that was not written back because its value in the file is a `${VAR}` placeholder. */
export interface SkippedField {
  /** Dotted name, as in `written` ("credentials.refresh_token"). */
  field: string;
  /** JSON pointer ("/credentials/refresh_token"). */
  pointer: string;
  /** The file that holds the placeholder (left as it is). */
  file: string;
  /** The variables it references: the new value belongs there (e.g. a secret store), not in the file. */
  variables: string[];
  reason: 'environment-placeholder';
}

export interface WriteBackResult {
  /** The changed fields written back (dotted names; never values). */
  written: string[];
  /** The changed fields NOT written back: their file holds a `${VAR}` placeholder. The new value is lost after this run unless the caller tells the user. */
  skipped: SkippedField[];
  /** The files rewritten. */
  files: string[];
}

/**
 * The written field names (a string[], as before), with the full result on it:
 * `.written` (same names), `.skipped`, `.files`.
 */
export type WriteBackFields = string[] & WriteBackResult;

export interface WriteBackOptions {
  /** Where to warn about skipped fields (names and variables only, never values). */
  logger?: { warn(obj: object, msg: string): void } | undefined;
}

/** A one-line warning for skipped fields (names and variable names only), or undefined when none. */
export function describeSkipped(skipped: readonly SkippedField[]): string | undefined {
  if (skipped.length === 0) return undefined;
  const parts = skipped.map((s) => `${s.field} (\${${s.variables.join('}, ${')}} in ${s.file})`);
  return `the connector updated ${parts.join(', ')}, but ${skipped.length > 1 ? 'these come' : 'it comes'} from the environment: the file${skipped.length > 1 ? 's were' : ' was'} left as ${skipped.length > 1 ? 'they were' : 'it was'} and the new value is used for this run only; update the variable${skipped.length > 1 ? 's' : ''} (e.g. with the value from the connector's source system) before the next run, or the connector may fail (a rotated refresh token is usually invalid now)`;
}

/**
 * Write a connector's new config (CONTROL CONNECTOR_CONFIG, the complete config)
 * back: only the fields that differ from what we loaded, each into the file it
 * came from (the last file that defines it; a new field into the last file that
 * defines its parent object, i.e. the last file for a top-level field). Each
 * file is re-read, edited and replaced atomically, keeping its format and mode
 * (JSON: re-serialised, comments are lost; YAML: edited in place, comments kept).
 * A field whose raw value in its file is a `${VAR}` placeholder is never
 * overwritten: it is reported in `.skipped`. `loaded.value` is updated with every
 * change (written or not): the connector's config for the rest of the run.
 */
export function writeBackConfig(loaded: LoadedConfig, updated: LosslessValue, opts: WriteBackOptions = {}): WriteBackFields {
  const result = (written: string[], skipped: SkippedField[], files: string[]): WriteBackFields => Object.assign([...written], { written, skipped, files });
  if (!isPlainObject(updated)) throw new ConfigError('the connector sent a CONTROL config that is not an object');
  const fileList = loaded.files && loaded.files.length > 0 ? loaded.files : loaded.file ? [loaded.file] : [];
  const changes = configChanges(loaded.value, updated);
  if (changes.length === 0) return result([], [], []);
  if (fileList.length === 0) {
    for (const c of changes) setPath(loaded.value, c.path, c.value);
    return result([], [], []);
  }
  // re-read every file: edits made since the start are kept, placeholders checked against what is there now
  const parsed = fileList.map((f) => parseConfigFile(f, 'config'));
  const edits = new Map<number, { path: string[]; value: LosslessValue | undefined }[]>();
  const written: string[] = [];
  const skipped: SkippedField[] = [];
  const addEdit = (i: number, path: string[], value: LosslessValue | undefined) => edits.set(i, [...(edits.get(i) ?? []), { path, value }]);
  for (const c of changes) {
    const name = c.path.join('.');
    const defining = parsed.map((p, i) => (getPath(p.raw, c.path) !== undefined ? i : -1)).filter((i) => i >= 0);
    if (c.value === undefined) {
      // a removed field: remove it from every file that defines it (else a lower file would bring it back)
      const withVars = defining.filter((i) => variablesIn(getPath(parsed[i]!.raw, c.path)!).length > 0);
      if (withVars.length > 0) {
        const i = withVars[withVars.length - 1]!;
        skipped.push({ field: name, pointer: pointer(c.path), file: fileList[i]!, variables: variablesIn(getPath(parsed[i]!.raw, c.path)!), reason: 'environment-placeholder' });
        continue;
      }
      for (const i of defining) addEdit(i, c.path, undefined);
      if (defining.length) written.push(name);
      continue;
    }
    let target = defining.length ? defining[defining.length - 1]! : -1;
    if (target === -1) {
      // new: beside its siblings, in the last file that has its parent object
      for (let i = parsed.length - 1; i >= 0 && target === -1; i--) if (c.path.length > 1 && isPlainObject(getPath(parsed[i]!.raw, c.path.slice(0, -1)))) target = i;
      if (target === -1) target = parsed.length - 1;
    }
    const rawHere = getPath(parsed[target]!.raw, c.path);
    const vars = rawHere === undefined ? [] : variablesIn(rawHere);
    if (vars.length > 0) {
      skipped.push({ field: name, pointer: pointer(c.path), file: fileList[target]!, variables: vars, reason: 'environment-placeholder' });
      continue;
    }
    addEdit(target, c.path, escapeValue(c.value));
    written.push(name);
  }
  const files: string[] = [];
  for (const [i, list] of [...edits].sort((a, b) => a[0] - b[0])) {
    const p = parsed[i]!;
    let text: string;
    if (p.format === 'yaml') {
      for (const e of list) yamlSet(p.doc!, e.path, e.value);
      text = p.doc!.toString({ lineWidth: 0 });
    } else {
      for (const e of list) setPath(p.raw, e.path, e.value);
      text = stringifyLossless(p.raw, p.indent) + '\n';
    }
    if (p.bom) text = '\ufeff' + text;
    let real = p.file;
    try {
      real = realpathSync(p.file);
    } catch {
      /* write where it was named */
    }
    const mode = statSync(real).mode & 0o7777;
    writeFileAtomic(real, text, { mode });
    chmodSync(real, mode); // the temp file's mode went through the umask
    files.push(p.file);
  }
  // the connector's config for the rest of the run, and provenance for what was written
  for (const c of changes) setPath(loaded.value, c.path, c.value);
  if (loaded.sources) {
    for (const [i, list] of edits) {
      for (const e of list) {
        const ptr = pointer(e.path);
        for (const key of [...loaded.sources.keys()]) if (key === ptr || key.startsWith(ptr + '/')) loaded.sources.delete(key);
        if (e.value !== undefined) leaves(e.value, e.path, (lp) => loaded.sources!.set(pointer(lp), { path: lp, file: fileList[i]!, variables: [] }));
      }
    }
  }
  const msg = describeSkipped(skipped);
  if (msg && opts.logger) opts.logger.warn({ fields: skipped.map((s) => s.field), variables: skipped.flatMap((s) => s.variables) }, msg);
  return result(written, skipped, files);
}
