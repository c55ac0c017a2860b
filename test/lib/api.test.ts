// The typed library API (the package's main export), against real child processes.

import { describe, it, expect } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmp, EXAMPLE, bad, streamState, lines, pidAlive, readJson, sleep } from '../helpers.js';
import * as lib from '../../dist/index.js';

describe('library API', () => {
  it('spec, check and discover return parsed messages; a FAILED check throws CheckFailedError', async () => {
    const spec = await lib.spec(EXAMPLE.node);
    expect((spec as any).spec.connectionSpecification.required).toEqual(['api_key']);
    const ok = await lib.check(EXAMPLE.node, { config: { api_key: 'k' } });
    expect(ok.status).toBe('SUCCEEDED');
    await expect(lib.check(EXAMPLE.node, { config: { api_key: 'bad' } })).rejects.toMatchObject({ code: 'CHECK_FAILED', exitCode: 4 });
    await expect(lib.check(EXAMPLE.node, { config: {} })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    const cat = await lib.discover(['python3', EXAMPLE.python], { config: { api_key: 'k' } });
    expect((cat as any).catalog.streams).toHaveLength(2);
  });

  it('read() yields records and states; only acknowledged states are committed, and the next read resumes from them', async () => {
    const dir = tmp();
    const stateFile = join(dir, 'state.json');
    const run = lib.read(EXAMPLE.node, { config: { api_key: 'k', event_count: 8, state_every: 3 }, stateFile, streams: ['events'] });
    const seen: number[] = [];
    for await (const m of run) {
      if (m.type === 'RECORD') {
        seen.push(Number(m.data['id']));
        expect(m.raw).toMatch(/^\{"id":\d+,"kind":"(click|view)"/);
      } else if (seen.length <= 6) {
        run.ack(m); // pretend records after 6 were not stored
      }
    }
    const result = await run.result;
    expect(result.ok).toBe(true);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(streamState(stateFile, 'events')).toEqual({ cursor: 6 });

    const again = lib.read(EXAMPLE.node, { config: { api_key: 'k', event_count: 8 }, stateFile, streams: ['events'] });
    const ids: number[] = [];
    for await (const m of again) if (m.type === 'RECORD') ids.push(Number(m.data['id']));
    expect(ids).toEqual([7, 8]);
  });

  it('without ack nothing is committed; breaking out of the loop stops the connector', async () => {
    const dir = tmp();
    const stateFile = join(dir, 'state.json');
    const pidFile = join(dir, 'pids.json');
    const run = lib.read([process.execPath, bad('hang'), '--only=read', '--records', '3', '--spawn-child', '--pid-file', pidFile], { config: {}, stateFile, killGraceMs: 1000 });
    let n = 0;
    for await (const m of run) {
      if (m.type === 'RECORD') n++;
      if (n === 3) {
        for (let i = 0; i < 100 && !existsSync(pidFile); i++) await sleep(50);
        break;
      }
    }
    const r = await run.result;
    expect(r.error).toBeUndefined();
    expect(existsSync(stateFile)).toBe(false);
    const pids = readJson(pidFile);
    for (let i = 0; i < 50 && (pidAlive(pids.pid) || pidAlive(pids.child)); i++) await sleep(100);
    expect(pidAlive(pids.pid)).toBe(false);
    expect(pidAlive(pids.child)).toBe(false);
  });

  it('readWith writes to an --out directory and reports per-stream counts', async () => {
    const dir = tmp();
    const r = await lib.readWith(EXAMPLE.sh, { config: { api_key: 'k', event_count: 4 }, out: join(dir, 'out') });
    expect(r.ok).toBe(true);
    expect(r.streams.map((s) => [s.display, s.records])).toEqual([
      ['users', 3],
      ['events', 4],
    ]);
    expect(lines(join(dir, 'out', 'events.jsonl'))).toHaveLength(4);
    expect(r.stateFile).toBe(join(dir, 'out', 'state.json'));
  });

  it('errors carry a stable code and data', async () => {
    const r = await lib.readWith([process.execPath, bad('trace-error')], { config: {}, out: join(tmp(), 'out') });
    expect(r.ok).toBe(false);
    expect(r.error).toBeInstanceOf(lib.HostError);
    expect(r.error).toMatchObject({ code: 'CONNECTOR_CONFIG_ERROR', data: { failureType: 'config_error', exitCode: 1 } });
  });
});
