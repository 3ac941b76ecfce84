// `cellos dev [--port 7233] [--ui-port 8233]`: a local Temporal dev server (SQLite under
// <project>/.state/temporal, or CELLOS_DEV_STATE_DIR) and a worker, in the foreground. Ctrl-C stops
// both: the worker first, then the server.
import { requireHostPermissions } from '../../deno-permissions.ts';
import type { CliIo, StopSignal } from '../io.ts';
import { resolveTemporal } from '../temporal.ts';
import { startWorker } from '../worker-runtime.ts';
import { overrideEnv, waitForStop } from './worker-common.ts';

export interface DevOptions {
  readonly port: number | undefined;
  readonly uiPort: number | undefined;
}

export interface DevOutput {
  readonly exitCode: 0;
  readonly signal: StopSignal;
}

export async function dev(opts: DevOptions, io: CliIo): Promise<DevOutput> {
  await requireHostPermissions();
  const [{ embeddedServerSettings, startForegroundServer }, { workerConfigFromEnv }] = await Promise.all([
    import('../../worker/embedded.ts'),
    import('../../worker/config.ts'),
  ]);
  // TEMPORAL_ADDRESS names some other server: `dev` is about the local one.
  const env = overrideEnv(
    { ...io.env, TEMPORAL_ADDRESS: undefined },
    {
      CELLOS_DEV_PORT: opts.port === undefined ? undefined : String(opts.port),
      CELLOS_DEV_UI_PORT: opts.uiPort === undefined ? undefined : String(opts.uiPort),
    },
  );
  if (io.env.TEMPORAL_ADDRESS)
    io.stderr.write(`cellos: dev ignores TEMPORAL_ADDRESS=${io.env.TEMPORAL_ADDRESS}: it runs its own server\n`);
  const settings = embeddedServerSettings(env);
  const cfg = workerConfigFromEnv(env);
  const server = await startForegroundServer(settings, cfg.temporal.namespace);
  try {
    if (server.reused) {
      io.stderr.write(
        `cellos: a Temporal server already listens on ${server.address}: using it (this command will not stop it)\n`,
      );
    }
    const target = await resolveTemporal(cfg, { ...io, env }, { start: false });
    const running = await startWorker({ cfg, target, env, logLevel: 'INFO' });
    io.stderr.write(
      `cellos: Temporal dev server at ${server.address}, data in ${settings.stateDir}\n` +
        `cellos: Temporal UI at http://localhost:${settings.uiPort}\n` +
        `cellos: worker for host ${running.worker.hostId} on task queues ${running.worker.taskQueue} and ${running.worker.hostTaskQueue}\n` +
        'cellos: run cells with `cellos run <file>` in another terminal; Ctrl-C stops the worker, then the server\n',
    );
    const signal = await waitForStop(io, running).catch(async (err: unknown) => {
      await running.stop().catch(() => undefined);
      throw err;
    });
    io.stderr.write(`cellos: ${signal}: stopping the worker, then the server\n`);
    await running.stop();
    return { exitCode: 0, signal };
  } finally {
    await server.stop();
  }
}
