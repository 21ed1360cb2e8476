import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Integration and end-to-end tests start real servers and child processes.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
