// The validators compiled at build time (scripts/build-validators.mjs) must judge exactly as
// the ones ajv compiles at run time from protocol/.

import { describe, it, expect } from 'vitest';
import * as built from '../../dist/protocol/schemas.js';
import * as runtime from '../../src/protocol/schemas.js';

const samples: [string, unknown][] = [
  ['AirbyteMessage', { type: 'RECORD', record: { stream: 's', data: { a: 1 }, emitted_at: 1 } }],
  ['AirbyteMessage', { type: 'RECORD', record: { data: { a: 1 } } }],
  ['AirbyteMessage', { type: 'STATE', state: { type: 'STREAM', stream: { stream_descriptor: { name: 'a' }, stream_state: null } } }],
  ['AirbyteMessage', { type: 'STATE', state: { type: 'GLOBAL' } }],
  ['AirbyteMessage', { type: 'LOG', log: { level: 'NOPE', message: 'x' } }],
  ['AirbyteMessage', { type: 'TRACE', trace: { type: 'ERROR', emitted_at: 1, error: { message: 'm', failure_type: 'config_error' } } }],
  ['AirbyteMessage', { type: 'CONTROL', control: { type: 'CONNECTOR_CONFIG', emitted_at: 1, connectorConfig: { config: {} } }, extra: true }],
  ['ConfiguredAirbyteCatalog', { streams: [{ stream: { name: 'x' } }] }],
  ['HostStateFile', { connector_host_state: 1, kind: null, states: [], files: { '../x': { bytes: 0, records: 0, mode: 'append', stream: { name: 'x' } } }, committed_at: 'yesterday' }],
];

describe('precompiled protocol validators', () => {
  it('are used by the build', () => {
    expect(built.validatorsPrecompiled()).toBe(true);
  });

  it('agree with run-time compilation, errors included', () => {
    for (const [name, value] of samples) {
      const a = built.getValidator(name as built.SchemaName);
      const b = runtime.getValidator(name as runtime.SchemaName);
      expect(a(value), `${name} ${JSON.stringify(value)}`).toBe(b(value));
      expect(built.formatAjvErrors(a.errors)).toEqual(runtime.formatAjvErrors(b.errors));
    }
  });
});
