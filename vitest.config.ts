import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start their own emulators; two cores are all we have.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    // The lockfile pins today's AWS SDK; its notice about Node 22 (see README) would repeat in every worker.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    hookTimeout: 60_000,
  },
});
