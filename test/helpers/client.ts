// A CellClient on the test run's dev server (or on a server of the test's own), and its closing.
import { Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { inject } from 'vitest';
import { CellClient } from '../../src/client/cell-client.ts';

export async function connectTestClient(opts: {
  taskQueue: string;
  /** Default: the test run's dev server (global-setup.ts). */
  address?: string;
  hostScheduleToStartSeconds?: number;
  dataConverter?: DataConverter | undefined;
}): Promise<CellClient> {
  const connection = await Connection.connect({ address: opts.address ?? inject('temporalAddress') });
  return new CellClient({
    connection,
    taskQueue: opts.taskQueue,
    hostScheduleToStartSeconds: opts.hostScheduleToStartSeconds,
    dataConverter: opts.dataConverter,
  });
}

export async function closeTestClient(client: CellClient | undefined): Promise<void> {
  await client?.temporal.connection.close();
}
