// The TypeScript kit's source shape, for the kit benchmark (bench/kit-bench.mjs): the same two
// streams as bench/kit-source.py. Run as `node dist/kit/run.js bench/kit-source.mjs read ...`.
import { defineSource } from 'connector-host/kit';

export default defineSource({
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
        for (let i = (state.id ?? -1) + 1; i < config.records; i++) yield { id: i, name: 'user', score: i % 100, active: true };
      },
    },
  },
});
