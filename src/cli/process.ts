// `host process ./clean.py:process --sample records.jsonl`: what a record processor makes of a
// sample file (Nexla's "test on a sample file"). The sample holds one record per line: a data
// object, or a RECORD message (its stream and emitted_at are kept). The output records go to
// stdout as JSONL, in the shape they came in (data objects, or RECORD messages); each error goes
// to stderr with its line number. Exit 0, or 7 when a record raised (with --processor-errors
// skip: 0, the errors counted).

import { readFileSync } from 'node:fs';
import type { Logger } from '../log/logger.js';
import { Masker } from '../secrets/mask.js';
import { ConfigError, EXIT, type HostError } from '../errors.js';
import { parseLossless, stringifyLossless, isPlainObject, type LosslessValue } from '../json/lossless.js';
import { ProcessorChild, processorCommand, appliesTo, BATCH_RECORDS, type ProcessorErrorMode } from '../run/processor.js';
import type { ResolveOptions } from '../connector/resolve.js';

export interface ProcessCommandOptions {
  ref: string;
  sample: string;
  varsFile?: string | undefined;
  packages?: string | string[] | undefined;
  /** The stream of the sample's data lines (default: the first the processor names, else "sample"). */
  stream?: string | undefined;
  errors?: ProcessorErrorMode | undefined;
  logger: Logger;
  resolve?: ResolveOptions | undefined;
  killGraceMs: number;
  timeoutMs: number;
  heartbeatMs: number;
  out: (text: string) => void;
  err: (text: string) => void;
}

interface SampleLine {
  lineNo: number;
  stream: string;
  namespace: string | undefined;
  emittedAt: string;
  /** A RECORD message (output as RECORD messages), else a data object (output as data). */
  message: boolean;
  data: string;
  /** The line as it was (an unprocessed stream's record is printed unchanged). */
  raw: string;
}

function readSample(file: string, stream: (() => string) | string): SampleLine[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read the sample file ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, { file });
  }
  const out: SampleLine[] = [];
  const lines = text.split('\n');
  for (let k = 0; k < lines.length; k++) {
    const raw = lines[k]!.replace(/\r$/, '').replace(/^\uFEFF/, '');
    if (!raw.trim()) continue;
    const lineNo = k + 1;
    let v: LosslessValue;
    try {
      v = parseLossless(raw);
    } catch (e) {
      throw new ConfigError(`the sample ${file}, line ${lineNo}: not JSON (${(e as Error).message}); give one record per line: a JSON object, or a RECORD message`, { file, line: lineNo });
    }
    if (!isPlainObject(v)) throw new ConfigError(`the sample ${file}, line ${lineNo}: not a JSON object; give one record per line: a JSON object, or a RECORD message`, { file, line: lineNo });
    const rec = v['type'] === 'RECORD' && isPlainObject(v['record']) ? v['record'] : undefined;
    if (rec) {
      if (typeof rec['stream'] !== 'string' || !isPlainObject(rec['data'])) throw new ConfigError(`the sample ${file}, line ${lineNo}: a RECORD message without a stream name or without a data object`, { file, line: lineNo });
      const ea = rec['emitted_at'];
      out.push({
        lineNo,
        stream: rec['stream'],
        namespace: typeof rec['namespace'] === 'string' ? rec['namespace'] : undefined,
        emittedAt: ea === undefined || ea === null || typeof ea === 'string' || typeof ea === 'boolean' || isPlainObject(ea) || Array.isArray(ea) ? '0' : stringifyLossless(ea),
        message: true,
        data: stringifyLossless(rec['data']),
        raw,
      });
    } else out.push({ lineNo, stream: typeof stream === 'string' ? stream : stream(), namespace: undefined, emittedAt: '0', message: false, data: raw, raw });
  }
  return out;
}

/** Run `host process`; returns the exit code. */
export async function processCommand(o: ProcessCommandOptions): Promise<number> {
  const masker = new Masker();
  const ref = await processorCommand({ ref: o.ref, packages: o.packages, varsFile: o.varsFile }, { logger: o.logger, resolve: o.resolve });
  // the sample is read before the processor starts: a bad sample is a usage error, not a processor one
  let defaultStream: string | undefined = o.stream;
  const sample = readSample(o.sample, () => defaultStream ?? 'sample');
  const child = new ProcessorChild(ref, { logger: o.logger, masker, killGraceMs: o.killGraceMs, heartbeatMs: o.heartbeatMs, startTimeoutMs: o.timeoutMs });
  let failure: HostError | undefined;
  child.whenFailed((e) => (failure = e));
  try {
    const info = await child.start();
    defaultStream ??= info.streams?.[0] ?? 'sample';
    for (const l of sample) if (!l.message) l.stream = defaultStream;
    const mode = o.errors ?? 'fail';
    let errors = 0;
    let outRecords = 0;
    const passed = new Set<string>();
    let nextId = 0;
    for (let k = 0; k < sample.length && !failure; ) {
      const first = sample[k]!;
      if (!appliesTo(info, { name: first.stream, display: first.namespace ? `${first.namespace}.${first.stream}` : first.stream })) {
        if (!passed.has(first.stream)) {
          passed.add(first.stream);
          o.err(`host: stream ${first.stream} is not one the processor applies to (${info.streams?.join(', ')}): its records pass unchanged\n`);
        }
        o.out(`${first.message ? first.raw : first.data}\n`);
        outRecords++;
        k++;
        continue;
      }
      // a run of lines of one stream, as one batch
      let end = k + 1;
      while (end < sample.length && end - k < BATCH_RECORDS && sample[end]!.stream === first.stream && sample[end]!.namespace === first.namespace) end++;
      const lines = sample.slice(k, end);
      k = end;
      const result = await new Promise<{ recs: string[]; from: number[] | undefined; errors: { index: number; message: string; where?: string }[] } | undefined>((resolve) => {
        child.whenFailed(() => resolve(undefined));
        child.setResultHandler((_b, recs, line, from, errs) => resolve({ recs: recs.map(([s, e]) => line.toString('utf8', s, e)), from, errors: errs }));
        child.send({
          id: ++nextId,
          stream: first.stream,
          namespace: first.namespace,
          key: first.stream,
          display: first.stream,
          records: lines.map((l) => Buffer.from(l.data)),
          emitted: lines.map((l) => l.emittedAt),
          bytes: 0,
          first: lines[0]!.lineNo,
          sent: false,
          sentAt: 0,
          output: undefined,
          done: false,
        });
      });
      if (!result) break;
      for (let j = 0; j < result.recs.length; j++) {
        const src = lines[result.from ? result.from[j]! : Math.min(j, lines.length - 1)]!;
        const data = result.recs[j]!;
        o.out(src.message ? `{"type":"RECORD","record":{"stream":${JSON.stringify(src.stream)}${src.namespace !== undefined ? `,"namespace":${JSON.stringify(src.namespace)}` : ''},"emitted_at":${src.emittedAt},"data":${data}}}\n` : `${data}\n`);
        outRecords++;
      }
      for (const er of result.errors) {
        errors++;
        const where = er.where ? ` (${er.where})` : '';
        const at = er.index < 0 ? `lines ${lines[0]!.lineNo}-${lines[lines.length - 1]!.lineNo} (the batch function raised)` : `line ${lines[er.index]!.lineNo}`;
        o.err(`host: ${o.sample} ${at}, stream ${first.stream}: ${er.message}${where}\n`);
      }
    }
    if (failure) throw failure;
    await child.end();
    if (failure) throw failure;
    o.err(`host: processed ${sample.length} record${sample.length === 1 ? '' : 's'} of ${o.sample}: ${outRecords} out, ${errors} error${errors === 1 ? '' : 's'}${errors && mode === 'skip' ? ' (skipped: --processor-errors skip)' : ''}\n`);
    return errors && mode === 'fail' ? EXIT.PROTOCOL : EXIT.OK;
  } finally {
    await child.stop();
  }
}
