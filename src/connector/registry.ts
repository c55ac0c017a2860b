// A registry file names connectors: `host read faker --config c.json` instead of
// `host read pypi:airbyte-source-faker==6.2.0 ...`. Each entry records the
// reference, the protocol, a pinned version, default config, and which config
// fields come from environment variables. JSON or YAML.

import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, dirname, resolve as resolvePath, isAbsolute } from 'node:path';
import { ConfigError } from '../errors.js';
import { isPlainObject, setPath, defineOwn, LosslessNumber, type LosslessValue } from '../json/lossless.js';
import { parseConfigFile } from '../config/formats.js';

export interface RegistryEntry {
  name: string;
  /** pypi:…, npm:…, git:…, docker:…, manifest:…, a path, or an argv array */
  ref: string | string[];
  protocol: 'native' | 'singer';
  version?: string | undefined;
  python?: string | undefined;
  /** default config, under the user's --config files */
  config?: Record<string, LosslessValue> | undefined;
  /** config field path (dotted) -> environment variable that supplies it */
  env?: Record<string, string> | undefined;
  description?: string | undefined;
}

export interface Registry {
  file: string | undefined;
  entries: Map<string, RegistryEntry>;
}

/** `--registry`, else $CONNECTOR_HOST_REGISTRY, else the first of ./connectors.{yaml,yml,json}, then the user's config folder. */
export function registryPath(explicit?: string): string | undefined {
  if (explicit) return explicit;
  if (process.env['CONNECTOR_HOST_REGISTRY']) return process.env['CONNECTOR_HOST_REGISTRY'];
  const configHome = process.env['XDG_CONFIG_HOME'] || join(homedir(), '.config');
  const candidates = ['connectors.yaml', 'connectors.yml', 'connectors.json'].map((f) => resolvePath(f));
  candidates.push(...['registry.yaml', 'registry.yml', 'registry.json'].map((f) => join(configHome, 'connector-host', f)));
  return candidates.find((c) => existsSync(c));
}

// The config file parser: lossless numbers, `__proto__` kept as data, and syntax errors that name
// line and column but never quote the file (a registry holds default config, maybe secrets).
function parseFile(file: string): LosslessValue {
  return parseConfigFile(file, 'registry').raw;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function loadRegistry(explicit?: string): Registry {
  const file = registryPath(explicit);
  const entries = new Map<string, RegistryEntry>();
  if (!file) return { file: undefined, entries };
  if (!existsSync(file)) throw new ConfigError(`no registry file at ${file}`, { file });
  const doc = parseFile(file);
  const list = isPlainObject(doc) ? doc['connectors'] : undefined;
  if (!isPlainObject(list)) throw new ConfigError(`the registry file ${file} needs a "connectors" object (name -> entry)`, { file });
  for (const [name, raw] of Object.entries(list)) {
    const where = `${file}: connectors.${name}`;
    if (!NAME.test(name)) throw new ConfigError(`${where}: a connector name may hold letters, digits, '.', '_' and '-'`, { file });
    if (!isPlainObject(raw)) throw new ConfigError(`${where} must be an object`, { file });
    const ref = raw['ref'];
    if (!(typeof ref === 'string' || (Array.isArray(ref) && ref.every((x) => typeof x === 'string')))) throw new ConfigError(`${where}.ref must be a reference string or an argv array`, { file });
    const protocol = raw['protocol'] ?? 'native';
    if (protocol !== 'native' && protocol !== 'singer') throw new ConfigError(`${where}.protocol must be "native" or "singer"`, { file });
    const env = raw['env'];
    if (env !== undefined && !(isPlainObject(env) && Object.values(env).every((x) => typeof x === 'string'))) throw new ConfigError(`${where}.env maps config fields to environment variable names`, { file });
    const config = raw['config'];
    if (config !== undefined && !isPlainObject(config)) throw new ConfigError(`${where}.config must be an object`, { file });
    let refValue = ref as string | string[];
    // a relative path in the registry is relative to the registry file
    // (also `sources.py:MyCustomSource`, a kit file with an object named in it)
    if (typeof refValue === 'string' && (refValue.startsWith('./') || refValue.startsWith('../') || /^[^/:]+\.(py|mjs|js|ts|mts):[^/]*$/i.test(refValue))) refValue = resolvePath(dirname(file), refValue);
    const version = raw['version'] === undefined ? undefined : String(raw['version']);
    if (version && typeof refValue === 'string' && /^(pypi|npm):/.test(refValue) && !/(==|@)[^/]*$/.test(refValue.replace(/^npm:@/, 'npm:'))) {
      refValue = refValue.startsWith('pypi:') ? `${refValue}==${version}` : `${refValue}@${version}`;
    }
    entries.set(name, {
      name,
      ref: refValue,
      protocol,
      version,
      python: typeof raw['python'] === 'string' ? raw['python'] : undefined,
      config: config as Record<string, LosslessValue> | undefined,
      env: env as Record<string, string> | undefined,
      description: typeof raw['description'] === 'string' ? raw['description'] : undefined,
    });
  }
  return { file, entries };
}

/** The config a registry entry contributes: its defaults, then the fields it takes from the environment. */
export function registryConfig(entry: RegistryEntry, env: NodeJS.ProcessEnv = process.env): Record<string, LosslessValue> {
  const out = structuredCloneLossless(entry.config ?? {});
  for (const [field, variable] of Object.entries(entry.env ?? {})) {
    const value = Object.hasOwn(env, variable) ? env[variable] : undefined; // not `__proto__` or `constructor` of Object.prototype
    if (value === undefined) throw new ConfigError(`connector "${entry.name}" takes config field ${field} from the environment variable ${variable}, which is not set`);
    setPath(out, field.split('.'), value);
  }
  return out;
}

function structuredCloneLossless<T extends LosslessValue>(v: T): T {
  if (v instanceof LosslessNumber) return new LosslessNumber(v.raw) as T;
  if (Array.isArray(v)) return v.map((x) => structuredCloneLossless(x)) as T;
  if (isPlainObject(v)) {
    const o: Record<string, LosslessValue> = {};
    for (const [k, x] of Object.entries(v)) defineOwn(o, k, structuredCloneLossless(x as LosslessValue));
    return o as T;
  }
  return v;
}

export function isRegistryName(ref: string): boolean {
  return NAME.test(ref) && !ref.includes('/') && !isAbsolute(ref) && !existsSync(ref);
}
