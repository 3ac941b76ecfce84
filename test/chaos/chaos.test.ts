// Chaos on the dev server (its SQLite file): the scenario of test/helpers/chaos.ts, with the server
// stopped and started again on its port mid-run. The cluster tier runs the same scenario on the
// PostgreSQL-backed server (test/cluster/chaos.test.ts).
// 60 cells and 12 kills by default (about 2 minutes here); CELLOS_CHAOS=short runs 30 and 7.
import { join } from 'node:path';
import { describeChaos } from '../helpers/chaos.ts';
import { startTestDevServer } from '../helpers/dev-server.ts';
import { sleep } from '../helpers/wait.ts';

const FULL = process.env.CELLOS_CHAOS !== 'short';

describeChaos({
  tier: 'dev',
  cells: FULL ? 60 : 30,
  randomKills: FULL ? 8 : 3,
  timeoutMs: FULL ? 600_000 : 420_000,
  async startServer(dir) {
    const stateDir = join(dir, 'temporal');
    let server = await startTestDevServer(stateDir, { headless: true });
    return {
      address: server.address,
      async restart() {
        await server.stop();
        await sleep(1000);
        server = await startTestDevServer(stateDir, { headless: true, port: server.port });
      },
      stop: () => server.stop(),
    };
  },
});
