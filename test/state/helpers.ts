// Shared by the state command tests: real runs that write real state files.

import { join } from 'node:path';
import { host, writeJson, EXAMPLE, FIX, bad, logLines, readJson, type HostResult } from '../helpers.js';

export const exampleConfig = join(FIX, 'example', 'config.json');

/** `host read` of the example source (users full refresh, events incremental) into DIR/out. */
export function exampleRun(dir: string, config: Record<string, unknown> | string = exampleConfig): Promise<HostResult> {
  const cfg = typeof config === 'string' ? config : writeJson(dir, 'config.json', config);
  return host(['read', EXAMPLE.node, '--config', cfg, '--out', join(dir, 'out'), '--commit-interval', '0', '--log-level', 'warn']);
}

/** `host read` of state-kinds.mjs (streams a and b) into DIR/out, emitting state of `kind`. */
export function kindsRun(dir: string, kind: string): Promise<HostResult> {
  const cfg = writeJson(dir, 'kinds-config.json', {});
  return host(['read', '--config', cfg, '--out', join(dir, 'out'), '--commit-interval', '0', '--', process.execPath, bad('state-kinds'), '--kind', kind]);
}

/** What state-kinds.mjs received as --state (parsed), or 'none'. */
export function received(r: HostResult): any {
  const t = logLines(r.stderr).find((l) => l.startsWith('received-state='))!.slice('received-state='.length);
  return t === 'none' ? t : JSON.parse(t);
}

export const state = (dir: string, args: string[]) => host(['state', ...args, '--out', join(dir, 'out')]);
export const stateFile = (dir: string) => join(dir, 'out', 'state.json');
export const stored = (dir: string) => readJson(stateFile(dir));
