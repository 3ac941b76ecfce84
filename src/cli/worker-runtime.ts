// A cell worker inside this process (for `cellos run` on the embedded default, `worker` and `dev`):
// host, native connection, workflow bundle, and a stop() that shuts down in order.
import type { LogEntry } from '@temporalio/worker';
import { formatWithOptions } from 'node:util';
import type { CellWorker } from '../worker/cell-worker.ts';
import type { WorkerConfig } from '../worker/config.ts';
import type { TemporalTarget } from './temporal.ts';

export interface RunningWorker {
  readonly worker: CellWorker;
  /** Settles when the worker stops; rejects when it fails. */
  readonly running: Promise<void>;
  /** Graceful: in-flight activities get the worker's grace, then the connection closes. Idempotent. */
  stop(): Promise<void>;
}

export interface StartWorkerOptions {
  readonly cfg: WorkerConfig;
  readonly target: TemporalTarget;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** 'WARN' keeps `cellos run` quiet; a long-running worker logs at 'INFO'. */
  readonly logLevel: 'INFO' | 'WARN';
  readonly log?: (message: string, fields: Record<string, unknown>) => void;
}

export async function startWorker(opts: StartWorkerOptions): Promise<RunningWorker> {
  const [
    { DefaultLogger, Runtime },
    { createCellHost },
    { createCellWorker },
    { connectNative },
    { loadWorkflowBundle },
  ] = await Promise.all([
    import('@temporalio/worker'),
    import('../host/cell-host.ts'),
    import('../worker/cell-worker.ts'),
    import('../worker/connection.ts'),
    import('../worker/workflow-bundle.ts'),
  ]);
  // Signals are ours: Ctrl-C during `cellos run` kills the cell first, and the worker stays up to do it.
  Runtime.install({ logger: new DefaultLogger(opts.logLevel, logEntry), shutdownSignals: [] });
  const host = await createCellHost(opts.cfg.host, opts.env);
  const workflowBundle = await loadWorkflowBundle();
  const connection = await connectNative(opts.target.connection);
  let worker: CellWorker;
  try {
    worker = await createCellWorker({
      connection,
      namespace: opts.target.connection.namespace,
      taskQueue: opts.cfg.taskQueue,
      host,
      maxConcurrentCells: opts.cfg.maxConcurrentCells,
      workflowBundle,
      log: opts.log,
      reconcileIntervalMs: opts.cfg.reconcileIntervalSeconds * 1000,
      orphanGraceMs: opts.cfg.orphanGraceSeconds * 1000,
    });
  } catch (err) {
    await connection.close();
    throw err;
  }
  const running = worker.run();
  // Observed here so that a failure before anyone awaits it is not an unhandled rejection.
  running.catch(() => undefined);
  let stopping: Promise<void> | undefined;
  return {
    worker,
    running,
    stop() {
      stopping ??= (async () => {
        worker.shutdown();
        try {
          await running;
        } finally {
          await connection.close();
        }
      })();
      return stopping;
    },
  };
}

/**
 * The SDK's log line format, without one expected warning: the host-queue worker has activities only,
 * by design, and the SDK warns about that at every start.
 */
function logEntry({ level, timestampNanos, message, meta }: LogEntry): void {
  if (message.startsWith('No workflows registered')) return;
  const colors = process.stderr.isTTY === true;
  const date = new Date(Number(timestampNanos / 1_000_000n)).toISOString();
  const details = meta === undefined ? '' : ` ${formatWithOptions({ colors, breakLength: Infinity }, meta)}`;
  process.stderr.write(`${date} [${level}] ${message}${details}\n`);
}
