// `host test`: run a connector through spec, check, discover, read and a second
// incremental read for every case of a suite (a destination: spec, check and write);
// compare normalised transcripts with the committed golden files and run the
// conformance checks beside them.

import { existsSync, readdirSync, statSync, readFileSync, writeFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, basename, resolve, relative, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { resolveConnector, type ConnectorRef } from '../connector/resolve.js';
import { RunFiles } from '../connector/process.js';
import { parseJsonFile, loadConfig, environmentValues, type LoadedConfig } from '../config/config.js';
import { parseLossless, stringifyLossless, toPlain, defineOwn, ownValue, getPath, type LosslessValue } from '../json/lossless.js';
import { Masker, collectSecrets, secretPaths } from '../secrets/mask.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { configureCatalog } from '../catalog/configure.js';
import { StateMerger, readStateFile, emptyState, stateForConnector, displayStream, type StoredState } from '../state/state.js';
import { UsageError, HostError } from '../errors.js';
import { captureTranscript, ofType, type Msg, type Transcript } from './transcript.js';
import { pretty, canonical, maskPaths, maskField, maskSecrets, secretAnnotated, recordKey, sortRecords, compareValues, type NormalRecord } from './normalise.js';
import { diffValues, diffRecords, diffLines, diffFiles } from './compare.js';
import { checkSpec, checkCheck, checkDiscover, checkRead, checkIncremental, checkWrite, maxCursors, type Check, type Profile, type CheckOutcome, type ConfiguredLike, type SentState } from './conformance.js';

export type { Profile, Check };

export interface SuiteOptions {
  suite: string;
  update?: boolean | undefined;
  /** Run only this case. */
  caseName?: string | undefined;
  /** Overrides suite.json's profile. */
  profile?: Profile | undefined;
  timeoutMs?: number | undefined;
  killGraceMs?: number | undefined;
  maxLineBytes?: number | undefined;
  logger?: Logger | undefined;
}

export interface StepResult {
  step: 'spec' | 'check' | 'discover' | 'read' | 'incremental' | 'write';
  ok: boolean;
  /** Golden comparison: differences (empty when equal), or what was written with --update. */
  golden: string[];
  updated: string[];
  checks: Check[];
  error?: string | undefined;
}

export interface CaseResult {
  name: string;
  ok: boolean;
  steps: StepResult[];
}

export interface SuiteReport {
  suite: string;
  profile: Profile;
  ok: boolean;
  cases: CaseResult[];
  durationMs: number;
}

interface IgnoredField {
  field: string;
  reason: string;
}

type Kind = 'source' | 'destination';

interface CaseSettings {
  /** destination: spec, check, write (default: a destination when write/input.jsonl exists). */
  kind?: Kind;
  expect_check?: CheckOutcome;
  exact_order?: boolean;
  ignored_fields?: Record<string, IgnoredField[]>;
  ignored_state_fields?: IgnoredField[];
  /** Fields masked in every line the destination prints (`log.message`, `state.destinationStats`). */
  ignored_write_fields?: IgnoredField[];
  cursor_field?: Record<string, string[]>;
  skip?: Record<string, string>;
  steps?: StepResult['step'][];
}

const ALL_STEPS: StepResult['step'][] = ['spec', 'check', 'discover', 'read', 'incremental'];
const DESTINATION_STEPS: StepResult['step'][] = ['spec', 'check', 'write'];
/** `${OUTPUT_DIR}` in a case's config.json: a fresh empty folder per case; what the destination writes there is compared with golden/write-files/. */
export const OUTPUT_VAR = 'OUTPUT_DIR';

function readSettings(dir: string): CaseSettings {
  const p = join(dir, 'case.json');
  if (!existsSync(p)) return {};
  const s = toPlain(parseJsonFile(p, 'case')) as CaseSettings;
  for (const [check, reason] of Object.entries(s.skip ?? {})) {
    if (typeof reason !== 'string' || reason.trim() === '') throw new UsageError(`${p}: skipping "${check}" needs a written reason`);
  }
  for (const [stream, fields] of Object.entries(s.ignored_fields ?? {})) {
    for (const f of fields) if (!f.reason?.trim()) throw new UsageError(`${p}: ignored field ${stream}.${f.field} needs a written reason`);
  }
  for (const f of s.ignored_state_fields ?? []) if (!f.reason?.trim()) throw new UsageError(`${p}: ignored state field ${f.field} needs a written reason`);
  for (const f of s.ignored_write_fields ?? []) if (!f.reason?.trim()) throw new UsageError(`${p}: ignored write field ${f.field} needs a written reason`);
  if (s.kind !== undefined && s.kind !== 'source' && s.kind !== 'destination') throw new UsageError(`${p}: unknown kind "${String(s.kind)}" (source or destination)`);
  return s;
}

function listCases(suite: string, only: string | undefined): string[] {
  if (!existsSync(suite) || !statSync(suite).isDirectory()) throw new UsageError(`no suite folder at ${suite}`);
  const cases = readdirSync(suite)
    .filter((n) => statSync(join(suite, n)).isDirectory() && (existsSync(join(suite, n, 'config.json')) || existsSync(join(suite, n, 'case.json'))))
    .sort();
  if (only) {
    if (!cases.includes(only)) throw new UsageError(`no case "${only}" in ${suite} (cases: ${cases.join(', ') || 'none'})`);
    return [only];
  }
  if (cases.length === 0) throw new UsageError(`the suite ${suite} has no cases (a case is a folder with a config.json)`);
  return cases;
}

/** One golden file: compare with it, or write it with --update. */
class Goldens {
  constructor(
    private readonly dir: string,
    private readonly update: boolean,
  ) {}
  file(name: string): string {
    return join(this.dir, 'golden', name);
  }
  /** Returns [differences, updated files]. */
  compareText(name: string, actual: string, diff: (expected: string) => string[]): [string[], string[]] {
    const p = this.file(name);
    if (this.update) {
      mkdirSync(join(this.dir, 'golden'), { recursive: true });
      const before = existsSync(p) ? readFileSync(p, 'utf8') : undefined;
      if (before !== actual) {
        writeFileSync(p, actual);
        return [[], [p]];
      }
      return [[], []];
    }
    if (!existsSync(p)) return [[`golden file ${relative(process.cwd(), p) || p} is missing; run with --update to create it`], []];
    return [diff(readFileSync(p, 'utf8')), []];
  }
  /** A golden folder of files (relative path -> text): compare, or with --update make it hold exactly these. */
  compareDir(name: string, actual: Map<string, string>): [string[], string[]] {
    const p = this.file(name);
    const before = existsSync(p) ? readTree(p) : new Map<string, string>();
    if (this.update) {
      if (diffFiles(before, actual, name).length === 0) return [[], []];
      rmSync(p, { recursive: true, force: true });
      if (actual.size === 0) return [[], [p]];
      for (const [f, text] of actual) {
        mkdirSync(dirname(join(p, f)), { recursive: true });
        writeFileSync(join(p, f), text);
      }
      return [[], [...actual.keys()].map((f) => join(p, f))];
    }
    if (!existsSync(p) && actual.size > 0) return [[`golden folder ${relative(process.cwd(), p) || p} is missing; run with --update to create it`], []];
    return [diffFiles(before, actual, name), []];
  }
}

/** Every file under a folder, by relative path (`/`-separated), as text. */
function readTree(dir: string, base = dir, out = new Map<string, string>()): Map<string, string> {
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) readTree(p, base, out);
    else if (e.isFile()) out.set(relative(base, p).split('\\').join('/'), readFileSync(p, 'utf8'));
  }
  return out;
}

interface Ctx {
  ref: ConnectorRef;
  dir: string;
  settings: CaseSettings;
  profile: Profile;
  logger: Logger;
  masker: Masker;
  files: RunFiles;
  timeoutMs: number;
  limits: { killGraceMs?: number | undefined; maxLineBytes?: number | undefined; filesDir?: string | undefined };
  goldens: Goldens;
  config: LosslessValue;
  configPath: string;
  tmpPaths: string[];
  /** The case's `${OUTPUT_DIR}` folder, when its config names it. */
  outputDir: string | undefined;
}

function applySkips(checks: Check[], skip: Record<string, string> | undefined): Check[] {
  return checks.map((c) => (skip && ownValue(skip, c.name) !== undefined ? { ...c, ok: true, skipped: skip[c.name] } : c));
}

function finish(step: StepResult['step'], ctx: Ctx, checks: Check[], golden: string[], updated: string[], error?: string): StepResult {
  const cs = applySkips(checks, ctx.settings.skip);
  return { step, ok: !error && golden.length === 0 && cs.every((c) => c.ok), golden, updated, checks: cs, error };
}

function exitCheck(step: string, t: Transcript): Check {
  const errors = ofType(t, 'TRACE').filter((m) => (m['trace'] as Msg)['type'] === 'ERROR');
  if (t.exitCode === 0 && errors.length === 0) return { name: `${step}.exit`, ok: true, message: 'ok' };
  const why = errors.length ? `: ${String(((errors[0]!['trace'] as Msg)['error'] as Msg)['message'])}` : t.stderrTail.length ? `; stderr: ${t.stderrTail.slice(-3).join(' | ')}` : '';
  return { name: `${step}.exit`, ok: false, message: `the connector exited with ${t.exitCode ?? t.signal}${why}` };
}

function normalRecords(t: Transcript, ctx: Ctx, configured: ConfiguredLike[]): NormalRecord[] {
  const pks = new Map(configured.map((c) => [displayStream(c.stream.name, c.stream.namespace), c.primary_key]));
  const out: NormalRecord[] = [];
  for (const m of ofType(t, 'RECORD')) {
    const r = m['record'] as Msg;
    const stream = displayStream(String(r['stream']), r['namespace'] as string | undefined);
    const data = maskSecrets(maskPaths(r['data'] as LosslessValue, ctx.tmpPaths), ctx.masker);
    for (const f of (ctx.settings.ignored_fields && ownValue(ctx.settings.ignored_fields, stream)) ?? []) maskField(data, f.field.split('.'));
    out.push({ stream, key: recordKey(data, pks.get(stream)), data });
  }
  return ctx.settings.exact_order ? out : sortRecords(out, pks);
}

function recordsText(rs: NormalRecord[]): string {
  return rs.map((r) => canonical({ stream: r.stream, data: r.data }) + '\n').join('');
}

function parseRecordsText(text: string, configured: ConfiguredLike[]): NormalRecord[] {
  const pks = new Map(configured.map((c) => [displayStream(c.stream.name, c.stream.namespace), c.primary_key]));
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const v = parseLossless(l) as Msg;
      const stream = String(v['stream']);
      return { stream, key: recordKey(v['data'] as LosslessValue, pks.get(stream)), data: v['data'] as LosslessValue };
    });
}

/** The final state, per stream for STREAM state, masked. */
function finalState(states: StoredState, ctx: Ctx): LosslessValue {
  let v: LosslessValue;
  if (states.kind === 'STREAM') {
    const o: Record<string, LosslessValue> = {};
    for (const m of states.states) {
      const s = m['stream'] as Msg;
      const d = s['stream_descriptor'] as Msg;
      defineOwn(o, displayStream(String(d['name']), d['namespace'] as string | undefined), s['stream_state'] as LosslessValue);
    }
    v = { kind: 'STREAM', streams: o };
  } else if (states.kind === 'GLOBAL') v = { kind: 'GLOBAL', global: (states.states[0]?.['global'] ?? null) as LosslessValue };
  else if (states.kind === 'LEGACY') v = { kind: 'LEGACY', data: (states.states[0]?.['data'] ?? null) as LosslessValue };
  else v = { kind: null };
  v = maskSecrets(maskPaths(v, ctx.tmpPaths), ctx.masker);
  for (const f of ctx.settings.ignored_state_fields ?? []) maskField(v, f.field.split('.'));
  return v;
}

function applyStates(initial: StoredState, t: Transcript): StoredState {
  const merger = new StateMerger(initial);
  for (const m of ofType(t, 'STATE')) {
    try {
      merger.apply(m['state'] as Msg);
    } catch {
      // mixed kinds and the like are reported by the read checks
    }
  }
  const snap = merger.snapshot();
  return { kind: snap.kind, states: snap.states, files: {} };
}

function runRead(ctx: Ctx, catalogPath: string, state: StoredState, name: string): Promise<Transcript> {
  const args = ['read', '--config', ctx.configPath, '--catalog', catalogPath];
  const st = stateForConnector(state);
  if (st !== undefined) args.push('--state', ctx.files.write(`${name}-state-in.json`, st));
  return captureTranscript(ctx.ref, args, { logger: ctx.logger, masker: ctx.masker, timeoutMs: ctx.timeoutMs, ...ctx.limits });
}

async function readStep(step: 'read' | 'incremental', ctx: Ctx, configured: ConfiguredLike[], catalogPath: string, state: StoredState, firstMax?: Map<string, LosslessValue>, cursors?: Map<string, string[]>): Promise<{ result: StepResult; t: Transcript; after: StoredState }> {
  const t = await runRead(ctx, catalogPath, state, step);
  const checks = [exitCheck(step, t), ...checkRead(t, configured, ctx.profile, step)];
  if (step === 'incremental' && firstMax && cursors) checks.push(checkIncremental(t, firstMax, cursors, compareValues));
  const records = normalRecords(t, ctx, configured);
  const [gr, ur] = ctx.goldens.compareText(`${step}.jsonl`, recordsText(records), (exp) => diffRecords(parseRecordsText(exp, configured), records, ctx.settings.exact_order === true));
  const after = applyStates(state, t);
  const stateText = pretty(finalState(after, ctx));
  const [gs, us] = ctx.goldens.compareText(`${step}-state.json`, stateText, (exp) => diffValues(parseLossless(exp), parseLossless(stateText)).map((l) => `final state: ${l}`));
  return { result: finish(step, ctx, checks, [...gr, ...gs], [...ur, ...us]), t, after };
}

/** write/input.jsonl: its bytes, fed as they are, and the STATE messages in it with their line numbers. */
function readWriteInput(file: string): { input: Buffer; states: SentState[] } {
  const input = readFileSync(file);
  const states: SentState[] = [];
  input
    .toString('utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      let v: LosslessValue;
      try {
        v = parseLossless(line);
      } catch (e) {
        throw new UsageError(`${file}:${i + 1}: not a JSON message (${(e as Error).message})`);
      }
      if (!isMessage(v)) throw new UsageError(`${file}:${i + 1}: not a protocol message (a JSON object with a "type")`);
      if (v['type'] === 'STATE') states.push({ line: i + 1, state: v['state'] ?? null });
    });
  return { input, states };
}

const isMessage = (v: LosslessValue): v is Msg => v !== null && typeof v === 'object' && !Array.isArray(v) && typeof (v as Msg)['type'] === 'string';

/** One printed message as the write golden holds it: temp paths and secrets masked, volatile fields too. */
function normalWriteLine(m: Msg, ctx: Ctx): string {
  const v = maskSecrets(maskPaths(m, ctx.tmpPaths), ctx.masker);
  // when it happened and the stack a TRACE carries change from run to run (and machine to machine)
  for (const f of ['trace.emitted_at', 'trace.error.stack_trace', 'record.emitted_at']) maskField(v, f.split('.'));
  for (const f of ctx.settings.ignored_write_fields ?? []) maskField(v, f.field.split('.'));
  return canonical(v);
}

/** The write step: the case's messages on the destination's stdin; what it prints, and what it writes into `${OUTPUT_DIR}`. */
async function writeStep(ctx: Ctx): Promise<StepResult> {
  const inputFile = join(ctx.dir, 'write', 'input.jsonl');
  const shown = (p: string) => relative(process.cwd(), p) || p;
  if (!existsSync(inputFile)) return finish('write', ctx, [], [], [], `no ${shown(inputFile)}: the write step feeds the destination the messages in that file`);
  const catalogFile = [join(ctx.dir, 'write', 'catalog.json'), join(ctx.dir, 'catalog.json')].find((p) => existsSync(p));
  if (!catalogFile) return finish('write', ctx, [], [], [], `no configured catalog for the write step: put one in ${shown(join(ctx.dir, 'write', 'catalog.json'))} (or the case's catalog.json)`);
  const { input, states } = readWriteInput(inputFile);
  const catalogPath = ctx.files.write('write-catalog.json', stringifyLossless(parseJsonFile(catalogFile, 'catalog')));
  const t = await captureTranscript(ctx.ref, ['write', '--config', ctx.configPath, '--catalog', catalogPath], { logger: ctx.logger, masker: ctx.masker, timeoutMs: ctx.timeoutMs, ...ctx.limits, input });
  const checks = [exitCheck('write', t), ...checkWrite(t, states, shown(inputFile))];
  const printed = t.messages.map((m) => normalWriteLine(m, ctx));
  const text = printed.map((l) => l + '\n').join('');
  const [g, u] = ctx.goldens.compareText('write.jsonl', text, (exp) => diffLines(exp.split('\n').filter(Boolean), printed, (l) => parseLossless(l)));
  const golden = [...g];
  const updated = [...u];
  if (ctx.outputDir !== undefined) {
    const written = new Map<string, string>();
    for (const [f, content] of existsSync(ctx.outputDir) ? readTree(ctx.outputDir) : []) written.set(f, ctx.masker.mask(maskPaths(content, ctx.tmpPaths) as string));
    const [gf, uf] = ctx.goldens.compareDir('write-files', written);
    golden.push(...gf);
    updated.push(...uf);
  }
  return finish('write', ctx, checks, golden, updated);
}

async function runCase(ref: ConnectorRef, suiteDir: string, name: string, loaded: LoadedConfig, profile: Profile, o: SuiteOptions, suiteKind: Kind | undefined, outputDir: string | undefined): Promise<CaseResult> {
  const dir = join(suiteDir, name);
  const settings = readSettings(dir);
  const kind = settings.kind ?? suiteKind ?? (existsSync(join(dir, 'write', 'input.jsonl')) ? 'destination' : 'source');
  const steps = settings.steps ?? (kind === 'destination' ? DESTINATION_STEPS : ALL_STEPS);
  const files = new RunFiles();
  const results: StepResult[] = [];
  // values from the environment are secrets from the start: the spec step's own logs are masked too
  const masker = new Masker(environmentSecrets(loaded));
  try {
    const config = loaded.value;
    const ctx: Ctx = {
      ref,
      dir,
      settings,
      profile,
      logger: o.logger ?? silentLogger(),
      masker,
      files,
      timeoutMs: o.timeoutMs ?? 300_000,
      limits: { killGraceMs: o.killGraceMs, maxLineBytes: o.maxLineBytes, filesDir: files.dir },
      goldens: new Goldens(dir, o.update === true),
      config,
      configPath: files.write('config.json', stringifyLossless(config)),
      tmpPaths: [...(outputDir ? [outputDir] : []), files.dir, tmpdir()],
      outputDir,
    };
    const capture = (args: string[]) => captureTranscript(ref, args, { logger: ctx.logger, masker: ctx.masker, timeoutMs: ctx.timeoutMs, ...ctx.limits });

    // spec (always run: the secrets it names are masked in every report)
    const specT = await capture(['spec']);
    const specMsg = ofType(specT, 'SPEC')[0];
    const cs = (specMsg?.['spec'] as Msg | undefined)?.['connectionSpecification'];
    const secretSpec = secretAnnotated(toPlain(cs ?? {}));
    ctx.masker.add([...collectSecrets(toPlain(config), secretSpec), ...environmentSecrets(loaded, secretSpec)]);
    if (steps.includes('spec')) {
      const specText = pretty(maskSecrets(maskPaths((specMsg?.['spec'] ?? null) as LosslessValue, ctx.tmpPaths), ctx.masker));
      const [g, u] = ctx.goldens.compareText('spec.json', specText, (exp) => diffValues(parseLossless(exp), parseLossless(specText)).map((l) => `spec: ${l}`));
      results.push(finish('spec', ctx, [exitCheck('spec', specT), ...checkSpec(specT, config, profile)], g, u));
    }

    if (steps.includes('check')) {
      const t = await capture(['check', '--config', ctx.configPath]);
      const st = ofType(t, 'CONNECTION_STATUS')[0]?.['connectionStatus'] as Msg | undefined;
      const actual = st ? { status: st['status'], ...(st['message'] !== undefined ? { message: maskPaths(ctx.masker.mask(String(st['message'])), ctx.tmpPaths) } : {}) } : { status: 'ERROR' };
      const text = pretty(actual as LosslessValue);
      const [g, u] = ctx.goldens.compareText('check.json', text, (exp) => diffValues(parseLossless(exp), parseLossless(text)).map((l) => `check: ${l}`));
      results.push(finish('check', ctx, checkCheck(t, settings.expect_check ?? 'SUCCEEDED'), g, u));
    }

    let catalog: LosslessValue | undefined;
    if (steps.includes('discover') || (!existsSync(join(dir, 'catalog.json')) && (steps.includes('read') || steps.includes('incremental')))) {
      const t = await capture(['discover', '--config', ctx.configPath]);
      catalog = ofType(t, 'CATALOG')[0]?.['catalog'];
      if (steps.includes('discover')) {
        const text = pretty(maskSecrets(maskPaths(catalog ?? null, ctx.tmpPaths), ctx.masker));
        const [g, u] = ctx.goldens.compareText('discover.json', text, (exp) => diffValues(parseLossless(exp), parseLossless(text)).map((l) => `catalog: ${l}`));
        results.push(finish('discover', ctx, [exitCheck('discover', t), ...checkDiscover(t, profile)], g, u));
      }
    }

    if (steps.includes('read') || steps.includes('incremental')) {
      const configured = (
        existsSync(join(dir, 'catalog.json'))
          ? ((toPlain(parseJsonFile(join(dir, 'catalog.json'), 'catalog')) as { streams: ConfiguredLike[] }).streams ?? [])
          : catalog
            ? configureCatalog(toPlain(catalog), undefined).streams
            : []
      ) as ConfiguredLike[];
      if (configured.length === 0) {
        results.push(finish('read', ctx, [], [], [], 'no configured streams: discover returned no catalog and the case has no catalog.json'));
      } else {
        const catalogPath = files.write('catalog.json', JSON.stringify({ streams: configured }));
        const initial = (existsSync(join(dir, 'state.json')) ? readStateFile(join(dir, 'state.json')) : undefined) ?? emptyState();
        const first = await readStep('read', ctx, configured, catalogPath, initial);
        if (steps.includes('read')) results.push(first.result);
        const cursors = new Map<string, string[]>();
        for (const c of configured as (ConfiguredLike & { cursor_field?: string[] })[]) {
          const n = displayStream(c.stream.name, c.stream.namespace);
          const f = (settings.cursor_field && ownValue(settings.cursor_field, n)) ?? c.cursor_field;
          if (c.sync_mode === 'incremental' && f && f.length) cursors.set(n, f);
        }
        if (steps.includes('incremental') && cursors.size > 0) {
          const firstMax = maxCursors(first.t, cursors, compareValues);
          const second = await readStep('incremental', ctx, configured, catalogPath, first.after, firstMax, cursors);
          const future = join(dir, 'future-state.json');
          if (existsSync(future)) {
            const f = await runRead(ctx, catalogPath, readStateFile(future) ?? emptyState(), 'future');
            // full-refresh streams read everything whatever the state: only incremental ones count
            const n = ofType(f, 'RECORD').filter((m) => cursors.has(displayStream(String((m['record'] as Msg)['stream']), (m['record'] as Msg)['namespace'] as string | undefined))).length;
            const c: Check = n === 0 ? { name: 'incremental.future_state_empty', ok: true, message: 'ok' } : { name: 'incremental.future_state_empty', ok: false, message: `a read from future-state.json returned ${n} record(s) of incremental streams; expected none` };
            second.result.checks.push(...applySkips([c], settings.skip));
            second.result.ok = second.result.ok && second.result.checks.every((x) => x.ok);
          }
          results.push(second.result);
        }
      }
    }

    if (steps.includes('write')) results.push(await writeStep(ctx));
  } catch (e) {
    if (!(e instanceof HostError)) throw e;
    results.push({ step: steps.find((s) => !results.some((r) => r.step === s)) ?? 'spec', ok: false, golden: [], updated: [], checks: [], error: e.message });
  } finally {
    files.cleanup();
    if (outputDir) rmSync(outputDir, { recursive: true, force: true });
  }
  // the report (pretty, json, junit) is made of these strings: no secret in any of them
  const steps_ = results.map((r) => maskStep(r, masker));
  return { name, ok: steps_.every((r) => r.ok), steps: steps_ };
}

function maskStep(r: StepResult, m: Masker): StepResult {
  if (m.size === 0) return r;
  return {
    ...r,
    golden: r.golden.map((g) => m.mask(g)),
    checks: r.checks.map((c) => ({ ...c, message: m.mask(c.message), ...(c.skipped !== undefined ? { skipped: m.mask(c.skipped) } : {}) })),
    ...(r.error !== undefined ? { error: m.mask(r.error) } : {}),
  };
}

/** A case's config.json, loaded as `--config` loads a file: `${VAR}` expanded, the same errors (exit 2) for an unset one. */
function loadCaseConfig(dir: string, outputDir: string): LoadedConfig {
  const file = join(dir, 'config.json');
  return existsSync(file) ? loadConfig(file, { env: { ...process.env, [OUTPUT_VAR]: outputDir } }) : { value: {}, file: undefined, files: [], sources: new Map() };
}

/** Does the case's config use `${OUTPUT_DIR}`? */
const usesOutputDir = (loaded: LoadedConfig) => [...(loaded.sources?.values() ?? [])].some((s) => s.variables.includes(OUTPUT_VAR));

/** Does a config field path lie under (or hold) a secret path of the spec ('*' matches any key)? */
function touchesSecret(path: string[], secrets: (string | '*')[][]): boolean {
  return secrets.some((sp) => {
    const n = Math.min(sp.length, path.length);
    for (let i = 0; i < n; i++) if (sp[i] !== '*' && sp[i] !== path[i]) return false;
    return true;
  });
}

/**
 * What the environment put into the config, to mask: each field value made from `${VAR}` and
 * each such variable's own value (as --config does, values shorter than 4 characters only when
 * the field is secret: masking "1" or "us" would garble every message). With `spec`, only
 * the variables of its secret fields, whatever their length.
 */
function environmentSecrets(loaded: LoadedConfig, spec?: unknown): string[] {
  const out = new Set<string>();
  // the case's output folder is the host's own temp folder, not a secret: `<TMP>` in the goldens
  const onlyOutput = new Set(
    [...(loaded.sources?.values() ?? [])].filter((s) => s.variables.length > 0 && s.variables.every((n) => n === OUTPUT_VAR)).map((s) => {
      const v = getPath(loaded.value, s.path);
      return typeof v === 'string' ? v : undefined;
    }),
  );
  if (spec === undefined) for (const v of environmentValues(loaded)) if (v.length >= 4 && !onlyOutput.has(v)) out.add(v);
  const secrets = spec === undefined ? undefined : secretPaths(spec);
  for (const src of loaded.sources?.values() ?? []) {
    if (src.variables.length === 0) continue;
    const secret = secrets !== undefined && touchesSecret(src.path, secrets);
    if (secrets !== undefined && !secret) continue;
    for (const name of src.variables) {
      if (name === OUTPUT_VAR) continue;
      const v = ownValue(process.env, name);
      if (v && (secret || v.length >= 4)) out.add(v);
    }
  }
  return [...out];
}

export async function runSuite(connector: string | readonly string[] | ConnectorRef, o: SuiteOptions): Promise<SuiteReport> {
  const started = Date.now();
  const suiteDir = resolve(o.suite);
  const cases = listCases(suiteDir, o.caseName);
  const suiteFile = join(suiteDir, 'suite.json');
  const suiteSettings = existsSync(suiteFile) ? (toPlain(parseJsonFile(suiteFile, 'suite')) as { profile?: Profile; kind?: Kind }) : {};
  if (suiteSettings.kind !== undefined && suiteSettings.kind !== 'source' && suiteSettings.kind !== 'destination') throw new UsageError(`${suiteFile}: unknown kind "${String(suiteSettings.kind)}" (source or destination)`);
  const profile = o.profile ?? suiteSettings.profile ?? 'airbyte';
  if (profile !== 'airbyte' && profile !== 'singer') throw new UsageError(`unknown profile "${profile}" (airbyte or singer)`);
  const ref = typeof connector === 'object' && !Array.isArray(connector) && 'command' in connector ? (connector as ConnectorRef) : await resolveConnector(connector as string | readonly string[]);
  // every case's config first, as `--config` would load it: an unset variable stops the run before any connector starts
  // each case gets its own empty `${OUTPUT_DIR}` folder (removed after the case)
  const outputs = cases.map(() => mkdtempSync(join(tmpdir(), 'host-test-output-')));
  const results: CaseResult[] = [];
  try {
    const configs = cases.map((c, i) => loadCaseConfig(join(suiteDir, c), outputs[i]!));
    for (const [i, c] of cases.entries()) {
      const used = usesOutputDir(configs[i]!);
      if (!used) rmSync(outputs[i]!, { recursive: true, force: true });
      results.push(await runCase(ref, suiteDir, c, configs[i]!, profile, o, suiteSettings.kind, used ? outputs[i] : undefined));
    }
  } finally {
    for (const p of outputs) rmSync(p, { recursive: true, force: true });
  }
  return { suite: basename(suiteDir), profile, ok: results.every((r) => r.ok), cases: results, durationMs: Date.now() - started };
}
