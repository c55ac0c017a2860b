// Stream (namespace, name) -> a file under the output directory. Names are made
// safe so that no path leaves the directory; two streams that would share a
// file (after that, or differing only in case), a stream file that would be another
// stream's folder, and a folder that would be the state file or the manifest are refused.
// checkOutputTree() then looks at what is on disk, before anything is read or written.

import { lstatSync, statSync, readlinkSync, accessSync, mkdirSync, constants, type Stats } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, StateError } from '../errors.js';

const UNSAFE = /[/\\\x00-\x1f\x7f:*?"<>|]/g;

export function safeSegment(s: string): string {
  let r = s.normalize('NFC').replace(UNSAFE, '_');
  if (r === '' || r === '.' || r === '..') r = `_${r}`;
  if (r.startsWith('.')) r = `_${r.slice(1)}`;
  // keep well under the 255-byte name limit of most filesystems
  while (Buffer.byteLength(r) > 200) r = r.slice(0, -1);
  return r;
}

export function streamFilePath(name: string, namespace: string | undefined): string {
  const file = `${safeSegment(name)}.jsonl`;
  return namespace ? `${safeSegment(namespace)}/${file}` : file;
}

/**
 * Paths for every stream; throws when two streams would land in the same file, or one's file
 * is another's folder. `reserved`: other files the output directory holds (manifest.json, the
 * state file), which no namespace folder may take.
 */
export function assignPaths<T extends { name: string; namespace: string | undefined; display: string }>(streams: T[], reserved: string[] = []): Map<T, string> {
  const out = new Map<T, string>();
  const seen = new Map<string, T>();
  const folders = new Map<string, T>();
  const taken = new Set(reserved.map((r) => r.toLowerCase()));
  const refuse = (why: string) => {
    throw new ConfigError(`${why} (names are made filesystem-safe and compared without case); rename one, or select only one with --streams`);
  };
  for (const s of streams) {
    const p = streamFilePath(s.name, s.namespace);
    const folded = p.toLowerCase();
    const other = seen.get(folded) ?? folders.get(folded);
    if (other) refuse(seen.has(folded) ? `streams "${other.display}" and "${s.display}" would both be written to ${p}` : `stream "${s.display}" would be written to ${p}, which is the folder of stream "${other.display}"`);
    const slash = folded.indexOf('/');
    if (slash > 0) {
      const folder = folded.slice(0, slash);
      const owner = seen.get(folder);
      if (owner) refuse(`stream "${s.display}" needs the folder ${p.slice(0, slash)}, which is the file of stream "${owner.display}"`);
      if (taken.has(folder)) refuse(`stream "${s.display}" needs the folder ${p.slice(0, slash)}, which is the host's own ${p.slice(0, slash)} in the output directory`);
      if (!folders.has(folder)) folders.set(folder, s);
    }
    seen.set(folded, s);
    out.set(s, p);
  }
  return out;
}

function lstatOrUndefined(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ENOTDIR') return undefined; // a file on the way: reported for that component
    throw new StateError(`cannot look at ${p}: ${(e as Error).message}`, { file: p }, 'OUTPUT_WRITE');
  }
}

function what(st: Stats): string {
  return st.isDirectory() ? 'a folder' : st.isSymbolicLink() ? 'a symbolic link' : st.isFile() ? 'a file' : 'a special file';
}

/** `--out DIR`: create it, or refuse what is not a writable folder. */
export function ensureOutDir(dir: string): void {
  const st = lstatOrUndefined(dir);
  if (st && !statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new ConfigError(`--out ${dir} is ${st.isSymbolicLink() ? 'a symbolic link to something that is not a folder' : what(st)}, not a folder; name a folder (it is created if missing)`, { file: dir });
  }
  try {
    if (!st) mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOTDIR' || code === 'EEXIST' ? 'a part of the path is a file, not a folder' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EROFS' ? 'read-only filesystem' : (e as Error).message;
    throw new StateError(`cannot write to the output folder ${dir}: ${why}`, { file: dir }, 'OUTPUT_WRITE');
  }
}

/**
 * Every output file (path relative to `dir`) must be a regular file or absent, and every
 * folder on its way a folder or absent: a symbolic link would make the host write outside the
 * output directory (or create a file wherever a dangling one points), and a folder or a file
 * in the wrong place would fail half-way through a run. `owner(rel)` names what needs the path.
 */
export function checkOutputTree(dir: string, rels: Iterable<string>, owner: (rel: string) => string): void {
  const checked = new Set<string>();
  for (const rel of rels) {
    const parts = rel.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const sub = parts.slice(0, i).join('/');
      if (checked.has(sub)) continue;
      checked.add(sub);
      const abs = join(dir, sub);
      const st = lstatOrUndefined(abs);
      if (!st) break; // created when needed, with what lies under it
      const last = i === parts.length;
      if (!last && !st.isDirectory()) {
        if (st.isSymbolicLink() && statSync(abs, { throwIfNoEntry: false })?.isDirectory()) continue; // a folder linked elsewhere on purpose
        throw new StateError(`${abs} is ${what(st)}, but ${owner(rel)} needs it as a folder; move it away`, { file: abs }, 'OUTPUT_WRITE');
      }
      if (last && !st.isFile()) {
        const extra = st.isSymbolicLink() ? ` (to ${readlinkSync(abs)}${statSync(abs, { throwIfNoEntry: false }) ? '' : ', which does not exist'}); the host writes only regular files inside the output folder` : '';
        throw new StateError(`${abs} is ${what(st)}${extra}, but ${owner(rel)} needs it as a regular file; move it away`, { file: abs }, 'OUTPUT_WRITE');
      }
    }
  }
}
