// One host's Temporal workers: the shared queue (cell workflows and placement) and this
// host's own queue (the host activities). Both run in one process on the host.
import type { NativeConnection, WorkerOptions } from '@temporalio/worker';
import { Worker } from '@temporalio/worker';
import { createCellActivities, createPlacementActivities } from '../../activities/index.ts';
import type { CellHost } from '../host/cell-host.ts';
import { hostTaskQueue } from '../shared.ts';
import { loadWorkflowBundle } from './workflow-bundle.ts';

export interface CellWorkerOptions {
  readonly connection: NativeConnection;
  readonly namespace?: string;
  readonly taskQueue: string;
  readonly host: CellHost;
  readonly maxConcurrentCells?: number;
  readonly workflowBundle?: { code: string };
  /** How long running activities get to finish on shutdown before being told to stop. */
  readonly shutdownGraceTime?: WorkerOptions['shutdownGraceTime'];
  readonly log?: (message: string, fields: Record<string, unknown>) => void;
}

export interface CellWorker {
  readonly hostId: string;
  readonly taskQueue: string;
  readonly hostTaskQueue: string;
  run(): Promise<void>;
  shutdown(): void;
  runUntil<T>(fn: Promise<T> | (() => Promise<T>)): Promise<T>;
}

export async function createCellWorker(opts: CellWorkerOptions): Promise<CellWorker> {
  const hostId = opts.host.config.hostId;
  const maxCells = opts.maxConcurrentCells ?? 16;
  const workflowBundle = opts.workflowBundle ?? (await loadWorkflowBundle());
  const common = {
    connection: opts.connection,
    namespace: opts.namespace ?? 'default',
    shutdownGraceTime: opts.shutdownGraceTime ?? '5s',
  };
  const shared = await Worker.create({
    ...common,
    taskQueue: opts.taskQueue,
    workflowBundle,
    activities: createPlacementActivities({ hostId }),
  });
  const hostQueue = hostTaskQueue(opts.taskQueue, hostId);
  const host = await Worker.create({
    ...common,
    taskQueue: hostQueue,
    activities: createCellActivities({ host: opts.host, log: opts.log }),
    // Each running cell holds one awaitSandbox slot; starts, kills and removals need slots
    // beside them, or a full host could not kill a cell at its deadline.
    maxConcurrentActivityTaskExecutions: maxCells * 2 + 4,
    // Heartbeats carry the cell's output for `cellos logs -f`: flush them about once a second.
    maxHeartbeatThrottleInterval: '1s',
  });
  const run = async () => {
    await Promise.all([shared.run(), host.run()]);
  };
  const shutdown = () => {
    for (const w of [shared, host]) if (w.getState() === 'RUNNING') w.shutdown();
  };
  return {
    hostId,
    taskQueue: opts.taskQueue,
    hostTaskQueue: hostQueue,
    run,
    shutdown,
    async runUntil(fn) {
      const running = run();
      try {
        return await (typeof fn === 'function' ? fn() : fn);
      } finally {
        shutdown();
        await running;
      }
    },
  };
}
