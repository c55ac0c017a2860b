// Issue 10, item 4: `--state` naming one of the run's inputs (the config, a layered config, the
// catalog, a destination's config; also through a symlink or a hard link) is refused before the
// state is locked, recorded in the history or written; so is an existing file that holds no state
// in any accepted form (a configured catalog, a message, a copy of the config).

import { describe, it, expect } from 'vitest';
import { existsSync, linkSync, readFileSync, symlinkSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { host, tmp, itemsCatalog, FIX } from '../helpers.js';
import { put, reporter, reports } from './helpers.js';

const CONFIG = '{"password":"Zx9-SECRET-q7","user":"me"}';
const DEST = join(FIX, 'destinations', 'dest-jsonl.mjs');

/** Refused with `exitCode`, the file untouched, no lock or history beside it, the connector never asked to read. */
function expectRefused(r: { exitCode: number; stderr: string }, file: string, before: string, exitCode: number, rep: string): void {
  expect(r.exitCode).toBe(exitCode);
  expect(r.stderr).not.toContain('SECRET');
  expect(readFileSync(file, 'utf8')).toBe(before);
  expect(existsSync(`${file}.lock`)).toBe(false);
  expect(existsSync(`${file}.history`)).toBe(false);
  expect(reports(rep).filter((x) => x.command === 'read')).toEqual([]);
}

describe('--state naming an input of the run', () => {
  it.each([
    ['the same path', (_d: string, cfg: string) => cfg],
    ['a symlink to it', (d: string, cfg: string) => (symlinkSync(cfg, join(d, 'link.json')), join(d, 'link.json'))],
    ['a hard link to it', (d: string, cfg: string) => (linkSync(cfg, join(d, 'hard.json')), join(d, 'hard.json'))],
    ['a path through a symlinked folder', (d: string) => (symlinkSync(d, join(d, 'again')), join(d, 'again', 'c.json'))],
  ])('--config c.json --state as %s: refused (exit 2), the config untouched', async (_what, statePath) => {
    const dir = tmp();
    const cfg = put(dir, 'c.json', CONFIG);
    const state = statePath(dir, cfg);
    const rep = join(dir, 'r.jsonl');
    const r = await host(['read', '--config', cfg, '--catalog', itemsCatalog(dir), '--state', state, '--', ...reporter(rep)]);
    expectRefused(r, cfg, CONFIG, 2, rep);
    expect(r.stderr).toContain(`the state file ${state} is the config file ${cfg}`);
  });

  it('a layered --config (YAML) and the catalog are inputs too', async () => {
    const dir = tmp();
    const rep = join(dir, 'r.jsonl');
    const a = put(dir, 'a.json', CONFIG);
    const b = put(dir, 'b.yaml', 'user: you\n');
    const cat = itemsCatalog(dir);
    const catText = readFileSync(cat, 'utf8');
    const r1 = await host(['read', '--config', a, '--config', b, '--catalog', cat, '--state', b, '--', ...reporter(rep)]);
    expectRefused(r1, b, 'user: you\n', 2, rep);
    expect(r1.stderr).toContain(`is the config file ${b}`);
    const r2 = await host(['read', '--config', a, '--catalog', cat, '--out', join(dir, 'out'), '--state', cat, '--', ...reporter(rep)]);
    expectRefused(r2, cat, catText, 2, rep);
    expect(r2.stderr).toContain(`is the catalog ${cat}`);
  });

  it('host run: the destination config is an input', async () => {
    const dir = tmp();
    const rep = join(dir, 'r.jsonl');
    const dText = JSON.stringify({ path: join(dir, 'dest'), api_key: 'Zx9-SECRET-q7' });
    const dc = put(dir, 'd.json', dText);
    const r = await host(['run', '--config', put(dir, 'c.json', CONFIG), '--catalog', itemsCatalog(dir), '--destination', DEST, '--destination-config', dc, '--state', dc, '--', ...reporter(rep)]);
    expectRefused(r, dc, dText, 2, rep);
    expect(r.stderr).toContain(`is the destination config file ${dc}`);
  });
});

describe('an existing --state file that holds no state', () => {
  it.each([
    ['a copy of the config file', () => CONFIG, 'holds the same content as the config file'],
    ['a copy of the config with its keys reordered', () => '{"user":"me","password":"Zx9-SECRET-q7"}', 'holds the same content as the config file'],
    ['a configured catalog', (dir: string) => readFileSync(itemsCatalog(dir), 'utf8'), 'holds a configured catalog, not a state'],
    ['a RECORD message', () => '{"type":"RECORD","record":{"stream":"items","data":{"id":1},"emitted_at":1}}', 'holds a RECORD message, not a state'],
    ['a SPEC message', () => '{"type":"SPEC","spec":{"connectionSpecification":{}}}', 'holds a SPEC message, not a state'],
    ['an array of records', () => '[{"id":1},{"id":2}]', 'holds an array whose items are not all state messages'],
    ['a number', () => '42', 'holds neither a state object nor an array of state messages'],
  ])('%s: refused (exit 6), the file untouched', async (_what, content, message) => {
    const dir = tmp();
    const rep = join(dir, 'r.jsonl');
    const cfg = put(dir, 'c.json', CONFIG);
    const cat = itemsCatalog(dir);
    const text = content(dir);
    const state = put(dir, 'state.json', text);
    const r = await host(['read', '--config', cfg, '--catalog', cat, '--state', state, '--', ...reporter(rep)]);
    expectRefused(r, state, text, 6, rep);
    expect(r.stderr).toContain(`the state file ${state} ${message}`);
  });
});

describe('every accepted form of state is still accepted', () => {
  const STREAM = '{"type":"STREAM","stream":{"stream_descriptor":{"name":"items"},"stream_state":{"cursor":4}}}';
  it.each([
    ['a single AirbyteStateMessage', STREAM, [JSON.parse(STREAM)]],
    ['a STATE envelope', `{"type":"STATE","state":${STREAM}}`, [JSON.parse(STREAM)]],
    ['an array of state messages', `[${STREAM}]`, [JSON.parse(STREAM)]],
    ['an array of STATE envelopes', `[{"type":"STATE","state":${STREAM}}]`, [JSON.parse(STREAM)]],
    ['a bare LEGACY / Singer blob', '{"bookmarks":{"items":{"id":4}}}', { bookmarks: { items: { id: 4 } } }],
    ['a Singer blob with `data` and `stream` keys', '{"data":{"x":1},"stream":{"y":2},"bookmarks":{}}', { data: { x: 1 }, stream: { y: 2 }, bookmarks: {} }],
    ['a LEGACY state message', '{"type":"LEGACY","data":{"items":{"cursor":4}}}', { items: { cursor: 4 } }],
  ])('%s', async (_what, text, received) => {
    const dir = tmp();
    const rep = join(dir, 'r.jsonl');
    const state = put(dir, 'state.json', text);
    const r = await host(['read', '--config', put(dir, 'c.json', CONFIG), '--catalog', itemsCatalog(dir), '--state', state, '--', ...reporter(rep)]);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(reports(rep).find((x) => x.command === 'read')!.state!)).toEqual(received);
    expect(readdirSync(dir)).toContain('state.json.history');
  });
});
