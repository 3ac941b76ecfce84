// Temporal test beds: a real host, a worker for it in this process (shared + host queue) and a client,
// against the test run's dev server (global-setup.ts).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cellFile } from '../../src/host/cell-files.ts';
import type { History } from '@temporalio/common/lib/proto-utils.js';
import { DefaultLogger, IllegalStateError, NativeConnection, Runtime } from '@temporalio/worker';
import { afterAll, afterEach, beforeAll, inject } from 'vitest';
import type { CellClient, CellRun } from '../../src/client/cell-client.ts';
import type { CellHost } from '../../src/host/cell-host.ts';
import type { HostConfigInput } from '../../src/host/config.ts';
import { createCellWorker, type CellWorker, type CellWorkerOptions } from '../../src/worker/cell-worker.ts';
import { formatLogLine } from '../../src/worker/log-format.ts';
import { loadWorkflowBundle } from '../../src/worker/workflow-bundle.ts';
import { closeTestClient, connectTestClient } from './client.ts';
import { expectNoLeftovers, makeTestHost, warmOnly } from './host.ts';
import { until } from './wait.ts';

// The SDK's default Runtime logs every worker state change as a multi-line INFO object: tests show
// warnings only, one line each. Installed when this module loads, before any connection could
// instantiate the default Runtime; a Runtime that is already there is left alone.
try {
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) => {
      if (!entry.message.startsWith('No workflows registered'))
        process.stderr.write(formatLogLine(entry, { json: false }));
    }),
  });
} catch (err) {
  if (!(err instanceof IllegalStateError)) throw err;
}

/** Options of createCellWorker that a test may set; the rest comes from the bed. */
export type TestWorkerOptions = Omit<CellWorkerOptions, 'connection' | 'taskQueue' | 'host' | 'workflowBundle'>;

export interface TestWorker {
  readonly worker: CellWorker;
  readonly taskQueue: string;
  readonly running: Promise<void>;
  /** Shuts the worker down (as on SIGTERM) and waits for it. */
  stop(): Promise<void>;
  /** stop(), then closes the worker's connection; the host is the caller's. */
  close(): Promise<void>;
}

/**
 * A cell worker in this process for `host`, running against `address` (default: the test run's server,
 * global-setup.ts; in the cluster tier, the cluster).
 */
export async function startTestWorker(
  host: CellHost,
  opts: { taskQueue?: string; address?: string; worker?: TestWorkerOptions } = {},
): Promise<TestWorker> {
  const taskQueue = opts.taskQueue ?? `test-${host.config.hostId}`;
  const connection = await NativeConnection.connect({ address: opts.address ?? inject('temporalAddress') });
  const worker = await createCellWorker({
    // As on the embedded default: the test run's dev server (and the cluster tier's) dispatch eagerly.
    eagerRun: true,
    ...opts.worker,
    connection,
    taskQueue,
    host,
    workflowBundle: await loadWorkflowBundle({
      failureConverterPath: opts.worker?.dataConverter?.failureConverterPath,
    }),
  });
  const running = worker.run();
  const stop = async () => {
    worker.shutdown();
    await running;
  };
  return {
    worker,
    taskQueue,
    running,
    stop,
    async close() {
      await stop();
      await connection.close();
    },
  };
}

export interface TemporalTestBed {
  readonly host: Awaited<ReturnType<typeof makeTestHost>>;
  readonly worker: CellWorker;
  readonly client: CellClient;
  readonly taskQueue: string;
  readonly running: Promise<void>;
  /** Shuts the worker down (as on SIGTERM) and waits for it; the host's state is kept. close() still works. */
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

export interface TestBedOptions {
  host?: HostConfigInput;
  /** With host.warmPoolSize: every cell that fits runs warm (see warmOnly in host.ts). */
  warmOnly?: boolean;
  hostScheduleToStartSeconds?: number;
  /** Join another bed's queue (e.g. a second worker for the same host id and state dir). */
  taskQueue?: string;
  /** The Temporal frontend of the worker and the client (default: the test run's server). */
  address?: string;
  worker?: TestWorkerOptions;
}

/** A host of its own, a worker for it in this process and a client, on the test run's server (or `address`). */
export async function startTestBed(opts: TestBedOptions = {}): Promise<TemporalTestBed> {
  const made = await makeTestHost(opts.host);
  const host = opts.warmOnly ? warmOnly(made) : made;
  const { worker, taskQueue, running, stop, close } = await startTestWorker(host, opts);
  const client = await connectTestClient({
    taskQueue,
    address: opts.address,
    hostScheduleToStartSeconds: opts.hostScheduleToStartSeconds,
    dataConverter: opts.worker?.dataConverter,
  });
  return {
    host,
    worker,
    client,
    taskQueue,
    running,
    stopWorker: stop,
    async close() {
      await close();
      await closeTestClient(client);
      await host.cleanupDir();
    },
  };
}

/**
 * The test bed of a file (or describe block): started before its tests, closed after them. After
 * each test, `afterEach` runs (e.g. to delete schedules), then the host must have nothing left. The
 * bed's fields can be read from the tests and hooks, once it has started.
 */
export function useTestBed(
  opts: TestBedOptions = {},
  hooks: { afterEach?: (bed: TemporalTestBed) => Promise<void> } = {},
): TemporalTestBed {
  let started: TemporalTestBed | undefined;
  const bed = (): TemporalTestBed => {
    if (!started) throw new Error('the test bed is not running: it starts in beforeAll and is closed in afterAll');
    return started;
  };
  beforeAll(async () => {
    started = await startTestBed(opts);
  });
  afterEach(async () => {
    await hooks.afterEach?.(bed());
    await expectNoLeftovers(bed().host);
  });
  afterAll(async () => {
    await started?.close();
    started = undefined;
  });
  return {
    get host() {
      return bed().host;
    },
    get worker() {
      return bed().worker;
    },
    get client() {
      return bed().client;
    },
    get taskQueue() {
      return bed().taskQueue;
    },
    get running() {
      return bed().running;
    },
    stopWorker: () => bed().stopWorker(),
    close: () => bed().close(),
  };
}

/** Polls a cell's status until it reaches `phase` (20 s at most). */
export function waitForPhase<T extends { phase: string }>(status: () => Promise<T>, phase: string): Promise<T> {
  return waitForStatus(status, `phase ${phase}`, (s) => s.phase === phase);
}

/** Polls a cell's status until `done` holds for it (20 s at most). */
export async function waitForStatus<T>(status: () => Promise<T>, what: string, done: (s: T) => boolean): Promise<T> {
  const s = await until(
    `the cell reaching ${what}`,
    () => status().catch(() => undefined),
    (s) => s !== undefined && done(s),
  );
  return s!;
}

/** The full event history of one workflow run, as the server stores it. */
export async function fetchHistory(bed: TemporalTestBed, workflowId: string, runId?: string): Promise<History> {
  return bed.client.temporal.workflow.getHandle(workflowId, runId).fetchHistory();
}

/** The attempt number of each completed run of activity `type` in a history (from ActivityTaskStarted). */
export function activityAttempts(history: History, type: string): number[] {
  const events = history.events ?? [];
  const scheduled = new Set(
    events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === type)
      .map((e) => String(e.eventId)),
  );
  return events
    .filter((e) => scheduled.has(String(e.activityTaskStartedEventAttributes?.scheduledEventId)))
    .map((e) => e.activityTaskStartedEventAttributes?.attempt ?? 0);
}

/** Waits until runsc reports the container of a cell run in `status` (a workflow's phase runs ahead of it). */
export async function waitForContainer(
  bed: TemporalTestBed,
  run: { cellId: string; runId: string },
  status = 'running',
): Promise<void> {
  const id = bed.host.sandboxIdFor(run.cellId, run.runId);
  await until(
    `container of ${id} becoming ${status}`,
    async () => {
      // A cell in a warm sandbox: that sandbox's container, running once the cell's process runs in it.
      const handle = await bed.host.attach(id);
      const state = (await bed.host.runsc.state(handle?.runscId ?? id))?.status;
      if (handle?.runscId !== undefined && state === 'running' && !(await bed.host.workloadStarted(handle))) {
        return 'starting';
      }
      return state;
    },
    (s) => s === status,
  );
}

/**
 * Starts a cell and waits until its sandbox runs (and, with `output`, until its stdout shows that
 * text, e.g. loopScript's TRAPPED: a signal sent before the shell set its trap is ignored, since
 * the shell is the sandbox's first process); returns the run and the sandbox's id.
 */
export async function startRunningCell(
  bed: TemporalTestBed,
  document: unknown,
  opts: { output?: string } = {},
): Promise<{ run: CellRun; sandboxId: string }> {
  const run = await bed.client.start(document);
  await waitForContainer(bed, run);
  const sandboxId = bed.host.sandboxIdFor(run.cellId, run.runId);
  if (opts.output !== undefined) {
    const stdout = join(bed.host.config.cellsDir, sandboxId, cellFile.stdout);
    await until(
      `the output of ${sandboxId} showing ${JSON.stringify(opts.output)}`,
      () => readFile(stdout, 'utf8').catch(() => ''),
      (text) => text.includes(opts.output!),
    );
  }
  return { run, sandboxId };
}
