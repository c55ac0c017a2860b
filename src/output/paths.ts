// Stream (namespace, name) -> a file under the output directory. Names are made
// safe so that no path leaves the directory; two streams that would share a
// file (after that, or differing only in case) are refused.

import { ConfigError } from '../errors.js';

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

/** Paths for every stream; throws when two streams would land in the same file. */
export function assignPaths<T extends { name: string; namespace: string | undefined; display: string }>(streams: T[]): Map<T, string> {
  const out = new Map<T, string>();
  const seen = new Map<string, T>();
  for (const s of streams) {
    const p = streamFilePath(s.name, s.namespace);
    const folded = p.toLowerCase();
    const other = seen.get(folded);
    if (other) {
      throw new ConfigError(
        `streams "${other.display}" and "${s.display}" would both be written to ${p} (names are made filesystem-safe and compared without case); rename one, or select only one with --streams`,
      );
    }
    seen.set(folded, s);
    out.set(s, p);
  }
  return out;
}
