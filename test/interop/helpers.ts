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
import { singerTapConnector } from '../../dist/shims/singer-tap.js';

registerBuiltinReferenceKinds();

type PinKey = 'faker' | 'hardcoded' | 'file' | 'manifest_runner' | 'tap_jsonl' | 'tap_postgres' | 'target_jsonl' | 'target_csv' | 'target_duckdb';
export const PINS = JSON.parse(readFileSync(join(ROOT, 'fixtures', 'interop', 'packages.json'), 'utf8')) as Record<PinKey, string>;
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

/**
 * `-- node shims/singer-tap.mjs --tap-json {...}`: a pypi: Singer tap wrapped in the shim, as
 * a program after `--`. For `host test`, which resolves its connector without --cache-dir and
 * --protocol (it would install into the default cache and run the tap unshimmed).
 */
export async function singerShimArgv(ref: string): Promise<string[]> {
  const r = singerTapConnector(await resolveConnector(ref, { cacheDir: CACHE }));
  return ['--', r.command, ...r.args];
}

/** The PostgreSQL of scripts/postgres.sh (started by singer-global-setup.ts), as tap-postgres config. */
export const PG = {
  host: '127.0.0.1',
  port: Number(process.env['INTEROP_PG_PORT'] ?? 54329),
  user: 'interop',
  password: 'interop-secret',
  database: 'interop',
};

/** Run SQL in the interop database (or `seed` to reset schema shop to its initial rows). */
export function pgSql(sql: string | 'seed'): string {
  const args = sql === 'seed' ? ['seed'] : ['sql', sql];
  return String(execaSync('bash', [join(ROOT, 'scripts', 'postgres.sh'), ...args], { stdin: 'ignore', stderr: 'ignore' }).stdout);
}
