// A cell worker inside this process (for `cellos run` on the embedded default, `worker` and `dev`):
// the Temporal Runtime (logger, Prometheus metrics), host, native connection, workflow bundle, and a
// stop() that shuts down in order.
//
// Logs: every line of the worker, the SDK's (Core's included, forwarded) and ours, goes through the
// Runtime's logger: JSON lines when stderr is not a terminal, `time [LEVEL] message key=value` on a
// terminal. Lines about a cell carry cellId, hostId and phase; every line carries hostId.
import type * as TemporalWorker from '@temporalio/worker';
import type { LogEntry, RuntimeOptions } from '@temporalio/worker';
import { dataConverterOf } from './client.ts';
import { ConfigError } from '../config-error.ts';
import type { CellWorker } from '../worker/cell-worker.ts';
import type { WorkerConfig } from '../worker/config.ts';
import { formatLogLine } from '../worker/log-format.ts';
import { PHASE_DURATION_BUCKETS_MS, metricNames } from '../worker/metrics.ts';
import type { TemporalTarget } from './temporal.ts';

export interface RunningWorker {
  readonly worker: CellWorker;
  /** The worker's connection (closed by stop()): a client on it can start cells eagerly. */
  readonly connection: TemporalWorker.NativeConnection;
  /** Settles when the worker stops; rejects when it fails. */
  readonly running: Promise<void>;
  /** Graceful: in-flight activities get the worker's grace, then the connection closes. Idempotent. */
  stop(): Promise<void>;
  /**
   * Takes no new cells and waits up to `timeoutMs` for the running ones to finish, then stop().
   * Resolves with the cells left running (they are re-attached when the host returns).
   */
  drainAndStop(timeoutMs: number): Promise<number>;
}

export interface StartWorkerOptions {
  readonly cfg: WorkerConfig;
  readonly target: TemporalTarget;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** 'WARN' keeps `cellos run` quiet; a long-running worker logs at 'INFO'. */
  readonly logLevel: 'INFO' | 'WARN';
}

export async function startWorker(opts: StartWorkerOptions): Promise<RunningWorker> {
  const [temporalWorker, { createCellHost }, { createCellWorker }, { connectNative }, { loadWorkflowBundle }] =
    await Promise.all([
      import('@temporalio/worker'),
      import('../host/cell-host.ts'),
      import('../worker/cell-worker.ts'),
      import('../worker/connection.ts'),
      import('../worker/workflow-bundle.ts'),
    ]);
  const runtime = installRuntime(temporalWorker, opts);
  const log = (message: string, fields: Record<string, unknown>) => runtime.logger.info(message, fields);
  // The AWS SDK is loaded only when artifacts go to S3.
  const s3 = opts.cfg.artifactsS3 && (await import('../artifacts/s3-open.ts')).openS3Store(opts.cfg.artifactsS3);
  let host: Awaited<ReturnType<typeof createCellHost>>;
  try {
    host = await createCellHost(opts.cfg.host, opts.env, { log, artifactStore: s3?.store });
  } catch (err) {
    s3?.close();
    throw err;
  }
  const dataConverter = await dataConverterOf(opts.cfg);
  const workflowBundle = await loadWorkflowBundle({ failureConverterPath: dataConverter?.failureConverterPath });
  const connection = await connectNative(opts.target.connection);
  let worker: CellWorker;
  try {
    worker = await createCellWorker({
      connection,
      namespace: opts.target.connection.namespace,
      dataConverter,
      taskQueue: opts.cfg.taskQueue,
      host,
      maxConcurrentCells: opts.cfg.maxConcurrentCells,
      ...(opts.cfg.memoryBudgetBytes === undefined ? {} : { memoryBudgetBytes: opts.cfg.memoryBudgetBytes }),
      labels: opts.cfg.hostLabels,
      workflowBundle,
      log,
      reconcileIntervalMs: opts.cfg.reconcileIntervalSeconds * 1000,
      orphanGraceMs: opts.cfg.orphanGraceSeconds * 1000,
      eventsUrl: opts.cfg.eventsUrl,
      eagerRun: opts.cfg.eagerRun,
      hostScheduleToStartSeconds: opts.cfg.hostScheduleToStartSeconds,
    });
  } catch (err) {
    await connection.close();
    throw err;
  }
  const running = worker.run();
  // Observed here so that a failure before anyone awaits it is not an unhandled rejection.
  running.catch(() => undefined);
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      worker.shutdown();
      try {
        await running;
      } finally {
        // The warm pool's unused sandboxes go with the worker (a SIGKILLed one leaves them to the next).
        await Promise.all([connection.close(), host.shutdown()]);
        s3?.close();
      }
    })();
    return stopping;
  };
  return {
    worker,
    connection,
    running,
    stop,
    async drainAndStop(timeoutMs) {
      const left = await worker.drainAndShutdown(timeoutMs);
      await stop();
      return left;
    },
  };
}

type WorkerModule = typeof TemporalWorker;

/** The process's Temporal Runtime: our logger, Core's logs forwarded to it, Prometheus when configured. */
function installRuntime(
  { Runtime, DefaultLogger }: Pick<WorkerModule, 'Runtime' | 'DefaultLogger'>,
  opts: StartWorkerOptions,
): ReturnType<WorkerModule['Runtime']['install']> {
  const stderr = process.stderr;
  const json = stderr.isTTY !== true;
  const fields = { hostId: opts.cfg.host.hostId };
  const write = (entry: LogEntry) => {
    if (isExpected(entry)) return;
    stderr.write(formatLogLine(entry, { json, colors: !json, fields }));
  };
  const metricsAddress = opts.cfg.metricsAddress;
  const telemetryOptions: RuntimeOptions['telemetryOptions'] = {
    // Core's own lines through our logger too, rather than printed to the console in its own format.
    logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} },
    ...(metricsAddress === undefined
      ? {}
      : {
          metrics: {
            prometheus: {
              bindAddress: metricsAddress,
              histogramBucketOverrides: { [metricNames.phaseDuration]: PHASE_DURATION_BUCKETS_MS },
            },
          },
        }),
  };
  try {
    // Signals are ours: Ctrl-C during `cellos run` kills the cell first, and the worker stays up to do it.
    return Runtime.install({
      logger: new DefaultLogger(opts.logLevel, write),
      telemetryOptions,
      shutdownSignals: [],
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (metricsAddress !== undefined && /metrics|prometheus|address|socket/i.test(message)) {
      throw new ConfigError(`CELLOS_METRICS_ADDRESS=${metricsAddress}: ${message}`, { cause: err });
    }
    throw err;
  }
}

/** The host-queue worker has activities only, by design, and the SDK warns about that at every start. */
function isExpected({ message }: LogEntry): boolean {
  return message.startsWith('No workflows registered');
}
