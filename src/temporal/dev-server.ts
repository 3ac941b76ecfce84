// The embedded default: a local `temporal server start-dev` with an SQLite file. Started
// detached so that it outlives one `cellos run` and the next one reuses it.
import { spawn } from 'node:child_process';
import { mkdir, open } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { findTemporalCli } from './cli.ts';
import { SEARCH_ATTRIBUTES } from '../contract/index.ts';
import { deniedPermission } from '../deno-permissions.ts';

export interface DevServerOptions {
  readonly stateDir: string;
  readonly ip?: string;
  readonly port?: number;
  readonly uiPort?: number;
  readonly namespace?: string;
  readonly headless?: boolean;
  /** Keep running after this process exits (the embedded default), or die with it (tests, `cellos dev`). */
  readonly detached?: boolean;
}

export interface DevServer {
  readonly address: string;
  readonly uiUrl: string | undefined;
  readonly pid: number | undefined;
  readonly reused: boolean;
  stop(): Promise<void>;
}

/**
 * The dev server's history service polls its task queues at 20/s by default, which adds 50 ms to
 * every workflow and activity task; a cell takes ~200 ms, so raise it. Measured: 100 ms -> 15 ms
 * per host activity round trip.
 */
export const LOW_LATENCY_DYNAMIC_CONFIG = [
  'history.transferProcessorMaxPollRPS=10000',
  'history.transferProcessorMaxPollHostRPS=10000',
  'history.timerProcessorMaxPollRPS=10000',
  'history.timerProcessorMaxPollHostRPS=10000',
  'history.visibilityProcessorMaxPollRPS=10000',
  'history.visibilityProcessorMaxPollHostRPS=10000',
  // One partition per task queue: with the default four, a task that lands on a partition with
  // no waiting poller is forwarded, which cost ~70 ms on the first workflow task of each cell.
  'matching.numTaskqueueReadPartitions=1',
  'matching.numTaskqueueWritePartitions=1',
  // A run claimed at admission comes back to its worker with the workflow task's completion, not
  // through matching (~5 ms; CELLOS_EAGER_RUN, on by default with this server).
  'system.enableActivityEagerExecution=true',
] as const;

export const SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=normal'] as const;

export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const ip = opts.ip ?? '127.0.0.1';
  const port = opts.port ?? 7233;
  const uiPort = opts.uiPort ?? port + 1000;
  const address = `${ip}:${port}`;
  const uiUrl = opts.headless ? undefined : `http://${ip === '0.0.0.0' ? 'localhost' : ip}:${uiPort}`;
  if (await isListening(ip, port)) return { address, uiUrl, pid: undefined, reused: true, stop: async () => undefined };

  const cli = await findTemporalCli();
  await mkdir(opts.stateDir, { recursive: true });
  const log = await open(join(opts.stateDir, 'temporal-server.log'), 'a');
  const args = [
    'server',
    'start-dev',
    '--ip',
    ip,
    '--port',
    String(port),
    '--db-filename',
    join(opts.stateDir, 'temporal.sqlite'),
    '--namespace',
    opts.namespace ?? 'default',
    '--log-level',
    'warn',
    ...(opts.headless ? ['--headless'] : ['--ui-port', String(uiPort)]),
    // WAL with synchronous=normal: durable across a crash of the server (only an OS crash can lose
    // the last transactions); measured ~17 ms less server CPU per cell than the rollback journal.
    ...SQLITE_PRAGMAS.flatMap((p) => ['--sqlite-pragma', p]),
    ...LOW_LATENCY_DYNAMIC_CONFIG.flatMap((v) => ['--dynamic-config-value', v]),
    ...SEARCH_ATTRIBUTES.flatMap((a) => ['--search-attribute', `${a.name}=${a.type}`]),
  ];
  const child = spawn(cli, args, { detached: opts.detached ?? false, stdio: ['ignore', log.fd, log.fd] });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  if (opts.detached) child.unref();
  await log.close();
  const deadline = Date.now() + 30_000;
  while (!(await isListening(ip, port))) {
    const code = await Promise.race([exited, sleep(100).then(() => 'running' as const)]);
    if (code !== 'running') {
      throw new Error(`temporal server start-dev exited ${code}; see ${join(opts.stateDir, 'temporal-server.log')}`);
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(
        `temporal server start-dev did not listen on ${address} within 30 s; see ${join(opts.stateDir, 'temporal-server.log')}`,
      );
    }
  }
  return {
    address,
    uiUrl,
    pid: child.pid,
    reused: false,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const code = await Promise.race([exited, sleep(10_000).then(() => 'timeout' as const)]);
      if (code === 'timeout') {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** Whether something accepts connections there; rejects when this process may not connect (Deno without --allow-net for it). */
export function isListening(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', (err) => {
      socket.destroy();
      // A refusal by Deno is not "nothing listens": saying so would send the user to start a server.
      if (deniedPermission(err)) reject(err);
      else resolve(false);
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
