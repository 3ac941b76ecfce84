// Chaos on the PostgreSQL-backed cluster: the scenario of test/helpers/chaos.ts (three worker
// processes for three hosts, worker crashes at each lifecycle point and at random, runsc faults) with
// the whole server process restarted mid-run by scripts/cluster.sh, as test/cluster/restart.test.ts
// does. The cluster is the tier's own (cluster-global-setup.ts), which stops it after the run.
// 60 cells and 12 kills by default; CELLOS_CHAOS=short runs 30 and 7.
import { describeChaos } from '../helpers/chaos.ts';
import { runCluster } from '../helpers/cluster.ts';

const FULL = process.env.CELLOS_CHAOS !== 'short';
const cluster = runCluster();

describeChaos({
  tier: 'cluster',
  cells: FULL ? 60 : 30,
  randomKills: FULL ? 8 : 3,
  timeoutMs: FULL ? 600_000 : 420_000,
  startServer: () =>
    Promise.resolve({
      address: cluster.address,
      async restart() {
        const out = await cluster.restart();
        if (!/stopped server in \d+ ms/.test(out)) throw new Error(`the cluster did not restart its server:\n${out}`);
      },
      // The tier's global teardown stops the cluster.
      stop: () => Promise.resolve(),
    }),
});
