// __NAME__: a source written with the connector-host kit. No build step and no npm install:
// the host runs this file through its own TypeScript loader, and `connector-host/kit` resolves
// to the host's own copy of the kit.
//
// One stream, `items`, read incrementally on its `updated_at` cursor: the kit keeps the largest
// `updated_at` it has seen in the stream's state, so the next run starts after it.
//
// Run it (see README.md):  host read ./source.ts --config config.json --out ./output

import { defineSource, ConfigError } from 'connector-host/kit';

interface Config {
  api_key: string;
  count?: number;
}

interface Item {
  id: number;
  name: string;
  updated_at: string;
}

const START = Date.UTC(2024, 0, 1);

function apiKey(config: Config): string {
  if (!config.api_key) throw new ConfigError('api_key is empty: set it in the config');
  return config.api_key;
}

/** Stands in for an API call: replace it with your own (fetch, an SDK, a database). */
async function* fetchItems(apiKey: string, count: number): AsyncGenerator<Item> {
  void apiKey;
  for (let i = 1; i <= count; i++) {
    const at = new Date(START + i * 3_600_000).toISOString().replace('.000Z', 'Z');
    yield { id: i, name: `item ${i}`, updated_at: at };
  }
}

export default defineSource({
  spec: {
    documentationUrl: 'https://example.invalid/__NAME__',
    connectionSpecification: {
      $schema: 'http://json-schema.org/draft-07/schema#',
      title: '__NAME__',
      type: 'object',
      required: ['api_key'],
      properties: {
        api_key: {
          type: 'string',
          title: 'API key',
          description: 'Sent to the API with every request; masked in logs and test reports.',
          airbyte_secret: true,
        },
        count: {
          type: 'integer',
          title: 'Items available',
          description: 'How many example items the (pretend) API has.',
          default: 5,
          minimum: 0,
        },
      },
    },
  },
  async check({ config }) {
    apiKey(config as Config);
  },
  streams: {
    items: {
      primaryKey: 'id',
      cursor: 'updated_at',
      schema: {
        type: 'object',
        properties: {
          id: { type: 'integer' },
          name: { type: 'string' },
          updated_at: { type: 'string', format: 'date-time' },
        },
      },
      // `state` is this stream's own object from the last run ({} on the first): the kit keeps
      // state.updated_at = the largest updated_at yielded, and saves it after every batch.
      async *read({ config, state }) {
        const c = config as Config;
        const since = (state as { updated_at?: string }).updated_at;
        for await (const item of fetchItems(apiKey(c), c.count ?? 5)) {
          if (since === undefined || item.updated_at > since) yield item;
        }
      },
    },
  },
});
