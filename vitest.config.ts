import { defineConfig } from 'vitest/config';

/** The tests by kind, a folder of `test/` each; the projects here group them by the services they need. */
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Three workers on two cores: the integration files wait on DynamoDB Local and on processes a
    // third of the time, and a third worker fills that (docs/testing.md, How long it takes).
    maxWorkers: 3,
    // Worker threads, not processes: cheaper to start and to talk to, and no test needs a process of its own.
    pool: 'threads',
    // Files share a worker's modules (each still makes its own tables, buckets and stacks): loading the SDKs
    // and Pulumi afresh for every file cost more than its tests.
    isolate: false,
    // Logs of passing tests are noise; a failing test still shows its own.
    silent: 'passed-only',
    projects: [
      {
        // No shared services: the type check, code on its own, and the zone's stacks (Pulumi's mocks, its
        // language host and policy runner, the policy pack). One project, so its files share workers.
        extends: true,
        test: {
          name: 'offline',
          include: ['test/checks/*.test.ts', 'test/unit/*.test.ts', 'test/infrastructure/*.test.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          // The runtime against the offline platform: the real app, Lambda's entry and npm start.
          name: 'integration',
          include: ['test/integration/*.test.ts'],
          // One DynamoDB Local and one s3rver for the whole run; each test file makes its own table and buckets.
          globalSetup: ['test/support/global-setup.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        // Evaluates every AWS call the integration project recorded against the stacks' policies: it runs after it.
        extends: true,
        test: { name: 'least-privilege', include: ['test/least-privilege/*.test.ts'], sequence: { groupOrder: 1 } },
      },
    ],
  },
});
