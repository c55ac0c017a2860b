// The runner of kit connectors: `node dist/kit/run.js /abs/PATH[:NAME] ARGS...`.
// Imports the file with process.argv = [node, /abs/PATH, ...ARGS] (a plain script runs as it
// always did); when it exports a kit definition (NAME, else the default export, else the only
// one) runs it as a protocol connector. For .ts files the host starts node with tsx's loader.

import { register, createRequire } from 'node:module';
import { existsSync, statSync, readFileSync } from 'node:fs';
import { resolve as resolvePath, basename, dirname, join, extname } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { isKitDefinition, type KitDefinition } from './index.js';
import { fail, UsageFailure } from './common.js';

function splitTarget(t: string): { file: string; name: string | undefined } {
  if (existsSync(t)) return { file: t, name: undefined };
  const i = t.lastIndexOf(':');
  if (i > 0 && /^[A-Za-z_$][\w$]*$/.test(t.slice(i + 1))) return { file: t.slice(0, i), name: t.slice(i + 1) };
  return { file: t, name: undefined };
}

function describeExports(mod: Record<string, unknown>): string {
  const names = Object.keys(mod);
  if (names.length === 0) return 'it exports nothing';
  return `it exports: ${names.map((n) => `${n}${isKitDefinition(mod[n]) ? ` (${(mod[n] as KitDefinition).kind})` : ''}`).join(', ')}`;
}

/** A CommonJS file: .cjs, or .js whose nearest package.json does not say "type": "module". */
function isCommonJs(abs: string): boolean {
  const ext = extname(abs);
  if (ext === '.cjs') return true;
  if (ext !== '.js') return false;
  for (let dir = dirname(abs); ; dir = dirname(dir)) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        return (JSON.parse(readFileSync(pj, 'utf8')) as { type?: unknown }).type !== 'module';
      } catch {
        return true;
      }
    }
    if (dirname(dir) === dir) return true;
  }
}

async function main(): Promise<void> {
  const [target, ...args] = process.argv.slice(2);
  if (!target) {
    process.stderr.write('usage: node run.js /abs/path/to/connector.mjs[:exportName] spec|check|discover|read|write [--config F] [--catalog F] [--state F]\n');
    process.exit(2);
  }
  const { file, name } = splitTarget(target);
  const abs = resolvePath(file);
  if (!existsSync(abs) || !statSync(abs).isFile()) return void (await fail(new UsageFailure(`no such file: ${abs}`), abs));
  process.argv = [process.argv[0]!, abs, ...args];
  register('./hooks.js', import.meta.url);
  // require('connector-host/kit') from CommonJS (the ESM hook does not see require in Node 20)
  const Module = createRequire(import.meta.url)('node:module') as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
  const resolveFilename = Module._resolveFilename;
  const kitIndex = fileURLToPath(new URL('./index.js', import.meta.url));
  Module._resolveFilename = function (request: string, ...rest: unknown[]) {
    return request === 'connector-host/kit' ? kitIndex : resolveFilename.call(this, request, ...rest);
  };

  let mod: Record<string, unknown>;
  try {
    if (isCommonJs(abs) && process.execArgv.length === 0) {
      // run it as the main module, as `node file` does: `require.main === module` holds in it
      const req = createRequire(import.meta.url);
      (req('node:module') as { runMain(main?: string): void }).runMain(abs);
      const cached = req.cache[abs];
      const exp = cached?.exports as unknown;
      mod = exp && (typeof exp === 'object' || typeof exp === 'function') ? (isKitDefinition(exp) ? { default: exp } : { ...(exp as Record<string, unknown>) }) : {};
      // ESM syntax in a .js that Node detected as a module (it loads on its own, exports nothing to
      // require): import() gives that same instance; for a real CommonJS file it is the cached one
      if (!cached || !Object.values(mod).some(isKitDefinition)) mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
    } else mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
  } catch (e) {
    return void (await fail(e, abs, `loading ${basename(abs)}`));
  }

  let def: KitDefinition | undefined;
  if (name !== undefined) {
    if (!Object.hasOwn(mod, name)) return void (await fail(new UsageFailure(`${basename(abs)} has no export named "${name}"; ${describeExports(mod)}`), abs));
    const v = mod[name];
    if (!isKitDefinition(v)) return void (await fail(new UsageFailure(`the export "${name}" of ${basename(abs)} is not a kit definition (make it with defineSource, defineDestination or defineProcessor from 'connector-host/kit')`), abs));
    def = v;
  } else if (isKitDefinition(mod['default'])) def = mod['default'];
  else {
    const kits = Object.keys(mod).filter((k) => isKitDefinition(mod[k]));
    if (kits.length === 1) def = mod[kits[0]!] as KitDefinition;
    else if (kits.length > 1) return void (await fail(new UsageFailure(`${basename(abs)} exports several kit definitions (${kits.join(', ')}): name one, as ${basename(abs)}:${kits[0]}`), abs));
  }
  // a plain script: it ran when it was imported, as `node file` would have run it
  if (!def) return;

  // a promise the author left floating rejects, or a callback throws: one TRACE, never a raw stack
  const crash = (e: unknown) => void fail(e, abs, 'unhandled error in author code');
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  // console.log in author code would land among the protocol messages: to stderr instead
  console.log = console.info = console.debug = console.error;
  if (def.kind === 'source') {
    const { runSource } = await import('./source.js');
    await runSource(def, abs, args);
  } else if (def.kind === 'destination') {
    const { runDestination } = await import('./destination.js');
    await runDestination(def, abs, args);
  } else {
    await fail(new UsageFailure(`${basename(abs)}${name ? `:${name}` : ''} is a processor: run it with --processor (host read SOURCE --processor ${basename(abs)}${name ? `:${name}` : ''})`), abs);
  }
}

await main();
