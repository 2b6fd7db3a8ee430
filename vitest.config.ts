import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Both cores (the default leaves one idle on a 2-core machine), and test files share their
    // workers' module graph instead of importing Fastify afresh each. No test relies on module
    // state of its own between files. Each suite that runs on several stores says so in its own
    // file (describeStores in test/support/stores.ts).
    maxWorkers: 2,
    isolate: false,
    // A test may take this long: the property tests run their hundreds of cases beside the fault
    // suites' own Redis and service processes on the same two cores, where Vitest's 5 s is tight.
    testTimeout: 20_000,
  },
})
