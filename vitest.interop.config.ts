import { defineConfig } from 'vitest/config';

// `npm run test:interop`: real Airbyte connectors and Singer taps from PyPI, installed into
// .cache/interop by scripts/install-interop.mjs first; the globalSetup starts the PostgreSQL
// that tap-postgres reads (scripts/postgres.sh) and stops it afterwards. Not part of `npm test`
// (the files are *.interop.ts, which the default config's test/**/*.test.ts does not match).
export default defineConfig({
  test: {
    include: ['test/interop/**/*.interop.ts'],
    globalSetup: ['test/interop/singer-global-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // the large read measures throughput: not beside the other connectors
    fileParallelism: false,
  },
});
