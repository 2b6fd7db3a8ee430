import { defineConfig } from 'vitest/config'

/** The HTTP contract suites, run once per store: the HTTP layer must not know which it talks to. */
const CONTRACT = [
  'test/http/transactions.test.ts',
  'test/http/statistics.test.ts',
  'test/http/batch.test.ts',
  'test/http/health.test.ts',
  'test/http/fuzz.test.ts',
]

export default defineConfig({
  test: {
    projects: [
      { extends: true, test: { name: 'memory', include: ['test/**/*.test.ts'] } },
      {
        extends: true,
        test: { name: 'redis', include: CONTRACT, env: { TEST_STORE: 'redis' } },
      },
    ],
  },
})
