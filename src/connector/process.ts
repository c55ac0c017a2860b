// One connector process: spawned with execa (never a shell) as the leader of
// its own process group, so that stopping it reaches every process it started.

import { execa, type ResultPromise } from 'execa';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from '../log/logger.js';
import { stderrLevel } from '../log/logger.js';
import { LineFramer } from '../io/line-framer.js';
import type { Masker } from '../secrets/mask.js';
import type { ConnectorRef } from './resolve.js';
import { ConfigError } from '../errors.js';

export interface ExitInfo {
  exitCode: number | undefined;
  signal: string | undefined;
  /** The program could not be started (e.g. ENOENT). */
  spawnError: string | undefined;
}

export interface SpawnOptions {
  logger: Logger;
  masker: Masker;
  /** Feed stdin (destinations); default: stdin ignored. */
  stdin?: boolean;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** The private temp directory of this run's files (for ConnectorRef.prepareArgs). */
  filesDir?: string | undefined;
  /** Grace period between SIGTERM and SIGKILL. */
  killGraceMs?: number;
  stderrTailLines?: number;
}

const live = new Set<ConnectorProcess>();
let exitHookInstalled = false;

// Last resort: if the host exits while connectors still run, stop their groups.
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of live) {
      if (p.hasExited) continue;
      try {
        p.ref.onStopSync?.();
      } catch {
        /* exiting anyway */
      }
      p.killGroup('SIGKILL');
    }
  });
}

export class ConnectorProcess {
  readonly ref: ConnectorRef;
  readonly pid: number | undefined;
  readonly stdout: Readable;
  readonly stdin: Writable | undefined;
  private readonly sub: ResultPromise;
  private readonly tail: string[] = [];
  private readonly opts: SpawnOptions;
  private exitInfo: ExitInfo | undefined;
  private readonly exited: Promise<ExitInfo>;
  private stopping: Promise<void> | undefined;

  constructor(ref: ConnectorRef, args: string[], opts: SpawnOptions) {
    this.ref = ref;
    this.opts = opts;
    const finalArgs = ref.prepareArgs ? ref.prepareArgs(args, opts.filesDir) : args;
    this.sub = execa(ref.command, [...ref.args, ...finalArgs], {
      stdin: opts.stdin ? 'pipe' : 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      detached: true, // own process group: kill(-pid) reaches grandchildren
      cleanup: false,
      encoding: 'buffer',
      stripFinalNewline: false,
      env: { ...ref.env, ...opts.env },
      extendEnv: true,
      cwd: opts.cwd,
    });
    this.pid = this.sub.pid;
    this.stdout = this.sub.stdout as Readable;
    this.stdin = opts.stdin ? (this.sub.stdin as Writable) : undefined;
    live.add(this);
    installExitHook();
    this.exited = this.sub.then((r) => {
      live.delete(this);
      const anyR = r as unknown as { exitCode?: number; signal?: string; code?: string; originalMessage?: string; failed?: boolean; cause?: { code?: string } };
      const spawnError = anyR.exitCode === undefined && anyR.signal === undefined && anyR.failed ? (anyR.cause?.code ?? anyR.code ?? anyR.originalMessage ?? 'spawn failed') : undefined;
      this.exitInfo = { exitCode: anyR.exitCode, signal: anyR.signal, spawnError };
      return this.exitInfo;
    });
    this.pumpStderr(this.sub.stderr as Readable);
  }

  private pumpStderr(stderr: Readable): void {
    const keep = this.opts.stderrTailLines ?? 20;
    const log = this.opts.logger.child({ connector: this.ref.name, source: 'stderr' });
    const framer = new LineFramer({
      maxLineBytes: 64 * 1024,
      overflow: 'truncate',
      onLine: (buf, s, e) => {
        if (e === s) return;
        const line = this.opts.masker.mask(buf.toString('utf8', s, e));
        this.tail.push(line);
        if (this.tail.length > keep) this.tail.shift();
        log[stderrLevel(line)](line);
      },
    });
    stderr.on('data', (chunk: Buffer) => framer.push(chunk));
    stderr.on('end', () => framer.end());
    stderr.on('error', () => {});
  }

  /** The last stderr lines, secrets masked. */
  stderrTail(): string[] {
    return [...this.tail];
  }

  wait(): Promise<ExitInfo> {
    return this.exited;
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  killGroup(signal: NodeJS.Signals): void {
    if (this.pid === undefined) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      try {
        process.kill(this.pid, signal);
      } catch {
        /* already gone */
      }
    }
  }

  /** SIGTERM to the whole group, SIGKILL after the grace period; resolves when the leader has exited. */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopping = (async () => {
      if (!this.hasExited) {
        await this.ref.onStop?.().catch(() => {});
        this.killGroup('SIGTERM');
        const grace = this.opts.killGraceMs ?? 10_000;
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([
          this.exited.then(() => false),
          new Promise<boolean>((r) => {
            timer = setTimeout(() => r(true), grace);
          }),
        ]);
        clearTimeout(timer);
        if (timedOut) this.opts.logger.warn({ connector: this.ref.name }, `connector did not stop within ${grace} ms of SIGTERM; sending SIGKILL`);
      }
      // Whatever is left of the group (grandchildren) goes too.
      this.killGroup('SIGKILL');
      await this.exited;
    })();
    return this.stopping;
  }
}

/** A private 0700 temp directory for config, catalog and state files; removed by cleanup(). */
export class RunFiles {
  readonly dir: string;
  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'connector-host-'));
  }
  write(name: string, content: string): string {
    const p = join(this.dir, name);
    writeFileSync(p, content, { mode: 0o600 });
    return p;
  }
  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function spawnConnector(ref: ConnectorRef, args: string[], opts: SpawnOptions): ConnectorProcess {
  return new ConnectorProcess(ref, args, opts);
}

export function assertStarted(exit: ExitInfo, ref: ConnectorRef): void {
  if (exit.spawnError) {
    throw new ConfigError(`cannot start connector ${ref.display}: ${exit.spawnError === 'ENOENT' ? `${ref.command}: command not found` : exit.spawnError}`, {}, 'CONNECTOR_NOT_FOUND');
  }
}
