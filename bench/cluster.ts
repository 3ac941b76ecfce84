// npm run bench:cluster [-- --cells N --concurrency C --warmup W --idle S --settle S --split]: what a
// cell costs the PostgreSQL-backed Temporal server, for sizing a cluster. Starts a cluster of its own
// through scripts/cluster.sh (free ports, a folder under /tmp), three `cellos worker` processes standing
// for three hosts (own host id, state folder and runsc root each), then measures, around N trivial
// cells run through the CellClient at C in flight: the server processes' CPU time (user+sys from
// /proc/<pid>/stat), PostgreSQL's CPU time and writes (pg_stat_database of the two Temporal databases,
// WAL bytes from pg_current_wal_lsn), the workers', this client's and the machine's CPU, and wall time.
// An idle window of the same set-up before the run gives the background rate, which is subtracted
// ("net"). Prints figures per cell and cells per second per server core = 1 / (server CPU s per cell);
// asserts nothing but that every cell exits 0. Stops everything it started, on failure and Ctrl-C too.
//
// Only public entry points: the CellClient and the `cellos worker` command (so it keeps measuring
// whatever activities a cell takes).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { CellClient } from '../src/client/index.ts';
import { projectRoot } from '../src/project-root.ts';
import { WORKER_MALLOC_ENV, WORKER_NODE_FLAGS } from '../src/worker/memory-settings.ts';
import { clusterScript, startTestCluster, type TestCluster } from '../test/helpers/cluster-script.ts';

const exec = promisify(execFile);

const { values: flags } = parseArgs({
  options: {
    cells: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '12' },
    warmup: { type: 'string', default: '12' },
    idle: { type: 'string', default: '10' },
    settle: { type: 'string', default: '11' },
    split: { type: 'boolean', default: false },
  },
});

function positive(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, not ${value}`);
  return n;
}

const CELLS = positive('cells', flags.cells, 1);
const CONCURRENCY = positive('concurrency', flags.concurrency, 1);
const WARMUP = positive('warmup', flags.warmup, 0);
const IDLE_S = positive('idle', flags.idle, 1);
// PostgreSQL (15) backends publish their statistics at most once a second, and an idle backend up to
// 10 s after its last transaction: the final reading waits that long, so every write is counted.
const SETTLE_S = positive('settle', flags.settle, 0);
const HOSTS = ['a', 'b', 'c'] as const;

interface Worker {
  readonly name: string;
  readonly hostId: string;
  readonly stateDir: string;
  readonly proc: ChildProcess;
  readonly exited: Promise<void>;
  log: string;
}

/** What the bench started, for the clean-up: filled in as things start. */
interface Bench {
  readonly dir: string;
  /** The cluster's folder (scripts/cluster.sh's CELLOS_CLUSTER_DIR). */
  readonly clusterDir: string;
  /** The hosts' state folders (and so their runsc roots and cell folders). */
  readonly hostsDir: string;
  cluster?: TestCluster;
  /** The cluster's start while it runs, and what cuts it short. */
  clusterStart?: Promise<unknown>;
  readonly abort: AbortController;
  readonly workers: Worker[];
  client?: CellClient;
  /** Set when the clean-up begins: no new cell starts. */
  stopping?: boolean;
}

/** One reading of every counter. */
interface Reading {
  readonly atMs: number;
  readonly serverCpuMs: number;
  readonly postgresCpuMs: number;
  readonly workersCpuMs: number;
  readonly clientCpuMs: number;
  readonly machineCpuMs: number;
  readonly db: DbCounters;
}

interface DbCounters {
  readonly commits: number;
  readonly rollbacks: number;
  readonly inserted: number;
  readonly updated: number;
  readonly deleted: number;
  readonly walBytes: bigint;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'cellos-bench-cluster-'));
  // PostgreSQL runs as user postgres: it must reach the cluster's folder in here.
  await chmod(dir, 0o755);
  const bench: Bench = {
    dir,
    clusterDir: join(dir, 'cluster'),
    hostsDir: join(dir, 'hosts'),
    workers: [],
    abort: new AbortController(),
  };
  const cleanup = once(() => cleanUp(bench));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`bench: ${signal}: stopping everything it started`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  try {
    await measure(bench);
  } finally {
    await cleanup();
  }
}

async function measure(bench: Bench): Promise<void> {
  const clkTck = Number((await exec('getconf', ['CLK_TCK'])).stdout.trim()) || 100;
  let t = performance.now();
  const starting = startTestCluster({ split: flags.split, dir: bench.clusterDir, signal: bench.abort.signal });
  bench.clusterStart = starting;
  const cluster = await starting;
  bench.cluster = cluster;
  console.log(
    `cluster: ${cluster.split ? 'one process per service' : 'one server process'} at ${cluster.address}, ` +
      `ready in ${((performance.now() - t) / 1000).toFixed(1)} s (${cluster.dir})`,
  );
  const pg = await postgresOf(cluster.dir);
  const taskQueue = `bench-cluster-${process.pid}`;
  t = performance.now();
  for (const name of HOSTS) bench.workers.push(startWorker(bench, cluster.address, taskQueue, name));
  await Promise.all(bench.workers.map((w) => workerReady(w)));
  console.log(
    `workers: ${bench.workers.map((w) => `${w.hostId} (pid ${w.proc.pid})`).join(', ')}, ` +
      `ready in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
  bench.client = new CellClient({ connection: await Connection.connect({ address: cluster.address }), taskQueue });
  const client = bench.client;

  const read = async (): Promise<Reading> => {
    const serverPids = await serverPidsOf(cluster.dir);
    const me = process.cpuUsage();
    return {
      atMs: performance.now(),
      serverCpuMs: sum(await Promise.all(serverPids.map((p) => processCpuMs(p, clkTck)))),
      postgresCpuMs: await postgresCpuMs(pg.postmasterPid, clkTck),
      workersCpuMs: sum(await Promise.all(bench.workers.map((w) => processCpuMs(w.proc.pid!, clkTck)))),
      clientCpuMs: (me.user + me.system) / 1000,
      machineCpuMs: await machineCpuMs(clkTck),
      db: await dbCounters(pg),
    };
  };

  let seq = 0;
  const runCells = async (n: number) => {
    const results: { workflowId: string; runId: string; hostId: string | undefined; ms: number }[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(CONCURRENCY, n) }, async () => {
        while (next < n && !bench.stopping) {
          next += 1;
          const t0 = performance.now();
          const run = await client.start(trivialCell(`bench-${process.pid}-${++seq}`));
          const r = await run.result();
          if (r.outcome.kind !== 'exited' || r.outcome.code !== 0)
            throw new Error(`cell ${r.cellId} did not exit 0: ${JSON.stringify(r.outcome)}`);
          results.push({ workflowId: run.workflowId, runId: run.runId, hostId: r.hostId, ms: performance.now() - t0 });
        }
      }),
    );
    return results;
  };

  // Warm-up: every worker loads its workflow bundle, every host starts a sandbox.
  if (WARMUP > 0) await runCells(WARMUP);
  const idle0 = await read();
  await sleep(IDLE_S * 1000);
  const idle1 = await read();
  const start = idle1;
  const cells = await runCells(CELLS);
  const end = await read();
  await sleep(SETTLE_S * 1000);
  const settled = await read();

  const wallS = (end.atMs - start.atMs) / 1000;
  const windowS = (settled.atMs - start.atMs) / 1000;
  const idleS = (idle1.atMs - idle0.atMs) / 1000;
  // Background over the measured window (run + settle), from the idle window's rate.
  const idleShare = windowS / idleS;
  const perCell = (f: (r: Reading) => number) => {
    const gross = (f(settled) - f(start)) / CELLS;
    const net = gross - ((f(idle1) - f(idle0)) * idleShare) / CELLS;
    return { gross, net };
  };
  const fmt = ({ gross, net }: { gross: number; net: number }, digits = 1) =>
    `${gross.toFixed(digits)} (net ${net.toFixed(digits)})`;

  const server = perCell((r) => r.serverCpuMs);
  const postgres = perCell((r) => r.postgresCpuMs);
  const commits = perCell((r) => r.db.commits);
  const tuples = perCell((r) => r.db.inserted + r.db.updated + r.db.deleted);
  const wal = perCell((r) => Number(r.db.walBytes) / 1024);
  const history = await historyShape(client, cells);
  const hostShare = HOSTS.map((name) => {
    const w = bench.workers.find((x) => x.name === name)!;
    return `${name} ${cells.filter((c) => c.hostId === w.hostId).length}`;
  }).join(', ');
  const latencies = cells.map((c) => c.ms).sort((a, b) => a - b);

  console.log(
    `run: ${CELLS} cells (/bin/true) at ${CONCURRENCY} in flight on ${HOSTS.length} hosts (${hostShare}) in ${wallS.toFixed(1)} s: ` +
      `${(CELLS / wallS).toFixed(2)} cells/s, latency p50 ${quantile(latencies, 0.5).toFixed(0)} ms, ` +
      `p95 ${quantile(latencies, 0.95).toFixed(0)} ms; counters read ${SETTLE_S} s after the last cell; ` +
      `idle background from ${idleS.toFixed(1)} s before (net = minus it)`,
  );
  console.log(
    `idle background: server ${((idle1.serverCpuMs - idle0.serverCpuMs) / idleS).toFixed(1)} ms CPU/s, ` +
      `postgres ${((idle1.postgresCpuMs - idle0.postgresCpuMs) / idleS).toFixed(1)} ms CPU/s, ` +
      `${((idle1.db.commits - idle0.db.commits) / idleS).toFixed(1)} transactions/s, ` +
      `${(Number(idle1.db.walBytes - idle0.db.walBytes) / 1024 / idleS).toFixed(1)} KiB WAL/s`,
  );
  console.log('per cell:');
  console.log(`  temporal server CPU   ${fmt(server)} ms`);
  console.log(`  postgresql CPU        ${fmt(postgres)} ms`);
  console.log(`  workers CPU (3 hosts) ${fmt(perCell((r) => r.workersCpuMs))} ms`);
  // Gross only: this process's idle CPU is the readings', and the machine's is whatever else runs.
  console.log(`  client CPU (bench)    ${perCell((r) => r.clientCpuMs).gross.toFixed(1)} ms`);
  console.log(
    `  machine CPU           ${perCell((r) => r.machineCpuMs).gross.toFixed(1)} ms (every process on the machine: sandboxes too)`,
  );
  console.log(
    `  postgresql            ${fmt(commits)} transactions committed (reads included), ` +
      `${fmt(tuples)} rows written (${fmt(perCell((r) => r.db.inserted))} inserted, ` +
      `${fmt(perCell((r) => r.db.updated))} updated, ${fmt(perCell((r) => r.db.deleted))} deleted), ` +
      `${fmt(wal)} KiB WAL`,
  );
  console.log(
    `  history               ${history.events.toFixed(1)} events (${history.activities.toFixed(1)} activity tasks, ` +
      `${history.workflowTasks.toFixed(1)} workflow tasks), ${(history.bytes / 1024).toFixed(1)} KiB`,
  );
  const perCore = (ms: number) => (ms > 0 ? 1000 / ms : Infinity);
  console.log(
    `cells per second per server core: ${perCore(server.net).toFixed(1)} (net; ${perCore(server.gross).toFixed(1)} gross)` +
      ` = 1 / server CPU s per cell; at that rate one core's worth of cells writes ` +
      `${Math.round(commits.net * perCore(server.net))} transactions/s and ` +
      `${((wal.net * perCore(server.net)) / 1024).toFixed(1)} MiB WAL/s to PostgreSQL, which itself uses ` +
      `${((postgres.net * perCore(server.net)) / 1000).toFixed(2)} cores`,
  );

  const leaks = await leftovers(bench);
  console.log(`hosts after the run: ${leaks.length === 0 ? 'nothing left' : leaks.join('; ')}`);
}

function trivialCell(id: string) {
  return {
    apiVersion: 'cellos.io/v1',
    kind: 'ExecutionCell',
    spec: { id, authority: { secretRefs: [] }, lifetime: { ttlSeconds: 60 }, run: { argv: ['/bin/true'] } },
  };
}

// --- workers ---------------------------------------------------------------------------------------

function startWorker(bench: Bench, address: string, taskQueue: string, name: string): Worker {
  const hostId = `bench-${name}-${process.pid}`;
  const stateDir = join(bench.hostsDir, name);
  // Only our settings: none of the caller's TEMPORAL_* or CELLOS_* (a payload key, another queue).
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(TEMPORAL|CELLOS)_/.test(k)));
  // As bin/cellos.js's shebang would start it: with a worker's memory settings.
  const proc = spawn(process.execPath, [...WORKER_NODE_FLAGS, join(projectRoot, 'bin', 'cellos.js'), 'worker'], {
    env: {
      ...env,
      ...WORKER_MALLOC_ENV,
      TEMPORAL_ADDRESS: address,
      CELLOS_TASK_QUEUE: taskQueue,
      CELLOS_HOST_ID: hostId,
      CELLOS_STATE_DIR: stateDir,
      ...(process.env.CELLOS_DEFAULT_ROOTFS ? { CELLOS_DEFAULT_ROOTFS: process.env.CELLOS_DEFAULT_ROOTFS } : {}),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const file = createWriteStream(join(bench.dir, `worker-${name}.log`));
  const worker: Worker = {
    name,
    hostId,
    stateDir,
    proc,
    exited: new Promise((resolve) => proc.once('exit', () => resolve())),
    log: '',
  };
  proc.stderr?.on('data', (d: Buffer) => {
    file.write(d);
    worker.log = (worker.log + String(d)).slice(-8000);
  });
  proc.once('exit', () => file.end());
  return worker;
}

/** Resolves when the worker says it runs (`cellos: worker for host ...`); throws if it exits first. */
async function workerReady(w: Worker): Promise<void> {
  const until = Date.now() + 90_000;
  while (!/^cellos: worker for host /m.test(w.log)) {
    if (w.proc.exitCode !== null || w.proc.signalCode !== null || Date.now() > until) {
      throw new Error(
        `worker ${w.hostId} ${Date.now() > until ? 'did not start within 90 s' : `exited (${w.proc.exitCode ?? w.proc.signalCode})`}:\n${w.log.slice(-2000)}`,
      );
    }
    await sleep(100);
  }
}

// --- counters --------------------------------------------------------------------------------------

/** utime+stime of a process (all its threads), in ms; with `children`, plus those of its waited-for children. */
async function processCpuMs(pid: number, clkTck: number, children = false): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  if (!stat) return 0;
  // Fields after "(comm)": state ppid ... utime(11) stime(12) cutime(13) cstime(14).
  const f = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  const ticks = f[11]! + f[12]! + (children ? f[13]! + f[14]! : 0);
  return (ticks * 1000) / clkTck;
}

/**
 * PostgreSQL's CPU: the postmaster with its exited children (the backends it reaped) plus the
 * children alive now (backends, checkpointer, WAL writer, autovacuum).
 */
async function postgresCpuMs(postmasterPid: number, clkTck: number): Promise<number> {
  let total = await processCpuMs(postmasterPid, clkTck, true);
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === postmasterPid) total += await processCpuMs(Number(entry), clkTck);
  }
  return total;
}

/** Busy CPU time of the whole machine (all cores), in ms. */
async function machineCpuMs(clkTck: number): Promise<number> {
  const cpu = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user).
  const busy = cpu.slice(0, 8).reduce((a, b) => a + b, 0) - cpu[3]! - cpu[4]!;
  return (busy * 1000) / clkTck;
}

/** The pids of the cluster's server processes (scripts/cluster.sh's pid files in <dir>/run). */
async function serverPidsOf(clusterDir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of ['server', 'frontend', 'history', 'matching', 'worker']) {
    const pid = Number((await readFile(join(clusterDir, 'run', `${name}.pid`), 'utf8').catch(() => '')).trim());
    if (pid > 0 && existsSync(`/proc/${pid}`)) pids.push(pid);
  }
  if (pids.length === 0) throw new Error(`no Temporal server process found from ${clusterDir}/run/*.pid`);
  return pids;
}

interface Postgres {
  readonly psql: string;
  readonly socketDir: string;
  readonly port: string;
  readonly postmasterPid: number;
}

/** The cluster's PostgreSQL: its socket folder and port (<dir>/cluster.env), postmaster and psql. */
async function postgresOf(clusterDir: string): Promise<Postgres> {
  const settings = await readFile(join(clusterDir, 'cluster.env'), 'utf8');
  const port = /^PG_PORT=(\d+)$/m.exec(settings)?.[1];
  if (!port) throw new Error(`no PG_PORT in ${clusterDir}/cluster.env`);
  const socketDir = join(clusterDir, 'postgres');
  const postmasterPid = Number((await readFile(join(socketDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  // The server programs of the newest PostgreSQL, as scripts/cluster.sh chooses them.
  const versions = (await readdir('/usr/lib/postgresql')).sort((a, b) => Number(a) - Number(b));
  const psql = join('/usr/lib/postgresql', versions.at(-1) ?? '', 'bin', 'psql');
  return { psql, socketDir, port, postmasterPid };
}

async function dbCounters(pg: Postgres): Promise<DbCounters> {
  const sql =
    'SELECT sum(xact_commit), sum(xact_rollback), sum(tup_inserted), sum(tup_updated), sum(tup_deleted), ' +
    "pg_current_wal_lsn() FROM pg_stat_database WHERE datname IN ('temporal', 'temporal_visibility')";
  const connect = ['-h', pg.socketDir, '-p', pg.port, '-U', 'postgres', '-d', 'postgres'];
  const { stdout } = await exec(pg.psql, [...connect, '-XtA', '-F', '|', '-c', sql]);
  const [commits, rollbacks, inserted, updated, deleted, lsn] = stdout.trim().split('|');
  const [hi, lo] = (lsn ?? '').split('/');
  if (hi === undefined || lo === undefined) throw new Error(`unexpected answer from pg_stat_database: ${stdout}`);
  return {
    commits: Number(commits),
    rollbacks: Number(rollbacks),
    inserted: Number(inserted),
    updated: Number(updated),
    deleted: Number(deleted),
    walBytes: (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`),
  };
}

/** Mean history of the measured cells: events, activity and workflow tasks, bytes. */
async function historyShape(
  client: CellClient,
  cells: readonly { workflowId: string; runId: string }[],
): Promise<{ events: number; activities: number; workflowTasks: number; bytes: number }> {
  const totals = { events: 0, activities: 0, workflowTasks: 0, bytes: 0 };
  for (const c of cells) {
    const handle = client.temporal.workflow.getHandle(c.workflowId, c.runId);
    const [history, description] = await Promise.all([handle.fetchHistory(), handle.describe()]);
    const events = history.events ?? [];
    totals.events += events.length;
    totals.activities += events.filter((e) => e.activityTaskScheduledEventAttributes).length;
    totals.workflowTasks += events.filter((e) => e.workflowTaskCompletedEventAttributes).length;
    totals.bytes += description.historySize ?? 0;
  }
  const n = Math.max(cells.length, 1);
  return {
    events: totals.events / n,
    activities: totals.activities / n,
    workflowTasks: totals.workflowTasks / n,
    bytes: totals.bytes / n,
  };
}

// --- clean-up --------------------------------------------------------------------------------------

/** What a host left: state entries, runsc containers, cgroups, and processes running from our folder. */
async function leftovers(bench: Bench): Promise<string[]> {
  const found: string[] = [];
  for (const w of bench.workers) {
    for (const sub of ['cells', 'bundles', 'runsc']) {
      const entries = await readdir(join(w.stateDir, sub)).catch(() => [] as string[]);
      found.push(...entries.map((e) => `${w.name} ${sub}/${e}`));
    }
    for (const cg of await hostCgroups(w.hostId)) {
      const entries = await readdir(cg, { withFileTypes: true }).catch(() => []);
      found.push(...entries.filter((e) => e.isDirectory()).map((e) => `${w.name} cgroup ${join(cg, e.name)}`));
    }
  }
  for (const p of await processesIn(bench.hostsDir)) found.push(`process ${p.pid}: ${p.commandLine.slice(0, 100)}`);
  return found;
}

/** Stops the client, the workers, whatever runs from the bench's folder, and the cluster; removes both folders. */
async function cleanUp(bench: Bench): Promise<void> {
  const step = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      console.error(`bench: clean-up: ${what} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  bench.stopping = true;
  // A cluster start cut short stops what it started; then the rest is stopped by the cluster's folder.
  bench.abort.abort();
  await bench.clusterStart?.catch(() => undefined);
  await step('stopping the workers', () => Promise.all(bench.workers.map((w) => stopWorker(w))));
  // Sandboxes, gofers and supervisors of a run cut short: their command lines name a host's folder.
  await step('killing sandboxes', async () => {
    for (const p of await processesIn(bench.hostsDir)) signal(p.pid, 'SIGKILL');
    await sleep(500);
  });
  await step('removing cgroups', async () => {
    for (const w of bench.workers) for (const cg of await hostCgroups(w.hostId)) await removeTree(cg);
  });
  // The cluster: by its folder, so that a start cut short is stopped too.
  await step('stopping the cluster', async () => {
    if (bench.cluster) await bench.cluster.stop();
    else if (existsSync(join(bench.clusterDir, 'cluster.env'))) await clusterScript(bench.clusterDir, ['stop']);
  });
  // Should the script have failed: PostgreSQL's immediate shutdown (SIGQUIT), then SIGKILL for the rest.
  await step('killing what the cluster left', async () => {
    const left = await processesIn(bench.clusterDir);
    if (left.length === 0) return;
    console.error(`bench: clean-up: ${left.length} cluster processes still run: killing them`);
    const postmaster = await readFile(join(bench.clusterDir, 'postgres', 'postmaster.pid'), 'utf8').catch(() => '');
    const pid = Number(postmaster.split('\n')[0]);
    if (pid > 0) signal(pid, 'SIGQUIT');
    await sleep(2000);
    for (const p of await processesIn(bench.clusterDir)) signal(p.pid, 'SIGKILL');
  });
  await step('removing the folder', () => rm(bench.dir, { recursive: true, force: true }));
  // Last: a call in flight when the connection closes throws from a timer (grpc-js), ending the process.
  await step('closing the client', async () => bench.client?.temporal.connection.close());
}

/** SIGTERM (a worker leaves its sandboxes and exits within a minute), SIGKILL after 30 s. */
async function stopWorker(w: Worker): Promise<void> {
  if (w.proc.exitCode !== null || w.proc.signalCode !== null) return;
  w.proc.kill('SIGTERM');
  const timer = setTimeout(() => w.proc.kill('SIGKILL'), 30_000);
  await w.exited;
  clearTimeout(timer);
}

async function processesIn(dir: string): Promise<{ pid: number; commandLine: string }[]> {
  const found: { pid: number; commandLine: string }[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const commandLine = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).replace(/\0/g, ' ');
    if (commandLine.includes(dir)) found.push({ pid: Number(entry), commandLine });
  }
  return found;
}

/** The cgroup folders a host's sandboxes live under (cgroup v1 controllers or v2). */
async function hostCgroups(hostId: string): Promise<string[]> {
  const controllers = await readdir('/sys/fs/cgroup').catch(() => [] as string[]);
  return [
    join('/sys/fs/cgroup', 'cellos', hostId),
    ...controllers.map((c) => join('/sys/fs/cgroup', c, 'cellos', hostId)),
  ].filter((p) => existsSync(p));
}

async function removeTree(path: string): Promise<void> {
  const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
  for (const e of entries) if (e.isDirectory()) await removeTree(join(path, e.name));
  await rmdir(path).catch(() => undefined);
}

// --- small things ----------------------------------------------------------------------------------

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone
  }
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= fn());
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
