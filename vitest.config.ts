import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // tests spawn real processes and mostly wait on them (pipes, timers, installs): on two
    // cores vitest's default of one worker leaves the machine idle half the time
    pool: 'forks',
    maxWorkers: 3,
  },
});
