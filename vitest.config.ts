import { defineConfig } from 'vitest/config';

/** The tests by kind, each kind a folder of `test/` and a project here. */
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two workers keep two cores busy; more only add overhead (docs/testing.md, How long it takes).
    maxWorkers: 2,
    // Worker threads, not processes: cheaper to start and to talk to, and no test needs a process of its own.
    pool: 'threads',
    // Files share a worker's modules (each still makes its own tables, buckets and stacks): loading the SDKs
    // and Pulumi afresh for every file cost more than its tests.
    isolate: false,
    // Logs of passing tests are noise; a failing test still shows its own.
    silent: 'passed-only',
    projects: [
      // The project type-checks: a test, so the compiler runs beside the others.
      { extends: true, test: { name: 'checks', include: ['test/checks/*.test.ts'], sequence: { groupOrder: 0 } } },
      // Code on its own, or against a stand-in the test starts itself: no shared services.
      { extends: true, test: { name: 'unit', include: ['test/unit/*.test.ts'], sequence: { groupOrder: 0 } } },
      // The zone's stacks: Pulumi's mocks, its language host and policy runner, the policy pack.
      {
        extends: true,
        test: { name: 'infrastructure', include: ['test/infrastructure/*.test.ts'], sequence: { groupOrder: 0 } },
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
