#!/usr/bin/env node
// Installs the real Airbyte connectors, Singer taps and Singer targets that `npm run
// test:interop` runs, into .cache/interop, through the host's own pypi: resolver (the same code
// path as `host read pypi:...`): each gets its own virtualenv, installed once and reused
// afterwards. Then PostgreSQL for tap-postgres (scripts/postgres.sh install: the installed one,
// else apt-get); the tests' globalSetup starts and seeds it.
// Needs `npm run build` first. Options: --python PY (default python3).

import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { resolveConnector } = await import(join(ROOT, 'dist/connector/resolve.js'));
const { registerBuiltinReferenceKinds } = await import(join(ROOT, 'dist/connector/register-builtins.js'));
const { createLogger } = await import(join(ROOT, 'dist/log/logger.js'));

registerBuiltinReferenceKinds();
const pins = JSON.parse(readFileSync(join(ROOT, 'fixtures/interop/packages.json'), 'utf8'));
const cacheDir = process.env.INTEROP_CACHE ?? join(ROOT, '.cache', 'interop');
const pyIdx = process.argv.indexOf('--python');
const python = pyIdx > 0 ? process.argv[pyIdx + 1] : undefined;
const logger = createLogger({ level: process.env.INTEROP_LOG_LEVEL ?? 'info' });

const refs = Object.entries(pins).filter(([k]) => !k.startsWith('_'));
const started = Date.now();
const results = await Promise.allSettled(
  refs.map(async ([key, req]) => {
    const t0 = Date.now();
    const ref = await resolveConnector(`pypi:${req}`, { cacheDir, python, logger });
    // a dependency pin the package itself does not make (see packages.json's _dependency_pins)
    const extra = pins._dependency_pins?.[key];
    if (extra?.length) {
      const py = join(dirname(ref.command), 'python');
      const pip = spawnSync(py, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...extra], { stdio: ['ignore', 'inherit', 'inherit'] });
      if (pip.status !== 0) throw new Error(`${req}: pip install ${extra.join(' ')} failed`);
    }
    return { key, req, ms: Date.now() - t0, command: `${ref.command} ${ref.args.join(' ')}${extra?.length ? ` (with ${extra.join(' ')})` : ''}` };
  }),
);
let failed = 0;
for (const r of results) {
  if (r.status === 'fulfilled') console.log(`ok  ${r.value.req.padEnd(48)} ${(r.value.ms / 1000).toFixed(1).padStart(6)} s  ${r.value.command}`);
  else {
    failed++;
    console.error(`ERR ${r.reason?.message ?? r.reason}`);
  }
}
console.log(`interop connectors ready in ${cacheDir} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
const pgStarted = Date.now();
const pg = spawnSync('bash', [join(ROOT, 'scripts', 'postgres.sh'), 'install'], { stdio: ['ignore', 'inherit', 'inherit'] });
if (pg.status !== 0) failed++;
console.log(`${pg.status === 0 ? 'ok ' : 'ERR'} PostgreSQL for tap-postgres (${((Date.now() - pgStarted) / 1000).toFixed(1)} s)`);
process.exit(failed ? 1 : 0);
