// `host test`: run a connector through spec, check, discover, read and a second
// incremental read for every case of a suite; compare normalised transcripts with
// the committed golden files and run the conformance checks beside them.

import { existsSync, readdirSync, statSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, basename, resolve, relative } from 'node:path';
import { tmpdir } from 'node:os';
import { resolveConnector, type ConnectorRef } from '../connector/resolve.js';
import { RunFiles } from '../connector/process.js';
import { parseJsonFile, loadConfig, environmentValues, type LoadedConfig } from '../config/config.js';
import { parseLossless, stringifyLossless, toPlain, defineOwn, ownValue, type LosslessValue } from '../json/lossless.js';
import { Masker, collectSecrets, secretPaths } from '../secrets/mask.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { configureCatalog } from '../catalog/configure.js';
import { StateMerger, readStateFile, emptyState, stateForConnector, displayStream, type StoredState } from '../state/state.js';
import { UsageError, HostError } from '../errors.js';
import { captureTranscript, ofType, type Msg, type Transcript } from './transcript.js';
import { pretty, canonical, maskPaths, maskField, maskSecrets, secretAnnotated, recordKey, sortRecords, compareValues, type NormalRecord } from './normalise.js';
import { diffValues, diffRecords } from './compare.js';
import { checkSpec, checkCheck, checkDiscover, checkRead, checkIncremental, maxCursors, type Check, type Profile, type CheckOutcome, type ConfiguredLike } from './conformance.js';

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
  step: 'spec' | 'check' | 'discover' | 'read' | 'incremental';
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

interface CaseSettings {
  expect_check?: CheckOutcome;
  exact_order?: boolean;
  ignored_fields?: Record<string, IgnoredField[]>;
  ignored_state_fields?: IgnoredField[];
  cursor_field?: Record<string, string[]>;
  skip?: Record<string, string>;
  steps?: StepResult['step'][];
}

const ALL_STEPS: StepResult['step'][] = ['spec', 'check', 'discover', 'read', 'incremental'];

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

async function runCase(ref: ConnectorRef, suiteDir: string, name: string, loaded: LoadedConfig, profile: Profile, o: SuiteOptions): Promise<CaseResult> {
  const dir = join(suiteDir, name);
  const settings = readSettings(dir);
  const steps = settings.steps ?? ALL_STEPS;
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
      tmpPaths: [files.dir, tmpdir()],
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
  } catch (e) {
    if (!(e instanceof HostError)) throw e;
    results.push({ step: ALL_STEPS.find((s) => !results.some((r) => r.step === s)) ?? 'spec', ok: false, golden: [], updated: [], checks: [], error: e.message });
  } finally {
    files.cleanup();
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
function loadCaseConfig(dir: string): LoadedConfig {
  const file = join(dir, 'config.json');
  return existsSync(file) ? loadConfig(file) : { value: {}, file: undefined, files: [], sources: new Map() };
}

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
  if (spec === undefined) for (const v of environmentValues(loaded)) if (v.length >= 4) out.add(v);
  const secrets = spec === undefined ? undefined : secretPaths(spec);
  for (const src of loaded.sources?.values() ?? []) {
    if (src.variables.length === 0) continue;
    const secret = secrets !== undefined && touchesSecret(src.path, secrets);
    if (secrets !== undefined && !secret) continue;
    for (const name of src.variables) {
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
  const suiteSettings = existsSync(suiteFile) ? (toPlain(parseJsonFile(suiteFile, 'suite')) as { profile?: Profile }) : {};
  const profile = o.profile ?? suiteSettings.profile ?? 'airbyte';
  if (profile !== 'airbyte' && profile !== 'singer') throw new UsageError(`unknown profile "${profile}" (airbyte or singer)`);
  const ref = typeof connector === 'object' && !Array.isArray(connector) && 'command' in connector ? (connector as ConnectorRef) : await resolveConnector(connector as string | readonly string[]);
  // every case's config first, as `--config` would load it: an unset variable stops the run before any connector starts
  const configs = cases.map((c) => loadCaseConfig(join(suiteDir, c)));
  const results: CaseResult[] = [];
  for (const [i, c] of cases.entries()) results.push(await runCase(ref, suiteDir, c, configs[i]!, profile, o));
  return { suite: basename(suiteDir), profile, ok: results.every((r) => r.ok), cases: results, durationMs: Date.now() - started };
}
