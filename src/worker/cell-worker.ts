// One host's Temporal workers: the shared queue (cell workflows and placement), this host's own
// queue (the run activities, one slot per cell the host may run) and its control queue (kill and
// remove, with slots of their own, so that a full host can still kill a cell at its deadline). All
// run in one process on the host, beside the host's reconciler, which removes what a crash or a
// terminated workflow left behind.
import { Client, type Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { NativeConnection, WorkerOptions } from '@temporalio/worker';
import { Runtime, Worker } from '@temporalio/worker';
import { createCellActivities, createAdmissionActivities } from '../../activities/index.ts';
import type { CellHost } from '../host/cell-host.ts';
import { createReconciler, type ReconcileAction } from '../host/reconciler.ts';
import { hostControlTaskQueue, hostTaskQueue } from '../contract/index.ts';
import { cellLogAttributes } from './cell-log-attributes.ts';
import { cellRunStateFrom } from './cell-run-state.ts';
import { createCellMetrics, type CellMetrics } from './metrics.ts';
import { loadWorkflowBundle } from './workflow-bundle.ts';

export interface CellWorkerOptions {
  readonly connection: NativeConnection;
  readonly namespace?: string;
  /** The deployment's data converter, e.g. payload encryption (cellosDataConverter); clients must match. */
  readonly dataConverter?: DataConverter | undefined;
  readonly taskQueue: string;
  readonly host: CellHost;
  /** The most sandboxes this host runs at once (CELLOS_MAX_CELLS); default 16. */
  readonly maxConcurrentCells?: number;
  readonly workflowBundle?: { code: string };
  /** How long running activities get to finish on shutdown before being told to stop. */
  readonly shutdownGraceTime?: WorkerOptions['shutdownGraceTime'];
  /**
   * How long a shutdown may take in all before run() gives up on it and rejects (an activity that
   * ignores its cancellation). Default 60 s.
   */
  readonly shutdownForceTime?: WorkerOptions['shutdownForceTime'];
  /** The reconciler's view of Temporal; by default a client on `connection`. */
  readonly client?: Client | Connection;
  /** Reconciler rounds: one at start, then every this many ms while running. 0 disables it. Default 60 s. */
  readonly reconcileIntervalMs?: number;
  /** The reconciler leaves things without a cell record alone until they are this old. Default 60 s. */
  readonly orphanGraceMs?: number;
  /** Our lines (the activities' and the reconciler's); by default the Runtime's logger, at INFO. */
  readonly log?: (message: string, fields: Record<string, unknown>) => void;
  /**
   * Where the activities and the reconciler count cells; by default on the Runtime's metric meter
   * (a no-op unless the Runtime was installed with a metrics exporter).
   */
  readonly metrics?: CellMetrics;
}

export interface CellWorker {
  readonly hostId: string;
  readonly taskQueue: string;
  readonly hostTaskQueue: string;
  /** Where this host takes kill and remove: `<hostTaskQueue>/control`. */
  readonly controlTaskQueue: string;
  /** Runs until shutdown() (and the reconciler beside it); resolves once every worker has stopped. */
  run(): Promise<void>;
  /**
   * Stops polling and the reconciler. Running cells are not killed: their run activities get the
   * grace time, then stop waiting (cancelled with WORKER_SHUTDOWN); the server retries them and a
   * worker of the same host re-attaches to their sandboxes. Idempotent.
   */
  shutdown(): void;
  runUntil<T>(fn: Promise<T> | (() => Promise<T>)): Promise<T>;
  /** One reconciler round now (joins a round under way). */
  reconcile(): Promise<ReconcileAction[]>;
}

/** Run activities a host takes per cell it may run: the rest wait at its launch gate. */
const HOST_WAITING_ROOM = 4;

const DEFAULT_RECONCILE_INTERVAL_MS = 60_000;

export async function createCellWorker(opts: CellWorkerOptions): Promise<CellWorker> {
  const hostId = opts.host.config.hostId;
  const maxCells = opts.maxConcurrentCells ?? 16;
  if (!Number.isInteger(maxCells) || maxCells < 1) {
    throw new RangeError(`maxConcurrentCells ${maxCells} must be a whole number >= 1`);
  }
  const namespace = opts.namespace ?? 'default';
  const reconcileIntervalMs = opts.reconcileIntervalMs ?? DEFAULT_RECONCILE_INTERVAL_MS;
  if (!Number.isInteger(reconcileIntervalMs) || reconcileIntervalMs < 0) {
    throw new RangeError(`reconcileIntervalMs ${reconcileIntervalMs} must be a whole number of ms >= 0`);
  }
  const log =
    opts.log ?? ((message: string, fields: Record<string, unknown>) => Runtime.instance().logger.info(message, fields));
  const metrics = opts.metrics ?? createCellMetrics(Runtime.instance().metricMeter, { hostId });
  const workflowBundle =
    opts.workflowBundle ??
    (await loadWorkflowBundle({ failureConverterPath: opts.dataConverter?.failureConverterPath }));
  const common = {
    connection: opts.connection,
    namespace,
    ...(opts.dataConverter ? { dataConverter: opts.dataConverter } : {}),
    shutdownGraceTime: opts.shutdownGraceTime ?? '5s',
    shutdownForceTime: opts.shutdownForceTime ?? '60s',
  };
  const shared = await Worker.create({
    ...common,
    taskQueue: opts.taskQueue,
    workflowBundle,
    activities: createAdmissionActivities({ hostId }),
  });
  const hostQueue = hostTaskQueue(opts.taskQueue, hostId);
  const controlQueue = hostControlTaskQueue(opts.taskQueue, hostId);
  // One set of activities for both host queues: one launch gate counts this host's sandboxes.
  const activities = createCellActivities({ host: opts.host, log, metrics, maxConcurrentCells: maxCells });
  // The SDK's lines about these activities name the cell, the host and the phase, as ours do.
  const interceptors = { activity: [cellLogAttributes(hostId)] };
  const host = await Worker.create({
    ...common,
    taskQueue: hostQueue,
    // Kill and remove stay here for cells whose workflows predate the control queue.
    activities,
    interceptors,
    // The launch gate (activities/launch-gate.ts) keeps the host at maxCells running sandboxes, also
    // counting those a previous worker process left running. The slots beyond that are a waiting
    // room: a cell that waits at the gate heartbeats, so a busy host is not taken for a lost one,
    // which a cell left unclaimed in the queue past hostScheduleToStartSeconds would be.
    maxConcurrentActivityTaskExecutions: maxCells * HOST_WAITING_ROOM,
    // Heartbeats carry the cell's output for `cellos logs -f`: flush them about once a second.
    maxHeartbeatThrottleInterval: '1s',
  });
  const control = await Worker.create({
    ...common,
    taskQueue: controlQueue,
    activities: { killSandbox: activities.killSandbox, removeSandbox: activities.removeSandbox },
    interceptors,
    // At most one kill or one removal per cell at a time, cells running or finishing: never
    // waiting behind the run activities, whatever the host runs.
    maxConcurrentActivityTaskExecutions: maxCells * 2 + 4,
  });

  const client =
    opts.client instanceof Client
      ? opts.client
      : new Client({
          connection: opts.client ?? opts.connection,
          namespace,
          ...(opts.dataConverter ? { dataConverter: opts.dataConverter } : {}),
        });
  const reconciler = createReconciler({
    host: opts.host,
    isCellRunning: cellRunStateFrom(client),
    log,
    orphanGraceMs: opts.orphanGraceMs,
    metrics,
  });

  let stopping = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let round: Promise<unknown> | undefined;
  const stopRounds = new AbortController();
  const reconcileRound = () => {
    round = reconciler
      .reconcile({ signal: stopRounds.signal })
      .catch((err: unknown) =>
        log('reconcile: round failed', {
          hostId,
          phase: 'reconcile',
          error: err instanceof Error ? err.message : err,
        }),
      )
      .finally(() => {
        round = undefined;
        // The next round counts from the end of this one: rounds never overlap.
        if (!stopping && reconcileIntervalMs > 0) timer = setTimeout(reconcileRound, reconcileIntervalMs);
      });
  };

  let running: Promise<void> | undefined;
  const run = () => {
    running ??= (async () => {
      if (stopping) return;
      // One worker failing stops the others: run() settles only when all have stopped.
      const stopAllOnFailure = (p: Promise<void>) =>
        p.catch((err: unknown) => {
          shutdown();
          throw err;
        });
      const workers = Promise.allSettled([shared, host, control].map((w) => stopAllOnFailure(w.run())));
      // Polling starts first: after a restart, the run activities of cells that are still running
      // re-attach at once. The reconciler leaves those cells alone (their workflows are running)
      // and skips anything younger than its grace, so it cannot race a prepare.
      if (reconcileIntervalMs > 0) reconcileRound();
      let results: PromiseSettledResult<void>[];
      try {
        results = await workers;
      } finally {
        shutdown();
        await round;
      }
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    })();
    return running;
  };
  const shutdown = () => {
    stopping = true;
    clearTimeout(timer);
    stopRounds.abort();
    for (const w of [shared, host, control]) if (w.getState() === 'RUNNING') w.shutdown();
  };
  return {
    hostId,
    taskQueue: opts.taskQueue,
    hostTaskQueue: hostQueue,
    controlTaskQueue: controlQueue,
    run,
    shutdown,
    async runUntil(fn) {
      const done = run();
      try {
        return await (typeof fn === 'function' ? fn() : fn);
      } finally {
        shutdown();
        await done;
      }
    },
    reconcile: () => reconciler.reconcile(),
  };
}
