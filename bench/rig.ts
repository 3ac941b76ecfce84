// What the bench runs cells on: a Temporal dev server (SQLite file), two hosts on this machine
// (cold: no warm pool; warm: a pool of pre-booted sandboxes), one worker per host on a task queue of
// its own, both on one NativeConnection, a client per queue, and the raw baseline's bundles; a cell
// runs any of the five ways of series.ts. close() stops whatever got started and removes what the
// hosts left behind.
import { mkdtemp, readdir, rm, rmdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { CellClient } from '../src/client/index.ts';
import { parseCellDocument } from '../src/index.ts';
import { createCellHost, type CellHandle, type CellHost } from '../src/host/index.ts';
import { startDevServer, type DevServer } from '../src/temporal/dev-server.ts';
import { createCellWorker, loadWorkflowBundle, projectRoot, type CellWorker } from '../src/worker/index.ts';
import type { CpuScope } from './cpu.ts';
import { argvOf, listPids } from './proc.ts';
import { createCellRunner, SERIES_LABEL, trivialCell, type Series } from './series.ts';
import { shutdownHost } from './settle.ts';
import { warmPoolOf, withWarmPool, type PoolView } from './warm-pool.ts';

/** A trivial cell takes well under a second; one that takes this long is stuck, and the bench says so. */
const CELL_TIMEOUT_MS = 120_000;

export const TASK_QUEUES = { cold: 'bench-cold', warm: 'bench-warm' } as const;

export interface Rig {
  readonly server: DevServer;
  readonly cold: CellHost;
  readonly warm: CellHost;
  readonly hosts: readonly CellHost[];
  /** The warm host's pool; undefined when the host has none (a build without warm pools). */
  readonly pool: PoolView | undefined;
  readonly cpuScope: CpuScope;
  /** Cells run through Temporal so far. */
  readonly temporalCells: number;
  /** Runs one trivial cell the series' way; throws unless it exits 0. */
  runCell(series: Series): Promise<void>;
}

export interface CloseReport {
  /** Sandboxes runsc still listed in the hosts' roots after the hosts closed (removed by the bench). */
  readonly leftoverSandboxes: number;
  /** runsc processes of the hosts' roots still alive after that (killed by the bench). */
  readonly leftoverProcesses: number;
  readonly errors: readonly string[];
}

/** What got started, for close(): filled in as things start. */
interface Started {
  readonly dir: string;
  server?: DevServer;
  hosts: CellHost[];
  nativeConnection?: NativeConnection;
  connection?: Connection;
  workers: { worker: CellWorker; running: Promise<void> }[];
  rawHandles: CellHandle[];
}

export interface RigOptions {
  readonly poolSize: number;
  /** The most raw cells in flight at once (each gets a bundle of its own). */
  readonly rawInFlight: number;
  readonly progress: (line: string) => void;
}

export async function startRig(opts: RigOptions): Promise<{ rig: Rig; close: () => Promise<CloseReport> }> {
  const started: Started = {
    dir: await mkdtemp(join(tmpdir(), 'cellos-bench-')),
    hosts: [],
    workers: [],
    rawHandles: [],
  };
  let closing: Promise<CloseReport> | undefined;
  const close = () => (closing ??= closeRig(started));
  try {
    return { rig: await buildRig(started, opts), close };
  } catch (err) {
    await close();
    throw err;
  }
}

async function buildRig(started: Started, opts: RigOptions): Promise<Rig> {
  const { dir } = started;
  opts.progress('starting the Temporal dev server');
  const server = await startDevServer({ stateDir: join(dir, 'temporal'), port: await freePort(), headless: true });
  started.server = server;
  if (server.reused) throw new Error(`a server already listens on ${server.address}: not ours to measure`);

  const defaultRootfs = process.env.CELLOS_DEFAULT_ROOTFS ?? join(projectRoot, '.tools/rootfs/busybox');
  const hostInput = (name: string) => ({
    hostId: `bench-${name}-${process.pid}`,
    stateDir: join(dir, `host-${name}`),
    defaultRootfs,
  });
  // The environment is not passed: CELLOS_WARM_POOL_SIZE cannot change what is measured.
  const cold = await createCellHost(withWarmPool(hostInput('cold'), 0));
  started.hosts.push(cold);
  const warm = await createCellHost(withWarmPool(hostInput('warm'), opts.poolSize));
  started.hosts.push(warm);
  const pool = await warmPoolOf(warm);

  // Figures only on stdout: the workers' own lines at WARN (not the expected one about host queues).
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) => {
      if (!entry.message.startsWith('No workflows registered')) console.error(`[${entry.level}] ${entry.message}`);
    }),
  });
  opts.progress('starting the workers');
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  started.nativeConnection = nativeConnection;
  const workflowBundle = await loadWorkflowBundle();
  // A worker that stops on its own fails the cell under way instead of leaving it waiting.
  let workerStopped: (err: Error) => void = () => undefined;
  const stopped = new Promise<never>((_, reject) => (workerStopped = reject));
  stopped.catch(() => undefined);
  for (const [host, taskQueue] of [
    [cold, TASK_QUEUES.cold],
    [warm, TASK_QUEUES.warm],
  ] as const) {
    const worker = await createCellWorker({
      connection: nativeConnection,
      taskQueue,
      host,
      workflowBundle,
      maxConcurrentCells: 32,
      // As the embedded default; CELLOS_EAGER_RUN=0 measures the run sent to the host's queue.
      eagerRun: process.env.CELLOS_EAGER_RUN !== '0',
      // No reconciler: the raw baseline's bundle has a record that no workflow owns.
      reconcileIntervalMs: 0,
    });
    const running = worker.run();
    running.then(
      () => workerStopped(new Error(`the worker of ${taskQueue} stopped`)),
      (err: Error) => workerStopped(new Error(`the worker of ${taskQueue} failed: ${err.message}`)),
    );
    started.workers.push({ worker, running });
  }
  // As the embedded default (`cellos run`) does: the client on the workers' connection, starting
  // cells eagerly (the first workflow task comes back with the start).
  const clients = {
    cold: new CellClient({ connection: nativeConnection, taskQueue: TASK_QUEUES.cold, eagerStart: true }),
    warm: new CellClient({ connection: nativeConnection, taskQueue: TASK_QUEUES.warm, eagerStart: true }),
  };

  // The raw baseline runs the very bundle the cold host generates for the same document.
  const rawDoc = parseCellDocument(trivialCell('bench-raw'));
  for (let i = 0; i < opts.rawInFlight; i++) started.rawHandles.push(await cold.prepare(rawDoc, `raw-baseline-${i}`));
  const runner = createCellRunner({ cold, warm, clients, rawBundles: started.rawHandles.map((h) => h.bundleDir) });
  return {
    server,
    cold,
    warm,
    hosts: [cold, warm],
    pool,
    cpuScope: {
      serverPid: server.pid,
      runscRoots: [cold.config.runscRoot, warm.config.runscRoot],
      cellsDirs: [cold.config.cellsDir, warm.config.cellsDir],
      cgroups: [cold, warm].map((h) => ({ mode: h.cgroupMode, parent: h.config.cgroupParent })),
    },
    get temporalCells() {
      return runner.temporalCells;
    },
    async runCell(series) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`a ${SERIES_LABEL[series]} cell did not finish within ${CELL_TIMEOUT_MS / 1000} s`)),
          CELL_TIMEOUT_MS,
        );
      });
      try {
        await Promise.race([runner.run(series), stopped, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Stops everything in reverse order; each step runs even when an earlier one failed. */
async function closeRig(started: Started): Promise<CloseReport> {
  const errors: string[] = [];
  const step = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      errors.push(`${what}: ${(err as Error).message.split('\n')[0]}`);
    }
  };
  for (const { worker } of started.workers) worker.shutdown();
  for (const { running } of started.workers) await step('worker', () => running);
  const [cold] = started.hosts;
  if (cold) for (const handle of started.rawHandles) await step('raw bundle', () => cold.remove(handle));
  for (const host of started.hosts) await step(`host ${host.config.hostId}`, () => shutdownHost(host));
  let leftoverSandboxes = 0;
  for (const host of started.hosts) {
    const left = await host.runsc.list().catch(() => []);
    leftoverSandboxes += left.length;
    for (const c of left) {
      await step(`leftover ${c.id}`, () => host.removeById(c.id).catch(() => host.runsc.delete(c.id)));
    }
  }
  const roots = new Set(started.hosts.map((h) => `--root=${h.config.runscRoot}`));
  let leftoverProcesses = 0;
  for (const pid of listPids()) {
    if (argvOf(pid)?.some((a) => roots.has(a))) {
      leftoverProcesses++;
      await step(`leftover process ${pid}`, async () => process.kill(pid, 'SIGKILL'));
    }
  }
  for (const host of started.hosts) await removeCgroupParent(host.config.cgroupParent);
  await step('native connection', async () => started.nativeConnection?.close());
  await step('client connection', async () => started.connection?.close());
  await step('Temporal dev server', async () => started.server?.stop());
  await step('bench folder', () => rm(started.dir, { recursive: true, force: true }));
  return { leftoverSandboxes, leftoverProcesses, errors };
}

/** The host's cgroup parent (`cellos/<host id>`) in every controller, if empty: cells remove their own. */
async function removeCgroupParent(parent: string): Promise<void> {
  const ROOT = '/sys/fs/cgroup';
  const controllers = await readdir(ROOT).catch(() => [] as string[]);
  for (const base of [ROOT, ...controllers.map((c) => join(ROOT, c))]) {
    await rmdir(join(base, parent)).catch(() => undefined);
  }
}

/** A TCP port nobody listens on now (the kernel's pick). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no free TCP port');
  return address.port;
}
