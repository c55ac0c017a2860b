// Shared by the Singer-tap shim suites: run a fixture tap through the CLI or the shim itself.
import { execa } from 'execa';
import { join } from 'node:path';
import { host, FIX, ROOT, type HostResult } from '../helpers.js';

export const SHIM = join(ROOT, 'shims', 'singer-tap.mjs');
export const singerTap = (name: string) => join(FIX, 'singer', `${name}.mjs`);

/** `host <command> [args] --protocol singer -- node <tap> [knobs]`. */
export function hostSinger(command: string, tap: string, args: string[], knobs: string[] = []): Promise<HostResult> {
  return host([command, ...args, '--protocol', 'singer', '--', process.execPath, singerTap(tap), ...knobs]);
}

/** `node shims/singer-tap.mjs --tap-json … <args>`: the shim alone, its protocol messages parsed. */
export async function runShim(tap: string, knobs: string[], args: string[]): Promise<{ exitCode: number; messages: any[]; stderr: string }> {
  const r = await execa(process.execPath, [SHIM, '--tap-json', JSON.stringify({ command: process.execPath, args: [singerTap(tap), ...knobs] }), ...args], { reject: false, stdin: 'ignore' });
  const messages = String(r.stdout).split('\n').filter(Boolean).map((l) => JSON.parse(l));
  return { exitCode: r.exitCode ?? -1, messages, stderr: String(r.stderr) };
}
