// `host init source|destination|processor NAME [--lang python|typescript] [--dir PARENT]`:
// a new connector folder from the templates in templates/init/ — the connector, an example
// config, a golden suite that passes with `host test` as written, and a README.
//
// templates/init/<kind>/ holds what both languages share (configs, goldens, samples) and
// templates/init/<kind>-<lang>/ the connector and its README. In every file (and file name)
// __NAME__ becomes the name, __SOURCE_FN__ the Python @source function, __WRITER_CLASS__ the
// Python Writer class, __PROCESSOR_REF__ the processor's reference (./processor.py:process); `gitignore` becomes `.gitignore` (npm leaves .gitignore out of packages).

import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, mkdtempSync, rmdirSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';

export const INIT_KINDS = ['source', 'destination', 'processor'] as const;
export const INIT_LANGS = ['python', 'typescript'] as const;
export type InitKind = (typeof INIT_KINDS)[number];
export type InitLang = (typeof INIT_LANGS)[number];

export interface InitOptions {
  kind: InitKind;
  name: string;
  lang?: InitLang | undefined;
  /** The parent folder (default: the current directory). */
  dir?: string | undefined;
}

export interface InitResult {
  /** The new folder, absolute. */
  folder: string;
  /** Its files, relative to it, sorted. */
  files: string[];
  /** The connector file, relative to the folder. */
  connector: string;
}

const TEMPLATES = fileURLToPath(new URL('../../templates/init/', import.meta.url));
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

const CONNECTOR_FILE: Record<InitKind, Record<InitLang, string>> = {
  source: { python: 'source.py', typescript: 'source.ts' },
  destination: { python: 'destination.py', typescript: 'destination.ts' },
  processor: { python: 'processor.py', typescript: 'processor.ts' },
};

/** The words of a name: "my-API_source" -> ["my", "api", "source"]. */
function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[-_\s]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
}

/** The Python @source function: github -> github_source; github-source -> github_source; 3d -> source_3d. */
export function sourceFunctionName(name: string): string {
  const w = words(name);
  if (w[w.length - 1] !== 'source') w.push('source');
  const id = w.join('_');
  return /^[0-9]/.test(id) ? `source_${id}` : id;
}

/** The Python Writer class: warehouse -> WarehouseWriter; my-writer -> MyWriter; 3d -> Writer3dWriter. */
export function writerClassName(name: string): string {
  const w = words(name);
  if (w[w.length - 1] !== 'writer') w.push('writer');
  const id = w.map((x) => x[0]!.toUpperCase() + x.slice(1)).join('');
  return /^[0-9]/.test(id) ? `Writer${id}` : id;
}

/** How the processor is named on the command line. */
function processorRef(lang: InitLang): string {
  return lang === 'python' ? './processor.py:process' : './processor.ts';
}

function substitute(text: string, vars: Record<string, string>): string {
  return text.replace(/__(NAME|SOURCE_FN|WRITER_CLASS|PROCESSOR_REF)__/g, (m, k: string) => vars[k] ?? m);
}

/** Every file under dir, relative, sorted. */
function walk(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p, base));
    else if (e.isFile()) out.push(relative(base, p));
  }
  return out.sort();
}

/** Validate the arguments; the folder it would write. */
export function initTarget(o: InitOptions): string {
  if (!(INIT_KINDS as readonly string[]).includes(o.kind)) throw new UsageError(`host init makes a source, a destination or a processor, not "${o.kind}"`);
  const lang = o.lang ?? 'python';
  if (!(INIT_LANGS as readonly string[]).includes(lang)) throw new UsageError(`--lang is python or typescript, not "${lang}"`);
  if (!NAME_RE.test(o.name)) {
    throw new UsageError(`the name "${o.name}" cannot be used: use letters, digits, - and _ (starting with a letter or digit, at most 64 characters), e.g. my-${o.kind}`);
  }
  const parent = resolve(o.dir ?? '.');
  if (existsSync(parent) && !statSync(parent).isDirectory()) throw new UsageError(`--dir ${o.dir}: not a folder`);
  const folder = join(parent, o.name);
  if (existsSync(folder)) {
    if (!statSync(folder).isDirectory()) throw new UsageError(`${folder} exists and is not a folder: nothing written`);
    if (readdirSync(folder).length > 0) throw new UsageError(`${folder} exists and is not empty: nothing written (choose another name, or --dir PARENT)`);
  }
  return folder;
}

/** Write the folder. Everything goes into a temporary folder beside it first, then one rename: no half-made folder. */
export function initConnector(o: InitOptions): InitResult {
  const lang = o.lang ?? 'python';
  const folder = initTarget(o);
  const parent = dirname(folder);
  const vars = { NAME: o.name, SOURCE_FN: sourceFunctionName(o.name), WRITER_CLASS: writerClassName(o.name), PROCESSOR_REF: processorRef(lang) };
  const layers = [join(TEMPLATES, o.kind), join(TEMPLATES, `${o.kind}-${lang}`)];
  const files = new Map<string, string>(); // target relative path -> template file
  for (const layer of layers) {
    if (!existsSync(layer)) throw new Error(`the templates are missing: ${layer}`);
    for (const f of walk(layer)) {
      const target = substitute(f.split('/').map((p) => (p === 'gitignore' ? '.gitignore' : p)).join('/'), vars);
      files.set(target, join(layer, f));
    }
  }
  mkdirSync(parent, { recursive: true });
  const staging = mkdtempSync(join(parent, `.${basename(folder)}.init-`));
  try {
    for (const [target, template] of files) {
      const p = join(staging, target);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, substitute(readFileSync(template, 'utf8'), vars));
    }
    if (existsSync(folder)) rmdirSync(folder); // empty (initTarget checked): rename needs it gone
    renameSync(staging, folder);
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  return { folder, files: [...files.keys()].sort(), connector: CONNECTOR_FILE[o.kind][lang] };
}

/** What `host init` prints: the files, then the commands to try. */
export function initMessage(o: InitOptions, r: InitResult, cwd = process.cwd()): string {
  const rel = relative(cwd, r.folder) || '.';
  const at = rel.startsWith('..') ? r.folder : rel;
  const c = `./${r.connector}`;
  const lines = [`wrote ${at}/ (a ${o.lang ?? 'python'} ${o.kind}):`, ...r.files.map((f) => `  ${f}`), '', 'next:', `  cd ${at.includes(' ') ? JSON.stringify(at) : at}`];
  if (o.kind === 'source') {
    lines.push(`  host read ${c} --config config.json --sample`, `  host read ${c} --config config.json --out ./output`, `  host test ${c} --suite tests`);
  } else if (o.kind === 'destination') {
    lines.push(`  host check ${c} --config config.json`, `  host test ${c} --suite tests`, `  host run <a source> --config <its config> --destination ${c} --destination-config config.json --state state.json`);
  } else {
    const ref = processorRef(o.lang ?? 'python');
    lines.push(`  host process ${ref} --sample tests/sample.jsonl --vars vars.json`, '  sh test.sh', `  host read <a source> --config <its config> --processor ${ref} --processor-vars vars.json --out ./output`);
  }
  lines.push('  (README.md has more)');
  return lines.join('\n') + '\n';
}
