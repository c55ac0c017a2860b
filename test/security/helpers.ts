// Helpers of the hostile-input tests: the fixtures of fixtures/connectors/hostile and their reports.

import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { FIX } from '../helpers.js';

export const hostile = (name: string) => join(FIX, 'hostile', `${name}.mjs`);

export interface Report {
  command: string;
  env: Record<string, string>;
  protoKeys: string[];
  config: string | null;
  catalog: string | null;
  state: string | null;
}

/** The report lines `report.mjs --report F` appended to F, one per start. */
export function reports(file: string): Report[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Report);
}

/** argv of the report fixture (after `--`). */
export const reporter = (report: string, ...knobs: string[]) => [process.execPath, hostile('report'), '--report', report, ...knobs];

/** Write a file of raw text (JSON written by hand keeps `__proto__` an own key). */
export function put(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/**
 * A module that, when a Node connector runs it through NODE_OPTIONS=--require, leaves a marker
 * file: the proof that a polluted environment reached the connector.
 */
export function evilModule(dir: string): { module: string; marker: string } {
  const marker = join(dir, 'evil-ran');
  const module = put(dir, 'evil.cjs', `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'ran');\n`);
  return { module, marker };
}
