// --validate off|warn|fail: records checked against their stream's json_schema.

import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { host, tmp, EXAMPLE, writeJson, lines, logLines } from '../helpers.js';

function strictCatalog(dir: string) {
  // the example's events carry an integer `amount`; this catalog says it must be a string
  return writeJson(dir, 'catalog.json', {
    streams: [
      {
        stream: {
          name: 'events',
          json_schema: { type: 'object', required: ['id'], properties: { id: { type: 'integer' }, amount: { type: 'string' } } },
          supported_sync_modes: ['full_refresh', 'incremental'],
        },
        sync_mode: 'incremental',
        destination_sync_mode: 'append',
        cursor_field: ['id'],
      },
    ],
  });
}

describe('--validate', () => {
  it('off (the default) writes the records as they are', async () => {
    const dir = tmp();
    const r = await host(['read', EXAMPLE.node, '--config', writeJson(dir, 'c.json', { api_key: 'k', event_count: 3 }), '--catalog', strictCatalog(dir), '--out', join(dir, 'out')]);
    expect(r.exitCode).toBe(0);
    expect(lines(join(dir, 'out', 'events.jsonl'))).toHaveLength(3);
    expect(r.stderr).not.toContain('does not match its schema');
  });

  it('warn logs each mismatch with the stream, record number and field, and keeps going', async () => {
    const dir = tmp();
    const r = await host(['read', EXAMPLE.node, '--config', writeJson(dir, 'c.json', { api_key: 'k', event_count: 3 }), '--catalog', strictCatalog(dir), '--out', join(dir, 'out'), '--validate', 'warn']);
    expect(r.exitCode).toBe(0);
    const warnings = logLines(r.stderr).filter((l) => l.includes('does not match its schema'));
    expect(warnings).toEqual([
      'record 1 of stream events does not match its schema: /amount: must be string',
      'record 2 of stream events does not match its schema: /amount: must be string',
      'record 3 of stream events does not match its schema: /amount: must be string',
    ]);
    expect(lines(join(dir, 'out', 'events.jsonl'))).toHaveLength(3);
  });

  it('fail stops at the first mismatch with a protocol error; nothing uncommitted is kept', async () => {
    const dir = tmp();
    const r = await host(['read', EXAMPLE.node, '--config', writeJson(dir, 'c.json', { api_key: 'k', event_count: 3 }), '--catalog', strictCatalog(dir), '--out', join(dir, 'out'), '--validate', 'fail']);
    expect(r.exitCode).toBe(7);
    expect(r.stderr).toContain('host: record 1 of stream events does not match its schema: /amount: must be string');
    expect(lines(join(dir, 'out', 'events.jsonl'))).toEqual([]);
  });
});
