import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['services/**/*.test.ts', 'bot/**/*.test.ts', 'commands/**/*.test.ts', 'runbooks/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: integration files start real servers, containers and databases.
    maxWorkers: 2,
  },
});
