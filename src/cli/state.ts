// `host state show|set|clear|import`: the options and the output of the state command.
// The work is in src/state/commands.ts.

import type { Argv } from 'yargs';
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { numberOption, type NumberRule } from './numbers.js';
import { stringifyLossless } from '../json/lossless.js';
import type { ChangeResult, ImportFormat } from '../state/commands.js';

const HISTORY_ENTRY: NumberRule = { min: 1, minInclusive: true, max: Number.MAX_SAFE_INTEGER, integer: true, unit: 'a history entry number (see host state show --history)' };

export const STATE_ACTIONS = ['show', 'set', 'clear', 'import'] as const;

export function stateOptions(y: Argv): Argv {
  return y
    .positional('action', { choices: STATE_ACTIONS, describe: 'what to do' })
    .positional('file', { type: 'string', describe: 'show, set, clear: the state file (or an output directory: DIR/state.json), as --state; import: the file to import' })
    .positional('into', { type: 'string', describe: 'import: the state file to import into (or an output directory), as --state' })
    .option('state', { type: 'string', describe: 'the state file' })
    .option('out', { type: 'string', describe: 'an output directory: its state file DIR/state.json' })
    .option('stream', { type: 'string', describe: 'one stream: name or namespace.name' })
    .option('json', { type: 'boolean', default: false, describe: 'show: raw JSON on stdout' })
    .option('history', { type: 'boolean', default: false, describe: 'show: the history of previous states' })
    .option('value', { type: 'string', describe: "set: the new state, JSON (a stream's state with --stream; else GLOBAL's shared state or the LEGACY blob)" })
    .option('from-history', numberOption('from-history', HISTORY_ENTRY, { describe: 'set: restore history entry N (see show --history)' }))
    .option('from', { choices: ['meltano', 'airbyte', 'singer'], describe: 'import: the format of FILE' })
    .example('$0 state show --out ./data', 'every stream: its state, when it was committed, its files')
    .example('$0 state show ./data/state.json', 'the same, the state file named')
    .example('$0 state set --out ./data --stream events --value \'{"cursor": 42}\'', 'rewind one stream')
    .example('$0 state clear --out ./data --stream events', 'the next run reads events from the start')
    .example('$0 state import --from meltano meltano-state.json --out ./data', 'from `meltano state get`')
    .example('$0 state import --from airbyte airbyte-state.json ./data/state.json', 'into the state file named after it')
    .example('$0 state show --out ./data --history', 'the previous states')
    .example('$0 state set --out ./data --from-history 7', 'undo: put entry 7 back');
}

function only(a: Record<string, unknown>, action: string, allowed: string[]): void {
  const all: Record<string, string> = { stream: '--stream', json: '--json', history: '--history', value: '--value', 'from-history': '--from-history', from: '--from', into: 'a second FILE' };
  for (const [k, flag] of Object.entries(all)) {
    const v = a[k];
    if (!allowed.includes(k) && v !== undefined && v !== false) throw new UsageError(`state ${action} does not take ${flag}`);
  }
}

/**
 * The state file: named as a positional (a file, or an output directory for DIR/state.json),
 * or with --state FILE or --out DIR. Both, naming different files: a usage error.
 */
export async function stateFileFrom(a: Record<string, unknown>, positional: unknown): Promise<string> {
  // the work (src/state/commands.ts) is loaded when a state command runs, not at start-up
  const { stateFileOf } = await import('../state/commands.js');
  const flags = { state: a['state'] as string | undefined, out: a['out'] as string | undefined };
  if (positional === undefined) return stateFileOf(flags);
  const p = String(positional);
  if (p.trim() === '') throw new UsageError('the state file named is empty: give a path (or --state FILE, --out DIR)');
  let isDir = false;
  try {
    isDir = statSync(p).isDirectory();
  } catch {
    // not there yet: a file to create (set, import), or a clear "no state" (show)
  }
  const file = isDir ? join(p, 'state.json') : p;
  if (flags.state !== undefined || flags.out !== undefined) {
    const flag = stateFileOf(flags);
    if (resolve(flag) !== resolve(file)) throw new UsageError(`two state files given: ${JSON.stringify(p)} and ${flags.state !== undefined ? `--state ${JSON.stringify(flags.state)}` : `--out ${JSON.stringify(flags.out)}`} (${flag}); name one`);
  }
  return file;
}

export async function stateCommand(a: Record<string, unknown>, out: (text: string) => void, note: (text: string) => void): Promise<void> {
  const { showState, formatStateView, setState, clearState, importState, restoreState, showHistory, formatHistory } = await import('../state/commands.js');
  const action = a['action'] as (typeof STATE_ACTIONS)[number];
  const file = await stateFileFrom(a, action === 'import' ? a['into'] : a['file']);
  const stream = a['stream'] as string | undefined;
  const done = (r: ChangeResult, what: string) => {
    for (const w of r.warnings ?? []) note(`warning: ${w}\n`);
    for (const n of r.notes ?? []) note(`${n}\n`);
    if (!r.changed) note(`${what}: nothing to change in ${r.file}\n`);
    else note(`${what}: committed to ${r.file}${r.history !== undefined ? ` (the previous state is history entry ${r.history})` : ''}\n`);
  };
  if (action === 'show') {
    only(a, action, ['stream', 'json', 'history']);
    if (a['history']) {
      if (stream) throw new UsageError('--history shows whole states; leave out --stream');
      const list = showHistory(file);
      out(a['json'] ? stringifyLossless(list, 2) + '\n' : formatHistory(file, list));
      return;
    }
    const v = showState(file, { stream });
    out(a['json'] ? stringifyLossless(v, 2) + '\n' : formatStateView(v, { stream }));
    return;
  }
  if (action === 'set') {
    only(a, action, ['stream', 'value', 'from-history']);
    const n = a['from-history'] as number | undefined;
    if (n !== undefined) {
      if (a['value'] !== undefined || stream) throw new UsageError('--from-history restores a whole state: leave out --value and --stream');
      if (!Number.isInteger(n) || n < 1) throw new UsageError('--from-history takes an entry number (see host state show --history)');
      done(restoreState(file, n), `state set --from-history ${n}`);
      return;
    }
    if (a['value'] === undefined) throw new UsageError('state set needs --value JSON (or --from-history N)');
    done(setState(file, { stream, value: String(a['value']) }), stream ? `state set --stream ${stream}` : 'state set');
    return;
  }
  if (action === 'clear') {
    only(a, action, ['stream']);
    done(clearState(file, { stream }), stream ? `state clear --stream ${stream}` : 'state clear');
    return;
  }
  only(a, action, ['from', 'into']);
  if (!a['from']) throw new UsageError('state import needs --from meltano|airbyte|singer');
  if (!a['file']) throw new UsageError('state import needs the FILE to import');
  const from = a['from'] as ImportFormat;
  done(importState(file, { from, source: String(a['file']) }), `state import --from ${from}`);
}
