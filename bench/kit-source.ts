// The TypeScript kit's source shape as a .ts file (start-up through tsx), for bench/kit-bench.mjs.
// The same two streams as bench/kit-source.py; run as `node --import tsx dist/kit/run.js bench/kit-source.ts spec`.
import { defineSource } from 'connector-host/kit';

export default defineSource<{ records: number }>({
  spec: { type: 'object', properties: { records: { type: 'integer', minimum: 0 } }, required: ['records'] },
  streams: {
    items: {
      primaryKey: 'id',
      async *read({ config }) {
        for (let i = 0; i < config.records; i++) yield { id: i, name: 'user', score: i % 100, active: true };
      },
    },
    items_cursor: {
      primaryKey: 'id',
      cursor: 'id',
      async *read({ config, state }) {
        for (let i = ((state['id'] as number | undefined) ?? -1) + 1; i < config.records; i++) yield { id: i, name: 'user', score: i % 100, active: true };
      },
    },
  },
});
