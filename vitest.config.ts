import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: suites that spawn servers and interpreters run two at a time.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
