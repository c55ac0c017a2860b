// Shared by the hostile-destination tests: a destination config and `host run` into one.
import { join } from 'node:path';
import { host, tmp, writeJson, EXAMPLE, FIX } from '../helpers.js';

export const HOSTILE = join(FIX, 'hostile-dest');
export const EXAMPLE_CONFIG = join(FIX, 'example', 'config.json');

export function setup() {
  const dir = tmp('ch-hostile-');
  return { dir, dc: writeJson(dir, 'dest.json', { path: join(dir, 'd') }), state: join(dir, 'state.json') };
}

/** The example source (15 records, or `events` more) into a destination. */
export function runInto(dest: string, s: ReturnType<typeof setup>, args: string[] = [], events?: number, extra: string[] = []) {
  const config = events === undefined ? EXAMPLE_CONFIG : writeJson(s.dir, 'src.json', { api_key: 'k-1234567', event_count: events, state_every: 1000 });
  // a destination that exits early is caught while its stdin is still open: keep it open for up to
  // 10 s from its start (the run goes on as soon as it exits), so a loaded CI machine cannot hide it
  return host(['run', EXAMPLE.node, '--config', config, '--destination', join(HOSTILE, dest), '--destination-config', s.dc, '--state', s.state, '--progress', 'off', ...args.map((a) => `--destination-arg=${a}`), ...extra], { env: { NO_COLOR: '1', CONNECTOR_HOST_DEST_STARTUP_MS: '10000' } });
}
