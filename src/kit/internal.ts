// State shared by the public API (index.ts) and the runners, not part of the author's API.

import { output } from './output.js';
import { stringifyJson } from './json.js';

export type Level = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'FATAL';

const LEVELS = new Set<string>(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL']);

/** Replaces secret values (from the config fields the spec marks airbyte_secret) in text the kit writes. */
export const kitState: { mask: (s: string) => string } = { mask: (s) => s };

export function writeLog(message: unknown, level: string = 'INFO'): void {
  const lv = typeof level === 'string' && LEVELS.has(level.toUpperCase()) ? level.toUpperCase() : 'INFO';
  const text = typeof message === 'string' ? message : message instanceof Error ? `${message.name}: ${message.message}` : safeText(message);
  void output.line(JSON.stringify({ type: 'LOG', log: { level: lv, message: kitState.mask(text) } }));
}

function safeText(v: unknown): string {
  try {
    return typeof v === 'object' && v !== null ? stringifyJson(v) : String(v);
  } catch {
    return String(v);
  }
}

/** Collect the values of the config fields a JSON Schema marks airbyte_secret (nested objects too). */
export function secretValues(schema: unknown, config: unknown, into: string[] = []): string[] {
  if (!schema || typeof schema !== 'object' || !config || typeof config !== 'object') return into;
  const props = (schema as { properties?: unknown }).properties;
  if (!props || typeof props !== 'object') return into;
  for (const [k, sub] of Object.entries(props as Record<string, unknown>)) {
    if (!Object.hasOwn(config, k)) continue;
    const v = (config as Record<string, unknown>)[k];
    if (sub && typeof sub === 'object' && ((sub as Record<string, unknown>)['airbyte_secret'] === true || (sub as Record<string, unknown>)['x-secret'] === true)) {
      if (typeof v === 'string' && v.length >= 3) into.push(v);
      else if (typeof v === 'number' || typeof v === 'bigint') into.push(String(v));
    } else secretValues(sub, v, into);
  }
  return into;
}

export function setSecrets(values: string[]): void {
  const list = [...new Set(values.filter((v) => v.length >= 3))].sort((a, b) => b.length - a.length);
  kitState.mask = list.length === 0 ? (s) => s : (s) => list.reduce((acc, v) => acc.split(v).join('***'), s);
}
