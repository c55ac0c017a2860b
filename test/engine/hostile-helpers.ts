// Shared by the hostile-data suites: run a fixture of fixtures/connectors/hostile-data through
// `host read --out`, and read back what it left.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { host, writeJson, jsonLines, streamState, logLines, FIX, type HostResult } from '../helpers.js';

export const HD = join(FIX, 'hostile-data');

export function hostile(dir: string, fixture: string, knobs: string[] = [], opts: string[] = []): Promise<HostResult> {
  const cfg = existsSync(join(dir, 'config.json')) ? join(dir, 'config.json') : writeJson(dir, 'config.json', {});
  return host(['read', '--config', cfg, '--out', join(dir, 'out'), ...opts, '--', process.execPath, join(HD, `${fixture}.mjs`), ...knobs]);
}

export const ids = (dir: string) => jsonLines(join(dir, 'out', 'items.jsonl')).map((x) => x['id']);
export const itemsCursor = (dir: string) => (existsSync(join(dir, 'out', 'state.json')) ? streamState(join(dir, 'out', 'state.json'), 'items')?.cursor : undefined);
export const warnings = (r: HostResult) => logLines(r.stderr).join('\n');
/** The host printed no stack trace. */
export const noStack = (r: HostResult) => !/\n\s+at .+:\d+:\d+/.test(r.stderr);
/** Strict UTF-8 decode of a file (throws on an invalid sequence). */
export const strictUtf8 = (file: string) => new TextDecoder('utf-8', { fatal: true }).decode(readFileSync(file));
