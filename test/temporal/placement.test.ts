// Issue 10: placement by pull. Hosts claim cells from launch queues only while they have room (cells
// and memory), by the labels the cells ask for; cells no host can run fail at once; cells beyond
// every host's room wait as phase `queued`; a drained host takes nothing new. Real dev server, real
// in-process workers (one per host, on one task queue), real runsc.
import { afterEach, describe, expect, it } from 'vitest';
import { CellFailedError } from '../../src/client/errors.ts';
import type { CellResult } from '../../src/contract/index.ts';
import { describeHosts } from '../../src/client/hosts.ts';
import type { CellClient } from '../../src/client/cell-client.ts';
import { shDocument, uniqueCellId } from '../helpers/documents.ts';
import { closeTestClient, connectTestClient } from '../helpers/client.ts';
import { expectNoLeftovers, makeTestHost } from '../helpers/host.ts';
import { startTestWorker, type TestWorker, type TestWorkerOptions } from '../helpers/temporal.ts';
import { until } from '../helpers/wait.ts';

const MiB = 1024 * 1024;

type Host = Awaited<ReturnType<typeof makeTestHost>>;
interface Fleet {
  readonly client: CellClient;
  readonly taskQueue: string;
  readonly hosts: { host: Host; worker: TestWorker }[];
}

const fleets: Fleet[] = [];
afterEach(async () => {
  for (const f of fleets.splice(0)) {
    for (const { worker } of f.hosts) await worker.close();
    for (const { host } of f.hosts) {
      await expectNoLeftovers(host);
      await host.cleanupDir();
    }
    await closeTestClient(f.client);
  }
});

/** Hosts on one task queue, each with its own state, runsc root and worker options. */
async function fleet(
  ...specs: { worker?: TestWorkerOptions; host?: Parameters<typeof makeTestHost>[0] }[]
): Promise<Fleet> {
  const taskQueue = `placement-${uniqueCellId('q')}`;
  const hosts = [];
  for (const spec of specs) {
    const host = await makeTestHost(spec.host);
    hosts.push({ host, worker: await startTestWorker(host, { taskQueue, worker: spec.worker }) });
  }
  const f = { client: await connectTestClient({ taskQueue }), taskQueue, hosts };
  fleets.push(f);
  return f;
}

const cell = (script: string, spec: Record<string, unknown> = {}, run: Record<string, unknown> = {}) =>
  shDocument(script, { prefix: 'place', spec, run });

/** The most cells that ran at once, from the hosts' own start and end times of the sandboxes. */
function mostAtOnce(results: readonly CellResult[]): number {
  const edges = results.flatMap((r) => [
    { t: Date.parse(r.sandboxStartedAt!), d: 1 },
    { t: Date.parse(r.sandboxEndedAt!), d: -1 },
  ]);
  edges.sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let most = 0;
  for (const e of edges) most = Math.max(most, (now += e.d));
  return most;
}

describe('labels', () => {
  it('runs a cell only on a host with every label it asks for, and any cell without labels anywhere', async () => {
    const f = await fleet({ worker: { labels: { zone: 'a', gpu: 'none' } } }, { worker: { labels: { zone: 'b' } } });
    const [a, b] = f.hosts.map((h) => h.host.config.hostId);
    expect(f.hosts[0]!.worker.worker.launchTaskQueues).toHaveLength(4);
    const results = await Promise.all([
      f.client.run(cell('echo b', { placement: { labels: { zone: 'b' } } })),
      f.client.run(cell('echo a', { placement: { labels: { zone: 'a' } } })),
      f.client.run(cell('echo a2', { placement: { labels: { gpu: 'none', zone: 'a' } } })),
      f.client.run(cell('echo any')),
    ]);
    expect(results.map((r) => [r.outcome.kind, r.hostId])).toEqual([
      ['exited', b],
      ['exited', a],
      ['exited', a],
      ['exited', expect.stringMatching(new RegExp(`^(${a}|${b})$`))],
    ]);
  }, 60_000);

  it('fails at once, as CellUnplaceable, a cell no host could ever run (labels, memory)', async () => {
    const f = await fleet({
      worker: { labels: { zone: 'a' }, memoryBudgetBytes: 256 * MiB },
      host: { defaultMemoryBytes: 64 * MiB },
    });
    for (const [doc, field] of [
      [cell('true', { placement: { labels: { zone: 'c' } } }), 'spec.placement.labels {zone=c}'],
      [cell('true', { placement: { labels: { zone: 'a', gpu: 't4' } } }), 'spec.placement.labels {gpu=t4,zone=a}'],
      [cell('true', {}, { limits: { memoryMaxBytes: 512 * MiB } }), 'spec.run.limits.memoryMaxBytes 536870912'],
    ] as const) {
      const t0 = Date.now();
      const err: unknown = await f.client.run(doc).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CellFailedError);
      expect(err).toMatchObject({ type: 'CellUnplaceable', message: expect.stringContaining(field) });
      expect(Date.now() - t0).toBeLessThan(5000);
    }
  }, 60_000);
});

describe('room', () => {
  it('queues cells beyond the host room as phase queued, and starts each as room frees', async () => {
    const f = await fleet({ worker: { maxConcurrentCells: 1 } });
    const runs = await Promise.all([0, 1, 2].map((i) => f.client.start(cell(`sleep 2; exit ${i}`))));
    // One runs; the others wait, and say so.
    await until(
      'two cells queued',
      async () => (await Promise.all(runs.map((r) => r.status()))).filter((s) => s.phase === 'queued').length,
      (n) => n === 2,
    );
    const results = await Promise.all(runs.map((r) => r.result()));
    expect(results.map((r) => r.outcome)).toEqual([0, 1, 2].map((code) => ({ kind: 'exited', code })));
    expect(mostAtOnce(results)).toBe(1);
    const queued = results.map((r) => r.phases.queued ?? 0).sort((x, y) => x - y);
    expect(queued[2]).toBeGreaterThan(3500); // waited for two cells of 2 s
    expect(f.hosts[0]!.worker.worker.room.highWater().cells).toBe(1);
  }, 60_000);

  it('never holds more memory than its budget: cells wait for memory as for places', async () => {
    // Room for 4 cells, but memory for 2 of 96 MiB (a budget of 200 MiB).
    const f = await fleet({
      worker: { maxConcurrentCells: 4, memoryBudgetBytes: 200 * MiB },
      host: { defaultMemoryBytes: 64 * MiB },
    });
    const runs = await Promise.all(
      [0, 1, 2, 3, 4].map(() => f.client.start(cell('sleep 1.5', {}, { limits: { memoryMaxBytes: 96 * MiB } }))),
    );
    const results = await Promise.all(runs.map((r) => r.result()));
    expect(results.every((r) => r.outcome.kind === 'exited')).toBe(true);
    expect(mostAtOnce(results)).toBe(2);
    expect(f.hosts[0]!.worker.worker.room.highWater().memoryBytes).toBe(192 * MiB);
  }, 60_000);

  it('ends a cell killed while it waits for room without touching a host', async () => {
    const f = await fleet({ worker: { maxConcurrentCells: 1 } });
    const long = await f.client.start(cell('sleep 30'));
    await until(
      'the first cell running',
      () => long.status(),
      (s) => s.phase === 'running',
    );
    const waiting = await f.client.start(cell('echo never'));
    await until(
      'the second cell queued',
      () => waiting.status(),
      (s) => s.phase === 'queued',
    );
    await waiting.kill('not needed');
    const r = await waiting.result();
    expect(r.outcome).toEqual({ kind: 'cancelled', reason: 'killed while queued: not needed' });
    expect(r.hostId).toBeUndefined();
    expect(r.sandboxStartedAt).toBeUndefined();
    await long.kill('done');
    expect((await long.result()).outcome.kind).toBe('killed');
  }, 60_000);
});

describe('drain', () => {
  it('a drained host takes nothing new, says so, and takes cells again once undrained', async () => {
    const f = await fleet({ worker: { maxConcurrentCells: 2 } }, { worker: { maxConcurrentCells: 2 } });
    const [a, b] = f.hosts.map((h) => h.host.config.hostId);
    const drained = await describeHosts(f.client.temporal, f.taskQueue, {
      hostIds: [a!],
      setDraining: { draining: true, reason: 'kernel update' },
    });
    expect(drained[0]!.status?.draining?.reason).toBe('kernel update');
    const results = await Promise.all([0, 1, 2, 3, 4, 5].map(() => f.client.run(cell('sleep 0.5'))));
    expect(new Set(results.map((r) => r.hostId))).toEqual(new Set([b]));
    const rows = await describeHosts(f.client.temporal, f.taskQueue);
    expect(rows.map((r) => [r.hostId, r.status?.draining?.reason])).toEqual(
      [
        [a, 'kernel update'],
        [b, undefined],
      ].sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    );
    await describeHosts(f.client.temporal, f.taskQueue, { hostIds: [a!], setDraining: { draining: false } });
    // Host b drained instead: new cells can only go to a.
    await describeHosts(f.client.temporal, f.taskQueue, { hostIds: [b!], setDraining: { draining: true } });
    expect((await f.client.run(cell('true'))).hostId).toBe(a);
    await describeHosts(f.client.temporal, f.taskQueue, { hostIds: [b!], setDraining: { draining: false } });
  }, 90_000);

  it('drainAndShutdown lets running cells finish and hands new ones to other hosts', async () => {
    const f = await fleet({ worker: { maxConcurrentCells: 2 } }, { worker: { maxConcurrentCells: 2 } });
    const [a, b] = f.hosts.map((h) => h.host.config.hostId);
    const first = await f.client.start(cell('sleep 2; echo finished'));
    const { hostId: placedOn } = await until(
      'placed',
      () => first.status(),
      (s) => s.phase === 'running',
    );
    const leaving = f.hosts.find((h) => h.host.config.hostId === placedOn)!;
    const draining = leaving.worker.worker.drainAndShutdown(20_000);
    const next = await f.client.run(cell('echo next'));
    expect(next.hostId).toBe(placedOn === a ? b : a);
    expect(await draining).toBe(0);
    const r = await first.result();
    expect(r.outcome).toEqual({ kind: 'exited', code: 0 });
    expect(r.stdout.tail).toBe('finished\n');
  }, 60_000);
});
