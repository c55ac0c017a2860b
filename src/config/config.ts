// Config loading is one module: files today, environment interpolation and
// layering later. CONTROL write-back goes through here too: only the fields the
// connector changed are written, atomically, into the file they came from.

import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { parseLossless, stringifyLossless, isPlainObject, type LosslessValue, JsonSyntaxError } from '../json/lossless.js';
import { writeFileAtomic } from '../io/atomic.js';

export interface LoadedConfig {
  /** The merged config (lossless numbers). */
  value: Record<string, LosslessValue>;
  /** The file it came from, if any (target of CONTROL write-back). */
  file: string | undefined;
}

export function parseJsonFile(file: string, what: string): LosslessValue {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ConfigError(`cannot read the ${what} file ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`, { file });
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return parseLossless(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) {
      const { line, col } = lineCol(text, e.position);
      const lineText = text.split('\n')[line - 1] ?? '';
      throw new ConfigError(`the ${what} file ${file} is not valid JSON: ${e.message.replace(/ at position \d+$/, '')} at line ${line}, column ${col}: ${lineText.slice(0, 80)}`, {
        file,
        line,
      });
    }
    throw e;
  }
}

function lineCol(text: string, pos: number): { line: number; col: number } {
  let line = 1;
  let last = 0;
  for (let i = 0; i < pos && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      last = i + 1;
    }
  }
  return { line, col: pos - last + 1 };
}

export function loadConfig(files: string | string[] | undefined): LoadedConfig {
  const list = files === undefined ? [] : Array.isArray(files) ? files : [files];
  if (list.length === 0) return { value: {}, file: undefined };
  if (list.length > 1) throw new ConfigError('several --config files are not supported yet');
  const file = list[0]!;
  const value = parseJsonFile(file, 'config');
  if (!isPlainObject(value)) throw new ConfigError(`the config file ${file} must hold a JSON object`, { file });
  return { value, file };
}

function sameJson(a: unknown, b: unknown): boolean {
  return stringifyLossless(a) === stringifyLossless(b);
}

/** The changes that turn `before` into `after`, as paths to set or delete (objects are walked). */
export function configChanges(before: unknown, after: unknown, path: string[] = []): { path: string[]; value: LosslessValue | undefined }[] {
  if (isPlainObject(before) && isPlainObject(after)) {
    const out: { path: string[]; value: LosslessValue | undefined }[] = [];
    for (const k of Object.keys(after)) {
      if (!(k in before)) out.push({ path: [...path, k], value: after[k] as LosslessValue });
      else out.push(...configChanges(before[k], after[k], [...path, k]));
    }
    for (const k of Object.keys(before)) if (!(k in after)) out.push({ path: [...path, k], value: undefined });
    return out;
  }
  return sameJson(before, after) ? [] : [{ path, value: after as LosslessValue }];
}

function applyChange(target: Record<string, LosslessValue>, path: string[], value: LosslessValue | undefined): void {
  let cur: Record<string, LosslessValue> = target;
  for (let i = 0; i < path.length - 1; i++) {
    const next = cur[path[i]!];
    if (!isPlainObject(next)) cur[path[i]!] = {};
    cur = cur[path[i]!] as Record<string, LosslessValue>;
  }
  const last = path[path.length - 1]!;
  if (value === undefined) delete cur[last];
  else cur[last] = value;
}

/**
 * Write a connector's new config (CONTROL CONNECTOR_CONFIG) back: re-read the
 * file, apply only the fields that differ from what we loaded, write atomically.
 * Returns the changed paths (names only; never values, they may be secrets).
 */
export function writeBackConfig(loaded: LoadedConfig, updated: LosslessValue): string[] {
  if (!loaded.file) return [];
  if (!isPlainObject(updated)) throw new ConfigError('the connector sent a CONTROL config that is not an object');
  const changes = configChanges(loaded.value, updated);
  if (changes.length === 0) return [];
  const current = parseJsonFile(loaded.file, 'config');
  if (!isPlainObject(current)) throw new ConfigError(`the config file ${loaded.file} no longer holds a JSON object`);
  for (const c of changes) applyChange(current, c.path, c.value);
  const mode = statSync(loaded.file).mode & 0o777;
  writeFileAtomic(loaded.file, stringifyLossless(current, 2) + '\n', { mode });
  for (const c of changes) applyChange(loaded.value, c.path, c.value);
  return changes.map((c) => c.path.join('.'));
}

