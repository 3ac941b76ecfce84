// A real worker (shared + host queue) and client against the test run's dev server.
import { Connection } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils.js';
import { DefaultLogger, IllegalStateError, NativeConnection, Runtime } from '@temporalio/worker';
import { inject } from 'vitest';
import { CellClient } from '../../src/client/cell-client.ts';
import type { HostConfigInput } from '../../src/host/config.ts';
import { createCellWorker, type CellWorker } from '../../src/worker/cell-worker.ts';
import { formatLogLine } from '../../src/worker/log-format.ts';
import { loadWorkflowBundle } from '../../src/worker/workflow-bundle.ts';
import { makeTestHost } from './host.ts';

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

export async function startTestBed(
  opts: {
    host?: HostConfigInput;
    hostScheduleToStartSeconds?: number;
    /** Join another bed's queue (e.g. a second worker for the same host id and state dir). */
    taskQueue?: string;
  } = {},
): Promise<TemporalTestBed> {
  const address = inject('temporalAddress');
  const host = await makeTestHost(opts.host);
  const taskQueue = opts.taskQueue ?? `test-${host.config.hostId}`;
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
    async stopWorker() {
      worker.shutdown();
      await running;
    },
    async close() {
      worker.shutdown();
      await running;
      await nativeConnection.close();
      await connection.close();
      await host.cleanupDir();
    },
  };
}

/** Polls a cell's status until it reaches `phase` (20 s at most). */
export async function waitForPhase<T extends { phase: string }>(status: () => Promise<T>, phase: string): Promise<T> {
  const until = Date.now() + 20_000;
  for (;;) {
    const s = await status().catch(() => undefined);
    if (s?.phase === phase) return s;
    if (Date.now() > until) throw new Error(`cell never reached phase ${phase} (last: ${s?.phase})`);
    await new Promise((r) => setTimeout(r, 50));
  }
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
  const until = Date.now() + 20_000;
  for (;;) {
    const state = await bed.host.runsc.state(id);
    if (state?.status === status) return;
    if (Date.now() > until) throw new Error(`container ${id} never became ${status} (last: ${state?.status})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
