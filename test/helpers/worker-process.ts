// `cellos worker` as a child process standing for one host: its own host id, state folder and runsc
// root, against a given server, its log kept for the test to read. A process (not an in-process
// worker) so that a test can SIGKILL a host and start it again.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultRootfs, repoRoot } from './host.ts';
import { sleep } from './wait.ts';

export interface WorkerProcess {
  readonly hostId: string;
  readonly stateDir: string;
  /** Everything it wrote to stderr, over all its starts (JSON log lines). */
  log(): string;
  /** Starts (or starts again) the process and waits until it says it runs. */
  start(): Promise<void>;
  sigkill(): Promise<void>;
  /** SIGTERM (it drains), then waits for it to exit. */
  stop(): Promise<void>;
  /** Stops it and removes its state folder. */
  dispose(): Promise<void>;
}

export async function workerProcess(opts: {
  address: string;
  taskQueue: string;
  hostId: string;
  env?: Record<string, string>;
}): Promise<WorkerProcess> {
  const stateDir = await mkdtemp(join(tmpdir(), `cellos-${opts.hostId}-`));
  let log = '';
  let proc: ChildProcess | undefined;
  const exited = () => !proc || proc.exitCode !== null || proc.signalCode !== null;
  const waitExit = () =>
    exited() ? Promise.resolve() : new Promise<void>((resolve) => proc!.once('exit', () => resolve()));
  const self: WorkerProcess = {
    hostId: opts.hostId,
    stateDir,
    log: () => log,
    async start() {
      const from = log.length;
      proc = spawn(process.execPath, [join(repoRoot, 'bin', 'cellos.js'), 'worker'], {
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          TEMPORAL_ADDRESS: opts.address,
          CELLOS_TASK_QUEUE: opts.taskQueue,
          CELLOS_HOST_ID: opts.hostId,
          CELLOS_STATE_DIR: stateDir,
          CELLOS_DEFAULT_ROOTFS: defaultRootfs(),
          ...opts.env,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      proc.stderr!.on('data', (d: Buffer) => (log += String(d)));
      const until = Date.now() + 60_000;
      while (!/^cellos: worker for host /m.test(log.slice(from))) {
        if (exited() || Date.now() > until) {
          throw new Error(`worker ${opts.hostId} did not start:\n${log.slice(from).slice(-3000)}`);
        }
        await sleep(100);
      }
    },
    async sigkill() {
      proc?.kill('SIGKILL');
      await waitExit();
    },
    async stop() {
      if (exited()) return;
      proc!.kill('SIGTERM');
      const timer = setTimeout(() => proc?.kill('SIGKILL'), 60_000);
      await waitExit();
      clearTimeout(timer);
    },
    async dispose() {
      await self.stop();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
  return self;
}

/** The cells a host's log says it launched (not re-attached to), each as often as it says so. */
export function launchedCells(log: string): string[] {
  return log.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      const entry = JSON.parse(line) as { msg?: string; cellId?: string };
      return entry.msg === 'sandbox started' && entry.cellId ? [entry.cellId] : [];
    } catch {
      return [];
    }
  });
}
