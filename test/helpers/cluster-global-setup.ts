// The cluster tier's global set-up (vitest project `cluster`, test/cluster/): one production-shaped
// Temporal cluster (PostgreSQL, the real server in one process, the UI) for the whole run. Tests reach
// it through runCluster() (test/helpers/cluster.ts); inject('temporalAddress') is the cluster too, so
// the test-bed helpers default to it. A cluster that cannot start fails each cluster file with the
// reason (e.g. "run bash scripts/setup.sh"), not the dev tier that runs beside it.
import type { TestProject } from 'vitest/node';
import { startTestCluster, type TestCluster } from './cluster.ts';

let cluster: TestCluster | undefined;

export async function setup(project: TestProject): Promise<void> {
  const t0 = Date.now();
  try {
    cluster = await startTestCluster();
  } catch (err) {
    project.provide('clusterError', err instanceof Error ? err.message : String(err));
    return;
  }
  process.stderr.write(
    `cluster: ready in ${Date.now() - t0} ms at ${cluster.address} (UI ${cluster.uiUrl}, ${cluster.dir})\n`,
  );
  project.provide('cluster', {
    address: cluster.address,
    uiUrl: cluster.uiUrl,
    dir: cluster.dir,
    split: cluster.split,
  });
  project.provide('temporalAddress', cluster.address);
  project.provide('temporalUiUrl', cluster.uiUrl);
}

export async function teardown(): Promise<void> {
  await cluster?.stop();
}
