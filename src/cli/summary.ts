// The end-of-run summary on stderr. Kept to a function of the outcome, so the
// live progress display of a later issue can reuse it.

import type { ReadResult } from '../run/operations.js';

function rate(n: number, ms: number): string {
  if (ms <= 0) return '-';
  const r = (n * 1000) / ms;
  return r >= 1000 ? `${Math.round(r).toLocaleString('en-US')}/s` : `${r.toFixed(1)}/s`;
}

export function formatSummary(r: ReadResult): string {
  const lines: string[] = [];
  const width = Math.max(6, ...r.streams.map((s) => s.display.length));
  for (const s of r.streams) {
    const mode = `${s.configured.sync_mode}/${s.configured.destination_sync_mode}`;
    const est = s.estimate?.rows !== undefined ? ` of ~${s.estimate.rows} estimated` : '';
    lines.push(`  ${s.display.padEnd(width)}  ${String(s.records).padStart(9)} records${est}  ${mode}${s.status ? `  ${s.status.toLowerCase()}` : ''}`);
  }
  const secs = (r.durationMs / 1000).toFixed(2);
  lines.push(`${r.ok ? 'read' : 'read FAILED after'} ${r.records} records in ${secs} s (${rate(r.records, r.durationMs)})${r.warnings ? `; ${r.warnings} stdout lines ignored` : ''}`);
  const acked = (r as { acknowledged?: number }).acknowledged;
  if (acked !== undefined && r.sink.output && r.sink.output !== 'stdout' && (r as { destination?: string }).destination === r.sink.output) {
    lines.push(`records sent to the destination ${r.sink.output}; ${acked} state${acked === 1 ? '' : 's'} acknowledged`);
  } else if (r.sink.output && r.sink.output !== 'stdout') lines.push(`records in ${r.sink.output}`);
  if (r.stateFile) lines.push(r.sink.stateCommitted ? `state committed to ${r.stateFile}` : `state file ${r.stateFile} (no new state committed in this run)`);
  else lines.push('state not saved (no --state or --out)');
  return lines.join('\n') + '\n';
}
