import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores here: more workers only fight over DynamoDB Local's JVM.
    maxWorkers: 2,
    // Logs of passing tests are noise; a failing test still shows its own.
    silent: 'passed-only',
    projects: [
      {
        extends: true,
        test: {
          name: 'platform',
          include: ['test/*.test.ts'],
          // One DynamoDB Local and one s3rver for the whole run; each test file makes its own table and buckets.
          globalSetup: ['test/support/global-setup.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        // Evaluates every AWS call the platform project recorded against the stacks' policies: it runs after it.
        extends: true,
        test: { name: 'least-privilege', include: ['test/least-privilege/*.test.ts'], sequence: { groupOrder: 1 } },
      },
    ],
  },
});
