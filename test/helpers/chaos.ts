// The chaos scenario, shared by the dev tier (test/chaos/, a dev server on SQLite) and the cluster tier
// (test/cluster/chaos.test.ts, the PostgreSQL-backed server): three worker processes standing for three
// hosts run cells of mixed length while workers are SIGKILLed and restarted (at each lifecycle point,
// via failpoints, and at random), the Temporal server restarts once mid-run, and runsc fails on
// purpose. Then every cell must have its true outcome, none of the cells in flight across the server
// restart may be lost, and no host may keep anything.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, rmdir, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { CellClient } from '../../src/client/cell-client.ts';
import type { CellResult } from '../../src/contract/index.ts';
import { buildDist } from '../cli/cli-helpers.ts';
import { closeTestClient, connectTestClient } from './client.ts';
import { deadlineDocument, shDocument } from './documents.ts';
import { defaultRootfs, livePoolSandboxes, repoRoot } from './host.ts';
import { listProcesses } from './processes.ts';
import { sleep } from './wait.ts';

/** The Temporal server a chaos run drives: restarted once mid-run at the same address. */
export interface ChaosServer {
  /** host:port of the frontend (the same after a restart). */
  readonly address: string;
  /** Stops the server and starts it again at the same address; resolves once it serves again. */
  restart(): Promise<void>;
  /** Stops it for good, after the run. */
  stop(): Promise<void>;
}

export interface ChaosOptions {
  /** Names the run in its log lines and its ids (e.g. `dev`, `cluster`). */
  readonly tier: string;
  /** Starts (or attaches to) the server; `dir` is the run's own folder, removed afterwards. */
  startServer(dir: string): Promise<ChaosServer>;
  /** How many cells, and how many random worker kills besides one per failpoint. */
  readonly cells: number;
  readonly randomKills: number;
  /** The `it` timeout. */
  readonly timeoutMs: number;
}

/** The lifecycle points (src/failpoints.ts) at which a worker is SIGKILLed once each. */
const POINTS = ['admit', 'after-prepare', 'after-start', 'during-remove'] as const;

interface Host {
  readonly name: string;
  readonly hostId: string;
  readonly stateDir: string;
  readonly failpoints: string;
  proc?: ChildProcess;
  exited?: Promise<void>;
  stopping?: boolean;
  /** The last 20 kB of the current worker's stderr; every worker's whole stderr is in logFile. */
  log: string;
  readonly logFile: string;
}

type Expected =
  | { kind: 'exited'; code: number; runsSeconds?: number }
  | { kind: 'deadline'; signal: 'SIGTERM' | 'SIGKILL'; exitCode?: number; ttlSeconds?: number }
  | { kind: 'cancelled' };

interface Cell {
  readonly id: string;
  readonly doc: object;
  readonly expected: Expected;
  readonly cancelAfterMs?: number;
  /** client.start returned; the result is not in yet. */
  inFlight?: boolean;
  result?: CellResult;
  /** When its result came in (Date.now()). */
  endedAt?: number;
}

/** One chaos run: its folder, server, client, hosts and counters. */
interface Chaos {
  readonly opts: ChaosOptions;
  readonly dir: string;
  readonly server: ChaosServer;
  readonly client: CellClient;
  readonly taskQueue: string;
  readonly hosts: Host[];
  /** When the run was set up: log lines carry the seconds since. */
  readonly t0: number;
  readonly stats: {
    kills: number;
    restarts: number;
    serverRestarts: number;
    pointsHit: Set<string>;
    /** The cells that had started and not yet ended when the server went down. */
    acrossRestart: Cell[];
  };
}

/** Declares the chaos test of a tier: its set-up, the test, and a teardown that kills whatever is left. */
export function describeChaos(opts: ChaosOptions): void {
  let chaos: Chaos | undefined;
  let dir: string | undefined;
  const hosts: Host[] = [];

  beforeAll(async () => {
    await buildDist();
    dir = await mkdtemp(join(tmpdir(), `cellos-chaos-${opts.tier}-`));
    const server = await opts.startServer(dir);
    const taskQueue = `chaos-${opts.tier}-${process.pid}`;
    const client = await connectTestClient({ taskQueue, address: server.address });
    chaos = {
      opts,
      dir,
      server,
      client,
      taskQueue,
      hosts,
      t0: Date.now(),
      stats: { kills: 0, restarts: 0, serverRestarts: 0, pointsHit: new Set(), acrossRestart: [] },
    };
    // Faults for every host: the first deletes and kills fail (the wrapper counts them in `faults`).
    await mkdir(join(dir, 'faults'));
    await symlink(join(repoRoot, 'test', 'fixtures', 'bin', 'runsc'), join(dir, 'faults', 'runsc'));
    await writeFile(join(dir, 'faults', 'faults.env'), 'DELETE_FAILS=3\nKILL_FAILS=3\nRUN_FAILS=2\n');
    for (const name of ['a', 'b', 'c']) {
      const host: Host = {
        name,
        hostId: `chaos-${opts.tier}-${name}-${process.pid}`,
        stateDir: join(dir, `host-${name}`),
        failpoints: join(dir, `fp-${name}`),
        log: '',
        logFile: join(dir, `host-${name}.log`),
      };
      await mkdir(host.failpoints, { recursive: true });
      hosts.push(host);
      startWorker(chaos, host);
    }
  }, 120_000);

  afterAll(async () => {
    for (const h of hosts) h.stopping = true;
    await Promise.all(hosts.map((h) => stopWorker(h, 'SIGTERM')));
    await closeTestClient(chaos?.client);
    await chaos?.server.stop();
    // Whatever a failed run left must not outlive it: kill what runs from our folder, drop cgroups.
    for (const p of await listProcesses()) {
      if (dir && p.commandLine.includes(dir)) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    await sleep(500);
    for (const h of hosts) {
      for (const controller of await readdir('/sys/fs/cgroup').catch(() => [] as string[])) {
        await removeCgroupTree(join('/sys/fs/cgroup', controller, 'cellos', h.hostId));
      }
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it(
    'ends every cell with its true outcome and leaves nothing behind through worker crashes, a server restart and runsc faults',
    async () => {
      if (!chaos) throw new Error('the chaos run did not start (see beforeAll)');
      await runChaos(chaos);
    },
    opts.timeoutMs,
  );
}

async function runChaos(chaos: Chaos): Promise<void> {
  const { opts, hosts, stats } = chaos;
  const log = (line: string) => say(chaos, line);
  const cells = mixedCells(opts);
  let chaosDone = false;

  // Failpoints: arm each lifecycle point on every host; SIGKILL whichever worker stalls there.
  const watchFailpoints = (async () => {
    for (const point of POINTS) {
      await Promise.all(hosts.map((h) => writeFile(join(h.failpoints, `${point}.arm`), '')));
      const until = Date.now() + 90_000;
      while (!stats.pointsHit.has(point) && Date.now() < until) {
        for (const h of hosts) {
          const hit = (await readdir(h.failpoints)).find((f) => f.startsWith(`${point}.hit.`));
          if (!hit) continue;
          await Promise.all(hosts.map((o) => rm(join(o.failpoints, `${point}.arm`), { force: true })));
          await rm(join(h.failpoints, hit));
          stats.pointsHit.add(point);
          await crash(chaos, h, `at failpoint ${point}`);
        }
        await sleep(50);
      }
      await Promise.all(hosts.map((o) => rm(join(o.failpoints, `${point}.arm`), { force: true })));
    }
  })();

  // Random kills (some land during the wait), and one server restart halfway, under running cells.
  const randomChaos = (async () => {
    for (let k = 0; k < opts.randomKills; k++) {
      await sleep(4000 + Math.random() * 3000);
      if (k === Math.floor(opts.randomKills / 2)) {
        stats.acrossRestart = cells.filter((c) => c.inFlight);
        log(`restarting the Temporal server under ${stats.acrossRestart.length} cells in flight`);
        const t0 = Date.now();
        await chaos.server.restart();
        stats.serverRestarts += 1;
        log(`the Temporal server serves again after ${Date.now() - t0} ms`);
      }
      await crash(chaos, hosts[Math.floor(Math.random() * hosts.length)]!, 'at random');
    }
    chaosDone = true;
  })();

  // Cells start a few per second; cancel the ones meant to be cancelled once they run.
  const runs = cells.map(async (cell, i) => {
    await sleep(i * 700);
    const run = await retry(() => chaos.client.start(cell.doc));
    cell.inFlight = true;
    if (cell.cancelAfterMs !== undefined) {
      await sleep(cell.cancelAfterMs);
      await retry(() => chaos.client.temporal.workflow.getHandle(run.workflowId).cancel());
    }
    cell.result = await retry(() => run.result(), 600_000);
    cell.inFlight = false;
    cell.endedAt = Date.now();
  });
  await Promise.all([watchFailpoints, randomChaos]);
  log('kills and the restart are over; waiting for the last cells');
  await Promise.all(runs);
  const last = [...cells].sort((a, b) => (b.endedAt ?? 0) - (a.endedAt ?? 0)).slice(0, 3);
  log(
    `every cell ended; the last: ${last
      .map((c) => `${c.id} (${c.result?.outcome.kind} on ${c.result?.hostId}, ${JSON.stringify(c.result?.phases)})`)
      .join(', ')}; looking for leftovers`,
  );
  expect(chaosDone).toBe(true);

  const wrong = cells.filter((c) => !matches(c.expected, c.result));
  for (const c of wrong) {
    const r = c.result;
    log(
      `${c.id} expected ${JSON.stringify(c.expected)} got ${JSON.stringify(r?.outcome)} on host ${r?.hostId}: ` +
        `started ${r?.startedAt}, sandbox ${r?.sandboxStartedAt} to ${r?.sandboxEndedAt}, ` +
        `phases ${JSON.stringify(r?.phases)}, stdout ${JSON.stringify(r?.stdout.tail.slice(-200))}`,
    );
    // What the hosts said about it, its sandbox and its warm sandbox, from every worker process's log.
    const warm = r?.warmSandbox ?? /warm sandbox (cellos-warm_+-[0-9a-f]+)/.exec(JSON.stringify(r?.outcome))?.[1];
    const lost = /"warm":"(cellos-warm_+-[0-9a-f]+)"/;
    for (const h of hosts) {
      const lines = (await readFile(h.logFile, 'utf8').catch(() => '')).split('\n');
      const ids = new Set([c.id, r?.sandboxId, warm].filter((x): x is string => x !== undefined && x !== ''));
      // The warm sandbox a lost cell had is named only in the host's own lines about it.
      for (const line of lines) {
        const named = line.includes(c.id) ? lost.exec(line)?.[1] : undefined;
        if (named !== undefined) ids.add(named);
      }
      for (const line of lines) {
        if ([...ids].some((id) => line.includes(id))) log(`  ${h.name}: ${line.slice(0, 600)}`);
      }
    }
  }
  const lostAcrossRestart = stats.acrossRestart.filter((c) => !matches(c.expected, c.result));

  // Reconcilers run every 5 s and remove orphans older than 10 s: give them time, then look.
  let leaks: string[] = [];
  const until = Date.now() + 60_000;
  do {
    await sleep(2000);
    leaks = await leftovers(chaos);
  } while (leaks.length > 0 && Date.now() < until);
  for (const l of leaks) log(`leak ${l}`);
  const faults = await injectedFaults(chaos);
  // Runs sent eagerly to the shared queue, and those of them that another host refused (a retry
  // after a SIGKILL that reached the wrong host) before they went to their own host's queue.
  let eagerRuns = 0;
  let refusedRuns = 0;
  for (const c of cells) {
    const r = c.result;
    if (r === undefined) continue;
    const history = await retry(() => chaos.client.temporal.workflow.getHandle(r.workflowId, r.runId).fetchHistory());
    const events = history.events ?? [];
    const run = (e: (typeof events)[number]) =>
      e.activityTaskScheduledEventAttributes?.activityType?.name === 'runSandbox';
    if (events.some((e) => run(e) && e.activityTaskScheduledEventAttributes?.taskQueue?.name === chaos.taskQueue)) {
      eagerRuns++;
    }
    if (
      events.some((e) => e.activityTaskFailedEventAttributes?.failure?.applicationFailureInfo?.type === 'WrongHost')
    ) {
      refusedRuns++;
    }
  }
  log(
    `cells=${cells.length} kills=${stats.kills} restarts=${stats.restarts} server-restarts=${stats.serverRestarts} ` +
      `across-restart=${stats.acrossRestart.length} failpoints=${[...stats.pointsHit].join(',')} ` +
      `injected-faults=${faults} eager-runs=${eagerRuns} refused-runs=${refusedRuns} ` +
      `wrong-outcomes=${wrong.length} leaks=${leaks.length}`,
  );
  expect(wrong.map((c) => c.id)).toEqual([]);
  expect(leaks).toEqual([]);
  expect([...stats.pointsHit].sort()).toEqual([...POINTS].sort());
  expect(stats.kills).toBeGreaterThanOrEqual(POINTS.length + opts.randomKills);
  expect(stats.serverRestarts).toBe(1);
  // The restart fell under running cells, and each of them still ended with its true outcome.
  expect(stats.acrossRestart.length).toBeGreaterThan(0);
  expect(lostAcrossRestart.map((c) => c.id)).toEqual([]);
  expect(faults).toBeGreaterThan(0);
  expect(eagerRuns).toBeGreaterThan(0);
}

/** A log line of the run: `chaos <tier> +<seconds since set-up>s: <line>`. */
function say(chaos: Chaos, line: string): void {
  console.log(`chaos ${chaos.opts.tier} +${((Date.now() - chaos.t0) / 1000).toFixed(1)}s: ${line}`);
}

function startWorker(chaos: Chaos, host: Host): void {
  const proc = spawn(process.execPath, [join(repoRoot, 'bin', 'cellos.js'), 'worker'], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: chaos.server.address,
      CELLOS_TASK_QUEUE: chaos.taskQueue,
      CELLOS_HOST_ID: host.hostId,
      CELLOS_STATE_DIR: host.stateDir,
      CELLOS_DEFAULT_ROOTFS: defaultRootfs(),
      CELLOS_RUNSC: join(chaos.dir, 'faults', 'runsc'),
      CELLOS_FAILPOINTS_DIR: host.failpoints,
      CELLOS_RECONCILE_SECONDS: '5',
      CELLOS_ORPHAN_GRACE_SECONDS: '10',
      CELLOS_HOST_TIMEOUT_SECONDS: '600',
      CELLOS_MAX_CELLS: '16',
      // Both tiers' servers dispatch eagerly: a SIGKILLed run's retry may reach another host, which
      // must refuse it (WrongHost) for the run to go back to its own host's queue.
      CELLOS_EAGER_RUN: '1',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  proc.stderr?.on('data', (d: Buffer) => {
    host.log = (host.log + String(d)).slice(-20_000);
    appendFileSync(host.logFile, d);
  });
  host.proc = proc;
  host.exited = new Promise((r) => proc.once('exit', () => r()));
  // Like a service manager: a worker that exits on its own is started again.
  proc.once('exit', (code, signal) => {
    if (host.proc !== proc || host.stopping) return;
    say(chaos, `worker ${host.name} exited by itself (${code ?? signal}); restarting it\n${host.log.slice(-2000)}`);
    chaos.stats.restarts += 1;
    setTimeout(() => startWorker(chaos, host), 500);
  });
}

async function stopWorker(host: Host, signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
  const proc = host.proc;
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  host.stopping = true;
  proc.kill(signal);
  await host.exited;
  host.stopping = false;
}

async function crash(chaos: Chaos, host: Host, why: string): Promise<void> {
  await stopWorker(host, 'SIGKILL');
  chaos.stats.kills += 1;
  say(chaos, `SIGKILL worker ${host.name} (${why})`);
  await sleep(500 + Math.random() * 1500);
  startWorker(chaos, host);
  chaos.stats.restarts += 1;
}

async function removeCgroupTree(path: string): Promise<void> {
  const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
  for (const e of entries) if (e.isDirectory()) await removeCgroupTree(join(path, e.name));
  await rmdir(path).catch(() => undefined);
}

/** The ttl of mixedCells' cells other than the deadline ones. */
const DEFAULT_TTL_S = 60;

function mixedCells(opts: ChaosOptions): Cell[] {
  const cells: Cell[] = [];
  for (let i = 0; i < opts.cells; i++) {
    const id = `chaos-${opts.tier}-${process.pid}-${i}`;
    const doc = (script: string) => shDocument(script, { id, ttlSeconds: DEFAULT_TTL_S });
    const sleepS = (i * 7) % 20; // 0..19 s
    switch (i % 6) {
      case 0:
        cells.push({ id, doc: doc('true'), expected: { kind: 'exited', code: 0 } });
        break;
      case 1:
        cells.push({
          id,
          doc: doc(`sleep ${sleepS}; exit ${(i % 5) + 1}`),
          expected: { kind: 'exited', code: (i % 5) + 1, runsSeconds: sleepS },
        });
        break;
      case 2:
        cells.push({
          id,
          doc: doc(`sleep ${Math.min(sleepS, 8)}; echo ok`),
          expected: { kind: 'exited', code: 0, runsSeconds: Math.min(sleepS, 8) },
        });
        break;
      case 3:
        cells.push({
          id,
          doc: deadlineDocument(7, { ttlSeconds: 3, graceSeconds: 5 }, { id }),
          expected: { kind: 'deadline', signal: 'SIGTERM', exitCode: 7, ttlSeconds: 3 },
        });
        break;
      case 4:
        cells.push({
          id,
          doc: deadlineDocument('ignore', { ttlSeconds: 3, graceSeconds: 2 }, { id }),
          expected: { kind: 'deadline', signal: 'SIGKILL', ttlSeconds: 3 },
        });
        break;
      default:
        cells.push({ id, doc: doc('sleep 60'), expected: { kind: 'cancelled' }, cancelAfterMs: 3000 + (i % 4) * 1000 });
    }
  }
  return cells;
}

function matches(expected: Expected, result: CellResult | undefined): boolean {
  const o = result?.outcome;
  if (!o) return false;
  if (expected.kind === 'cancelled') return o.kind === 'cancelled';
  const lateBy = Date.parse(result?.sandboxStartedAt ?? '') - Date.parse(result?.startedAt ?? '');
  if (expected.kind === 'exited') {
    if (o.kind === 'exited') return o.code === expected.code;
    // Crashes can delay a launch so long that the cell's sleep outlasts what is left of its ttl
    // (DEFAULT_TTL_S): then its deadline's SIGTERM (the shell has no trap) is the
    // true outcome. Only a sandbox that started within its sleep (and a second) of the deadline.
    const leftMs = DEFAULT_TTL_S * 1000 - lateBy;
    return (
      o.kind === 'deadline' &&
      o.signal === 'SIGTERM' &&
      o.exitCode === undefined &&
      expected.runsSeconds !== undefined &&
      leftMs <= (expected.runsSeconds + 1) * 1000
    );
  }
  if (o.kind !== 'deadline') return false;
  if (o.signal === expected.signal && o.exitCode === expected.exitCode) return true;
  // A launch delayed by a crash can start the sandbox at (or after) its deadline: then SIGTERM can
  // reach the shell before its trap is set (the one that exits 7, or the one that ignores it), and
  // dying by it is the true outcome (no exit code). Only a sandbox that started within a second of
  // its deadline is allowed that.
  const startedLate = expected.ttlSeconds !== undefined && lateBy >= (expected.ttlSeconds - 1) * 1000;
  return startedLate && o.signal === 'SIGTERM' && o.exitCode === undefined;
}

/** Everything any of the three hosts could leak, plus any sandbox process on the machine. */
async function leftovers(chaos: Chaos): Promise<string[]> {
  const found: string[] = [];
  // The running workers' unused warm sandboxes are their pools, not leaks.
  const pooled = new Set<string>();
  for (const h of chaos.hosts) for (const id of await livePoolSandboxes(join(h.stateDir, 'cells'))) pooled.add(id);
  const isPooled = (entry: string) => [...pooled].some((id) => entry.includes(id));
  for (const h of chaos.hosts) {
    for (const sub of ['cells', 'bundles']) {
      found.push(...(await readdir(join(h.stateDir, sub)).catch(() => [])).map((e) => `${h.name} ${sub}/${e}`));
    }
    const root = join(h.stateDir, 'runsc');
    found.push(...(await readdir(root).catch(() => [])).map((e) => `${h.name} runsc/${e}`));
    for (const controller of await readdir('/sys/fs/cgroup').catch(() => [] as string[])) {
      const cg = join('/sys/fs/cgroup', controller, 'cellos', h.hostId);
      const entries = await readdir(cg, { withFileTypes: true }).catch(() => []);
      found.push(...entries.filter((e) => e.isDirectory()).map((e) => `${h.name} cgroup ${controller}/${e.name}`));
    }
  }
  for (const p of await listProcesses()) {
    // Sandboxes and gofers, and supervisors (argv[3] is cellos-supervisor:<sandbox id>); the
    // workers' spawners are not leftovers while their workers run.
    if (isPooled(p.commandLine)) continue;
    if (/^runsc-(sandbox|gofer)/.test(p.argv[0] ?? '') || p.argv.some((a) => a.startsWith('cellos-supervisor:'))) {
      found.push(`process ${p.pid}: ${p.commandLine.slice(0, 100)}`);
    }
  }
  return found.filter((f) => !isPooled(f));
}

async function injectedFaults(chaos: Chaos): Promise<number> {
  const log = await readFile(join(chaos.dir, 'faults', 'calls.log'), 'utf8').catch(() => '');
  return log.split('\n').filter((l) => l.endsWith(' fail')).length;
}

/** Calls that may meet the server restarting. */
async function retry<T>(fn: () => Promise<T>, totalMs = 120_000): Promise<T> {
  const until = Date.now() + totalMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (
        Date.now() > until ||
        !/UNAVAILABLE|connect|ECONNREFUSED|transport|DEADLINE|timed? ?out|Unexpected error|GOAWAY|Cancelled|14 /i.test(
          msg,
        )
      ) {
        throw err;
      }
      await sleep(500);
    }
  }
}
