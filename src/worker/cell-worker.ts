// One host's Temporal workers: the shared queue (cell workflows and admission), the launch queues
// (one per subset of the host's labels, polled only while the host has room: this is placement),
// this host's own queue (the run activities of the cells it claimed) and its control queue (kill,
// remove, describe, drain, artifact reads, with slots of their own, so that a full host can still
// kill a cell at its deadline). All run in one process on the host, beside the host's reconciler,
// which removes what a crash or a terminated workflow left behind.
import { hostname, totalmem } from 'node:os';
import { Client, type Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { NativeConnection, WorkerOptions } from '@temporalio/worker';
import { Runtime, Worker } from '@temporalio/worker';
import {
  createCellActivities,
  createAdmissionActivities,
  createClaimActivity,
  createClaimHere,
  createEventActivities,
  createHostControlActivities,
} from '../../activities/index.ts';
import { blindIndexOf } from '../codec/blind-index.ts';
import { searchAttributesRegistered } from './search-attributes.ts';
import type { CellHost } from '../host/cell-host.ts';
import { loadHostDrain } from '../host/drain.ts';
import { createReconciler, type ReconcileAction } from '../host/reconciler.ts';
import { createHostRoom, type HostRoom } from '../host/room.ts';
import { runningOccupants } from '../host/room-scan.ts';
import { hostControlTaskQueue, hostTaskQueue, launchTaskQueue } from '../contract/index.ts';
import { seenHosts } from '../client/hosts.ts';
import { formatHostIdentity, type HostAd } from '../placement/host-ad.ts';
import { formatLabels, labelSubsets, MAX_HOST_LABELS, type Labels } from '../placement/labels.ts';
import { roomSlotSupplier } from './room-slots.ts';
import { cellLogAttributes } from './cell-log-attributes.ts';
import { cellRunStateFrom } from './cell-run-state.ts';
import { createCellMetrics, type CellMetrics } from './metrics.ts';
import { loadWorkflowBundle } from './workflow-bundle.ts';

export interface CellWorkerOptions {
  readonly connection: NativeConnection;
  /**
   * Whether a cell whose first workflow task this worker runs is claimed by its own host when it
   * has room (default true), rather than always waiting in the launch queue for any host.
   */
  readonly claimLocally?: boolean | undefined;
  /**
   * CELLOS_EAGER_RUN: the server hands activities back eagerly (system.enableActivityEagerExecution),
   * so a cell claimed by this worker's host has its run sent to the shared queue and handed back to
   * this worker with the workflow task's completion (default false).
   */
  readonly eagerRun?: boolean | undefined;
  /**
   * CELLOS_EVENTS_URL: where the cells this worker admits post their lifecycle events (CloudEvents);
   * undefined: no events. Set the same on every worker of a task queue.
   */
  readonly eventsUrl?: string | undefined;
  /** CELLOS_HOST_TIMEOUT_SECONDS: for cells whose caller gives no hostScheduleToStartSeconds. */
  readonly hostScheduleToStartSeconds?: number | undefined;
  readonly namespace?: string;
  /** The deployment's data converter, e.g. payload encryption (cellosDataConverter); clients must match. */
  readonly dataConverter?: DataConverter | undefined;
  readonly taskQueue: string;
  readonly host: CellHost;
  /** The most sandboxes this host runs at once (CELLOS_MAX_CELLS); default 16. */
  readonly maxConcurrentCells?: number;
  /**
   * The most memory its cells may hold at once, as the sum of their limits (CELLOS_MEMORY_BUDGET_BYTES);
   * default 80% of the machine's memory.
   */
  readonly memoryBudgetBytes?: number;
  /** The labels this host advertises (CELLOS_HOST_LABELS): cells asking for labels run only where they match. */
  readonly labels?: Labels;
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
  /** The launch queues this host claims cells from while it has room. */
  readonly launchTaskQueues: readonly string[];
  /** Its room: the cells and memory its cells hold now, and the most they held at once. */
  readonly room: HostRoom;
  /** Runs until shutdown() (and the reconciler beside it); resolves once every worker has stopped. */
  run(): Promise<void>;
  /**
   * Stops polling and the reconciler. Running cells are not killed: their run activities get the
   * grace time, then stop waiting (cancelled with WORKER_SHUTDOWN); the server retries them and a
   * worker of the same host re-attaches to their sandboxes. Idempotent.
   */
  shutdown(): void;
  /**
   * Takes no new cells, waits until the cells it runs are done (or `timeoutMs` passed: the rest keep
   * running and are re-attached when the host returns), then shuts down. Resolves with the cells
   * still running when it stopped waiting.
   */
  drainAndShutdown(timeoutMs: number): Promise<number>;
  runUntil<T>(fn: Promise<T> | (() => Promise<T>)): Promise<T>;
  /** One reconciler round now (joins a round under way). */
  reconcile(): Promise<ReconcileAction[]>;
}

/** Run activities a host takes per cell it may run: the rest wait at its launch gate. */
const HOST_WAITING_ROOM = 4;

const DEFAULT_RECONCILE_INTERVAL_MS = 60_000;

/** How often the room looks at the cell records for sandboxes a previous process left running. */
const ROOM_RESCAN_MS = 5000;

/** How long the cluster's list of hosts (for admission's check) is reused. */
const HOST_LIST_TTL_MS = 5000;

export class CellWorkerOptionsError extends RangeError {
  override readonly name = 'CellWorkerOptionsError';
}

/** 80% of the machine's memory: what cells may hold at once unless configured. */
export function defaultMemoryBudgetBytes(): number {
  return Math.floor(totalmem() * 0.8);
}

export async function createCellWorker(opts: CellWorkerOptions): Promise<CellWorker> {
  const hostId = opts.host.config.hostId;
  const maxCells = opts.maxConcurrentCells ?? 16;
  if (!Number.isInteger(maxCells) || maxCells < 1) {
    throw new CellWorkerOptionsError(`maxConcurrentCells ${maxCells} must be a whole number >= 1`);
  }
  const labels = opts.labels ?? {};
  if (Object.keys(labels).length > MAX_HOST_LABELS) {
    throw new CellWorkerOptionsError(
      `host labels {${formatLabels(labels)}}: at most ${MAX_HOST_LABELS} (a host polls one launch queue per subset of its labels)`,
    );
  }
  const memory = opts.host.config.memory;
  const room = createHostRoom({
    maxCells,
    memoryBudgetBytes: opts.memoryBudgetBytes ?? Math.max(defaultMemoryBudgetBytes(), memory.defaultBytes),
    defaultCellMemoryBytes: memory.defaultBytes,
  });
  room.setFound(await runningOccupants(opts.host));
  const drain = await loadHostDrain(opts.host.config.stateDir);
  const ad: HostAd = {
    hostId,
    labels,
    maxCells,
    memoryBudgetBytes: room.limits.memoryBudgetBytes,
    maxCellMemoryBytes: memory.maxBytes,
  };
  const processName = `${process.pid}@${hostname()}`;
  const identity = formatHostIdentity(ad, processName);
  const startedAt = new Date().toISOString();
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
    identity,
    ...(opts.dataConverter ? { dataConverter: opts.dataConverter } : {}),
    shutdownGraceTime: opts.shutdownGraceTime ?? '5s',
    shutdownForceTime: opts.shutdownForceTime ?? '60s',
  };
  const client =
    opts.client instanceof Client
      ? opts.client
      : new Client({
          connection: opts.client ?? opts.connection,
          namespace,
          ...(opts.dataConverter ? { dataConverter: opts.dataConverter } : {}),
        });
  const hostQueue = hostTaskQueue(opts.taskQueue, hostId);
  const controlQueue = hostControlTaskQueue(opts.taskQueue, hostId);
  // Every removal gives the sandbox's room back, whoever removes it (a run, the workflow's cleanup,
  // the reconciler).
  const host: CellHost = Object.assign(Object.create(opts.host) as CellHost, {
    async remove(handle: Parameters<CellHost['remove']>[0]) {
      await opts.host.remove(handle);
      room.release(handle.sandboxId);
    },
    async removeById(sandboxId: string) {
      await opts.host.removeById(sandboxId);
      room.release(sandboxId);
    },
  });
  // One set of activities for both host queues: one room counts this host's sandboxes.
  const activities = createCellActivities({ host, log, metrics, room });
  let stopping = false;
  const launchQueues = labelSubsets(labels).map((subset) => launchTaskQueue(opts.taskQueue, formatLabels(subset)));
  const claimDeps = { host, room, drain, labels, log, accepting: () => !stopping };
  const claim = createClaimActivity(claimDeps);
  // Asked once now too, so that an operator hears of a missing attribute at start.
  const attributesRegistered = searchAttributesRegistered(client, (missing, fix) =>
    log('the namespace lacks cell search attributes: cells write none of them until they are registered', {
      hostId,
      namespace,
      missing: missing.join(' '),
      fix,
    }),
  );
  void attributesRegistered();
  // The SDK's lines about the host activities name the cell, the host and the phase, as ours do.
  const interceptors = { activity: [cellLogAttributes(hostId)] };
  const shared = await Worker.create({
    ...common,
    taskQueue: opts.taskQueue,
    workflowBundle,
    activities: {
      ...createAdmissionActivities({
        hostId,
        knownHosts: hostList(client, opts.taskQueue, ad),
        claimHere: opts.claimLocally === false ? undefined : createClaimHere(claimDeps),
        eagerRun: opts.eagerRun === true,
        events: opts.eventsUrl !== undefined,
        blindIndex: blindIndexOf(opts.dataConverter),
        searchAttributesRegistered: attributesRegistered,
        hostScheduleToStartSeconds: opts.hostScheduleToStartSeconds,
      }),
      ...createEventActivities({ eventsUrl: opts.eventsUrl, log }),
      // Eager runs, and their retries, which any host's worker may take: only the claiming host
      // runs one (see runSandbox). Registered whatever this worker's eagerRun: another's may send them.
      runSandbox: activities.runSandbox,
    },
    interceptors,
    // Claimed runs are at most maxCells at once; the rest is the SDK's default for the events.
    maxConcurrentActivityTaskExecutions: maxCells + 100,
    // As the host's queue: a run's heartbeats carry its output for `cellos logs -f`.
    maxHeartbeatThrottleInterval: '1s',
  });
  const fixed = (numSlots: number) => ({ type: 'fixed-size', numSlots }) as const;
  const launchers = await Promise.all(
    launchQueues.map((taskQueue) =>
      Worker.create({
        ...common,
        taskQueue,
        activities: claim,
        // Slots only while the host has room and is not draining or stopping: placement is here.
        tuner: {
          activityTaskSlotSupplier: roomSlotSupplier(room, () => !stopping && drain.current() === undefined),
          workflowTaskSlotSupplier: fixed(1),
          localActivityTaskSlotSupplier: fixed(1),
          nexusTaskSlotSupplier: fixed(1),
        },
      }),
    ),
  );
  const hostWorker = await Worker.create({
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
    activities: {
      killSandbox: activities.killSandbox,
      removeSandbox: activities.removeSandbox,
      ...createHostControlActivities({
        hostId,
        labels,
        room,
        drain,
        isStopping: () => stopping,
        process: processName,
        startedAt,
        artifactStore: host.artifactStore,
      }),
    },
    interceptors,
    // At most one kill or one removal per cell at a time, cells running or finishing: never
    // waiting behind the run activities, whatever the host runs.
    maxConcurrentActivityTaskExecutions: maxCells * 2 + 4,
  });

  const reconciler = createReconciler({
    host,
    isCellRunning: cellRunStateFrom(client),
    log,
    orphanGraceMs: opts.orphanGraceMs,
    metrics,
  });

  let timer: ReturnType<typeof setTimeout> | undefined;
  const rescan = setInterval(() => {
    void runningOccupants(opts.host).then(
      (found) => room.setFound(found),
      () => undefined,
    );
  }, ROOM_RESCAN_MS);
  rescan.unref();
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
      const workers = Promise.allSettled(allWorkers.map((w) => stopAllOnFailure(w.run())));
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
    clearInterval(rescan);
    stopRounds.abort();
    for (const w of allWorkers) if (w.getState() === 'RUNNING') w.shutdown();
  };
  const allWorkers = [shared, hostWorker, control, ...launchers];
  return {
    hostId,
    taskQueue: opts.taskQueue,
    hostTaskQueue: hostQueue,
    controlTaskQueue: controlQueue,
    launchTaskQueues: launchQueues,
    room,
    run,
    shutdown,
    async drainAndShutdown(timeoutMs) {
      // No new claims from here on (the slot supplier asks), and no polling of the launch queues.
      stopping = true;
      for (const w of launchers) if (w.getState() === 'RUNNING') w.shutdown();
      const until = Date.now() + timeoutMs;
      while (room.use().cells > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
      const left = room.use().cells;
      shutdown();
      return left;
    },
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

/** The hosts seen on the shared queue, this one always among them; a failed listing says nothing. */
function hostList(
  client: Client,
  taskQueue: string,
  self: HostAd,
): (opts?: { fresh?: boolean }) => Promise<readonly HostAd[] | undefined> {
  let cached: { at: number; hosts: readonly HostAd[] | undefined } | undefined;
  return async ({ fresh = false } = {}) => {
    if (!fresh && cached && Date.now() - cached.at < HOST_LIST_TTL_MS) return cached.hosts;
    let hosts: readonly HostAd[] | undefined;
    try {
      const seen = await seenHosts(client.workflowService, client.options.namespace, taskQueue);
      hosts = [self, ...seen.filter((h) => h.hostId !== self.hostId)];
    } catch {
      hosts = undefined;
    }
    cached = { at: Date.now(), hosts };
    return hosts;
  };
}
