// Issue 10: placement on a production-shaped cluster. Three `cellos worker` processes stand for three
// hosts (own host ids, state folders, runsc roots), each with room for 4 cells, one of them with
// memory for only 2. Bursts of cells must all end with their true outcomes, no host may ever hold
// more than its room (as the hosts record it: their sandboxes' own start and end times, and their
// rooms' high-water marks), every host takes a share, and a host SIGKILLed mid-burst loses no cell
// and runs none twice. Real PostgreSQL-backed server, real runsc.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeHosts } from '../../src/client/hosts.ts';
import type { CellClient, CellRun } from '../../src/client/cell-client.ts';
import type { CellResult } from '../../src/contract/index.ts';
import { createCellHost } from '../../src/host/cell-host.ts';
import { createReconciler } from '../../src/host/reconciler.ts';
import { cellRunStateFrom } from '../../src/worker/cell-run-state.ts';
import { buildDist, cli, hasStackTrace } from '../cli/cli-helpers.ts';
import { closeTestClient, connectTestClient } from '../helpers/client.ts';
import { runCluster } from '../helpers/cluster.ts';
import { shDocument, uniqueCellId } from '../helpers/documents.ts';
import { defaultRootfs, leftovers } from '../helpers/host.ts';
import { sleep, until } from '../helpers/wait.ts';
import { launchedCells, workerProcess, type WorkerProcess } from '../helpers/worker-process.ts';

const cluster = runCluster();
const MiB = 1024 * 1024;
const ROOM = 4;
const SMALL_BUDGET_CELLS = 2;

let client: CellClient;
let taskQueue: string;
let hosts: WorkerProcess[] = [];
/** Hosts a test SIGKILLed: what they leave is the reconciler's to reap. */
const sigkilled = new Set<WorkerProcess>();

beforeAll(async () => {
  await buildDist();
  taskQueue = `placement-${uniqueCellId('q')}`;
  const env = (budgetCells: number) => ({
    CELLOS_MAX_CELLS: String(ROOM),
    CELLOS_DEFAULT_MEMORY_BYTES: String(64 * MiB),
    CELLOS_MEMORY_BUDGET_BYTES: String(budgetCells * 64 * MiB),
    CELLOS_DRAIN_TIMEOUT_SECONDS: '0',
  });
  hosts = await Promise.all(
    [ROOM, ROOM, SMALL_BUDGET_CELLS].map((cells, i) =>
      workerProcess({
        address: cluster.address,
        taskQueue,
        hostId: `h${i + 1}-${process.pid}`,
        env: env(cells),
      }),
    ),
  );
  await Promise.all(hosts.map((h) => h.start()));
  client = await connectTestClient({ taskQueue, address: cluster.address });
}, 120_000);

afterAll(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  // Every host is checked and disposed of, whatever an earlier one left; what was left is removed.
  const problems: string[] = [];
  for (const h of hosts) {
    const host = await createCellHost({ hostId: h.hostId, stateDir: h.stateDir, defaultRootfs: defaultRootfs() });
    try {
      if (sigkilled.has(h)) {
        // A worker SIGKILLed in a removal (the victim may still be removing the first burst's last
        // cells) leaves what the reconciler reaps: a folder without a record after its 60 s grace,
        // which a restarted worker's rounds may not have reached yet. One round, nothing running now.
        const isCellRunning = cellRunStateFrom(client.temporal);
        await createReconciler({ host, isCellRunning, orphanGraceMs: 0 }).reconcile();
      }
      const left = await leftovers(host);
      if (left.length > 0) {
        const folders = await Promise.all(
          left
            .filter((l) => l.startsWith('cell record '))
            .map(
              async (l) =>
                `${l}: ${(await readdir(join(host.config.cellsDir, l.slice(12))).catch(() => [])).join(' ')}`,
            ),
        );
        problems.push(`leftovers on ${h.hostId}: ${left.join(', ')} ${folders.join('; ')}`);
        for (const id of await readdir(host.config.cellsDir).catch(() => [])) {
          await host.removeById(id).catch(() => undefined);
        }
      }
    } finally {
      await host.shutdown();
      await h.dispose();
    }
  }
  await closeTestClient(client);
  expect(problems).toEqual([]);
}, 120_000);

/** The most sandboxes that ran at once on each host, from the hosts' own start and end times. */
function mostAtOnceByHost(results: readonly CellResult[]): Map<string, number> {
  const most = new Map<string, number>();
  for (const hostId of new Set(results.map((r) => r.hostId!))) {
    const edges = results
      .filter((r) => r.hostId === hostId && r.sandboxStartedAt && r.sandboxEndedAt)
      .flatMap((r) => [
        { t: Date.parse(r.sandboxStartedAt!), d: 1 },
        { t: Date.parse(r.sandboxEndedAt!), d: -1 },
      ])
      .sort((a, b) => a.t - b.t || a.d - b.d);
    let now = 0;
    let top = 0;
    for (const e of edges) top = Math.max(top, (now += e.d));
    most.set(hostId, top);
  }
  return most;
}

/** The runs' results; past `ms`, fails naming the runs still unfinished, their status and the hosts'. */
async function resultsWithin(runs: readonly CellRun[], ms: number): Promise<CellResult[]> {
  const done = new Set<number>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void (async () => {
        const open = await Promise.all(
          runs.flatMap((r, i) => (done.has(i) ? [] : [r.status().catch((err: unknown) => String(err))])),
        );
        const rows = await describeHosts(client.temporal, taskQueue).catch((err: unknown) => String(err));
        const failures = await Promise.all(
          runs.flatMap((r, i) =>
            done.has(i)
              ? []
              : [
                  client.temporal.workflow
                    .getHandle(r.workflowId, r.runId)
                    .fetchHistory()
                    .then((h) =>
                      (h.events ?? []).flatMap((e) => {
                        const f = e.workflowTaskFailedEventAttributes ?? e.workflowTaskTimedOutEventAttributes;
                        return f ? [JSON.stringify(f).slice(0, 1500)] : [];
                      }),
                    )
                    .catch((err: unknown) => [String(err)]),
                ],
          ),
        );
        const lines = hosts.flatMap((h) =>
          h
            .log()
            .split('\n')
            .filter((l) => /workflow task|nondetermin|Workflow failed|activation/i.test(l))
            .slice(-5),
        );
        reject(
          new Error(
            `unfinished after ${ms} ms: ${JSON.stringify(open)}\nhosts: ${JSON.stringify(rows)}\ntask failures: ${JSON.stringify(failures)}\nlog: ${lines.join('\n')}`,
          ),
        );
      })();
    }, ms);
  });
  try {
    return await Promise.race([Promise.all(runs.map((r, i) => r.result().finally(() => done.add(i)))), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Every cell launched once, from the hosts' logs ("sandbox started": a retry that finds the sandbox
 * says "re-attached" instead). A host SIGKILLed between starting a sandbox and saying so loses that
 * line: its cells are only checked for not being launched twice.
 */
function expectLaunchedOnce(results: readonly CellResult[], killed?: WorkerProcess): void {
  const launched = hosts.flatMap((h) => launchedCells(h.log()));
  for (const r of results) {
    const n = launched.filter((l) => l === r.cellId).length;
    if (killed && (r.hostId === killed.hostId || r.outcome.kind === 'host-lost')) {
      expect(n, `launches of ${r.cellId}`).toBeLessThanOrEqual(1);
    } else expect(n, `launches of ${r.cellId}`).toBe(1);
  }
}

describe('three hosts, room for 4 cells each (one with memory for 2)', () => {
  it('runs a burst of 40 cells of varied length: true outcomes, never over room, a share for every host', async () => {
    const docs = Array.from({ length: 40 }, (_, i) =>
      shDocument(`sleep ${1 + (i % 4) * 0.5}; exit ${i % 7}`, { prefix: 'burst' }),
    );
    const runs = await Promise.all(docs.map((d) => client.start(d)));
    const results = await Promise.all(runs.map((r) => r.result()));
    expect(results.map((r) => r.outcome)).toEqual(docs.map((_, i) => ({ kind: 'exited', code: i % 7 })));

    const most = mostAtOnceByHost(results);
    expect(new Set(most.keys())).toEqual(new Set(hosts.map((h) => h.hostId)));
    const [h1, h2, h3] = hosts.map((h) => h.hostId);
    expect(most.get(h1!)).toBeLessThanOrEqual(ROOM);
    expect(most.get(h2!)).toBeLessThanOrEqual(ROOM);
    expect(most.get(h3!)).toBeLessThanOrEqual(SMALL_BUDGET_CELLS);
    // Twelve places at most for forty cells: some waited, visibly, for a host with room.
    expect(results.filter((r) => (r.phases.queued ?? 0) > 1000).length).toBeGreaterThan(10);
    // The hosts' own records agree.
    const rows = await describeHosts(client.temporal, taskQueue);
    const byId = new Map(rows.map((r) => [r.hostId, r.status]));
    expect(byId.get(h1!)?.mostCells).toBeLessThanOrEqual(ROOM);
    expect(byId.get(h2!)?.mostCells).toBeLessThanOrEqual(ROOM);
    expect(byId.get(h3!)?.mostMemoryBytes).toBeLessThanOrEqual(SMALL_BUDGET_CELLS * 64 * MiB);
    expect(rows.every((r) => r.status?.cells === 0)).toBe(true);
    expectLaunchedOnce(results);
  }, 240_000);

  it('loses no cell and runs none twice when a host is SIGKILLed mid-burst and comes back', async () => {
    const docs = Array.from({ length: 20 }, (_, i) => shDocument(`sleep 4; exit ${i % 5}`, { prefix: 'crash' }));
    const runs = await Promise.all(docs.map((d) => client.start(d)));
    const victim = hosts[1]!;
    // Once the victim runs cells of this burst, kill it; bring it back a few seconds later.
    await until(
      'the victim running cells',
      async () =>
        (await Promise.all(runs.map((r) => r.status()))).filter(
          (s) => s.hostId === victim.hostId && s.phase === 'running',
        ).length,
      (n) => n >= 2,
      { ms: 60_000 },
    );
    sigkilled.add(victim);
    await victim.sigkill();
    await sleep(3000);
    await victim.start();
    const results = await resultsWithin(runs, 150_000);
    for (const [i, r] of results.entries()) {
      // A cell re-attached on the victim ends as it would have; host-lost only if nobody could tell.
      if (r.outcome.kind !== 'host-lost') expect(r.outcome, r.cellId).toEqual({ kind: 'exited', code: i % 5 });
    }
    const reattached = results.filter((r) => r.hostId === victim.hostId && r.outcome.kind === 'exited');
    expect(reattached.length).toBeGreaterThan(0);
    expect(victim.log()).toContain('re-attached to sandbox');
    expectLaunchedOnce(results, victim);
    for (const [hostId, top] of mostAtOnceByHost(results.filter((r) => r.sandboxStartedAt))) {
      expect(top, hostId).toBeLessThanOrEqual(hostId === hosts[2]!.hostId ? SMALL_BUDGET_CELLS : ROOM);
    }
  }, 240_000);

  it('a drained host takes nothing new (cellos drain), says so in cellos hosts, and takes cells again after --undo', async () => {
    const [h1] = hosts.map((h) => h.hostId);
    const env = { ...process.env, TEMPORAL_ADDRESS: cluster.address, CELLOS_TASK_QUEUE: taskQueue };
    const drained = await cli(['drain', h1!, '--reason', 'kernel update'], { env });
    expect(drained.code, drained.stderr).toBe(0);
    expect(drained.stdout).toContain(`host ${h1}: draining since`);
    const listed = await cli(['hosts', '--json'], { env });
    const rows = JSON.parse(listed.stdout) as { hostId: string; status?: { draining?: { reason: string } } }[];
    expect(rows.find((r) => r.hostId === h1)?.status?.draining?.reason).toBe('kernel update');
    const results = await Promise.all(Array.from({ length: 10 }, () => client.run(shDocument('sleep 0.5'))));
    expect(results.every((r) => r.hostId !== h1 && r.outcome.kind === 'exited')).toBe(true);
    expect((await cli(['drain', '--undo', h1!], { env })).code).toBe(0);
    const table = await cli(['hosts'], { env });
    expect(table.stdout).toMatch(new RegExp(`^${h1}\\s+-\\s+ready\\s+0/4`, 'm'));
  }, 120_000);

  it('cellos drain of a host that no worker serves exits 2, naming the host and what to check, with no stack trace', async () => {
    const env = { ...process.env, TEMPORAL_ADDRESS: cluster.address, CELLOS_TASK_QUEUE: taskQueue };
    const absent = `absent-${process.pid}`;
    const r = await cli(['drain', absent, '--reason', 'test'], { env });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`host ${absent} did not answer on task queue ${taskQueue}`);
    expect(r.stderr).toContain('cellos hosts lists the hosts');
    expect(hasStackTrace(r.stderr)).toBe(false);
    // The hosts that do run are untouched: none of them is draining.
    const rows = JSON.parse((await cli(['hosts', '--json'], { env })).stdout) as { status?: { draining?: unknown } }[];
    expect(rows.filter((row) => row.status?.draining !== undefined)).toEqual([]);
  }, 60_000);

  it('cellos worker drains on SIGTERM: no new cells, its running cell finishes, then it exits', async () => {
    const leaving = await workerProcess({
      address: cluster.address,
      taskQueue,
      hostId: `leaving-${process.pid}`,
      env: { CELLOS_MAX_CELLS: '4', CELLOS_DRAIN_TIMEOUT_SECONDS: '60', CELLOS_HOST_LABELS: 'only=leaving' },
    });
    try {
      await leaving.start();
      const run = await client.start(
        shDocument('sleep 4; echo done', { spec: { placement: { labels: { only: 'leaving' } } } }),
      );
      await until(
        'running on the leaving host',
        () => run.status(),
        (s) => s.phase === 'running',
      );
      const t0 = Date.now();
      const stopped = leaving.stop();
      await until(
        'draining',
        () => leaving.log(),
        (log) => log.includes('draining: no new cells'),
      );
      // Asks for the leaving host's label: no other host can take it, so it stays queued.
      const next = await client.start(shDocument('true', { spec: { placement: { labels: { only: 'leaving' } } } }));
      const r = await run.result();
      expect(r.outcome).toEqual({ kind: 'exited', code: 0 });
      expect(r.stdout.tail).toBe('done\n');
      await stopped;
      expect(Date.now() - t0).toBeLessThan(30_000);
      expect((await next.status()).phase).toBe('queued');
      await next.kill('the host left');
      expect((await next.result()).outcome).toEqual({
        kind: 'cancelled',
        reason: 'killed while queued: the host left',
      });
    } finally {
      await leaving.dispose();
    }
  }, 120_000);
});
