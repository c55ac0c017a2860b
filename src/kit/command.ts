// How the host starts a kit connector: `node [--import tsx] dist/kit/run.js /abs/PATH[:NAME]`.
// Host-side code (src/connector/resolve.ts, the processor runner) calls these; the kit itself never does.

import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join, resolve as resolvePath, extname } from 'node:path';

const HERE = dirname(fileURLToPath(import.meta.url));

/** The folder of the built kit (dist/kit): `connector-host/kit` resolves to index.js in it. */
export function kitDir(): string {
  return HERE;
}

/** dist/kit/run.js, the runner of a kit connector. */
export const KIT_RUNNER = join(HERE, 'run.js');

/** Extensions that need the TypeScript loader. */
const TS_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.tsx']);

export function isTypeScriptFile(file: string): boolean {
  return TS_EXTENSIONS.has(extname(file).toLowerCase());
}

let tsxUrl: string | undefined;
/** file: URL of tsx's loader (ESM and CommonJS hooks), resolved from this package. */
export function tsLoaderUrl(): string {
  tsxUrl ??= pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return tsxUrl;
}

/** Node options that must come before the script for `file`: the tsx loader for TypeScript, else none. */
export function nodeLoaderArgs(file: string): string[] {
  return isTypeScriptFile(file) ? ['--import', tsLoaderUrl()] : [];
}

/**
 * The command line of a `.mjs`/`.js`/`.cjs`/`.ts` file run through the kit runner. `file` is made
 * absolute; `name` picks an export. The connector's own arguments (`spec`, `read --config F`, ...)
 * go after `args`.
 */
export function kitCommand(file: string, name?: string): { command: string; args: string[] } {
  const abs = resolvePath(file);
  return { command: process.execPath, args: [...nodeLoaderArgs(abs), KIT_RUNNER, name ? `${abs}:${name}` : abs] };
}
