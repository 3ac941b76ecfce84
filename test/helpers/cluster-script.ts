// Production-shaped Temporal clusters (PostgreSQL, the real server, the UI), started and stopped
// through scripts/cluster.sh, each in a folder of its own under /tmp and on free ports, so a cluster
// a developer runs on the default ports is never touched. Plain Node, no vitest: the cluster tier's
// set-up (cluster.ts, cluster-global-setup.ts) and the cluster bench (bench/cluster.ts) share it.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../src/project-root.ts';

export const CLUSTER_SCRIPT = join(projectRoot, 'scripts', 'cluster.sh');

/** The services of a --split cluster, each its own process. */
export type ClusterService = 'frontend' | 'history' | 'matching' | 'worker';

export interface TestClusterInfo {
  /** host:port of the frontend: TEMPORAL_ADDRESS of workers and clients. */
  readonly address: string;
  readonly uiUrl: string;
  /** CELLOS_CLUSTER_DIR: database, logs, pid files. */
  readonly dir: string;
  /** One process per service (true) or one server process. */
  readonly split: boolean;
}

export interface TestCluster extends TestClusterInfo {
  /** Restarts the whole server, or (split clusters) one service; resolves once it serves again. */
  restart(service?: ClusterService): Promise<string>;
  /** Stops every process of the cluster and deletes its folder. */
  stop(): Promise<void>;
}

/**
 * Runs `scripts/cluster.sh <args>` for the cluster in `dir`; resolves with its output, rejects with it
 * (and when `signal` aborts: the script is killed, what it started keeps running until `stop`).
 */
export function clusterScript(
  dir: string,
  args: readonly string[],
  env: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [CLUSTER_SCRIPT, ...args],
      { env: { ...process.env, ...env, CELLOS_CLUSTER_DIR: dir }, timeout: 180_000, killSignal: 'SIGKILL', signal },
      (err, stdout, stderr) => {
        const output = `${stdout}${stderr}`.trimEnd();
        if (err)
          reject(
            new Error(`bash scripts/cluster.sh ${args.join(' ')} failed (${err.message.split('\n')[0]}):\n${output}`),
          );
        else resolve(output);
      },
    );
  });
}

/** Binds a TestCluster's methods to a cluster that runs in `info.dir`. */
export function attachTestCluster(info: TestClusterInfo): TestCluster {
  return {
    ...info,
    restart: (service) => clusterScript(info.dir, service ? ['restart', service] : ['restart']),
    async stop() {
      await clusterScript(info.dir, ['stop']);
      await rm(info.dir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts a cluster of its own: PostgreSQL, schemas, the server (one process, or one per service with
 * `split`), the `default` namespace with the cell search attributes, and the UI. Fails, saying what
 * is missing, when scripts/setup.sh has not built the cluster's binaries. In `dir` (its parents
 * must be reachable by user postgres), or else in a new folder under /tmp. When `signal` aborts, the
 * start is cut short and whatever it started is stopped before the promise rejects.
 */
export async function startTestCluster(
  opts: { split?: boolean; dir?: string; signal?: AbortSignal } = {},
): Promise<TestCluster> {
  // `dir` lets a caller know the folder before the start, to stop whatever started if it is interrupted.
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'cellos-cluster-')));
  await mkdir(dir, { recursive: true });
  // PostgreSQL runs as user postgres: it must reach its data folder in here.
  await chmod(dir, 0o755);
  // Below the kernel's ephemeral range (32768+): the server stores its membership ports in a smallint
  // column, and no outgoing connection takes one of them meanwhile.
  const ports = await freePortsIn(11, 20_000, 32_000);
  const names = [
    'PORT',
    'UI_PORT',
    'PG_PORT',
    'HTTP_PORT',
    'HISTORY_PORT',
    'MATCHING_PORT',
    'WORKER_PORT',
    'FRONTEND_MEMBERSHIP_PORT',
    'HISTORY_MEMBERSHIP_PORT',
    'MATCHING_MEMBERSHIP_PORT',
    'WORKER_MEMBERSHIP_PORT',
  ];
  const env = Object.fromEntries(names.map((name, i) => [`CELLOS_CLUSTER_${name}`, String(ports[i])]));
  try {
    await clusterScript(dir, opts.split ? ['start', '--split'] : ['start'], env, opts.signal);
  } catch (err) {
    // Whatever did start (PostgreSQL, a service) is stopped again; the folder stays if it has logs.
    await clusterScript(dir, ['stop']).catch(() => undefined);
    if (!existsSync(join(dir, 'log'))) await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return attachTestCluster({
    address: `127.0.0.1:${ports[0]}`,
    uiUrl: `http://127.0.0.1:${ports[1]}`,
    dir,
    split: opts.split ?? false,
  });
}

/** `n` distinct TCP ports in [from, to) on 127.0.0.1 that were free a moment ago (held together while chosen). */
async function freePortsIn(n: number, from: number, to: number): Promise<number[]> {
  const held: Server[] = [];
  const ports: number[] = [];
  try {
    for (let tries = 0; ports.length < n; tries++) {
      if (tries > 1000) throw new Error(`no ${n} free TCP ports in ${from}-${to - 1} on 127.0.0.1`);
      const port = from + Math.floor(Math.random() * (to - from));
      if (ports.includes(port)) continue;
      const srv = createServer();
      const ok = await new Promise<boolean>((resolve) => {
        srv.once('error', () => resolve(false));
        srv.listen(port, '127.0.0.1', () => resolve(true));
      });
      if (!ok) continue;
      held.push(srv);
      ports.push(port);
    }
    return ports;
  } finally {
    await Promise.all(held.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}
