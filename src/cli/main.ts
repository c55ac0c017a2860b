// The `host` command line. The only place that turns errors into exit codes
// and a message for a human.

import yargs, { type Argv } from 'yargs';
import { readFileSync } from 'node:fs';
import { createLogger, resolveLogFormat, LOG_LEVELS, LOG_FORMATS, type Logger } from '../log/logger.js';
import { escapeControls } from '../log/text.js';
import { HostError, EXIT, UsageError, InterruptedError } from '../errors.js';
import { stringifyLossless } from '../json/lossless.js';
import type { CommonOptions, ReadOptions, ReadResult } from '../run/operations.js';
import { DEFAULTS } from '../run/defaults.js';
import { LiveView, progressMode, type ProgressOption } from './progress.js';
import { stateOptions, stateCommand } from './state.js';
import { numberOption, seconds, LINE_BYTES, type NumberRule } from './numbers.js';
import type { ValidateMode } from '../run/read-engine.js';

import { registerReferenceKinds } from '../connector/reference-kinds.js';

// pypi:, npm:, manifest:, git:, docker: by name; each kind's module is imported on first use
registerReferenceKinds();

/**
 * The engine and what a run needs, imported by the commands that run a connector, so that
 * `--version`, `--help` and a usage error load none of it (test/cli/startup.test.ts).
 */
async function runModules() {
  const [ops, configure, select, summary] = await Promise.all([
    import('../run/operations.js'),
    import('../catalog/configure.js'),
    import('../catalog/select.js'),
    import('./summary.js'),
  ]);
  return { ...ops, parseStreamList: configure.parseStreamList, parseSelectList: select.parseSelectList, formatSummary: summary.formatSummary, stateSnapshot: summary.stateSnapshot };
}
type RunModules = Awaited<ReturnType<typeof runModules>>;

/**
 * yargs renders the whole help text after every command it runs (kept for a failure message
 * that this CLI never shows: .fail() below turns failures into errors): about 100 ms of every
 * invocation. --help renders it as before.
 */
function skipHelpCache(cli: Argv): void {
  const usage = (cli as unknown as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: unknown } } }).getInternalMethods?.().getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
}

/** `--limit`: a whole number of records per stream; `--sample` without it. */
const RECORD_LIMIT: NumberRule = { min: 1, minInclusive: true, max: Number.MAX_SAFE_INTEGER, integer: true, unit: 'a whole number of records' };
const SAMPLE_LIMIT = 10;

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

// The kinds of connector reference (src/connector/resolve.ts, register-builtins.ts, register-git-docker.ts)
const CONNECTORS = `Connector (CONNECTOR, and --destination of run), one of:
  ./source.py                         a path to an executable, or a .py/.mjs/.js/.sh script
  ./sources.py:MySource               an object in a kit file (.py, .mjs, .js, .ts) or ./pkg:MySource
                                      in a Python package folder, run through the connector kit
  -- python3 my_source.py --debug     after --: a program and its arguments (no shell)
  pypi:airbyte-source-faker==6.2.21   a PyPI package in its own virtualenv (no ==VERSION: latest)
  npm:@acme/source-x@1.2.0            an npm package; its bin runs (no @VERSION: latest)
  git:https://github.com/acme/connectors.git#v1.2.0:source-x
                                      a git repository: #branch, tag or commit, :sub-folder
  manifest:./manifest.yaml            an Airbyte declarative (low-code) YAML source
  docker:airbyte/source-faker:6.2.21  a container image (docker run --rm -i)
  faker                               a name in the registry file (--registry)
  A Singer tap: add --protocol singer (a target: --destination-protocol singer).
  pypi:, npm:, git: and manifest: (its runner) are installed once, into --cache-dir.`;

const EXIT_CODES = 'Exit codes: 0 ok, 2 usage or config error, 3 connector failed, 4 check failed, 5 timeout, 6 state or lock error, 7 protocol violation, 8 test failures, 130/143 interrupted.';

const EPILOGUE = `${CONNECTORS}\n${EXIT_CODES}`;

const CONFIG_URI_DESCRIBE = "config as a URI, custom://NAME?key=value&key2=value2: the parameters (percent-encoded; a.b nests, a repeated key is an array) are typed by the connector's spec and merged over --config; NAME picks the object of a file or folder named without :NAME";
const SELECT_DESCRIBE = "select streams and fields, Meltano-style (repeat it; one pattern each): STREAM.FIELD with * ? [abc] wildcards, ! excludes: users.*, orders.id, '!users.email', *.*; primary key and cursor fields are always kept; applied after --streams";

interface Common {
  connector?: string;
  '--'?: (string | number)[];
  'log-level'?: string;
  'log-format'?: string;
  timeout: number;
  'kill-grace': number;
  'max-line-bytes': number;
  'cache-dir'?: string;
  python?: string;
  registry?: string;
  protocol?: 'native' | 'singer';
  config?: string | string[];
  'config-uri'?: string;
}

function connectorOf(a: Common): string | string[] {
  const rest = (a['--'] ?? []).map(String);
  if (a.connector && rest.length) throw new UsageError('name the connector either as a path or after --, not both');
  if (rest.length) return rest;
  if (a.connector) return a.connector;
  throw new UsageError('no connector given: name a path, or use -- <program> [args...]');
}

/** `--config-uri`, given once. */
function configUriOf(a: Common): string | undefined {
  const v = a['config-uri'] as unknown;
  if (Array.isArray(v)) throw new UsageError('--config-uri is given more than once; give one URI (and layer --config files under it)');
  return v === undefined ? undefined : String(v);
}

/** `--processor` and its options (read and run). */
function processorOf(a: Record<string, unknown>): ReadOptions['processor'] {
  const ref = a['processor'];
  const others = ['processor-packages', 'processor-vars'].filter((k) => a[k] !== undefined);
  if (ref === undefined) {
    if (others.length) throw new UsageError(`--${others[0]} goes with --processor`);
    return undefined;
  }
  for (const k of ['processor', 'processor-vars', 'processor-errors']) if (Array.isArray(a[k])) throw new UsageError(`--${k} is given more than once`);
  return {
    ref: String(ref),
    packages: a['processor-packages'] === undefined ? undefined : ([] as unknown[]).concat(a['processor-packages']).map(String),
    varsFile: a['processor-vars'] === undefined ? undefined : String(a['processor-vars']),
    errors: a['processor-errors'] as 'fail' | 'skip' | undefined,
  };
}

function commonOptions(y: Argv): Argv<Common> {
  return y
    .positional('connector', { type: 'string', describe: 'the connector: a path, pypi:, npm:, git:, manifest: or docker: reference, or a registry name (see below); or use -- program args' })
    .option('timeout', numberOption('timeout', seconds(), { default: DEFAULTS.timeoutMs / 1000, describe: 'seconds allowed for spec, check and discover' }))
    .option('kill-grace', numberOption('kill-grace', seconds(true), { default: DEFAULTS.killGraceMs / 1000, describe: 'seconds between SIGTERM and SIGKILL when stopping a connector' }))
    .option('max-line-bytes', numberOption('max-line-bytes', LINE_BYTES, { default: DEFAULTS.maxLineBytes, describe: 'longest stdout line accepted from the connector' }))
    .option('cache-dir', { type: 'string', describe: 'where pypi:, npm: and git: connectors are installed (default $CONNECTOR_HOST_CACHE or ~/.cache/connector-host)' })
    .option('python', { type: 'string', describe: 'Python interpreter for pypi: connectors (e.g. python3.11)' })
    .option('registry', { type: 'string', describe: 'registry file of named connectors (default $CONNECTOR_HOST_REGISTRY, ./connectors.yaml, ~/.config/connector-host/registry.yaml)' })
    .option('protocol', { choices: ['native', 'singer'], describe: 'singer: the connector is a Singer tap, run through the Singer-tap shim' })
    .epilogue(EPILOGUE) as unknown as Argv<Common>;
}

export async function main(argv: string[]): Promise<number> {
  let logger: Logger | undefined;
  // set by read and run on a terminal, so that log lines go above the live display
  let logDestination: { write(s: string): void } | undefined;
  const controller = new AbortController();
  const onSignal = (sig: 'SIGINT' | 'SIGTERM') => {
    if (controller.signal.aborted) {
      // a second Ctrl-C: stop now. The exit hook SIGKILLs the connectors' process groups; the
      // last commit is intact (atomic) and the next run truncates anything written after it.
      process.stderr.write(`host: ${sig} again: stopping at once\n`);
      process.exit(sig === 'SIGINT' ? EXIT.INTERRUPTED : EXIT.TERMINATED);
    }
    controller.abort(sig);
  };
  const sigint = () => onSignal('SIGINT');
  const sigterm = () => onSignal('SIGTERM');
  process.on('SIGINT', sigint);
  process.on('SIGTERM', sigterm);

  const opts = (a: Common): CommonOptions => ({
    logger: (logger ??= createLogger({ level: (a['log-level'] ?? ((a as { quiet?: boolean }).quiet ? 'warn' : 'info')) as never, format: resolveLogFormat(a['log-format']), destination: logDestination })),
    timeoutMs: a.timeout * 1000,
    killGraceMs: a['kill-grace'] * 1000,
    maxLineBytes: a['max-line-bytes'],
    signal: controller.signal,
    resolve: { cacheDir: a['cache-dir'], python: a.python, registry: a.registry, protocol: a.protocol },
  });
  const print = (msg: unknown) => process.stdout.write(stringifyLossless(msg) + '\n');
  const readOptions = (y: Argv) =>
    commonOptions(y)
      .option('progress', { choices: ['auto', 'tty', 'plain', 'off'], default: 'auto', describe: 'live view on stderr: tty (redrawn in place), plain (a line every 5 s), off; auto: tty on a terminal unless CI is set, else plain' })
      .option('quiet', { type: 'boolean', default: false, describe: 'no progress and no summary (errors are still printed); logs at warn unless --log-level' })
      .option('config', { type: 'string', describe: 'config file: JSON, JSON with comments, or YAML; repeat it to layer files (later ones win)' })
      .option('config-uri', { type: 'string', describe: CONFIG_URI_DESCRIBE })
      .option('catalog', { type: 'string', describe: 'catalog file: a configured catalog (host catalog > FILE), or a discovered one (host discover > FILE: all streams, default sync modes); without it, discover and select all streams' })
      .option('streams', { type: 'string', describe: 'comma-separated streams to select: name or namespace.name' })
      .option('select', { type: 'string', describe: SELECT_DESCRIBE })
      .option('state', { type: 'string', describe: 'state file (default DIR/state.json with --out)' })
      .option('out', { type: 'string', describe: 'output directory: DIR/<stream>.jsonl, manifest.json, state.json' })
      .option('validate', { choices: ['off', 'warn', 'fail'], default: DEFAULTS.validate, describe: "check records against their stream's json_schema" })
      .option('on-invalid-utf8', { choices: ['replace', 'fail'], default: 'replace', describe: 'invalid UTF-8 in a line: replace it with U+FFFD (counted in the summary) or fail the run' })
      .option('heartbeat-timeout', numberOption('heartbeat-timeout', seconds(), { default: DEFAULTS.heartbeatMs / 1000, describe: 'seconds without a RECORD or STATE before the read fails' }))
      .option('commit-interval', numberOption('commit-interval', seconds(true), { default: DEFAULTS.commitIntervalMs / 1000, describe: 'commit state at most once per this many seconds (0: every state)' }))
      .option('full-refresh', { type: 'boolean', default: false, describe: 'ignore the stored state of the streams read: read them from the start, replace their data, and replace the stored state only if the run succeeds' })
      .option('limit', numberOption('limit', RECORD_LIMIT, { describe: 'at most N records per stream: the connector is stopped once every stream has N (or has finished); no state is committed' }))
      .option('processor', { type: 'string', describe: 'a record processor between the source and the output: ./clean.py[:function] or ./clean.mjs[:export]; it may change, drop or split records (see host process)' })
      .option('processor-packages', { type: 'string', describe: "Python packages for the processor, installed once into a cached venv: 'p1==1.0.1,p2==0.0.2'" })
      .option('processor-vars', { type: 'string', describe: 'a JSON file {"args": [...], "kwargs": {...}} passed to the processor function' })
      .option('processor-errors', { choices: ['fail', 'skip'], default: 'fail', describe: 'a record the processor raises on: fail the run (exit 7), or skip it (counted and logged)' });
  const readArgs = (a: Common & Record<string, unknown>, { parseStreamList, parseSelectList }: RunModules) => ({
    ...opts(a),
    configFile: a.config,
    configUri: configUriOf(a),
    catalogFile: a['catalog'] as string | undefined,
    streams: parseStreamList(a['streams'] as string | undefined),
    select: parseSelectList(a['select'] as string | string[] | undefined),
    stateFile: a['state'] as string | undefined,
    out: a['out'] as string | undefined,
    validate: a['validate'] as ValidateMode,
    onInvalidUtf8: a['on-invalid-utf8'] as 'replace' | 'fail',
    heartbeatMs: (a['heartbeat-timeout'] as number) * 1000,
    commitIntervalMs: (a['commit-interval'] as number) * 1000,
    fullRefresh: a['full-refresh'] as boolean,
    limit: a['limit'] as number | undefined,
    processor: processorOf(a),
  });
  // the live view during the read, then the summary (src/cli/progress.ts, summary.ts)
  const withLiveView = async (a: Common & Record<string, unknown>, { formatSummary, stateSnapshot }: RunModules, label: string, go: (onStart: ReadOptions['onStart']) => Promise<ReadResult>) => {
    const quiet = a['quiet'] === true;
    const mode = progressMode(a['progress'] as ProgressOption, { quiet, isTTY: Boolean(process.stderr.isTTY), env: process.env });
    const view = new LiveView({ mode, label, write: (t) => process.stderr.write(t), size: () => ({ columns: process.stderr.columns, rows: process.stderr.rows }) });
    if (mode === 'tty') logDestination = view.logDestination;
    let before: Map<string, string> | undefined;
    let r: ReadResult;
    try {
      r = await go((streams, stateFile) => {
        if (!quiet) before = stateSnapshot(stateFile);
        view.onStart(streams);
      });
    } finally {
      view.stop();
    }
    if (!quiet) process.stderr.write(formatSummary(r, { times: view.times(), stateBefore: before }));
    if (r.error) throw r.error;
  };
  let code = EXIT.OK as number;

  const cli = yargs(argv)
    .scriptName('host')
    .usage('$0 <command> <connector> [options]\n$0 <command> [options] -- <program> [args...]')
    .parserConfiguration({ 'populate--': true })
    .option('log-level', { choices: LOG_LEVELS, defaultDescription: 'info (warn with --quiet)', describe: 'log level (logs go to stderr)' })
    .option('log-format', { choices: LOG_FORMATS, defaultDescription: 'text, or $CONNECTOR_HOST_LOG_FORMAT', describe: 'logs on stderr: text (one readable line per entry, coloured on a terminal) or json (JSON lines, for machines)' })
    .command(
      'spec [connector]',
      "print the connector's SPEC message as one JSON line",
      (y) => commonOptions(y).example('$0 spec ./source.py', '').example('$0 spec -- python3 my_source.py', ''),
      async (a) => {
        const { spec } = await runModules();
        print(await spec(connectorOf(a), opts(a)));
      },
    )
    .command(
      'check [connector]',
      'validate the config against the spec, run check, print the CONNECTION_STATUS line',
      (y) =>
        commonOptions(y)
          .option('config', { type: 'string', describe: 'config file: JSON, JSON with comments, or YAML; repeat it to layer files (later ones win)' })
          .option('config-uri', { type: 'string', describe: CONFIG_URI_DESCRIBE })
          .example('$0 check ./source.py --config config.json', 'exit 0 on SUCCEEDED, 4 on FAILED')
          .example("$0 check ./sources.py --config-uri 'custom://MySource?start=2024-01-01'", 'the object MySource in sources.py, config from the URI'),
      async (a) => {
        const { check } = await runModules();
        const r = await check(connectorOf(a), { ...opts(a), configFile: a.config, configUri: configUriOf(a), noThrow: true });
        print(r.message);
        if (r.status !== 'SUCCEEDED') {
          process.stderr.write(`check failed: ${r.text ?? 'no reason given'}\n`);
          code = EXIT.CHECK_FAILED;
        }
      },
    )
    .command(
      'discover [connector]',
      'print the CATALOG message as one JSON line',
      (y) =>
        commonOptions(y)
          .option('config', { type: 'string', describe: 'config file: JSON, JSON with comments, or YAML; repeat it to layer files (later ones win)' })
          .option('config-uri', { type: 'string', describe: CONFIG_URI_DESCRIBE })
          .option('processor', { type: 'string', describe: 'a record processor: the catalog carries the output schemas it declares (what a destination behind it is given)' })
          .example('$0 discover ./source.py --config config.json', '')
          .example('$0 discover ./source.py --config config.json --processor ./clean.py', 'with the schemas of the streams the processor changes'),
      async (a) => {
        const { discover } = await runModules();
        const o = opts(a);
        const msg = await discover(connectorOf(a), { ...o, configFile: a.config, configUri: configUriOf(a) });
        if (a['processor'] !== undefined) {
          const { applyToCatalog } = await import('../run/processor.js');
          const { Masker } = await import('../secrets/mask.js');
          const changed = await applyToCatalog(msg['catalog'], { ref: String(a['processor']) }, { logger: o.logger!, masker: new Masker(), killGraceMs: o.killGraceMs!, heartbeatMs: DEFAULTS.heartbeatMs, startTimeoutMs: o.timeoutMs, resolve: o.resolve });
          o.logger!.info(changed.length ? `output schema of ${changed.join(', ')} from the processor ${String(a['processor'])}` : `the processor ${String(a['processor'])} declares no output schema for these streams`);
        }
        print(msg);
      },
    )
    .command(
      'catalog [connector]',
      'print a configured catalog (pretty JSON) to edit and pass to read or run with --catalog',
      (y) =>
        commonOptions(y)
          .option('config', { type: 'string', describe: 'config file: JSON, JSON with comments, or YAML; repeat it to layer files (later ones win)' })
          .option('config-uri', { type: 'string', describe: CONFIG_URI_DESCRIBE })
          .option('streams', { type: 'string', describe: 'comma-separated streams to select: name or namespace.name' })
          .option('select', { type: 'string', describe: SELECT_DESCRIBE })
          .example('$0 catalog ./source.py --config c.json > catalog.json', 'every stream, default sync modes; edit it, then: host read ./source.py --config c.json --catalog catalog.json')
          .example("$0 catalog ./source.py --config c.json --select 'users.*' --select orders.id", 'users with all fields; orders with id (and its key and cursor fields)')
          .example("$0 catalog ./source.py --config c.json --select '!users.email'", 'everything except users.email')
          .example('$0 catalog ./source.py --config c.json --streams users --select users.name', '--streams narrows, --select applies to what is left'),
      async (a) => {
        const { buildCatalog, parseStreamList, parseSelectList } = await runModules();
        const cat = await buildCatalog(connectorOf(a), {
          ...opts(a),
          configFile: a.config,
          configUri: configUriOf(a),
          streams: parseStreamList(a['streams'] as string | undefined),
          select: parseSelectList(a['select'] as string | string[] | undefined),
        });
        process.stdout.write(stringifyLossless(cat, 2) + '\n');
      },
    )
    .command(
      'read [connector]',
      'read records: into --out DIR (JSONL per stream, exactly-once state), or as NDJSON on stdout',
      (y) =>
        readOptions(y)
          .option('format', { choices: ['airbyte', 'singer'], default: 'airbyte', describe: 'stdout format without --out: Airbyte RECORD/STATE, or Singer SCHEMA/RECORD/STATE for `| target-x`' })
          .option('sample', { type: 'boolean', default: false, describe: `a quick look: --limit ${SAMPLE_LIMIT} unless --limit is given; records on stdout with no state and nothing written, or into --out as with --limit` })
          .example('$0 read ./source.py --config config.json --sample', `the first ${SAMPLE_LIMIT} records of each stream on stdout; nothing written`)
          .example('$0 read ./source.py --config config.json --out ./out', 'records to ./out/<stream>.jsonl, state to ./out/state.json')
          .example('$0 read ./source.py --config config.json --streams users | head', 'NDJSON on stdout')
          .example("$0 read ./source.py --config config.json --select 'users.*' --select '!users.email' --out ./out", 'users without its email field (host catalog writes the same selection to a file)')
          .example('$0 read ./source.py --config config.json --format singer | target-jsonl', 'into a Singer target')
          .example('$0 read --config c.json --out ./out -- python3 my_source.py', 'a connector run by an interpreter'),
      async (a) => {
        const sample = a['sample'] === true;
        // a sample reads from the start and keeps no state: a --state file would be neither read nor written
        if (sample && a['state'] !== undefined) throw new UsageError('--sample takes no --state: a sample to stdout reads from the start and keeps nothing; use --limit N --state F to read a few records from where a state stands (it is not changed)');
        const limit = sample ? ((a['limit'] as number | undefined) ?? SAMPLE_LIMIT) : (a['limit'] as number | undefined);
        const m = await runModules();
        await withLiveView(a, m, 'read', (onStart) => m.readWith(connectorOf(a), { ...readArgs(a, m), limit, format: a.format as 'airbyte' | 'singer', onStart }));
      },
    )
    .command(
      'run [connector]',
      'a pipeline: read the source into a --destination (a protocol destination or, with --destination-protocol singer, a Singer target), committing the state it acknowledges; or into --out DIR',
      (y) =>
        readOptions(y)
          .option('destination', { type: 'string', describe: 'the destination: a path, pypi:/npm:/git: reference or registry name' })
          .option('destination-config', { type: 'string', describe: "the destination's config file; repeat it to layer files" })
          .option('destination-arg', { type: 'string', describe: 'an argument for the destination program (repeat it for more); given before its command word' })
          .option('destination-protocol', { choices: ['native', 'singer'], describe: 'singer: the destination is a Singer target, run through the Singer-target shim' })
          .option('destination-sync-mode', { choices: ['append', 'overwrite', 'append_dedup'], describe: 'for every stream (default: overwrite for full refresh, append for incremental)' })
          .example('$0 run ./source.py --config c.json --destination ./dest.py --destination-config d.json --state state.json', 'into a protocol destination')
          .example('$0 run pypi:tap-jsonl --protocol singer --config tap.json --destination pypi:target-jsonl --destination-protocol singer --destination-config t.json --state state.json', 'a Singer tap into a Singer target')
          .example('$0 run ./source.py --config c.json --out ./out', 'into the built-in JSONL output (the same as read --out)'),
      async (a) => {
        const [{ run }, m] = await Promise.all([import('../run/pipeline.js'), runModules()]);
        await withLiveView(a, m, 'run', (onStart) => run(connectorOf(a), {
          ...readArgs(a, m),
          onStart,
          destination: a.destination as string | undefined,
          destinationConfigFile: a['destination-config'] as string | string[] | undefined,
          destinationProtocol: a['destination-protocol'] as 'native' | 'singer' | undefined,
          destinationArgs: a['destination-arg'] === undefined ? undefined : ([] as unknown[]).concat(a['destination-arg']).map(String),
          destinationSyncMode: a['destination-sync-mode'] as 'append' | 'overwrite' | 'append_dedup' | undefined,
        }));
      },
    )
    .command(
      'process <processor>',
      'run a record processor on a sample file: one record per line (a data object, or a RECORD message); prints the output records as JSONL and each error with its line number',
      (y) =>
        y
          .positional('processor', { type: 'string', describe: 'the processor: ./clean.py[:function] or ./clean.mjs[:export]' })
          .option('sample', { type: 'string', demandOption: true, describe: 'the sample file: one record per line (a JSON object, or a RECORD message)' })
          .option('vars', { type: 'string', describe: 'a JSON file {"args": [...], "kwargs": {...}} passed to the function' })
          .option('packages', { type: 'string', describe: "Python packages for it: 'p1==1.0.1,p2==0.0.2' (a cached venv)" })
          .option('stream', { type: 'string', describe: "the stream of the sample's data lines (default: the first stream the processor names, else sample)" })
          .option('processor-errors', { choices: ['fail', 'skip'], default: 'fail', describe: 'fail: exit 7 when a record raised; skip: exit 0, errors counted' })
          .option('heartbeat-timeout', numberOption('heartbeat-timeout', seconds(), { default: DEFAULTS.heartbeatMs / 1000, describe: 'seconds a batch may take before the processor is taken as hung' }))
          .option('timeout', numberOption('timeout', seconds(), { default: DEFAULTS.timeoutMs / 1000, describe: 'seconds the processor may take to start' }))
          .option('kill-grace', numberOption('kill-grace', seconds(true), { default: DEFAULTS.killGraceMs / 1000, describe: 'seconds between SIGTERM and SIGKILL when stopping it' }))
          .option('cache-dir', { type: 'string', describe: 'where --packages venvs are cached (default $CONNECTOR_HOST_CACHE or ~/.cache/connector-host)' })
          .option('python', { type: 'string', describe: 'the Python interpreter (default python3)' })
          .example('$0 process ./clean.py:process --sample records.jsonl', 'the output records on stdout, errors on stderr')
          .example("$0 process ./clean.py --sample s.jsonl --vars vars.json --packages 'python-slugify==8.0.4'", 'with runtime variables and packages'),
      async (a) => {
        const { processCommand } = await import('./process.js');
        const lg = (logger ??= createLogger({ level: (a['log-level'] ?? 'info') as never, format: resolveLogFormat(a['log-format'] as string | undefined) }));
        code = await processCommand({
          ref: String(a.processor),
          sample: String(a.sample),
          varsFile: a.vars as string | undefined,
          packages: a.packages as string | undefined,
          stream: a.stream as string | undefined,
          errors: a['processor-errors'] as 'fail' | 'skip',
          logger: lg,
          resolve: { cacheDir: a['cache-dir'] as string | undefined, python: a.python as string | undefined },
          killGraceMs: (a['kill-grace'] as number) * 1000,
          timeoutMs: (a.timeout as number) * 1000,
          heartbeatMs: (a['heartbeat-timeout'] as number) * 1000,
          out: (t) => process.stdout.write(t),
          err: (t) => process.stderr.write(t),
        });
      },
    )
    .command(
      'test [connector]',
      'golden-file protocol tests and conformance checks: spec, check, discover, read, incremental read (a destination: spec, check, write)',
      (y) =>
        commonOptions(y)
          .option('suite', { type: 'string', demandOption: true, describe: 'suite folder: one sub-folder per case (config.json, optional case.json, catalog.json, state.json, write/input.jsonl for a destination, golden/)' })
          .option('update', { type: 'boolean', default: false, describe: 'write the golden files instead of comparing' })
          .option('case', { type: 'string', describe: 'run only this case' })
          .option('reporter', { choices: ['pretty', 'json', 'junit'], default: 'pretty', describe: 'report format (on stdout)' })
          .option('profile', { choices: ['airbyte', 'singer'], describe: 'conformance profile (default: suite.json, else airbyte)' })
          .example('$0 test ./source.py --suite tests/golden', 'compare with the committed goldens')
          .example('$0 test ./source.py --suite tests/golden --update', 'write the goldens (review the diff, then commit)')
          .example('$0 test --suite tests/golden --reporter junit -- python3 src/main.py > report.xml', 'for CI'),
      async (a) => {
        const { runSuite, formatReport } = await import('../testing/index.js');
        const { resolveConnector } = await import('../connector/resolve.js');
        // resolved here so that --cache-dir, --python, --registry and --protocol apply
        const common = opts(a);
        const connector = await resolveConnector(connectorOf(a), { logger: common.logger, ...common.resolve });
        const r = await runSuite(connector, {
          suite: a.suite as string,
          update: a.update as boolean,
          caseName: a.case as string | undefined,
          profile: a.profile as 'airbyte' | 'singer' | undefined,
          timeoutMs: a.timeout * 1000,
          killGraceMs: a['kill-grace'] * 1000,
          maxLineBytes: a['max-line-bytes'],
          logger: opts(a).logger,
        });
        process.stdout.write(formatReport(r, a.reporter as 'pretty' | 'json' | 'junit'));
        if (!r.ok) code = EXIT.TEST_FAILED;
      },
    )
    .command(
      'init <kind> <name>',
      'write a new connector folder: the connector (Python kit or TypeScript kit), an example config, a golden test suite that passes with host test, and a README',
      (y) =>
        y
          .positional('kind', { choices: ['source', 'destination', 'processor'], describe: 'what to make' })
          .positional('name', { type: 'string', describe: 'the folder and connector name: letters, digits, - and _' })
          .option('lang', { choices: ['python', 'typescript'], default: 'python', describe: 'python (the connector_host kit, standard library only) or typescript (connector-host/kit, run through tsx: no build step)' })
          .option('dir', { type: 'string', describe: 'the parent folder (default: the current one); the new folder is DIR/NAME, which must not exist or be empty' })
          .example('$0 init source my-api', './my-api/source.py, config.json, tests/, README.md')
          .example('$0 init destination my-warehouse --lang typescript', './my-warehouse/destination.ts and its suite')
          .example('$0 init processor clean-users --dir ./connectors', './connectors/clean-users/processor.py, a sample and its expected output'),
      async (a) => {
        const { initConnector, initMessage } = await import('./init.js');
        const o = { kind: a.kind as 'source' | 'destination' | 'processor', name: String(a.name), lang: a.lang as 'python' | 'typescript', dir: a.dir as string | undefined };
        process.stdout.write(initMessage(o, initConnector(o)));
      },
    )
    .command(
      'connectors <action> [connector]',
      "named and installed connectors: list, info, install (a pypi: reference without a version: resolve the latest again), remove; which (print the command line of the connector's own program), exec (run it with the arguments after --)",
      (y) =>
        y
          .positional('action', { choices: ['list', 'info', 'install', 'remove', 'which', 'exec'], describe: 'what to do' })
          .positional('connector', { type: 'string', describe: 'a registry name, a path, or a reference (pypi:…, npm:…, git:…, docker:…, manifest:…)' })
          .option('cache-dir', { type: 'string', describe: 'the connector cache (default $CONNECTOR_HOST_CACHE or ~/.cache/connector-host)' })
          .option('python', { type: 'string', describe: 'Python interpreter for pypi: connectors' })
          .option('registry', { type: 'string', describe: 'registry file of named connectors' })
          .example('$0 connectors list', 'the registry and the cache')
          .example('$0 connectors install pypi:airbyte-source-faker==6.2.21', 'install ahead of a run')
          .example('$0 connectors install pypi:tap-jsonl', 'resolve the latest again (an older version stays, pinned by its version)')
          .example('$0 connectors info git:https://github.com/acme/connectors#v1:source-x', 'provenance and licence')
          .example('$0 connectors which pypi:tap-jsonl', 'prints the command, e.g. <venv>/bin/tap-jsonl (one line, shell-quoted where needed)')
          .example('$0 connectors exec pypi:tap-jsonl -- --about', "Meltano's invoke: install if needed, run it with the arguments after --; its exit code is the host's")
          .example('$0 read ./source.py --format singer | $0 connectors exec pypi:target-jsonl -- -c t.json', 'into a Singer target from the cache')
          .example('eval "$($0 connectors which faker) --help"', 'a registry name, run by hand'),
      async (a) => {
        const { connectorsCommand } = await import('./connectors.js');
        const resolve = { cacheDir: a['cache-dir'] as string | undefined, python: a.python as string | undefined, registry: a.registry as string | undefined, logger: (logger ??= createLogger({ level: a['log-level'] as never, format: resolveLogFormat(a['log-format'] as string | undefined) })) };
        if (a.action === 'exec') {
          // the connector gets the signals (forwarded, or from the terminal) and decides; the host
          // waits for its exit code. A signal before it is started (during an install) is kept, and
          // then the connector is not started: the host exits 128 + its number (the install is atomic).
          process.off('SIGINT', sigint);
          process.off('SIGTERM', sigterm);
          const early: NodeJS.Signals[] = [];
          const keep = (sig: NodeJS.Signals) => early.push(sig);
          for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, keep);
          (resolve as Record<string, unknown>)['beforeSpawn'] = (): NodeJS.Signals | undefined => {
            for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(sig, keep);
            return early[0];
          };
        }
        const args = ((a['--'] as (string | number)[] | undefined) ?? []).map(String);
        code = await connectorsCommand(a.action as string, a.connector as string | undefined, resolve, (line) => process.stdout.write(line + '\n'), args);
      },
    )
    .command(
      'kit <action>',
      'the connector kits: path prints where the Python kit is (the folder for PYTHONPATH), or with --lang typescript the TypeScript kit entry',
      (y) =>
        y
          .positional('action', { choices: ['path'], describe: 'what to do' })
          .option('lang', { choices: ['python', 'typescript'], default: 'python', describe: 'which kit' })
          .example('$0 kit path', 'the folder to put on PYTHONPATH to import connector_host')
          .example('PYTHONPATH="$($0 kit path)" python3 my_source.py spec', 'a kit connector run without the host'),
      async (a) => {
        const { PYTHON_KIT_DIR, typescriptKitEntry } = await import('../connector/kit-ref.js');
        process.stdout.write(`${a.lang === 'typescript' ? typescriptKitEntry() : PYTHON_KIT_DIR}\n`);
      },
    )
    .command(
      'state <action> [file] [into]',
      'the stored state: show (or --history), set, clear, import --from meltano|airbyte|singer; FILE is the state file (or --state FILE, --out DIR), for import the file to import and INTO the state file; changes are locked, atomic and kept in a history',
      (y) => stateOptions(y),
      async (a) => stateCommand(a, (t) => process.stdout.write(t), (t) => process.stderr.write(t)),
    )
    .demandCommand(1, 'name a command: spec, check, discover, catalog, read, run, test, init, connectors or state')
    .strict()
    .epilogue(EPILOGUE)
    .version(VERSION)
    .alias('h', 'help')
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      // yargs wraps what an option's coerce throws (a bad number) in a YError: a usage error
      if (err?.name === 'YError') throw new UsageError(err.message);
      throw err ?? new UsageError(msg);
    });

  skipHelpCache(cli);
  try {
    await cli.parseAsync();
  } catch (e) {
    code = report(e, logger);
  } finally {
    process.off('SIGINT', sigint);
    process.off('SIGTERM', sigterm);
  }
  return code;
}

function report(e: unknown, logger: Logger | undefined): number {
  if (e instanceof HostError) {
    if (e instanceof InterruptedError) {
      process.stderr.write(`host: ${e.message}; the last committed state is kept\n`);
    } else {
      // a connector's TRACE message or stderr lines may hold escape sequences: never raw to the terminal
      process.stderr.write(`host: ${escapeControls(e.message)}\n`);
      if (e.code === 'USAGE') process.stderr.write('Run with --help for usage.\n');
    }
    return e.exitCode;
  }
  const err = e as Error;
  logger?.debug({ err }, 'internal error');
  process.stderr.write(`host: internal error: ${err?.message ?? String(e)} (run with --log-level debug for details)\n`);
  return EXIT.INTERNAL;
}
