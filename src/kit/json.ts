// JSON for the kit: integers beyond 2^53 survive in both directions.
// In:  integers outside the safe range become BigInt; decimals a double cannot hold (more than 15
//      significant digits, or out of range) become a LosslessNumber keeping their text.
// Out: BigInt and LosslessNumber are written as bare numbers with their exact digits.

import { parseLossless, stringifyLossless, LosslessNumber as BaseLosslessNumber, defineOwn, type LosslessValue } from '../json/lossless.js';

let nativeStringify = false;
const FALLBACK = Symbol('fallback');

/** A number kept as its source text (`raw`); arithmetic through valueOf(), written back verbatim by the kit. */
export class LosslessNumber extends BaseLosslessNumber {
  override toJSON(): number {
    // inside the kit's fast path: give up on JSON.stringify so the lossless serialiser writes `raw`
    if (nativeStringify) throw FALLBACK;
    return Number(this.raw);
  }
}

// the project's own LosslessNumber (from code that used parseLossless directly) gets the same
// treatment; outside stringifyJson it behaves exactly as before
const baseToJSON = BaseLosslessNumber.prototype.toJSON;
BaseLosslessNumber.prototype.toJSON = function (this: BaseLosslessNumber): number {
  if (nativeStringify) throw FALLBACK;
  return baseToJSON.call(this);
};

/** A value as the kit hands it to author code: plain JSON plus BigInt and LosslessNumber. */
export type KitJson = null | boolean | number | bigint | string | BaseLosslessNumber | KitJson[] | { [key: string]: KitJson };

// a line without 16 digits (and dots) in a row or an exponent holds only numbers a double keeps exactly
const RISKY = /[\d.]{16,}|\d[eE][+-]?\d/;
const INTEGER = /^-?\d+$/;

function significantDigits(raw: string): number {
  const mantissa = raw.replace(/^-/, '').replace(/[eE].*$/, '').replace('.', '');
  return mantissa.replace(/^0+/, '').replace(/0+$/, '').length;
}

function fromLossless(v: LosslessValue): KitJson {
  if (v instanceof BaseLosslessNumber) {
    const raw = v.raw;
    const n = Number(raw);
    if (INTEGER.test(raw)) return Number.isSafeInteger(n) ? n : BigInt(raw);
    return Number.isFinite(n) && significantDigits(raw) <= 15 ? n : new LosslessNumber(raw);
  }
  if (Array.isArray(v)) return v.map(fromLossless);
  if (v !== null && typeof v === 'object') {
    const o: Record<string, KitJson> = {};
    for (const k of Object.keys(v)) defineOwn(o, k, fromLossless(v[k]!));
    return o;
  }
  return v;
}

/** Parse JSON text (a line, a file) the kit's way. Throws SyntaxError. */
export function parseJson(text: string): KitJson {
  if (!RISKY.test(text)) return JSON.parse(text) as KitJson;
  try {
    return fromLossless(parseLossless(text));
  } catch (e) {
    throw new SyntaxError((e as Error).message);
  }
}

/** Serialise to one line of JSON; BigInt and LosslessNumber keep their digits. */
export function stringifyJson(value: unknown): string {
  nativeStringify = true;
  try {
    const s = JSON.stringify(value);
    nativeStringify = false;
    return s ?? 'null';
  } catch (e) {
    nativeStringify = false;
    // BigInt ("Do not know how to serialize a BigInt") or a LosslessNumber: the exact path
    if (e === FALLBACK || (e instanceof TypeError && /BigInt/i.test(e.message))) return stringifyLossless(value);
    throw e;
  }
}
