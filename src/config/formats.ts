// Config file formats: JSON, JSON with comments (// and /* */, trailing commas)
// and YAML. Numbers stay lossless in both: JSON goes through parseLossless;
// YAML integers are parsed as BigInt and floats that a JS number would change
// are kept as their source text (LosslessNumber), and both print back as they were.
//
// Which parser: `.yaml`/`.yml` -> YAML; `.json`/`.jsonc`/`.json5` -> JSON (with
// comments); any other name -> JSON when the first thing in the file (after a
// BOM, blanks and comments) is `{`, else YAML. A UTF-8 BOM is accepted (and kept
// on write-back).

import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { createRequire } from 'node:module';
import type { Document, Tags } from 'yaml';
import type * as YamlModule from 'yaml';
import { ConfigError } from '../errors.js';
import { parseLossless, isPlainObject, defineOwn, LosslessNumber, JsonSyntaxError, type LosslessValue } from '../json/lossless.js';

// The yaml package (about 30 ms to load) is loaded when a YAML file is read or written, not at
// start-up: a run with JSON configs never loads it (test/cli/startup.test.ts).
let yamlModule: typeof YamlModule | undefined;
export function yamlLib(): typeof YamlModule {
  return (yamlModule ??= createRequire(import.meta.url)('yaml') as typeof YamlModule);
}

export type ConfigFormat = 'json' | 'yaml';

export interface ParsedConfigFile {
  file: string;
  format: ConfigFormat;
  /** The file's own values, before interpolation (lossless). */
  raw: Record<string, LosslessValue>;
  /** YAML only: the document, for comment-keeping write-back. */
  doc?: Document.Parsed | undefined;
  bom: boolean;
  /** JSON only: the indent to write back with. */
  indent: number;
  /** JSON only: the file had comments or trailing commas (lost on write-back). */
  jsonc: boolean;
}

export function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ConfigError(`cannot read the ${what} file ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'it is a directory' : err.message}`, { file });
  }
}

export function lineCol(text: string, pos: number): { line: number; col: number } {
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

/**
 * Blank out // and /* *\/ comments and trailing commas, keeping every other
 * character (and every newline) where it was, so error positions stay true.
 */
export function stripJsonComments(text: string): { text: string; changed: boolean } {
  const out = text.split('');
  let changed = false;
  const n = text.length;
  let i = 0;
  const blank = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (out[k] !== '\n' && out[k] !== '\r') out[k] = ' ';
    changed = true;
  };
  while (i < n) {
    const c = text[i];
    if (c === '"') {
      i++;
      while (i < n && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i++;
    } else if (c === '/' && text[i + 1] === '/') {
      const end = text.indexOf('\n', i);
      const to = end === -1 ? n : end;
      blank(i, to);
      i = to;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end === -1) return { text: out.join(''), changed }; // left for the parser to report
      blank(i, end + 2);
      i = end + 2;
    } else i++;
  }
  // trailing commas: a ',' followed (after blanks) by '}' or ']'
  let inStr = false;
  for (let k = 0; k < n; k++) {
    const c = out[k];
    if (inStr) {
      if (c === '\\') k++;
      else if (c === '"') inStr = false;
      continue;
    }
    if (c === '"') inStr = true;
    else if (c === ',') {
      let j = k + 1;
      while (j < n && /\s/.test(out[j]!)) j++;
      if (out[j] === '}' || out[j] === ']') {
        out[k] = ' ';
        changed = true;
      }
    }
  }
  return { text: out.join(''), changed };
}

export function detectFormat(file: string, text: string): ConfigFormat {
  const ext = extname(file).toLowerCase();
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  if (ext === '.json' || ext === '.jsonc' || ext === '.json5') return 'json';
  const first = stripJsonComments(text).text.trimStart();
  return first.startsWith('{') ? 'json' : 'yaml';
}

const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

// YAML floats that a JS number would change keep their text (and print back as it).
const losslessFloat = {
  identify: (v: unknown) => v instanceof LosslessNumber,
  default: true,
  tag: 'tag:yaml.org,2002:float',
  test: /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+(?:[eE][-+]?[0-9]+)?|[eE][-+]?[0-9]+)$/,
  resolve: (str: string) => {
    const num = Number(str);
    return String(num) === str || !JSON_NUMBER.test(str) ? num : new LosslessNumber(str);
  },
  stringify: (item: { value: unknown }) => String((item.value as LosslessNumber).raw),
};
const yamlTags = (tags: Tags): Tags => [losslessFloat as never, ...tags];
export const YAML_PARSE_OPTIONS = { intAsBigInt: true, uniqueKeys: true, prettyErrors: true, customTags: yamlTags } as const;

function bigToLossless(b: bigint): LosslessValue {
  return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : new LosslessNumber(b.toString());
}

/** A YAML node as a lossless value (aliases followed, keys as strings). */
export function yamlToLossless(node: unknown, doc: Document, depth = 0): LosslessValue {
  if (depth > 2000) throw new Error('nesting too deep');
  if (node === null || node === undefined) return null;
  const { isAlias, isMap, isSeq, isScalar } = yamlLib();
  if (isAlias(node)) return yamlToLossless(node.resolve(doc), doc, depth + 1);
  if (isMap(node)) {
    const obj: Record<string, LosslessValue> = {};
    for (const pair of node.items) {
      const k = isScalar(pair.key) ? pair.key.value : pair.key;
      const key = k === null || k === undefined ? '' : typeof k === 'object' ? JSON.stringify(yamlToLossless(k, doc, depth + 1)) : String(k);
      const v = yamlToLossless(pair.value, doc, depth + 1);
      defineOwn(obj, key, v);
    }
    return obj;
  }
  if (isSeq(node)) return node.items.map((x) => yamlToLossless(x, doc, depth + 1));
  if (isScalar(node)) {
    const v = node.value;
    if (typeof v === 'bigint') return bigToLossless(v);
    if (v instanceof LosslessNumber) return v;
    if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' || v === null) return v;
    if (v instanceof Date) return v.toISOString();
    return v === undefined ? null : String(v);
  }
  return null;
}

/** A lossless value as plain data the yaml package prints without loss (big ints as BigInt). */
export function losslessToYaml(v: LosslessValue): unknown {
  if (v instanceof LosslessNumber) return /^-?\d+$/.test(v.raw) ? BigInt(v.raw) : v;
  if (Array.isArray(v)) return v.map(losslessToYaml);
  if (isPlainObject(v)) {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v)) defineOwn(o, k, losslessToYaml(v[k] as LosslessValue));
    return o;
  }
  return v;
}

// Syntax errors name the file, line, column and key path, never any of the file's text: a config
// (or a registry with default config, or a state a connector filled) holds secrets, and the text
// around an error is usually the value being typed. One rule for every file, so none is missed.
const where = (line: number, col: number, path: readonly string[]) => `at line ${line}, column ${col}${path.length ? ` (under ${path.join('.')})` : ''}`;

function jsonError(file: string, what: string, text: string, e: JsonSyntaxError): ConfigError {
  const { line, col } = lineCol(text, e.position);
  return new ConfigError(`the ${what} file ${file} is not valid JSON: ${e.message.replace(/ at position \d+$/, '').replace(/^(unexpected character) .*/s, '$1')} ${where(line, col, e.path)}`, { file, line, column: col, field: e.path.join('.') });
}

// The yaml package's messages may quote the source (an escape, a tag, a plain scalar, a token),
// so they are never shown: what went wrong is said by the error's code and, where one code
// covers several problems, by the fixed start of its message (matched, not printed).
const YAML_MESSAGES: [code: string, start: RegExp, problem: string][] = [
  ['MISSING_CHAR', /^Missing closing "quote/, 'an unclosed double quote (a " without its closing ")'],
  ['MISSING_CHAR', /^Missing closing 'quote/, "an unclosed single quote (a ' without its closing ')"],
  ['MISSING_CHAR', /^Implicit map keys need to be followed by map values/, 'expected a mapping value: a key without ":" (write key: value)'],
  ['MISSING_CHAR', /^Missing , or : between/, 'expected "," or ":" between the items of a [...] or {...}'],
  ['MISSING_CHAR', /^Missing , between/, 'expected "," between the items of a [...] or {...}'],
  ['MISSING_CHAR', /^Missing space after :/, 'expected a space after ":" in a {...}'],
  ['MISSING_CHAR', /must end with a/, 'an unclosed bracket: a [ or { without its ] or }'],
  ['MISSING_CHAR', /^Comments must be separated/, 'a # comment without a space before it'],
  ['MISSING_CHAR', /^Tags and anchors must be separated/, 'a tag (!) or anchor (&) without a space after it'],
  ['MISSING_CHAR', /^Sequence item without - indicator/, 'a list item without its "- "'],
  ['MISSING_CHAR', /^Missing directives-end/, 'a directive without the --- line after it'],
  ['BAD_INDENT', /^All mapping items must start at the same column/, 'bad indentation: the keys of one mapping must start at the same column'],
  ['BAD_INDENT', /^All sequence items must start at the same column/, 'bad indentation: the items of one list must start at the same column'],
  ['BAD_INDENT', /must be sufficiently indented and end with a/, 'an unclosed bracket (a [ or { without its ] or }), or a [...] or {...} whose next line is not indented enough'],
  ['BLOCK_AS_IMPLICIT_KEY', /^Nested mappings are not allowed in compact mappings/, 'a value that reads as a nested mapping: quote a value that holds ": ", or put a nested mapping on its own, more indented lines'],
  ['BLOCK_AS_IMPLICIT_KEY', /^A block sequence may not be used as an implicit map key/, 'a list used as a key (bad indentation?)'],
  ['MULTILINE_IMPLICIT_KEY', /^Implicit keys need to be on a single line/, 'expected a mapping value: a line without ":", or a key that runs over several lines (bad indentation?)'],
  ['UNEXPECTED_TOKEN', /^Block scalar header includes extra characters/, 'extra characters after | or >'],
  ['UNEXPECTED_TOKEN', /^Unexpected flow-(?:seq|map)-end/, 'a ] or } without its [ or {'],
  ['UNEXPECTED_TOKEN', /^Unexpected (?:scalar|map-value-ind|block-seq-ind|seq-item-ind|explicit-key-ind)/, 'unexpected text after a value (bad indentation, or a value that should be quoted?)'],
];
const YAML_PROBLEMS: Record<string, string> = {
  BAD_INDENT: 'bad indentation',
  TAB_AS_INDENT: 'a tab used as indentation (indent with spaces)',
  DUPLICATE_KEY: 'a key given twice',
  BAD_DQ_ESCAPE: 'an invalid escape sequence in a double-quoted string (write \\\\ for a backslash, or use single quotes)',
  MISSING_CHAR: 'a missing quote, bracket, "," or ":"',
  UNEXPECTED_TOKEN: 'unexpected text',
  MULTILINE_IMPLICIT_KEY: 'a key that spans lines',
  BLOCK_AS_IMPLICIT_KEY: 'a block used as a key',
  BLOCK_IN_FLOW: 'a block mapping or list inside [...] or {...} (a missing ","?)',
  BAD_SCALAR_START: 'a plain value that starts with a reserved character (@ or `): quote it',
  TAG_RESOLVE_FAILED: 'an unknown tag (!...)',
  MULTIPLE_DOCS: 'more than one document (a --- line starts a second one)',
  BAD_ALIAS: 'an empty or ambiguous alias (*)',
  KEY_OVER_1024_CHARS: 'a key longer than 1024 characters',
  RESOURCE_EXHAUSTION: 'too many alias expansions',
};

/** What a YAML error says went wrong, in words that hold nothing of the file's text. */
export function yamlProblem(code: string, message: string): string {
  for (const [c, start, problem] of YAML_MESSAGES) if (c === code && start.test(message)) return problem;
  return YAML_PROBLEMS[code] ?? code.toLowerCase().replaceAll('_', ' ');
}

/** The keys (and item indexes) down to the YAML node at `pos`, as far as the document was parsed. */
function yamlPathAt(node: unknown, pos: number, out: string[] = []): string[] {
  const { isMap, isSeq, isScalar } = yamlLib();
  if (isMap(node)) {
    for (const pair of node.items) {
      const v = pair.value as { range?: [number, number, number] } | null;
      const k = pair.key as { range?: [number, number, number] } | null;
      const start = k?.range?.[0] ?? v?.range?.[0];
      const end = v?.range?.[2] ?? k?.range?.[2];
      if (start !== undefined && end !== undefined && pos >= start && pos <= end) {
        // a key that reaches the error may be a value the broken syntax turned into a key: not named
        if (!isScalar(pair.key) || (k?.range?.[1] ?? pos) >= pos) return out;
        out.push(String(pair.key.value));
        return yamlPathAt(pair.value, pos, out);
      }
    }
  } else if (isSeq(node)) {
    for (const [i, item] of node.items.entries()) {
      const r = (item as { range?: [number, number, number] } | null)?.range;
      if (r && pos >= r[0] && pos <= r[2]) {
        out.push(String(i));
        return yamlPathAt(item, pos, out);
      }
    }
  }
  return out;
}

/** Parse a JSON (or JSON-with-comments) file's text; errors name file, line, column and key path (never its text). */
export function parseJsonText(file: string, what: string, text: string, allowComments: boolean): { value: LosslessValue; jsonc: boolean } {
  try {
    return { value: parseLossless(text), jsonc: false };
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    if (!allowComments) throw jsonError(file, what, text, e);
    const stripped = stripJsonComments(text);
    if (!stripped.changed) throw jsonError(file, what, text, e);
    try {
      return { value: parseLossless(stripped.text), jsonc: true };
    } catch (e2) {
      if (e2 instanceof JsonSyntaxError) throw jsonError(file, what, text, e2);
      throw e2;
    }
  }
}

export function parseYamlText(file: string, what: string, text: string): { value: LosslessValue; doc: Document.Parsed } {
  const doc = yamlLib().parseDocument(text, YAML_PARSE_OPTIONS);
  const err = doc.errors[0];
  if (err) {
    const pos = err.linePos?.[0];
    const line = pos?.line ?? lineCol(text, err.pos[0]).line;
    const col = pos?.col ?? lineCol(text, err.pos[0]).col;
    const problem = yamlProblem(err.code, err.message);
    const path = yamlPathAt(doc.contents, err.pos[0]);
    throw new ConfigError(`the ${what} file ${file} is not valid YAML: ${problem} ${where(line, col, path)}`, { file, line, column: col, field: path.join('.') });
  }
  return { value: yamlToLossless(doc.contents, doc), doc };
}

/** Read and parse one config file (any supported format); the top level must be an object. */
export function parseConfigFile(file: string, what = 'config'): ParsedConfigFile {
  let text = readText(file, what);
  const bom = text.charCodeAt(0) === 0xfeff;
  if (bom) text = text.slice(1);
  const format = detectFormat(file, text);
  if (format === 'yaml') {
    const { value, doc } = parseYamlText(file, what, text);
    if (!isPlainObject(value)) throw new ConfigError(`the ${what} file ${file} must hold a YAML mapping (key: value lines) at the top`, { file });
    return { file, format, raw: value as Record<string, LosslessValue>, doc, bom, indent: 2, jsonc: false };
  }
  const { value, jsonc } = parseJsonText(file, what, text, true);
  if (!isPlainObject(value)) throw new ConfigError(`the ${what} file ${file} must hold a JSON object`, { file });
  const m = /\n( +)["}\]]/.exec(text);
  const indent = m ? Math.min(m[1]!.length, 8) : 2;
  return { file, format, raw: value as Record<string, LosslessValue>, bom, indent, jsonc };
}
