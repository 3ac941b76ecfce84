// A real worker (shared + host queue) and client against the test run's dev server.
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { inject } from 'vitest';
import { CellClient } from '../../src/client/cell-client.ts';
import type { HostConfigInput } from '../../src/host/config.ts';
import { createCellWorker, type CellWorker } from '../../src/worker/cell-worker.ts';
import { loadWorkflowBundle } from '../../src/worker/workflow-bundle.ts';
import { makeTestHost } from './host.ts';

export interface TemporalTestBed {
  readonly host: Awaited<ReturnType<typeof makeTestHost>>;
  readonly worker: CellWorker;
  readonly client: CellClient;
  readonly taskQueue: string;
  readonly running: Promise<void>;
  close(): Promise<void>;
}

export async function startTestBed(opts: { host?: HostConfigInput; hostScheduleToStartSeconds?: number } = {}): Promise<TemporalTestBed> {
  const address = inject('temporalAddress');
  const host = await makeTestHost(opts.host);
  const taskQueue = `test-${host.config.hostId}`;
  const nativeConnection = await NativeConnection.connect({ address });
  const worker = await createCellWorker({
    connection: nativeConnection,
    taskQueue,
    host,
    workflowBundle: await loadWorkflowBundle(),
  });
  const running = worker.run();
  const connection = await Connection.connect({ address });
  const client = new CellClient({ connection, taskQueue, hostScheduleToStartSeconds: opts.hostScheduleToStartSeconds });
  return {
    host,
    worker,
    client,
    taskQueue,
    running,
    async close() {
      worker.shutdown();
      await running;
      await nativeConnection.close();
      await connection.close();
      await host.cleanupDir();
    },
  };
}
