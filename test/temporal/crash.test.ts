// Crash safety through Temporal: a worker shut down mid-run, a host that never comes back, a
// sandbox that vanished under a running cell, a terminated workflow. Real dev server, real workers,
// real runsc. (A worker cannot SIGKILL the process it runs in: shutting it down stands in for its
// death here, its activities being cancelled with WORKER_SHUTDOWN; the SIGKILL variants are the
// chaos test's.)
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { History } from '@temporalio/common/lib/proto-utils.js';
import { afterEach, describe, expect, it } from 'vitest';
import { sandboxIdFor } from '../../src/bundle/ids.ts';
import { createReconciler } from '../../src/host/reconciler.ts';
import { cellRunStateFrom } from '../../src/worker/cell-run-state.ts';
import { shDocument } from '../helpers/documents.ts';
import { expectNoLeftovers, makeTestHost } from '../helpers/host.ts';
import { listProcesses } from '../helpers/processes.ts';
import {
  activityAttempts,
  fetchHistory,
  startTestBed,
  startRunningCell,
  startTestWorker,
  waitForContainer,
  type TemporalTestBed,
  type TestWorker,
} from '../helpers/temporal.ts';
import { sleep, until } from '../helpers/wait.ts';

/** Beds of the running test, closed after it (newest first: a second worker may share a host's state). */
const beds: TemporalTestBed[] = [];
async function bed(opts: Parameters<typeof startTestBed>[0] = {}): Promise<TemporalTestBed> {
  const b = await startTestBed(opts);
  beds.push(b);
  return b;
}
afterEach(async () => {
  for (const b of beds.splice(0).reverse()) await b.close();
});

const doc = (script: string) => shDocument(script, { prefix: 'crash', ttlSeconds: 120 });

const scheduledActivities = (history: History) =>
  (history.events ?? []).flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
const scheduledQueues = (history: History) =>
  (history.events ?? []).flatMap((e) => e.activityTaskScheduledEventAttributes?.taskQueue?.name ?? []);

describe('worker shutdown', () => {
  it('leaves running cells running, and a restarted worker of the same host ends them with their true outcome', async () => {
    const first = await bed();
    const { run, sandboxId } = await startRunningCell(first, doc('sleep 12; echo done; exit 3'));

    const t0 = Date.now();
    await first.stopWorker();
    // The 5 s grace, then the run activity is cancelled (WORKER_SHUTDOWN) and stops waiting.
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect((await first.host.runsc.state(sandboxId))?.status).toBe('running');

    const second = await bed({
      host: { hostId: first.host.config.hostId, stateDir: first.host.config.stateDir },
      taskQueue: first.taskQueue,
    });
    // The cell's workflow runs: the new worker's reconciler leaves its sandbox alone.
    expect(await second.worker.reconcile()).toEqual([]);

    const r = await run.result();
    expect(r.outcome).toEqual({ kind: 'exited', code: 3 });
    expect(r.stdout.tail).toBe('done\n');
    expect(r.cleanupError).toBeUndefined();
    // The shut-down attempt failed (cancelled with WORKER_SHUTDOWN, reported as a failure) and the server
    // retried it on the host queue: attempt 2 re-attached.
    const history = await fetchHistory(second, run.workflowId, run.runId);
    expect(activityAttempts(history, 'runSandbox')).toEqual([2]);
    const started = history.events?.find((e) => e.activityTaskStartedEventAttributes?.attempt === 2);
    expect(started?.activityTaskStartedEventAttributes?.lastFailure?.message).toMatch(/Worker is shutting down/);
    await expectNoLeftovers(second.host);
  }, 60_000);
});

describe('host lost', () => {
  it('ends a cell whose host never comes back as host-lost, without trying to kill or remove its sandbox', async () => {
    const lost = await bed({ hostScheduleToStartSeconds: 5 });
    const { run, sandboxId } = await startRunningCell(lost, doc('sleep 60'));
    // Another host keeps the shared queue served, so the workflow can end without the lost one.
    const other = await bed({ taskQueue: lost.taskQueue });
    await lost.stopWorker();

    const t0 = Date.now();
    const r = await run.result();
    expect(r.outcome).toEqual({
      kind: 'host-lost',
      reason: `host ${lost.host.config.hostId} did not pick up the cell's work in time`,
    });
    expect(r.hostId).toBe(lost.host.config.hostId);
    // Retry scheduled at once, 5 s schedule-to-start, at most ~10 s for the workflow task to leave
    // the lost worker's sticky queue.
    expect(Date.now() - t0).toBeLessThan(30_000);
    const history = await fetchHistory(lost, run.workflowId, run.runId);
    // The run went to the shared queue (an eager run, claimed at admission); its retry after the
    // worker's shutdown reached the other host, which refused it (WrongHost) without touching
    // anything, and it went on to the lost host's own queue, where nobody took it.
    expect(scheduledActivities(history)).toEqual(['runSandbox', 'runSandbox']);
    expect(scheduledQueues(history)).toEqual([lost.taskQueue, `${lost.taskQueue}@${lost.host.config.hostId}`]);
    const refused = history.events?.find((e) => e.activityTaskFailedEventAttributes)?.activityTaskFailedEventAttributes;
    expect(refused?.failure?.applicationFailureInfo?.type).toBe('WrongHost');
    expect(refused?.failure?.message).toContain(
      `was claimed by host "${lost.host.config.hostId}", not "${other.host.config.hostId}"`,
    );
    await expectNoLeftovers(other.host);

    // Nobody was there to stop the sandbox. When the host is back, its reconciler removes it.
    expect((await lost.host.runsc.state(sandboxId))?.status).toBe('running');
    const log: string[] = [];
    const reconciler = createReconciler({
      host: lost.host,
      isCellRunning: cellRunStateFrom(lost.client.temporal),
      log: (message, fields) => log.push(`${message} ${JSON.stringify(fields)}`),
    });
    expect(await reconciler.reconcile()).toEqual([
      { sandboxId, cellId: run.cellId, action: 'remove', why: expect.stringMatching(/is closed/) },
    ]);
    expect(log.join('\n')).toContain(run.cellId);
    await expectNoLeftovers(lost.host);
  }, 90_000);
});

describe('lost sandboxes and skipped cleanups', () => {
  it('ends a running cell whose supervisor and sandbox vanished as lost, and removes what is left', async () => {
    const b = await bed();
    const { run, sandboxId } = await startRunningCell(b, doc('sleep 60'));
    const pid = Number(await readFile(join(b.host.config.cellsDir, sandboxId, 'supervisor.pid'), 'utf8'));
    // As a host reboot would: the supervisor's group (sh, runsc run, gofer) and runsc-sandbox, which
    // runs in a session of its own.
    process.kill(-pid, 'SIGKILL');
    const root = `--root=${b.host.config.runscRoot}`;
    for (const p of await listProcesses()) {
      if (p.commandLine.includes(root) && p.commandLine.includes(sandboxId)) process.kill(p.pid, 'SIGKILL');
    }
    const r = await run.result();
    expect(r.outcome).toEqual({ kind: 'lost', reason: expect.stringMatching(/supervisor exited without a record/) });
    expect(r.cleanupError).toBeUndefined();
    await expectNoLeftovers(b.host);
  }, 60_000);

  it('removes the sandbox of a terminated workflow (which skips its cleanup) in the next reconcile', async () => {
    const b = await bed();
    const { run, sandboxId } = await startRunningCell(b, doc('sleep 60'));
    await b.client.temporal.workflow.getHandle(run.workflowId, run.runId).terminate('test: terminated');
    expect((await b.host.runsc.state(sandboxId))?.status).toBe('running');
    expect(await b.worker.reconcile()).toEqual([
      { sandboxId, cellId: run.cellId, action: 'remove', why: expect.stringMatching(/is closed/) },
    ]);
    await expectNoLeftovers(b.host);
  }, 60_000);

  it('leaves alone a running cell whose workflow was started under another workflow id', async () => {
    const b = await bed();
    const d = doc('sleep 60');
    const handle = await b.client.temporal.workflow.start('cellWorkflow', {
      taskQueue: b.taskQueue,
      workflowId: `custom-${d.spec.id}`,
      args: [{ document: d, taskQueue: b.taskQueue }],
    });
    const run = { cellId: d.spec.id, runId: handle.firstExecutionRunId };
    await waitForContainer(b, run);
    // Not at cell-<id>: found by its run id in visibility.
    const stateOf = cellRunStateFrom(b.client.temporal);
    expect(await stateOf(run.cellId, run.runId)).toBe('running');
    expect(await b.worker.reconcile()).toEqual([]);
    expect((await b.host.runsc.state(b.host.sandboxIdFor(run.cellId, run.runId)))?.status).toBe('running');
    await handle.cancel();
    expect(((await handle.result()) as { outcome: { kind: string } }).outcome.kind).toBe('cancelled');
    expect(await stateOf(run.cellId, run.runId)).toBe('closed');
    expect(await stateOf(run.cellId, '00000000-0000-0000-0000-000000000000')).toBe('not-found');
    await expectNoLeftovers(b.host);
  }, 60_000);
});

describe('the reconciler in the worker', () => {
  it('runs at start and then every interval while the worker runs, and stops with it', async () => {
    const host = await makeTestHost();
    const orphan = async (n: number) => {
      const dir = join(host.config.bundleDir, sandboxIdFor(`periodic-${process.pid}-${n}`, 'run'));
      await mkdir(dir, { recursive: true });
      return dir;
    };
    const gone = async (path: string) => !(await exists(path));
    let worker: TestWorker | undefined;
    try {
      const atStart = await orphan(1);
      const logs: string[] = [];
      worker = await startTestWorker(host, {
        worker: {
          reconcileIntervalMs: 300,
          orphanGraceMs: 0,
          log: (message, fields) => logs.push(`${message} ${JSON.stringify(fields)}`),
        },
      });
      await until(`removal of ${atStart}`, () => gone(atStart), Boolean, { ms: 10_000 });
      const later = await orphan(2);
      await until(`removal of ${later}`, () => gone(later), Boolean, { ms: 10_000 });
      expect(logs.filter((l) => l.startsWith('reconcile: removing sandbox'))).toHaveLength(2);
      const t0 = Date.now();
      await worker.stop();
      expect(Date.now() - t0).toBeLessThan(5000);
      const afterStop = await orphan(3);
      await sleep(1000);
      expect(await exists(afterStop)).toBe(true);
      await rm(afterStop, { recursive: true });
      await expectNoLeftovers(host);
    } finally {
      await worker?.close();
      await host.cleanupDir();
    }
  });
});

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );
