// Helpers for the README tests: its sections, its quick-start shell blocks, `host` on PATH.

import { mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes. */
export const anchor = (t: string) => t.toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-');

/** The contents list (text#anchor) and the sections after it. */
export function readmeContents(readme: string): { listed: string[]; actual: string[] } {
  const start = readme.indexOf('## Contents\n');
  const end = readme.indexOf('\n## ', start + 1);
  const listed = [...readme.slice(start, end).matchAll(/^\s*- \[(.+)\]\(#(.+)\)$/gm)].map((m) => `${m[1]}#${m[2]}`);
  const body = readme.slice(readme.indexOf('\n## ', readme.indexOf('# connector-host')));
  const actual = [...body.replace(/```[\s\S]*?```/g, '').matchAll(/^#{2,3} (.+)$/gm)].map((m) => m[1]!).filter((t) => t !== 'Contents').map((t) => `${t}#${anchor(t)}`);
  return { listed, actual };
}

/** The ```sh blocks of the Quick start section. */
export function quickstartBlocks(readme: string): string[] {
  const start = readme.indexOf('## Quick start\n');
  const end = readme.indexOf('\n## ', start + 1);
  return [...readme.slice(start, end).matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** A PATH whose first folder has a `host` that runs this checkout's CLI (what `npm link` gives). */
export function shimHostOnPath(dir: string, hostJs: string): string {
  const bin = join(dir, '.bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'host'), `#!/bin/sh\nexec "${process.execPath}" "${hostJs}" "$@"\n`);
  chmodSync(join(bin, 'host'), 0o755);
  return `${bin}:${process.env['PATH'] ?? ''}`;
}
