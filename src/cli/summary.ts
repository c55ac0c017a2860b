// The end-of-run summary on stderr: a small table per stream, the totals line, where the
// records and the state went and, for a failed run, why in one sentence. Plain text (no colour,
// no control characters), so it reads the same in a terminal, a pipe or a CI log.

import type { ReadResult } from '../run/operations.js';
import type { RunStream } from '../run/streams.js';
import { stringifyLossless } from '../json/lossless.js';
import { escapeControls } from '../log/text.js';
import { showState } from '../state/commands.js';
import { fmtInt, fmtBytes, fmtRate, columns } from './progress.js';
import { describeLimit } from '../run/read-engine.js';
import { describeProcessor } from '../run/processor.js';

export interface SummaryExtras {
  /** Each stream's time, from the live view's samples. */
  times?: Map<RunStream, number> | undefined;
  /** Each stream's state (as text) in the state file before the run, from `stateSnapshot`. */
  stateBefore?: Map<string, string> | undefined;
}

/**
 * Each stream's state in a state file, as comparable text, by display name: STREAM and
 * GLOBAL per stream (GLOBAL with its shared state), LEGACY the stream's entry in the blob or
 * else the whole blob. Undefined when there is no file or it cannot be read.
 */
export function stateSnapshot(file: string | undefined): Map<string, string> | undefined {
  if (!file) return undefined;
  try {
    const v = showState(file);
    const m = new Map<string, string>();
    const shared = v.shared_state !== undefined ? `|${stringifyLossless(v.shared_state)}` : '';
    for (const s of v.streams) if (s.state !== undefined) m.set(s.stream, stringifyLossless(s.state) + shared);
    if (v.legacy !== undefined && v.legacy !== null) m.set('\u0000legacy', stringifyLossless(v.legacy));
    return m;
  } catch {
    return undefined;
  }
}

const stateOf = (m: Map<string, string>, stream: string) => m.get(stream) ?? m.get('\u0000legacy');

/** committed (changed by this run), unchanged, cleared, or - (no state for the stream). */
function stateColumn(s: RunStream, before: Map<string, string> | undefined, after: Map<string, string> | undefined): string {
  if (!after) return '-';
  const a = stateOf(after, s.display);
  const b = before ? stateOf(before, s.display) : undefined;
  if (a === undefined) return b === undefined ? '-' : 'cleared';
  if (before === undefined) return 'saved';
  return a === b ? 'unchanged' : 'committed';
}

/** The failure in one sentence: the reason, the connector's failure_type, the host's error code. */
export function failureSentence(r: ReadResult): string | undefined {
  const e = r.error;
  if (!e) return undefined;
  const t = r.traceError;
  const fromTrace = t && (e.code === 'CONNECTOR_ERROR' || e.code === 'CONNECTOR_CONFIG_ERROR');
  let reason = fromTrace ? `${t.message}${t.stream ? ` (stream ${t.stream})` : ''}` : (e.message.split('\n')[0] ?? e.message);
  // "the connector exited with code 1; its last stderr lines:" + lines: keep the last one
  const tail = e.data.stderrTail;
  if (!fromTrace && /its last stderr lines:?\s*$/.test(reason)) reason = reason.replace(/[;,]?\s*its last stderr lines:?\s*$/, tail?.length ? ` (last stderr line: ${JSON.stringify(tail[tail.length - 1]!.slice(0, 200))})` : '');
  const failureType = (fromTrace ? t.failureType : undefined) ?? (typeof e.data.failureType === 'string' ? e.data.failureType : undefined);
  return escapeControls(`The run failed (failure_type ${failureType ?? 'not reported'}, error ${e.code}): ${reason.replace(/[.:;]\s*$/, '')}.`);
}

/** The modes this run used (as the sink reports them), else the configured ones. */
export function modeColumn(s: RunStream): string {
  return s.mode ? `${s.mode.sync}/${s.mode.destination}` : `${s.configured.sync_mode}/${s.configured.destination_sync_mode}`;
}

/** How the stream ended (its last status, or from the connector's exit), else its last status. */
export function statusColumn(s: RunStream): string {
  return (s.ended ?? s.status)?.toLowerCase() ?? '-';
}

/** Records read but not kept by the output (none for a destination, which decides what it keeps). */
export function droppedOf(s: RunStream): number {
  return s.kept && !s.keptIsSent ? Math.max(0, s.records - s.kept.records) : 0;
}

const sameState = (a: Map<string, string>, b: Map<string, string>) => a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);

export function formatSummary(r: ReadResult, x: SummaryExtras = {}): string {
  const after = r.stateFile ? stateSnapshot(r.stateFile) : undefined;
  const dropped = r.streams.reduce((n, s) => n + droppedOf(s), 0);
  const head = ['stream', 'mode', 'status', 'records', ...(dropped ? ['dropped'] : []), 'bytes', 'time', 'state'];
  const rows = [head];
  for (const s of r.streams) {
    const ms = x.times?.get(s);
    rows.push([
      s.display,
      modeColumn(s),
      statusColumn(s),
      fmtInt(s.kept?.records ?? s.records),
      ...(dropped ? [fmtInt(droppedOf(s))] : []),
      fmtBytes(s.kept?.bytes ?? s.bytes),
      ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`,
      r.stateFile ? stateColumn(s, x.stateBefore, after) : 'not saved',
    ]);
  }
  const lines = columns(rows, dropped ? 'lllrrrrl' : 'lllrrrl').map((l) => `  ${l}`);
  const secs = (r.durationMs / 1000).toFixed(2);
  // "read N records in S s" is grepped by the benchmark (bench/run.mjs): keep its shape
  let total = `${r.ok ? 'read' : 'read FAILED after'} ${r.records} records in ${secs} s (${fmtRate(r.durationMs > 0 ? (r.records * 1000) / r.durationMs : undefined)})`;
  if (dropped) {
    const kept = r.streams.reduce((n, s) => n + (s.kept?.records ?? s.records), 0);
    // an append file is cut back to the last commit; a full refresh that did not complete leaves the old file
    const refresh = r.streams.filter((s) => (s.mode?.destination ?? s.configured.destination_sync_mode) === 'overwrite').reduce((n, s) => n + droppedOf(s), 0);
    const why: string[] = [];
    if (dropped > refresh) why.push(r.ok ? 'replaced in this run: an obsolete version or a reset' : 'after the last committed state');
    if (refresh) why.push('of a full refresh that did not complete');
    total += `: ${fmtInt(kept)} records kept, ${fmtInt(dropped)} dropped (${why.join('; ')})`;
  }
  lines.push(`${total}${r.warnings ? `; ${r.warnings} stdout lines ignored` : ''}`);
  if (r.limited) lines.push(describeLimit(r.limited));
  if (r.processor) lines.push(describeProcessor(r.processor));
  const bad = r.invalidUtf8;
  if (bad?.lines) {
    const per = [...bad.byStream].map(([s, n]) => `${s}: ${n} line${n === 1 ? '' : 's'}`).join(', ');
    lines.push(`invalid UTF-8: ${bad.sequences} sequence${bad.sequences === 1 ? '' : 's'} in ${bad.lines} line${bad.lines === 1 ? '' : 's'} replaced with U+FFFD (${per})`);
  }
  const acked = (r as { acknowledged?: number }).acknowledged;
  if (acked !== undefined && r.sink.output && r.sink.output !== 'stdout' && (r as { destination?: string }).destination === r.sink.output) {
    const noise = (r as { destinationWarnings?: number }).destinationWarnings;
    lines.push(`records sent to the destination ${r.sink.output}; ${acked} state${acked === 1 ? '' : 's'} acknowledged${noise ? `; ${noise} destination stdout lines ignored` : ''}`);
  } else if (r.sink.output === 'stdout' && r.sink.bytes !== undefined) lines.push(`${fmtInt(r.sink.bytes)} bytes written to stdout (records and states, each line with its newline)`);
  else if (r.sink.output && r.sink.output !== 'stdout') lines.push(`records in ${r.sink.output}`);
  if (r.stateFile) {
    if (!r.sink.stateCommitted) lines.push(`state file ${r.stateFile} (no new state committed in this run)`);
    else if (x.stateBefore && after && sameState(x.stateBefore, after)) lines.push(`state unchanged in ${r.stateFile} (the state committed is the one stored before the run)`);
    else lines.push(`state committed to ${r.stateFile}`);
  } else lines.push('state not saved (no --state or --out)');
  const failure = failureSentence(r);
  if (failure) lines.push(failure);
  return lines.join('\n') + '\n';
}
