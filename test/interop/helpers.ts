// Shared by the interop tests: the pinned packages, the cache, and how to name a connector
// to the CLI (pypi:/manifest: references with --cache-dir once the CLI has that option;
// until then the reference is resolved here, through the same resolver, and passed as
// `-- program args`).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execaSync } from 'execa';
import { ROOT, HOST } from '../helpers.js';
import { resolveConnector } from '../../dist/connector/resolve.js';
import { registerBuiltinReferenceKinds } from '../../dist/connector/register-builtins.js';

registerBuiltinReferenceKinds();

export const PINS = JSON.parse(readFileSync(join(ROOT, 'fixtures', 'interop', 'packages.json'), 'utf8')) as Record<'faker' | 'hardcoded' | 'file' | 'manifest_runner', string>;
export const CACHE = process.env['INTEROP_CACHE'] ?? join(ROOT, '.cache', 'interop');
export const pypi = (key: keyof typeof PINS) => `pypi:${PINS[key]}`;

/** Does the CLI take --cache-dir (and so pypi:/npm:/manifest: references) yet? */
export const CLI_HAS_CACHE_DIR = (() => {
  const r = execaSync(process.execPath, [HOST, 'read', '--help'], { reject: false });
  return String(r.stdout).includes('--cache-dir');
})();

/**
 * `host <command> <connector> <args...>` as an argv: the reference itself when the CLI
 * resolves it, else the program it resolves to after `--`.
 */
export async function cli(command: string, ref: string, args: string[]): Promise<string[]> {
  if (CLI_HAS_CACHE_DIR) return [command, ref, '--cache-dir', CACHE, ...args];
  const r = await resolveConnector(ref, { cacheDir: CACHE });
  const env = r.env ?? {};
  if (Object.keys(env).some((k) => k !== 'PATH' && k !== 'VIRTUAL_ENV')) throw new Error(`cannot pass the env of ${ref} through --`);
  return [command, ...args, '--', r.command, ...r.args];
}
