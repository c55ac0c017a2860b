// Where author code failed: the first stack frame outside the kit and Node's internals,
// as "file.mjs:12 in fnName" (tsx maps .ts frames back to the source).

import { fileURLToPath } from 'node:url';
import { dirname, basename, sep } from 'node:path';

const KIT_DIR = dirname(fileURLToPath(import.meta.url)) + sep;

export interface Frame {
  file: string;
  line: number;
  column: number;
  fn: string | undefined;
}

// "    at fn (file:///x.mjs:1:2)", "    at async fn (/x.mjs:1:2)", "    at file:///x.mjs:1:2"
const FRAME = /^\s*at (?:async )?(?:(.*?) \()?((?:file:\/\/|\/|[A-Za-z]:\\).*?):(\d+):(\d+)\)?$/;

function toPath(f: string): string {
  if (!f.startsWith('file://')) return f;
  try {
    return fileURLToPath(f);
  } catch {
    return f;
  }
}

/** The author's frames of an error's stack (outside the kit, node_modules and node: internals). */
export function authorFrames(err: unknown): Frame[] {
  const stack = err instanceof Error && typeof err.stack === 'string' ? err.stack : '';
  const frames: Frame[] = [];
  for (const line of stack.split('\n')) {
    const m = FRAME.exec(line);
    if (!m) continue;
    const file = toPath(m[2]!);
    if (file.startsWith(KIT_DIR) || file.includes(`${sep}node_modules${sep}`) || file.startsWith('node:')) continue;
    let fn: string | undefined = m[1]?.replace(/^(?:Object|Generator|AsyncGenerator)\./, '').replace(/^new /, '');
    if (fn === '<anonymous>' || fn === '') fn = undefined;
    frames.push({ file, line: Number(m[3]), column: Number(m[4]), fn });
  }
  // a syntax error in the author's module: "file:///x.mjs:3" on the first line of the stack
  if (frames.length === 0) {
    const first = /^((?:file:\/\/|\/).*?):(\d+)$/m.exec(stack);
    if (first) frames.push({ file: toPath(first[1]!), line: Number(first[2]), column: 0, fn: undefined });
  }
  return frames;
}

export function formatFrame(f: Frame): string {
  return `${basename(f.file)}:${f.line}${f.fn ? ` in ${f.fn}` : ''}`;
}

/** "file.mjs:12 in fn" for the author's innermost frame, or undefined. */
export function authorWhere(err: unknown): string | undefined {
  const f = authorFrames(err)[0];
  return f ? formatFrame(f) : undefined;
}

/** The author's frames as a short stack ("at fn (file:line)" lines), never the kit's or Node's. */
export function authorStack(err: unknown): string {
  return authorFrames(err)
    .map((f) => `at ${f.fn ?? '<module>'} (${f.file}:${f.line}:${f.column})`)
    .join('\n');
}

/**
 * Where a function is defined ("file.mjs:7"), through the inspector's [[FunctionLocation]]: for
 * errors without an author frame (a generator yielded a non-record). Undefined when unavailable.
 */
export async function functionLocation(fn: unknown): Promise<string | undefined> {
  if (typeof fn !== 'function') return undefined;
  try {
    const { Session } = await import('node:inspector');
    const session = new Session();
    session.connect();
    const post = (method: string, params: object = {}) =>
      new Promise<any>((resolve, reject) => session.post(method, params, (err: Error | null, res: unknown) => (err ? reject(err) : resolve(res))));
    const urls = new Map<string, string>();
    session.on('Debugger.scriptParsed', (m: { params: { scriptId: string; url: string } }) => urls.set(m.params.scriptId, m.params.url));
    try {
      await post('Debugger.enable');
      const key = `__connectorHostKitFn${process.pid}`;
      (globalThis as Record<string, unknown>)[key] = fn;
      const ev = await post('Runtime.evaluate', { expression: `globalThis.${key}` });
      delete (globalThis as Record<string, unknown>)[key];
      const props = await post('Runtime.getProperties', { objectId: ev.result.objectId });
      const loc = (props.internalProperties ?? []).find((p: { name: string }) => p.name === '[[FunctionLocation]]')?.value?.value;
      if (!loc) return undefined;
      const url = urls.get(loc.scriptId);
      if (!url) return undefined;
      return `${basename(toPath(url))}:${loc.lineNumber + 1}`;
    } finally {
      session.disconnect();
    }
  } catch {
    return undefined;
  }
}
