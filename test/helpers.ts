// Test helpers: run the real CLI as a child process, make temp dirs, read outputs.

import { execa, type Options } from 'execa';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..');
export const HOST = join(ROOT, 'bin', 'host.js');
export const FIX = join(ROOT, 'fixtures', 'connectors');
export const EXAMPLE = {
  node: join(FIX, 'example', 'source.mjs'),
  python: join(FIX, 'example', 'source.py'),
  sh: join(FIX, 'example', 'source.sh'),
};
export const bad = (name: string) => join(FIX, 'misbehaving', `${name}.mjs`);

export interface HostResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  signal?: string | undefined;
}

/**
 * Run `host <args>`; never throws on a non-zero exit. Logs are JSON lines (the tests read them as
 * data, see logLines) unless opts.env sets CONNECTOR_HOST_LOG_FORMAT (test/cli/log-format.test.ts
 * tests the text default).
 */
export async function host(args: string[], opts: Options = {}): Promise<HostResult> {
  const r = await execa(process.execPath, [HOST, ...args], { reject: false, stdin: 'ignore', ...opts, env: { NO_COLOR: '1', CONNECTOR_HOST_LOG_FORMAT: 'json', ...opts.env } });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), signal: r.signal };
}

export function tmp(prefix = 'ch-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function writeJson(dir: string, name: string, value: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(value));
  return p;
}

export function lines(file: string): string[] {
  if (!existsSync(file)) return [];
  const t = readFileSync(file, 'utf8');
  return t === '' ? [] : t.replace(/\n$/, '').split('\n');
}

export function jsonLines(file: string): Record<string, unknown>[] {
  return lines(file).map((l) => JSON.parse(l) as Record<string, unknown>);
}

export function readJson(file: string): any {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** The stream_state of one stream in a host state file. */
export function streamState(stateFile: string, name: string): any {
  const s = readJson(stateFile);
  const m = s.states.find((x: any) => x.stream?.stream_descriptor?.name === name);
  return m?.stream?.stream_state;
}

/** A configured catalog selecting the fixture's `items` stream (incremental). */
export function itemsCatalog(dir: string, extra: Record<string, unknown>[] = []): string {
  return writeJson(dir, 'catalog.json', {
    streams: [
      {
        stream: { name: 'items', json_schema: { type: 'object', properties: { id: { type: 'integer' }, value: { type: 'string' } } }, supported_sync_modes: ['full_refresh', 'incremental'] },
        sync_mode: 'incremental',
        destination_sync_mode: 'append',
        cursor_field: ['id'],
      },
      ...extra,
    ],
  });
}

/** True when the process exists and is not a zombie (a killed orphan may wait to be reaped by init). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The `msg` of every JSON log line the host wrote to stderr (other lines as they are). */
export function logLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      try {
        const o = JSON.parse(l) as { msg?: string };
        return typeof o.msg === 'string' ? o.msg : l;
      } catch {
        return l;
      }
    });
}

/** The RECORD messages of a connector's or host's stdout, as `{ stream, ...data }`. */
export const recordsOf = (stdout: string) =>
  stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type: string; record?: { stream: string; data: Record<string, unknown> } })
    .filter((m) => m.type === 'RECORD')
    .map((m) => ({ stream: m.record!.stream, ...m.record!.data }));
