// Issue 9, item 8: a host never runs more sandboxes than CELLOS_MAX_CELLS (maxConcurrentCells), and a
// full host still kills a cell at its deadline. Real dev server, real workers, real runsc; the number
// of sandboxes is sampled from runsc itself while the cells run.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { launchTaskQueue } from '../../src/contract/index.ts';
import { parseCellDocument } from '../../src/document/parse.ts';
import type { CellRun } from '../../src/client/cell-client.ts';
import type { CellHost } from '../../src/host/cell-host.ts';
import { deadlineDocument, loopScript, shDocument, TRAPPED } from '../helpers/documents.ts';
import { withEnv } from '../helpers/env.ts';
import { expectNoLeftovers } from '../helpers/host.ts';
import { startRunningCell, startTestBed, type TemporalTestBed } from '../helpers/temporal.ts';
import { deferred, sleep, until } from '../helpers/wait.ts';

const MAX_CELLS = 2;

/** Beds of the running test, closed after it (newest first: a second worker may share a host's state). */
const beds: TemporalTestBed[] = [];
async function bed(opts: Parameters<typeof startTestBed>[0] = {}): Promise<TemporalTestBed> {
  const b = await startTestBed({ ...opts, worker: { maxConcurrentCells: MAX_CELLS, ...opts.worker } });
  beds.push(b);
  return b;
}
afterEach(async () => {
  const closing = beds.splice(0).reverse();
  for (const b of closing) await b.stopWorker();
  // A failed test may leave sandboxes running: remove them before their host's folder goes.
  for (const b of closing) {
    for (const id of await readdir(b.host.config.cellsDir).catch(() => [])) {
      await b.host.removeById(id).catch(() => undefined);
    }
  }
  for (const b of closing) await b.close();
});

const doc = (script: string, ttlSeconds = 120, run: Record<string, unknown> = {}) =>
  shDocument(script, { prefix: 'cap', ttlSeconds, run });

/** Samples, every 100 ms until stopped, how many sandboxes runsc runs on the host (created or running). */
function sampleSandboxes(host: CellHost): { stop(): Promise<{ max: number; samples: number }> } {
  let stopped = false;
  let max = 0;
  let samples = 0;
  const loop = (async () => {
    while (!stopped) {
      const live = (await host.runsc.list()).filter((c) => c.status === 'running' || c.status === 'created');
      max = Math.max(max, live.length);
      samples += 1;
      await sleep(100);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { max, samples };
    },
  };
}

async function cancelAll(b: TemporalTestBed, runs: readonly CellRun[]): Promise<void> {
  await Promise.all(runs.map((r) => b.client.temporal.workflow.getHandle(r.workflowId, r.runId).cancel()));
  await Promise.all(runs.map((r) => r.result().catch(() => undefined)));
}

describe('a host runs at most maxConcurrentCells sandboxes', () => {
  it('runs 5 cells two at a time, never more, and every one of them to its end', async () => {
    const b = await bed();
    const sampler = sampleSandboxes(b.host);
    const runs = await Promise.all(Array.from({ length: 5 }, (_, i) => b.client.start(doc(`sleep 3; exit ${i}`))));
    const results = await Promise.all(runs.map((r) => r.result()));
    const { max, samples } = await sampler.stop();
    expect(results.map((r) => r.outcome)).toEqual([0, 1, 2, 3, 4].map((code) => ({ kind: 'exited', code })));
    expect(max).toBe(MAX_CELLS);
    expect(samples).toBeGreaterThan(50);
    await expectNoLeftovers(b.host);
  }, 90_000);

  it('takes a busy host for a busy one, not a lost one: cells that wait their turn past the host timeout still run', async () => {
    // Each cell holds the host for 4 s; the host may take 5 s to claim a cell's work before the cell
    // counts as host-lost. Six cells on a 2-cell host: the last ones wait ~8 s at the launch gate,
    // heartbeating, and all run to their end.
    const b = await bed({ hostScheduleToStartSeconds: 5 });
    const sampler = sampleSandboxes(b.host);
    const runs = await Promise.all(Array.from({ length: 6 }, (_, i) => b.client.start(doc(`sleep 4; exit ${i}`))));
    const results = await Promise.all(runs.map((r) => r.result()));
    expect(results.map((r) => r.outcome)).toEqual([0, 1, 2, 3, 4, 5].map((code) => ({ kind: 'exited', code })));
    expect((await sampler.stop()).max).toBe(MAX_CELLS);
    await expectNoLeftovers(b.host);
  }, 90_000);

  it('kills a cell at its deadline on time while the host is full and more cells wait', async () => {
    const b = await bed();
    const sampler = sampleSandboxes(b.host);
    // The doomed cell ignores SIGTERM: 3 s to live, 1 s of grace.
    const ttl = 3;
    const grace = 1;
    const doomed = await startRunningCell(b, deadlineDocument('ignore', { ttlSeconds: ttl, graceSeconds: grace }));
    const t0 = Date.now();
    // One more long cell fills the host; ten more wait for it (more than the slots the host queue
    // had when kills shared them with running cells).
    const long = [await startRunningCell(b, doc('sleep 120'))];
    const waiting = await Promise.all(Array.from({ length: 10 }, () => b.client.start(doc('sleep 120'))));
    const r = await doomed.run.result();
    const took = Date.now() - t0;
    expect(r.outcome).toEqual({ kind: 'deadline', signal: 'SIGKILL' });
    expect(took).toBeLessThan((ttl + grace + 4) * 1000);
    await cancelAll(b, [...long.map((l) => l.run), ...waiting]);
    expect((await sampler.stop()).max).toBeLessThanOrEqual(MAX_CELLS);
    await expectNoLeftovers(b.host);
  }, 120_000);

  it('keeps counting a cancelled cell until its sandbox has ended (its grace is no way around the limit)', async () => {
    const b = await bed();
    const sampler = sampleSandboxes(b.host);
    // A cell that ignores SIGTERM and asks for a long grace, cancelled at once: its sandbox lives on
    // through the grace, and must hold its place meanwhile.
    const stubborn = await startRunningCell(
      b,
      doc(loopScript('ignore'), 60, { limits: { gracefulShutdownSeconds: 6 } }),
    );
    await b.client.temporal.workflow.getHandle(stubborn.run.workflowId, stubborn.run.runId).cancel();
    const t0 = Date.now();
    const next = await Promise.all(Array.from({ length: MAX_CELLS }, () => b.client.start(doc('sleep 2'))));
    const results = await Promise.all(next.map((r) => r.result()));
    expect(results.map((r) => r.outcome)).toEqual(Array(MAX_CELLS).fill({ kind: 'exited', code: 0 }));
    expect((await stubborn.run.result()).outcome.kind).toBe('cancelled');
    // One new cell took the free place; the other could start only once the stubborn one was gone
    // (its 6 s grace).
    expect(Date.now() - t0).toBeGreaterThan(6000);
    expect((await sampler.stop()).max).toBeLessThanOrEqual(MAX_CELLS);
    await expectNoLeftovers(b.host);
  }, 90_000);

  it('counts the sandboxes a stopped worker left running before it launches new ones', async () => {
    const first = await bed();
    const sampler = sampleSandboxes(first.host);
    const left = await Promise.all(Array.from({ length: MAX_CELLS }, () => startRunningCell(first, doc('sleep 20'))));
    // Shut down (as on SIGTERM): its run activities stop waiting, the sandboxes run on.
    await first.stopWorker();
    const second = await bed({
      host: { hostId: first.host.config.hostId, stateDir: first.host.config.stateDir },
      taskQueue: first.taskQueue,
    });
    const fresh = await second.client.start(doc('sleep 3; echo fresh'));
    const r = await fresh.result();
    expect(r.outcome).toEqual({ kind: 'exited', code: 0 });
    expect(r.stdout.tail).toBe('fresh\n');
    const ended = await Promise.all(left.map(async (l) => (await l.run.result()).sandboxEndedAt));
    // The host was full with the sandboxes the first worker left: the new one waited for one of them.
    expect(Date.parse(r.sandboxStartedAt ?? '')).toBeGreaterThanOrEqual(
      Math.min(...ended.map((t) => Date.parse(t ?? ''))),
    );
    expect((await sampler.stop()).max).toBe(MAX_CELLS);
    await expectNoLeftovers(second.host);
  }, 120_000);
});

describe('a cell cancelled while a host claims it', () => {
  it.each([
    ['cancelled', { kind: 'cancelled', reason: 'the workflow was cancelled' }],
    ['killed', { kind: 'cancelled', reason: 'killed before start: changed my mind' }],
  ] as const)(
    '%s: is removed from the host that prepared it, not left there for the reconciler',
    async (how, outcome) => {
      // A full host: the cell waits in the launch queue. A stand-in claimer answers its claim for the
      // host as a claim does (the cell's bundle is prepared there first), but only after the workflow
      // was cancelled, so the workflow learns which host holds the cell only from that late answer.
      const b = await bed();
      const holders = await Promise.all(Array.from({ length: MAX_CELLS }, () => startRunningCell(b, doc('sleep 120'))));
      const asked = deferred<string>();
      const answered = deferred();
      const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
      const claimer = await Worker.create({
        connection,
        taskQueue: launchTaskQueue(b.taskQueue, ''),
        activities: {
          claimCell: async (input: { cellId: string; runKey: string; document: unknown }) => {
            const handle = await b.host.prepare(parseCellDocument(input.document), input.runKey);
            asked.resolve(handle.sandboxId);
            await answered.promise;
            return { hostId: b.host.config.hostId };
          },
        },
      });
      try {
        await claimer.runUntil(async () => {
          const run = await b.client.start(doc('echo never'));
          const sandboxId = await asked.promise;
          expect(await readdir(b.host.config.cellsDir)).toContain(sandboxId);
          if (how === 'killed') await run.kill('changed my mind');
          else await b.client.temporal.workflow.getHandle(run.workflowId, run.runId).cancel();
          await sleep(500);
          answered.resolve();
          const r = await run.result();
          expect(r.outcome).toEqual(outcome);
          expect(r.cleanupError).toBeUndefined();
          expect(await readdir(b.host.config.cellsDir)).not.toContain(sandboxId);
        });
      } finally {
        await connection.close();
      }
      await cancelAll(
        b,
        holders.map((h) => h.run),
      );
      await expectNoLeftovers(b.host);
    },
    90_000,
  );
});

describe('a cell cancelled while its admission claims it', () => {
  // Admission stalls (the admit failpoint) and the workflow is cancelled meanwhile. The cancel reaches
  // the workflow only once the workflow task that the admission holds open ends: when the admission
  // returns (a short stall: the cell was claimed, and is cleaned up on its host), or when the task is
  // given up on (past ~8 s) and the admission times out (10 s): then its late claim must not be made,
  // since no workflow would ever remove what it prepares.
  it.each([
    ['returns before its timeout', 5_000, true],
    ['outlives its timeout', 12_000, false],
  ] as const)(
    'leaves nothing on the host when the admission %s',
    async (_, stallMs, claimed) => {
      const failpoints = await mkdtemp(join(tmpdir(), 'cellos-fp-'));
      const env = { CELLOS_FAILPOINTS_DIR: failpoints, CELLOS_FAILPOINTS_STALL_MS: String(stallMs) };
      try {
        await withEnv(env, async () => {
          const b = await bed();
          await writeFile(join(failpoints, 'admit.arm'), '');
          const run = await b.client.start(doc('echo never'));
          await until(
            'admission reaches its failpoint',
            async () => (await readdir(failpoints)).some((f) => f.startsWith('admit.hit.')),
            (hit) => hit,
          );
          const hitAt = Date.now();
          await b.client.temporal.workflow.getHandle(run.workflowId, run.runId).cancel();
          const r = await run.result();
          expect(r.outcome.kind).toBe('cancelled');
          expect(r.hostId !== undefined).toBe(claimed);
          expect(r.sandboxStartedAt).toBeUndefined();
          // Past the stall, where a late claim would have come.
          await sleep(Math.max(0, hitAt + stallMs + 1000 - Date.now()));
          expect(b.worker.room.use().cells).toBe(0);
          expect(await readdir(b.host.config.cellsDir).catch(() => [])).toEqual([]);
          await expectNoLeftovers(b.host);
        });
      } finally {
        await rm(failpoints, { recursive: true, force: true });
      }
    },
    60_000,
  );
});

describe('the control queue', () => {
  it('claims from the launch queue, and serves kill and remove apart from the run activities, at <host queue>/control', async () => {
    const b = await bed({ worker: { claimLocally: false } });
    expect(b.worker.controlTaskQueue).toBe(`${b.worker.hostTaskQueue}/control`);
    const { run } = await startRunningCell(b, doc(loopScript(4)), { output: TRAPPED });
    await run.kill('stop it');
    const r = await run.result();
    expect(r.outcome).toEqual({ kind: 'killed', reason: 'stop it', signal: 'SIGTERM' });
    const history = await b.client.temporal.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    const queues = Object.fromEntries(
      (history.events ?? []).flatMap((e) => {
        const a = e.activityTaskScheduledEventAttributes;
        return a ? [[a.activityType?.name, a.taskQueue?.name]] : [];
      }),
    );
    expect(queues).toEqual({
      claimCell: `${b.taskQueue}/launch`,
      runSandbox: b.worker.hostTaskQueue,
      killSandbox: b.worker.controlTaskQueue,
    });
    await expectNoLeftovers(b.host);
  }, 60_000);
});

describe('claims where admitted', () => {
  const queuesOf = async (b: TemporalTestBed, run: { workflowId: string; runId: string }) => {
    const history = await b.client.temporal.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    const events = history.events ?? [];
    return {
      activities: events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []),
      workflowTasks: events.filter((e) => e.workflowTaskCompletedEventAttributes).length,
    };
  };

  it("runs a cell on the admitting worker's host with no claim activity when it has room, and through the launch queue when it is full", async () => {
    const b = await bed();
    const first = await b.client.start(doc('echo here'));
    const r = await first.result();
    expect(r.outcome).toEqual({ kind: 'exited', code: 0 });
    expect(r.hostId).toBe(b.host.config.hostId);
    // Admission, then the run: two workflow tasks, one activity.
    expect(await queuesOf(b, first)).toEqual({ activities: ['runSandbox'], workflowTasks: 2 });

    // Full: the next cell is not taken at admission; it waits in the launch queue until room frees.
    const holders = await Promise.all(Array.from({ length: MAX_CELLS }, () => startRunningCell(b, doc('sleep 3'))));
    const waiting = await b.client.start(doc('echo later'));
    expect((await waiting.result()).outcome).toEqual({ kind: 'exited', code: 0 });
    expect((await queuesOf(b, waiting)).activities).toEqual(['claimCell', 'runSandbox']);
    await Promise.all(holders.map((h) => h.run.result()));
    await expectNoLeftovers(b.host);
  }, 90_000);
});
