// `cellos worker [--task-queue Q] [--host-id H] [--max-cells N]`: runs this host's worker until
// SIGINT/SIGTERM, then drains it (no new cells; running ones get CELLOS_DRAIN_TIMEOUT_SECONDS to
// finish, a second signal stops at once) and shuts it down. Without TEMPORAL_ADDRESS it uses the embedded local
// dev server (started detached if nothing listens on its port).
import process from 'node:process';
import { requireHostPermissions } from '../../deno-permissions.ts';
import { memorySettingsInEffect } from '../../worker/memory-settings.ts';
import type { CliIo, StopSignal } from '../io.ts';
import { resolveTemporal } from '../temporal.ts';
import { startWorker } from '../worker-runtime.ts';
import { overrideEnv, waitForStop } from './worker-common.ts';

export interface WorkerCommandOptions {
  readonly taskQueue: string | undefined;
  readonly hostId: string | undefined;
  readonly maxCells: number | undefined;
}

export interface WorkerOutput {
  readonly exitCode: 0;
  readonly signal: StopSignal;
}

export async function worker(opts: WorkerCommandOptions, io: CliIo): Promise<WorkerOutput> {
  await requireHostPermissions();
  // Flags override the environment, through the same checks (workerConfigFromEnv).
  const env = overrideEnv(io.env, {
    CELLOS_TASK_QUEUE: opts.taskQueue,
    CELLOS_HOST_ID: opts.hostId,
    CELLOS_MAX_CELLS: opts.maxCells === undefined ? undefined : String(opts.maxCells),
  });
  const { workerConfigFromEnv } = await import('../../worker/config.ts');
  const cfg = workerConfigFromEnv(env);
  const target = await resolveTemporal(cfg, { ...io, env }, { start: true, waitForServer: true });
  const running = await startWorker({ cfg, target, env, logLevel: 'INFO' });
  io.stderr.write(
    `cellos: worker for host ${running.worker.hostId}${labelsText(cfg.hostLabels)} on ${target.connection.address}: task queues ${running.worker.taskQueue} and ${running.worker.hostTaskQueue}, up to ${cfg.maxConcurrentCells} cells within ${gib(running.worker.room.limits.memoryBudgetBytes)} GiB of cell memory (Ctrl-C drains and stops it)\n`,
  );
  const missing = memorySettingsMissing(io.env);
  if (missing.length > 0) {
    io.stderr.write(
      `cellos: this worker runs without ${missing.join(' ')}: its RSS may grow by ~80 MiB over its first cells (bin/cellos.js as a command and the Docker image set them; README "Configuration (worker)")\n`,
    );
  }
  const signal = await waitForStop(io, running);
  const cells = running.worker.room.use().cells;
  const timeout = cfg.drainTimeoutSeconds;
  io.stderr.write(
    cells === 0 || timeout === 0
      ? `cellos: ${signal}: stopping the worker (running cells keep running and are picked up again by the next worker)\n`
      : `cellos: ${signal}: draining: no new cells; waiting up to ${timeout}s for ${cells} running cell(s) to finish (CELLOS_DRAIN_TIMEOUT_SECONDS; signal again to stop now)\n`,
  );
  let again: () => void = () => undefined;
  const secondSignal = new Promise<void>((resolve) => {
    again = io.onStopSignal(() => resolve());
  });
  try {
    const left = await Promise.race([
      running.drainAndStop(timeout * 1000),
      secondSignal.then(async () => {
        await running.stop();
        return running.worker.room.use().cells;
      }),
    ]);
    if (left > 0) {
      io.stderr.write(
        `cellos: stopped with ${left} cell(s) still running: they are picked up again when a worker of host ${running.worker.hostId} starts\n`,
      );
    }
  } finally {
    again();
  }
  return { exitCode: 0, signal };
}

/** Under Node only: Deno takes V8 flags its own way and is not where workers are measured. */
function memorySettingsMissing(env: Readonly<Record<string, string | undefined>>): readonly string[] {
  if ('Deno' in globalThis) return [];
  return memorySettingsInEffect(env, process.execArgv).missing;
}

function labelsText(labels: Readonly<Record<string, string>>): string {
  const text = Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return text ? ` {${text}}` : '';
}

function gib(bytes: number): string {
  return (bytes / 1024 ** 3).toFixed(1);
}
