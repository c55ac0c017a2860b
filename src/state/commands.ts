// `host state show|set|clear|import` as a library: look at a state file, change it
// through the same locked, atomic commit as a run, bring state over from Meltano,
// Airbyte or a Singer tap, and undo a change from the history.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError, StateError, HostError } from '../errors.js';
import { parseJsonFile } from '../config/config.js';
import { isPlainObject, parseLossless, stringifyLossless, toPlain, JsonSyntaxError, LosslessNumber, defineOwn, type LosslessValue } from '../json/lossless.js';
import { getValidator, formatAjvErrors } from '../protocol/schemas.js';
import { acquireLock } from './lock.js';
import { PrivateDir } from '../io/temp-dir.js';
import { readStateFile, writeStateFile, serialiseState, emptyState, streamKey, displayStream, kindOf, isEmptyState, HOST_STATE_MARKER, type StoredState, type StateKind, type FileEntry } from './state.js';
import { recordHistory, historyEntry, listHistory, type HistoryEntry } from './history.js';

type Obj = Record<string, LosslessValue>;
interface Descriptor {
  name: string;
  namespace?: string | undefined;
}

/** `--state FILE` wins; else `--out DIR` means DIR/state.json. */
export function stateFileOf(o: { state?: string | undefined; out?: string | undefined }): string {
  if (o.state) return o.state;
  if (o.out) return join(o.out, 'state.json');
  throw new UsageError('name the state: --state FILE, or --out DIR for DIR/state.json');
}

// ---------------------------------------------------------------------------------------------
// Reading the shapes of a state

function descriptorOf(v: LosslessValue | undefined): Descriptor | undefined {
  if (!isPlainObject(v) || typeof v['name'] !== 'string') return undefined;
  return typeof v['namespace'] === 'string' ? { name: v['name'], namespace: v['namespace'] } : { name: v['name'] };
}

function descriptorJson(d: Descriptor): Obj {
  return d.namespace ? { name: d.name, namespace: d.namespace } : { name: d.name };
}

const sameStream = (a: Descriptor, b: Descriptor) => streamKey(a.name, a.namespace) === streamKey(b.name, b.namespace);

/** The per-stream entries a state holds: STREAM messages, or GLOBAL's stream_states. */
function streamEntries(s: StoredState): { d: Descriptor; entry: Obj }[] {
  const out: { d: Descriptor; entry: Obj }[] = [];
  if (s.kind === 'STREAM') {
    for (const m of s.states) {
      const entry = m['stream'];
      const d = isPlainObject(entry) ? descriptorOf(entry['stream_descriptor']) : undefined;
      if (d) out.push({ d, entry: entry as Obj });
    }
  } else if (s.kind === 'GLOBAL') {
    for (const e of globalOf(s)?.['stream_states'] as LosslessValue[] | undefined ?? []) {
      const d = isPlainObject(e) ? descriptorOf(e['stream_descriptor']) : undefined;
      if (d) out.push({ d, entry: e as Obj });
    }
  }
  return out;
}

function globalOf(s: StoredState): Obj | undefined {
  const g = s.kind === 'GLOBAL' ? s.states[0]?.['global'] : undefined;
  return isPlainObject(g) ? (g as Obj) : undefined;
}

function legacyOf(s: StoredState): Obj | undefined {
  const d = s.kind === 'LEGACY' ? s.states[s.states.length - 1]?.['data'] : undefined;
  return isPlainObject(d) ? (d as Obj) : undefined;
}

/** In a LEGACY blob, streams live under `bookmarks` (Singer) when it has one, else at the top. */
function legacyContainer(blob: Obj): Obj {
  return isPlainObject(blob['bookmarks']) ? (blob['bookmarks'] as Obj) : blob;
}

function filesByStream(s: StoredState): { d: Descriptor; files: Record<string, FileEntry> }[] {
  // (a Map: a state of 30,000 streams is looked at in linear time)
  const out = new Map<string, { d: Descriptor; files: Record<string, FileEntry> }>();
  for (const [path, e] of Object.entries(s.files)) {
    const k = streamKey(e.stream.name, e.stream.namespace);
    let g = out.get(k);
    if (!g) out.set(k, (g = { d: { name: e.stream.name, namespace: e.stream.namespace }, files: {} }));
    g.files[path] = e;
  }
  return [...out.values()];
}

/**
 * `ns.name` or `name`: a stream the state knows by that display name, else one with that
 * name in any namespace (refused when there are several), else a new descriptor.
 */
function matchStream(arg: string, known: Descriptor[]): Descriptor {
  const exact = known.find((d) => displayStream(d.name, d.namespace) === arg);
  if (exact) return exact;
  const byName = known.filter((d) => d.name === arg);
  if (byName.length === 1) return byName[0]!;
  if (byName.length > 1) throw new UsageError(`--stream ${arg} is ambiguous: ${byName.map((d) => displayStream(d.name, d.namespace)).join(', ')}; name it as namespace.name`);
  const dot = arg.indexOf('.');
  return dot > 0 ? { name: arg.slice(dot + 1), namespace: arg.slice(0, dot) } : { name: arg };
}

function knownStreams(s: StoredState): Descriptor[] {
  const all = new Map<string, Descriptor>();
  for (const d of [...streamEntries(s).map((x) => x.d), ...filesByStream(s).map((x) => x.d)]) {
    const k = streamKey(d.name, d.namespace);
    if (!all.has(k)) all.set(k, d);
  }
  return [...all.values()];
}

// ---------------------------------------------------------------------------------------------
// show

export interface StreamView {
  stream: string;
  name: string;
  namespace?: string | undefined;
  /** The stream's state (STREAM: stream_state; GLOBAL: its stream_states entry; LEGACY: its entry in the blob, if any). */
  state?: LosslessValue | undefined;
  files: Record<string, FileEntry>;
}

export interface StateView {
  file: string;
  exists: boolean;
  kind: StateKind | null;
  committed_at?: string | undefined;
  /** GLOBAL: the shared state. */
  shared_state?: LosslessValue | undefined;
  /** LEGACY: the whole blob. */
  legacy?: LosslessValue | undefined;
  streams: StreamView[];
}

export function showState(file: string, o: { stream?: string | undefined } = {}): StateView {
  const s = readStateFile(file);
  if (!s) return { file, exists: false, kind: null, streams: [] };
  const key = (d: Descriptor) => streamKey(d.name, d.namespace);
  const entries = new Map(streamEntries(s).map((e) => [key(e.d), e.entry]));
  const blob = legacyOf(s);
  const files = new Map(filesByStream(s).map((f) => [key(f.d), f.files]));
  let streams: StreamView[] = knownStreams(s).map((d) => {
    let state: LosslessValue | undefined = entries.get(key(d))?.['stream_state'];
    if (blob && !d.namespace) state = legacyContainer(blob)[d.name];
    return { stream: displayStream(d.name, d.namespace), name: d.name, ...(d.namespace ? { namespace: d.namespace } : {}), state, files: files.get(key(d)) ?? {} };
  });
  if (o.stream !== undefined) {
    const want = matchStream(o.stream, knownStreams(s));
    streams = streams.filter((v) => sameStream(v, want));
    if (streams.length === 0 && blob && !want.namespace && legacyContainer(blob)[want.name] !== undefined) {
      streams = [{ stream: want.name, name: want.name, state: legacyContainer(blob)[want.name], files: {} }];
    }
  }
  return {
    file,
    exists: true,
    kind: s.kind,
    committed_at: s.committed_at,
    ...(s.kind === 'GLOBAL' ? { shared_state: globalOf(s)?.['shared_state'] ?? null } : {}),
    ...(s.kind === 'LEGACY' && o.stream === undefined ? { legacy: blob ?? null } : {}),
    streams,
  };
}

const pretty = (v: LosslessValue | undefined, indent: string) => (v === undefined ? 'none' : stringifyLossless(v, 2).replace(/\n/g, `\n${indent}`));

export function formatStateView(v: StateView, o: { stream?: string | undefined } = {}): string {
  if (!v.exists) return `no state yet: ${v.file} does not exist (a run with this state file creates it)\n`;
  const out = [`state file: ${v.file}`, `kind: ${v.kind ?? 'none (no state committed)'}${v.committed_at ? `, committed at ${v.committed_at}` : ''}`];
  if (v.shared_state !== undefined) out.push(`shared state: ${pretty(v.shared_state, '  ')}`);
  if (v.legacy !== undefined) out.push(`state (LEGACY, one blob for every stream): ${pretty(v.legacy, '  ')}`);
  if (o.stream !== undefined && v.streams.length === 0) out.push(`no state and no files for stream ${o.stream}`);
  for (const s of v.streams) {
    out.push('', s.stream, `  state: ${pretty(s.state, '  ')}`);
    const files = Object.entries(s.files);
    if (files.length === 0) out.push('  files: none');
    for (const [p, e] of files) out.push(`  file ${p}: ${e.bytes} bytes, ${e.records} records (${e.mode}${e.activate_version ? `, replacement of version ${e.activate_version}` : ''}${e.replace ? (p.endsWith('.partial') ? ', replacement after a cleared state' : ', replaced by the next run: its state was cleared') : ''})`);
  }
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// The locked, atomic change

export interface ChangeResult {
  file: string;
  changed: boolean;
  /** The history entry holding the state before the change. */
  history?: number | undefined;
  committed_at?: string | undefined;
  /** What the user should know about the change (printed on stderr by the CLI). */
  warnings?: string[] | undefined;
  notes?: string[] | undefined;
}

function validateStored(s: StoredState, what: string): void {
  const validate = getValidator('HostStateFile');
  if (!validate(JSON.parse(serialiseState(s, new Date().toISOString())))) {
    throw new UsageError(`${what} would not be a valid state:\n  ${formatAjvErrors(validate.errors, { maxErrors: 5 }).join('\n  ')}`);
  }
}

/**
 * readStateFile keeps only the file-entry fields a run needs; a change made by hand keeps
 * every field of every entry (sync modes, and what later versions add) as it was.
 */
function readWithRawFiles(file: string): StoredState | undefined {
  const s = readStateFile(file);
  if (!s) return s;
  let raw: LosslessValue;
  try {
    raw = parseLossless(readFileSync(file, 'utf8'));
  } catch {
    return s;
  }
  const rawFiles = isPlainObject(raw) && raw[HOST_STATE_MARKER] !== undefined && isPlainObject(raw['files']) ? (raw['files'] as Obj) : {};
  const files: Record<string, FileEntry> = {};
  for (const [k, e] of Object.entries(s.files)) files[k] = isPlainObject(rawFiles[k]) ? (toPlain(rawFiles[k]!) as FileEntry) : e;
  return { ...s, files };
}

/**
 * Lock, read, change, validate, record the history, commit atomically, unlock. `change` returns
 * undefined for "nothing to do". A stream whose state the change removes has its files marked
 * `replace` (see markCleared).
 */
export function changeState(file: string, reason: string, change: (s: StoredState) => StoredState | undefined, check?: (cur: StoredState, next: StoredState) => string[]): ChangeResult {
  const lock = acquireLock(file);
  try {
    const cur = readWithRawFiles(file) ?? emptyState();
    const changed = change(cur);
    if (!changed) return { file, changed: false };
    const { next, notes } = markCleared(cur, changed);
    const warnings = check?.(cur, next) ?? [];
    validateStored(next, reason.replace(/^before /, ''));
    const history = recordHistory(file, reason);
    const committed_at = writeStateFile(file, next);
    return { file, changed: true, history, committed_at, ...(warnings.length ? { warnings } : {}), ...(notes.length ? { notes } : {}) };
  } finally {
    lock.release();
  }
}

/** The state each stream has in `s`, if any (STREAM, GLOBAL: its entry; LEGACY: its key in the blob, else the whole blob). */
function statesOf(s: StoredState): (d: Descriptor) => LosslessValue | undefined {
  if (s.kind === 'LEGACY') {
    const blob = legacyOf(s);
    return (d) => {
      if (!blob) return undefined;
      const c = legacyContainer(blob);
      return !d.namespace && c[d.name] !== undefined ? c[d.name] : isEmptyState(blob) ? undefined : blob;
    };
  }
  const m = new Map(streamEntries(s).map((e) => [streamKey(e.d.name, e.d.namespace), e.entry['stream_state']]));
  return (d) => m.get(streamKey(d.name, d.namespace)) ?? undefined;
}

/**
 * A stream that had a state and has none after the change is read from the start by the next
 * run: its file is marked `replace` (the next run writes it anew and swaps it in when the stream
 * completes) so that its records are not appended a second time, and a copy of an
 * ACTIVATE_VERSION under way is dropped (the next run starts its version again).
 */
function markCleared(cur: StoredState, next: StoredState): { next: StoredState; notes: string[] } {
  const notes: string[] = [];
  let files: Record<string, FileEntry> | undefined;
  const [before, after] = [statesOf(cur), statesOf(next)];
  for (const g of filesByStream(next)) {
    if (before(g.d) === undefined || after(g.d) !== undefined) continue;
    for (const [p, e] of Object.entries(g.files)) {
      if (e.mode !== 'append' || p.endsWith('.partial')) continue;
      files ??= { ...next.files };
      if (!e.replace) notes.push(`${p} is replaced by the next run that reads ${displayStream(g.d.name, g.d.namespace)} (its ${e.records} records are not appended to again)`);
      defineOwn(files, p, { ...e, replace: true }); // (p is from the state file: `__proto__` stays data)
      delete files[`${p}.partial`];
    }
  }
  return { next: files ? { ...next, files } : next, notes };
}

const isNumber = (v: LosslessValue | undefined): boolean => typeof v === 'number' || v instanceof LosslessNumber;

/** Where `to` is behind `from` (a cursor set lower, a key dropped, a value of another kind): the first such place, or undefined when `to` is ahead or equal everywhere. */
export function rewound(from: LosslessValue | undefined, to: LosslessValue | undefined, path = ''): string | undefined {
  if (from === undefined || from === null) return undefined; // from the start: anything is ahead
  const at = (what: string) => `${path || 'the state'}: ${what}`;
  if (to === undefined || to === null) return at(`${stringifyLossless(from)} removed`);
  if (isNumber(from) && isNumber(to)) {
    const a = String(from);
    const b = String(to);
    const behind = /^-?\d+$/.test(a) && /^-?\d+$/.test(b) ? BigInt(b) < BigInt(a) : Number(b) < Number(a);
    return behind ? at(`${a} -> ${b}`) : undefined;
  }
  if (typeof from === 'string' && typeof to === 'string') return to < from ? at(`${JSON.stringify(from)} -> ${JSON.stringify(to)}`) : undefined;
  if (isPlainObject(from) && isPlainObject(to)) {
    for (const [k, v] of Object.entries(from)) {
      const r = rewound(v, (to as Obj)[k], path ? `${path}.${k}` : k);
      if (r) return r;
    }
    return undefined;
  }
  return stringifyLossless(from) === stringifyLossless(to) ? undefined : at(`${stringifyLossless(from)} -> ${stringifyLossless(to)}`);
}

function parseValue(text: string): Obj {
  let v: LosslessValue;
  try {
    v = parseLossless(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw new UsageError(`--value is not valid JSON: ${e.message}`);
    throw e;
  }
  if (!isPlainObject(v)) throw new UsageError('--value must be a JSON object (a state blob), e.g. \'{"cursor": 42}\'');
  return v as Obj;
}

export function setState(file: string, o: { stream?: string | undefined; value: string }): ChangeResult {
  const value = parseValue(o.value);
  return changeState(file, o.stream ? `before state set --stream ${o.stream}` : 'before state set', (s) => {
    if (o.stream === undefined) {
      if (s.kind === 'STREAM') throw new UsageError('this state is per stream (STREAM): name the stream with --stream');
      if (s.kind === 'GLOBAL') return withGlobal(s, (g) => ({ ...g, shared_state: value }));
      // LEGACY, or no state yet: the whole blob (how Singer taps keep state)
      return { ...s, kind: 'LEGACY', states: [{ ...(s.states[0] ?? {}), type: 'LEGACY', data: value }] };
    }
    const d = matchStream(o.stream, knownStreams(s));
    if (s.kind === 'LEGACY') {
      const blob = structuredClone(legacyOf(s) ?? {}) as Obj;
      legacyContainer(blob)[d.name] = value;
      return { ...s, states: [{ ...s.states[0], type: 'LEGACY', data: blob }] };
    }
    if (s.kind === 'GLOBAL') {
      return withGlobal(s, (g) => {
        const list = [...((g['stream_states'] as Obj[] | undefined) ?? [])];
        const i = list.findIndex((e) => { const x = descriptorOf(e['stream_descriptor']); return x !== undefined && sameStream(x, d); });
        if (i >= 0) list[i] = { ...list[i], stream_state: value };
        else list.push({ stream_descriptor: descriptorJson(d), stream_state: value });
        return { ...g, stream_states: list };
      });
    }
    const states = [...s.states];
    const i = states.findIndex((m) => { const st = m['stream']; const x = isPlainObject(st) ? descriptorOf(st['stream_descriptor']) : undefined; return x !== undefined && sameStream(x, d); });
    if (i >= 0) states[i] = { ...states[i], stream: { ...(states[i]!['stream'] as Obj), stream_state: value } };
    else states.push({ type: 'STREAM', stream: { stream_descriptor: descriptorJson(d), stream_state: value } });
    return { ...s, kind: 'STREAM', states };
  }, (cur, next) => rewindWarnings(cur, next, o.stream));
}

/**
 * `state set` that moves a stream's state back (see rewound()): the next run reads the records
 * after the new state again and appends them to a file that already holds them. Said, not
 * refused (reading a range again can be what the user wants); `state clear` replaces instead.
 */
function rewindWarnings(cur: StoredState, next: StoredState, stream: string | undefined): string[] {
  const out: string[] = [];
  // GLOBAL: the shared state (a CDC position) is every stream's
  const [before, after] = [statesOf(cur), statesOf(next)];
  const shared = cur.kind === 'GLOBAL' && next.kind === 'GLOBAL' ? rewound(globalOf(cur)?.['shared_state'], globalOf(next)?.['shared_state'], 'shared_state') : undefined;
  for (const g of filesByStream(next)) {
    const name = displayStream(g.d.name, g.d.namespace);
    const appended = Object.entries(g.files).filter(([p, e]) => e.mode === 'append' && !e.replace && !p.endsWith('.partial') && e.records > 0);
    if (appended.length === 0) continue;
    const where = rewound(before(g.d), after(g.d)) ?? shared;
    if (!where) continue;
    const list = appended.map(([p, e]) => `${p} (${e.records} records)`).join(', ');
    out.push(
      `the new state of ${name} is behind the stored one (${where}): the next run reads the records after it again and appends them to ${list}, which may hold them already (duplicates). To read ${name} again without duplicates, use: host state clear --stream ${stream ?? name} (the next run then replaces its file)`,
    );
  }
  return out;
}

function withGlobal(s: StoredState, f: (g: Obj) => Obj): StoredState {
  const msg = s.states[0] ?? { type: 'GLOBAL' };
  return { ...s, states: [{ ...msg, type: 'GLOBAL', global: f(globalOf(s) ?? { stream_states: [] }) }] };
}

export function clearState(file: string, o: { stream?: string | undefined } = {}): ChangeResult {
  return changeState(file, o.stream ? `before state clear --stream ${o.stream}` : 'before state clear', (s) => {
    if (o.stream === undefined) return s.kind === null ? undefined : { ...s, kind: null, states: [] };
    const d = matchStream(o.stream, knownStreams(s));
    if (s.kind === 'STREAM') {
      const states = s.states.filter((m) => { const st = m['stream']; const x = isPlainObject(st) ? descriptorOf(st['stream_descriptor']) : undefined; return !(x && sameStream(x, d)); });
      if (states.length === s.states.length) return undefined;
      return { ...s, kind: states.length ? 'STREAM' : null, states };
    }
    if (s.kind === 'GLOBAL') {
      const list = (globalOf(s)?.['stream_states'] as Obj[] | undefined) ?? [];
      const keep = list.filter((e) => { const x = descriptorOf(e['stream_descriptor']); return !(x && sameStream(x, d)); });
      return keep.length === list.length ? undefined : withGlobal(s, (g) => ({ ...g, stream_states: keep }));
    }
    if (s.kind === 'LEGACY') {
      const blob = structuredClone(legacyOf(s) ?? {}) as Obj;
      const c = legacyContainer(blob);
      if (d.namespace || !(d.name in c)) return undefined;
      delete c[d.name];
      return { ...s, states: [{ ...s.states[0], type: 'LEGACY', data: blob }] };
    }
    return undefined;
  });
}

// ---------------------------------------------------------------------------------------------
// import

export type ImportFormat = 'meltano' | 'airbyte' | 'singer';

function deepMerge(base: LosslessValue, over: LosslessValue): LosslessValue {
  if (!isPlainObject(base) || !isPlainObject(over)) return over;
  const out: Obj = { ...(base as Obj) };
  for (const [k, v] of Object.entries(over as Obj)) out[k] = k in out ? deepMerge(out[k]!, v) : v;
  return out;
}

function legacyStates(blob: LosslessValue, what: string): { kind: StateKind; states: Obj[] } {
  if (!isPlainObject(blob)) throw new UsageError(`${what}: the Singer state is not a JSON object`);
  if (isEmptyState(blob)) throw new UsageError(`${what} holds no state (an empty object)`);
  return { kind: 'LEGACY', states: [{ type: 'LEGACY', data: blob }] };
}

/** Meltano: `meltano state get` prints {"singer_state": …}; its state backends store {"completed": {"singer_state": …}, "partial": {…}}, partial merged over completed. */
function fromMeltano(v: LosslessValue, what: string) {
  if (isPlainObject(v) && ('completed' in v || 'partial' in v)) {
    const part = (x: LosslessValue | undefined) => (isPlainObject(x) && isPlainObject(x['singer_state']) ? (x['singer_state'] as Obj) : {});
    return legacyStates(deepMerge(part(v['completed']), part(v['partial'])), what);
  }
  if (isPlainObject(v) && 'singer_state' in v) return legacyStates(v['singer_state']!, what);
  throw new UsageError(`${what} is not a Meltano state export: expected {"singer_state": …} (meltano state get) or {"completed": …, "partial": …}`);
}

function fromSinger(v: LosslessValue, what: string) {
  if (isPlainObject(v) && v['type'] === 'STATE' && 'value' in v) return legacyStates(v['value']!, what); // a Singer STATE message
  if (isPlainObject(v) && 'singer_state' in v) throw new UsageError(`${what} looks like a Meltano export ({"singer_state": …}): use --from meltano`);
  return legacyStates(v, what);
}

const pick = (o: Obj, ...keys: string[]) => keys.map((k) => o[k]).find((x) => x !== undefined);

function apiStreamEntry(e: LosslessValue, what: string): Obj {
  const d = isPlainObject(e) ? descriptorOf(pick(e as Obj, 'streamDescriptor', 'stream_descriptor')) : undefined;
  if (!d) throw new UsageError(`${what}: a stream state without a streamDescriptor.name`);
  return { stream_descriptor: descriptorJson(d), stream_state: pick(e as Obj, 'streamState', 'stream_state') ?? null };
}

/** Airbyte: an array of AirbyteStateMessage (or STATE envelopes), one such message, or the API's ConnectionState ({"stateType": …}). */
function fromAirbyte(v: LosslessValue, what: string): { kind: StateKind; states: Obj[] } {
  if (isPlainObject(v) && typeof v['stateType'] === 'string') {
    const t = v['stateType'].toLowerCase();
    if (t === 'legacy') return legacyStates(v['state'] ?? null, what);
    if (t === 'stream') {
      const list = Array.isArray(v['streamState']) ? v['streamState'] : [];
      return fromAirbyte(list.map((e) => ({ type: 'STREAM', stream: apiStreamEntry(e, what) })), what);
    }
    if (t === 'global') {
      const g = isPlainObject(v['globalState']) ? (v['globalState'] as Obj) : {};
      const list = pick(g, 'streamStates', 'stream_states');
      const global: Obj = { shared_state: pick(g, 'shared_state', 'sharedState') ?? null, stream_states: (Array.isArray(list) ? list : []).map((e) => apiStreamEntry(e, what)) };
      return fromAirbyte([{ type: 'GLOBAL', global }], what);
    }
    throw new UsageError(`${what} holds no state (stateType ${v['stateType']})`);
  }
  const items = (Array.isArray(v) ? v : [v]).map((m) => (isPlainObject(m) && m['type'] === 'STATE' && isPlainObject(m['state']) ? (m['state'] as Obj) : m));
  if (!items.every((m) => isPlainObject(m) && (m['type'] !== undefined || 'data' in m))) {
    throw new UsageError(`${what} is not Airbyte state: expected an array of state messages ({"type": "STREAM"|"GLOBAL"|"LEGACY", …}) or an API export ({"stateType": …})`);
  }
  const msgs = items as Obj[];
  if (msgs.length === 0) throw new UsageError(`${what} holds no state (an empty array)`);
  const kinds = new Set(msgs.map(kindOf));
  if (kinds.size > 1) throw new UsageError(`${what} mixes state kinds (${[...kinds].join(', ')})`);
  const kind = kindOf(msgs[0]!);
  if (kind === 'LEGACY') return legacyStates(msgs[msgs.length - 1]!['data'] ?? null, what);
  if (kind === 'GLOBAL') return { kind, states: [msgs[msgs.length - 1]!] };
  // STREAM: one entry per stream, the last wins; a null stream_state means none
  const byStream = new Map<string, Obj>();
  for (const m of msgs) {
    const st = m['stream'];
    const d = isPlainObject(st) ? descriptorOf(st['stream_descriptor']) : undefined;
    if (!d) throw new UsageError(`${what}: a STREAM state without stream.stream_descriptor.name`);
    const key = streamKey(d.name, d.namespace);
    if ((st as Obj)['stream_state'] === null || (st as Obj)['stream_state'] === undefined) byStream.delete(key);
    else byStream.set(key, m);
  }
  if (byStream.size === 0) throw new UsageError(`${what} holds no stream state`);
  return { kind, states: [...byStream.values()] };
}

/** Replaces the stored state (kind and states) with the imported one; file lengths are kept. */
export function importState(file: string, o: { from: ImportFormat; source: string }): ChangeResult {
  let v: LosslessValue;
  try {
    v = parseJsonFile(o.source, 'state to import');
  } catch (e) {
    if (e instanceof HostError) throw new UsageError(e.message, { file: o.source });
    throw e;
  }
  const what = `the ${o.from} state ${o.source}`;
  if (isPlainObject(v) && v[HOST_STATE_MARKER] !== undefined) throw new UsageError(`${what} is a connector-host state file already: copy it, or run with --state ${o.source}`);
  const imported = o.from === 'meltano' ? fromMeltano(v, what) : o.from === 'airbyte' ? fromAirbyte(v, what) : fromSinger(v, what);
  return changeState(file, `before state import --from ${o.from}`, (s) => ({ ...s, ...imported }));
}

// ---------------------------------------------------------------------------------------------
// history

/** A history entry's state, read the way a run reads a state file. */
function entryState(e: HistoryEntry, stateFile: string): StoredState {
  const dir = new PrivateDir('ch-state-');
  try {
    return readWithRawFiles(dir.write('state.json', stringifyLossless(e.state))) ?? emptyState();
  } catch (err) {
    throw new StateError(`history entry ${e.seq} of ${stateFile} is not a usable state: ${(err as Error).message}`, { file: e.file }, 'STATE_INVALID');
  } finally {
    dir.remove();
  }
}

/**
 * Restores entry `seq`: its state, and the committed lengths of the files appended to (so
 * the next run truncates what came after, and reads it again). Files that a full refresh
 * replaced since, and files the entry does not know, keep their current lengths.
 */
export function restoreState(file: string, seq: number): ChangeResult {
  const e = historyEntry(file, seq);
  const old = entryState(e, file);
  return changeState(file, `before state set --from-history ${seq}`, (cur) => {
    const files = { ...cur.files };
    for (const [p, f] of Object.entries(old.files)) {
      const now = cur.files[p];
      if (!now || (now.mode === 'append' && f.mode === 'append' && !now.activate_version && !f.activate_version)) files[p] = f;
    }
    return { ...cur, kind: old.kind, states: old.states, files };
  });
}

function summary(v: LosslessValue): string {
  let kind: string;
  let parts: string[] = [];
  const short = (x: LosslessValue | undefined) => (x === undefined ? 'none' : stringifyLossless(x));
  const msgs = isPlainObject(v) && v[HOST_STATE_MARKER] !== undefined ? (Array.isArray(v['states']) ? v['states'] : []) : Array.isArray(v) ? v : [{ type: 'LEGACY', data: v }];
  const first = msgs.find(isPlainObject) as Obj | undefined;
  if (!first) return 'empty';
  kind = kindOf(first);
  if (kind === 'STREAM') {
    parts = (msgs.filter(isPlainObject) as Obj[]).map((m) => {
      const st = m['stream'] as Obj;
      const d = descriptorOf(st?.['stream_descriptor']);
      return `${d ? displayStream(d.name, d.namespace) : '?'} ${short(st?.['stream_state'])}`;
    });
  } else if (kind === 'GLOBAL') {
    const g = (first['global'] ?? {}) as Obj;
    parts = [`shared ${short(g['shared_state'])}`, ...((g['stream_states'] as Obj[] | undefined) ?? []).map((e) => { const d = descriptorOf(e['stream_descriptor']); return `${d ? displayStream(d.name, d.namespace) : '?'} ${short(e['stream_state'])}`; })];
  } else parts = [short(first['data'])];
  const text = `${kind} ${parts.join('; ')}`;
  return text.length > 100 ? `${text.slice(0, 99)}…` : text;
}

export interface HistoryView {
  seq: number;
  recorded_at: string;
  reason: string;
  summary: string;
  state: LosslessValue;
}

export function showHistory(file: string): HistoryView[] {
  return listHistory(file)
    .reverse()
    .map((e) => ({ seq: e.seq, recorded_at: e.recorded_at, reason: e.reason, summary: summary(e.state), state: e.state }));
}

export function formatHistory(file: string, list: HistoryView[]): string {
  if (list.length === 0) return `no history for ${file} yet (an entry is kept before every run and every state set, clear or import)\n`;
  const w = Math.max(...list.map((h) => String(h.seq).length), 1);
  const rw = Math.max(...list.map((h) => h.reason.length));
  return (
    [`history of ${file}, newest first (restore one with: host state set --from-history N):`, ...list.map((h) => `${String(h.seq).padStart(w)}  ${h.recorded_at}  ${h.reason.padEnd(rw)}  ${h.summary}`)].join('\n') + '\n'
  );
}
