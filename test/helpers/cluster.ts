// The cluster tier's clusters (test/cluster/): started through cluster-script.ts, handed from the
// tier's global set-up to its test files by vitest's provide/inject.
import { inject } from 'vitest';
import { attachTestCluster, type TestCluster, type TestClusterInfo } from './cluster-script.ts';

export * from './cluster-script.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The cluster tier's cluster (cluster-global-setup.ts), or why it did not start. */
    cluster: TestClusterInfo | undefined;
    clusterError: string | undefined;
  }
}

/** The cluster of this run's cluster tier; throws why it did not start (e.g. binaries not built). */
export function runCluster(): TestCluster {
  const info = inject('cluster');
  if (!info) {
    throw new Error(
      `the cluster tier's cluster did not start: ${inject('clusterError') ?? 'no cluster-global-setup.ts in this project'}`,
    );
  }
  return attachTestCluster(info);
}
