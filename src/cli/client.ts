// A CellClient on a resolved Temporal target, loaded lazily (the Temporal client is heavy). The
// client commands read only the client's settings (clientConfigFromEnv): a bad host or worker
// setting does not stop `cellos ps`.
import type { CellClient } from '../client/cell-client.ts';
import { cellWorkflowId } from '../contract/index.ts';
import type { ClientConfig } from '../worker/config.ts';
import { failure } from './exit.ts';
import type { CliIo } from './io.ts';
import { resolveTemporal, type TemporalTarget } from './temporal.ts';
import type { RunningWorker } from './worker-runtime.ts';

export interface OpenClient {
  readonly client: CellClient;
  /** Runs `fn` with a deadline on its calls (a query nobody answers would otherwise wait long). */
  withDeadline<R>(ms: number, fn: () => Promise<R>): Promise<R>;
  close(): Promise<void>;
}

/**
 * A client of its own connection; or, given `worker` (a worker in this process on the same target
 * and task queue), a client on the worker's connection that starts cells eagerly: the server hands
 * a cell's first workflow task straight back to that worker. The worker's stop() closes it.
 */
export async function openCellClient(
  cfg: ClientConfig,
  target: TemporalTarget,
  worker?: Pick<RunningWorker, 'connection'>,
): Promise<OpenClient> {
  const [{ CellClient }, { connectClient }, dataConverter] = await Promise.all([
    import('../client/cell-client.ts'),
    import('../worker/connection.ts'),
    dataConverterOf(cfg),
  ]);
  const connection = worker?.connection ?? (await connectClient(target.connection));
  return {
    client: new CellClient({
      connection,
      dataConverter,
      namespace: target.connection.namespace,
      taskQueue: cfg.taskQueue,
      hostScheduleToStartSeconds: cfg.hostScheduleToStartSeconds,
      eagerStart: worker !== undefined,
    }),
    withDeadline: (ms, fn) => connection.withDeadline(Date.now() + ms, fn),
    close: () => (worker ? Promise.resolve() : connection.close()),
  };
}

/** Payload encryption when CELLOS_PAYLOAD_KEYS is set (the codec is loaded only then). */
export async function dataConverterOf(cfg: ClientConfig) {
  if (cfg.payloadKeys === undefined) return undefined;
  const { cellosDataConverter } = await import('../codec/data-converter.ts');
  return cellosDataConverter(cfg.payloadKeys);
}

/**
 * Runs `fn` with a client on TEMPORAL_ADDRESS (or the local dev server, which must be running),
 * and closes it after.
 */
export async function withCellClient<R>(
  io: CliIo,
  fn: (open: OpenClient, target: TemporalTarget) => Promise<R>,
): Promise<R> {
  const { clientConfigFromEnv } = await import('../worker/config.ts');
  const cfg = clientConfigFromEnv(io.env);
  const target = await resolveTemporal(cfg, io, { start: false });
  const open = await openCellClient(cfg, target);
  try {
    return await fn(open, target);
  } finally {
    await open.close();
  }
}

/** The latest run of a cell (its own workflow, or the newest run a schedule started), or exit 2 saying so. */
export async function findCellRun(client: CellClient, target: TemporalTarget, cellId: string) {
  const found = await client.findRun(cellId);
  if (!found) {
    throw failure(
      `no cell ${cellId} on ${target.connection.address} (no workflow ${cellWorkflowId(cellId)} and no scheduled run of it in namespace ${target.connection.namespace})`,
    );
  }
  return found;
}
