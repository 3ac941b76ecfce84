import { existsSync } from 'node:fs';
import { configDefaults, defineConfig } from 'vitest/config';

// Shared set-up for the suites that need a Temporal server or runsc (written by the test owners); it is
// wired in as soon as the file exists.
const globalSetup = 'test/helpers/global-setup.ts';

export default defineConfig({
  test: {
    // Temporal's native bridge crashes in worker threads (sdk-typescript #876): keep every file in a forked
    // process.
    pool: 'forks',
    // One test file at a time: the integration files each drive a Temporal worker and runsc sandboxes, and
    // two of them side by side on a 2-core machine turn into timeouts. The unit files are small enough that
    // running them one by one costs seconds. (If that grows, split them into `projects` with
    // `sequence.groupOrder` and give only the unit project `maxWorkers: 2`.)
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
    // Two tiers, one run: `dev` on the single-process dev server (SQLite), and `cluster` (test/cluster/)
    // on a production-shaped cluster, PostgreSQL and the real server, that its own global set-up starts
    // with scripts/cluster.sh (built by scripts/setup.sh). A project's global set-up runs only when
    // the run has files of it: `npx vitest run test/cluster` starts no dev server.
    projects: [
      {
        extends: true,
        test: {
          name: 'dev',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/deno/**', 'test/cluster/**'],
          globalSetup: existsSync(globalSetup) ? [globalSetup] : [],
        },
      },
      {
        extends: true,
        test: {
          name: 'cluster',
          include: ['test/cluster/**/*.test.ts'],
          globalSetup: ['test/helpers/cluster-global-setup.ts'],
        },
      },
    ],
  },
});
