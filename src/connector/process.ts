// One connector process: spawned with execa (never a shell) as the leader of
// its own process group, so that stopping it reaches every process it started.

import { execa, type ResultPromise } from 'execa';
import { Readable, type Writable } from 'node:stream';
import type { Logger } from '../log/logger.js';
import { StderrLog } from '../log/stderr.js';
import { LineFramer } from '../io/line-framer.js';
import type { Masker } from '../secrets/mask.js';
import type { ConnectorRef } from './resolve.js';
import { ConfigError } from '../errors.js';
import { PrivateDir, GROUP_FILE_PREFIX } from '../io/temp-dir.js';
import { procStart, fdTargets, holdersOf, type GroupRecord } from '../io/proc.js';
import { noteConnectorGroup } from '../state/lock.js';

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
  /**
   * How long stdout may stay open after the connector exited (a grandchild or a daemon holds
   * it), and how long a connector without stdin may keep running after it closed stdout,
   * before the host stops what holds it and finishes with what arrived.
   */
  eofGraceMs?: number;
  stderrTailLines?: number;
}

export const DEFAULT_EOF_GRACE_MS = 2000;

const live = new Set<ConnectorProcess>();
let exitHookInstalled = false;

// Last resort: if the host exits while connectors still run, stop their groups.
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of live) {
      try {
        p.ref.onStopSync?.();
      } catch {
        /* exiting anyway */
      }
      p.killGroup('SIGKILL');
    }
  });
}

// Where this host records the process groups it runs, one file each, so that the next start
// can stop a group that a SIGKILLed host left behind (see io/temp-dir.ts).
let groupDir: PrivateDir | undefined;
function recordGroup(g: GroupRecord): string | undefined {
  try {
    groupDir ??= new PrivateDir('connector-host-');
    const name = `${GROUP_FILE_PREFIX}${g.pgid}.json`;
    groupDir.write(name, JSON.stringify(g));
    noteConnectorGroup(g);
    return name;
  } catch {
    return undefined; // a full /tmp must not stop the run; only the orphan record is missing
  }
}
function forgetGroup(g: GroupRecord, name: string | undefined): void {
  noteConnectorGroup(g, true);
  if (name) groupDir?.unlink(name);
}

/**
 * The connector's stdout as the host reads it: the pipe's bytes with backpressure, and an end
 * the host can force (cut) when something other than the connector keeps the pipe open, so
 * that the reader finishes with what arrived instead of an error.
 */
class ConnectorStdout extends Readable {
  private readonly src: Readable;
  constructor(src: Readable) {
    super({ highWaterMark: 256 * 1024 });
    this.src = src;
    src.on('data', (c: Buffer) => {
      if (!this.push(c)) src.pause();
    });
    src.on('end', () => this.push(null));
    src.on('error', (e) => this.destroy(e));
  }
  override _read(): void {
    this.src.resume();
  }
  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.src.destroy();
    cb(err);
  }
  /** Is the pipe's reading held back by a slow consumer (unread data, not a silent holder)? */
  get backlogged(): boolean {
    return this.src.isPaused() || this.readableLength > 0;
  }
  cut(): void {
    if (this.readableEnded || this.destroyed) return;
    this.src.removeAllListeners('data');
    this.src.destroy();
    this.push(null);
  }
}

export class ConnectorProcess {
  readonly ref: ConnectorRef;
  readonly pid: number | undefined;
  readonly stdout: Readable;
  readonly stdin: Writable | undefined;
  private readonly sub: ResultPromise;
  private readonly out: ConnectorStdout;
  private readonly stderrLog: StderrLog;
  private readonly opts: SpawnOptions;
  private exitInfo: ExitInfo | undefined;
  private readonly exited: Promise<ExitInfo>;
  private resolveExited!: (e: ExitInfo) => void;
  private readonly leaderGone: Promise<void>;
  private resolveLeaderGone!: () => void;
  private stopping: Promise<void> | undefined;
  /** The leader's own exit ('exit' event), which may come long before its stdio closes. */
  private leader: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** The connector's ends of its stdout and stderr (`socket:[inode]`), read at the start. */
  private readonly pipes: string[];
  private readonly group: GroupRecord | undefined;
  private readonly groupFile: string | undefined;
  private releasing: Promise<void> | undefined;
  private stdioOpen = 2;
  private lastData = Date.now();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(ref: ConnectorRef, args: string[], opts: SpawnOptions) {
    this.ref = ref;
    this.opts = opts;
    this.stderrLog = new StderrLog({
      log: opts.logger.child({ connector: ref.name, source: 'stderr' }),
      mask: (s) => opts.masker.mask(s),
      keep: opts.stderrTailLines ?? 20,
    });
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
      // own keys only, on a null-prototype object: node's spawn walks the env with for..in, which
      // would also pass on anything inherited from a (polluted) Object.prototype
      env: Object.assign(Object.create(null) as NodeJS.ProcessEnv, process.env, ref.env, opts.env),
      extendEnv: false,
      cwd: opts.cwd,
    });
    this.pid = this.sub.pid;
    // read at once, before the connector can close them or hand them to a daemon
    this.pipes = this.pid !== undefined ? fdTargets(this.pid, [1, 2]) : [];
    if (this.pid !== undefined) {
      this.group = { pgid: this.pid, start: procStart(this.pid) };
      this.groupFile = recordGroup(this.group);
    }
    const rawOut = this.sub.stdout as Readable;
    this.out = new ConnectorStdout(rawOut);
    this.stdout = this.out;
    this.stdin = opts.stdin ? (this.sub.stdin as Writable) : undefined;
    live.add(this);
    installExitHook();
    this.exited = new Promise<ExitInfo>((r) => (this.resolveExited = r));
    this.leaderGone = new Promise<void>((r) => (this.resolveLeaderGone = r));
    const closed = () => {
      if (--this.stdioOpen === 0 && this.leader) this.finish();
    };
    rawOut.on('data', () => (this.lastData = Date.now()));
    rawOut.once('close', closed);
    (this.sub.stderr as Readable).once('close', closed);
    rawOut.once('end', () => this.onStdoutEnd());
    this.sub.on('exit', (code: number | null, signal: NodeJS.Signals | null) => {
      this.leader = { code, signal };
      // the lines still in the pipe are logged at WARN at least; the rest when its stdio is closed (finish)
      if (!this.stopping && ((code !== null && code !== 0) || (code === null && signal !== null))) this.stderrLog.failing();
      this.resolveLeaderGone();
      if (this.stdioOpen === 0) return this.finish();
      // something else still holds its stdout or stderr: a short grace for EOF, then stop it
      this.later(() => void this.releaseStdio(), this.eofGrace);
    });
    // execa's result: the normal end, and the only news when the program could not start
    void this.sub.then((r) => {
      const anyR = r as unknown as { exitCode?: number; signal?: string; code?: string; originalMessage?: string; failed?: boolean; cause?: { code?: string } };
      if (this.leader) return this.finish();
      const spawnError = anyR.exitCode === undefined && anyR.signal === undefined && anyR.failed ? (anyR.cause?.code ?? anyR.code ?? anyR.originalMessage ?? 'spawn failed') : undefined;
      this.finish({ exitCode: anyR.exitCode, signal: anyR.signal, spawnError });
    });
    this.pumpStderr(this.sub.stderr as Readable);
  }

  private get eofGrace(): number {
    return this.opts.eofGraceMs ?? DEFAULT_EOF_GRACE_MS;
  }

  private later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private finish(info?: ExitInfo): void {
    if (this.exitInfo) return;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    live.delete(this);
    if (this.group) forgetGroup(this.group, this.groupFile);
    this.exitInfo = info ?? { exitCode: this.leader?.code ?? undefined, signal: this.leader?.signal ?? undefined, spawnError: undefined };
    this.stderrLog.end();
    if (!this.exitInfo.spawnError) this.noteFailure(this.exitInfo.exitCode, this.exitInfo.signal);
    this.resolveLeaderGone();
    this.resolveExited(this.exitInfo);
  }

  // A source that closed its stdout has said all it will say: it gets a grace to exit, then it is stopped.
  private onStdoutEnd(): void {
    if (this.opts.stdin || this.leader) return;
    this.later(() => {
      if (this.leader || this.stopping) return;
      this.opts.logger.warn({ connector: this.ref.name }, `the connector closed its stdout but was still running ${this.eofGrace} ms later; stopping it`);
      void this.stop();
    }, this.eofGrace);
  }

  /**
   * The leader has exited but its stdout or stderr is still open: stop what is left of its group,
   * then (Linux) the processes outside it that hold the pipes (a `setsid` daemon), and as a last
   * resort end the reading with what arrived.
   */
  private releaseStdio(): Promise<void> {
    this.releasing ??= (async () => {
      if (this.exitInfo) return;
      this.killGroup('SIGKILL');
      const wait = (ms: number) => new Promise<void>((r) => this.later(r, ms));
      await wait(100);
      const log = this.opts.logger.child({ connector: this.ref.name });
      for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
        if (this.exitInfo) return;
        const holders = holdersOf(this.pipes);
        if (holders.length === 0) break;
        if (sig === 'SIGTERM') log.warn(`the connector exited, but ${holders.length} process(es) outside its process group still hold its stdout or stderr (pid ${holders.join(', ')}); stopping them`);
        for (const pid of holders) {
          try {
            process.kill(pid, sig);
          } catch {
            /* gone */
          }
        }
        await wait(sig === 'SIGTERM' ? Math.min(this.eofGrace, 1000) : 100);
      }
      // Whatever still holds the pipes is out of reach (not Linux, or not ours): once nothing has
      // arrived for a grace and nothing waits to be read, finish with what arrived.
      while (!this.exitInfo) {
        if (!this.out.backlogged && Date.now() - this.lastData >= this.eofGrace) {
          log.warn("the connector exited but its stdout is still held open by another process; finishing with what arrived");
          this.out.cut();
          (this.sub.stderr as Readable).destroy();
          this.finish();
          return;
        }
        await wait(Math.min(250, this.eofGrace));
      }
    })();
    return this.releasing;
  }

  // A non-zero exit, or a signal the host did not send: the connector failed (see log/stderr.ts).
  private noteFailure(code: number | undefined, signal: string | undefined): void {
    if (this.stopping) return;
    if (code !== undefined && code !== 0) this.stderrLog.failed(`exited with code ${code}`);
    else if (code === undefined && signal) this.stderrLog.failed(`was killed by ${signal}`);
  }

  private pumpStderr(stderr: Readable): void {
    const framer = new LineFramer({
      maxLineBytes: 64 * 1024,
      overflow: 'truncate',
      onLine: (buf, s, e) => {
        if (e === s) return;
        this.stderrLog.line(buf.toString('utf8', s, e));
      },
    });
    stderr.on('data', (chunk: Buffer) => framer.push(chunk));
    stderr.on('end', () => {
      framer.end();
      this.stderrLog.end();
    });
    stderr.on('error', () => {});
  }

  /** The last stderr lines, secrets masked. */
  stderrTail(): string[] {
    return this.stderrLog.lines();
  }

  /** Resolves once the connector has exited and its stdio is closed (or was released: see eofGraceMs). */
  wait(): Promise<ExitInfo> {
    return this.exited;
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  /** The connector process itself has exited (its stdio may still be held by others). */
  get leaderExited(): boolean {
    return this.leader !== undefined || this.exitInfo !== undefined;
  }

  killGroup(signal: NodeJS.Signals): void {
    if (this.pid === undefined) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      try {
        if (!this.leaderExited) process.kill(this.pid, signal);
      } catch {
        /* already gone */
      }
    }
  }

  /** SIGTERM to the whole group, SIGKILL after the grace period; resolves when the leader has exited and its stdio is released. */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopping = (async () => {
      if (!this.leaderExited) {
        await this.ref.onStop?.().catch(() => {});
        this.killGroup('SIGTERM');
        const grace = this.opts.killGraceMs ?? 10_000;
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([
          this.leaderGone.then(() => false),
          new Promise<boolean>((r) => {
            timer = setTimeout(() => r(true), grace);
          }),
        ]);
        clearTimeout(timer);
        if (timedOut) this.opts.logger.warn({ connector: this.ref.name }, `connector did not stop within ${grace} ms of SIGTERM; sending SIGKILL`);
      }
      // Whatever is left of the group (grandchildren) goes too, and whatever else holds its pipes:
      // no EOF grace when the host is stopping it.
      this.killGroup('SIGKILL');
      await this.leaderGone;
      if (!this.exitInfo) void this.releaseStdio();
      await this.exited;
    })();
    return this.stopping;
  }
}

/** A private 0700 temp directory for config, catalog and state files; removed by cleanup() (or at exit, or by the next start's sweep). */
export class RunFiles {
  private readonly d = new PrivateDir('connector-host-');
  readonly dir = this.d.dir;
  write(name: string, content: string): string {
    return this.d.write(name, content);
  }
  cleanup(): void {
    this.d.remove();
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
