// Validation of numeric command-line options (host and the shims): a value that is not a
// finite number in the option's range is a usage error naming the option and the value, never
// a silent default (NaN once removed the line limit) nor a value Node clamps (a timer beyond
// 2^31-1 ms fires after 1 ms).

import { constants } from 'node:buffer';
import { UsageError } from '../errors.js';

/** The longest delay a Node timer honours (beyond it, setTimeout fires after 1 ms). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface NumberRule {
  /** Smallest value allowed. */
  min: number;
  /** Whether `min` itself is allowed (e.g. 0 for "every state"). */
  minInclusive?: boolean;
  max: number;
  integer?: boolean;
  /** What to give, for the message: "seconds", "a whole number of bytes". */
  unit: string;
}

/** Seconds that become a timer: > 0 (or >= 0) and at most 2^31-1 ms. */
export const seconds = (allowZero = false): NumberRule => ({ min: 0, minInclusive: allowZero, max: MAX_TIMER_MS / 1000, unit: 'seconds' });

/** Parse and check one option value (the text given, or the default). */
export function checkNumber(option: string, raw: unknown, rule: NumberRule): number {
  // a repeated option: the last one wins, as for the other options
  const given = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  const text = String(given).trim();
  const n = typeof given === 'number' ? given : text === '' ? NaN : Number(text);
  const shown = JSON.stringify(String(given)).slice(0, 60);
  const range = `${rule.minInclusive ? 'at least' : 'more than'} ${rule.min} and at most ${rule.max}`;
  const bad = (why: string) => new UsageError(`--${option} ${shown}: ${why}; give ${rule.unit} ${range}`);
  if (!Number.isFinite(n)) throw bad(Number.isNaN(n) ? 'not a number' : 'not a finite number');
  if (rule.integer && !Number.isInteger(n)) throw bad('not a whole number');
  if (n < rule.min || (n === rule.min && !rule.minInclusive) || n > rule.max) throw bad('out of range');
  return n;
}

/** A yargs option of this rule: the text is kept as given (so the error can quote it) and checked. */
export function numberOption(option: string, rule: NumberRule, o: { default?: number; describe: string }): { type: 'string'; requiresArg: true; default?: number; describe: string; coerce: (v: unknown) => number } {
  return { type: 'string', requiresArg: true, ...o, coerce: (v: unknown) => checkNumber(option, v, rule) };
}

/** Longest line accepted: a Buffer must be able to hold it. */
export const LINE_BYTES: NumberRule = { min: 1, minInclusive: true, max: constants.MAX_LENGTH, integer: true, unit: 'a whole number of bytes' };
