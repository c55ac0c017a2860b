// globalSetup of `npm run test:interop`: the PostgreSQL that meltanolabs-tap-postgres reads
// (scripts/postgres.sh: installed when missing, started, seeded). Stopped afterwards only when
// this run started it: a server that was already running is left as it was.

import { execFileSync, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

const SCRIPT = join(resolve(import.meta.dirname, '..', '..'), 'scripts', 'postgres.sh');

export default function setup(): () => void {
  const wasRunning = spawnSync('bash', [SCRIPT, 'status'], { stdio: 'ignore' }).status === 0;
  execFileSync('bash', [SCRIPT, 'start'], { stdio: ['ignore', 'inherit', 'inherit'] });
  return () => {
    if (!wasRunning) execFileSync('bash', [SCRIPT, 'stop'], { stdio: ['ignore', 'inherit', 'inherit'] });
  };
}
