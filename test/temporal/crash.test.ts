// Crash safety through Temporal: a worker shut down mid-run, a host that never comes back, a
// sandbox that vanished under a running cell, a terminated workflow. Real dev server, real workers,
// real runsc. (A worker cannot SIGKILL the process it runs in: shutting it down stands in for its
// death here, its activities being cancelled with WORKER_SHUTDOWN; the SIGKILL variants are the
// chaos test's.)
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { History } from '@temporalio/common/lib/proto-utils.js';
import { NativeConnection } from '@temporalio/worker';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { sandboxIdFor } from '../../src/bundle/ids.ts';
import { createReconciler } from '../../src/host/reconciler.ts';
import { cellRunStateFrom } from '../../src/worker/cell-run-state.ts';
import { createCellWorker } from '../../src/worker/cell-worker.ts';
import { loadWorkflowBundle } from '../../src/worker/workflow-bundle.ts';
import { expectNoLeftovers, makeTestHost } from '../helpers/host.ts';
import {
  activityAttempts,
  fetchHistory,
  startTestBed,
  waitForContainer,
  type TemporalTestBed,
} from '../helpers/temporal.ts';

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

let seq = 0;
const doc = (script: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'cellos.io/v1',
  kind: 'ExecutionCell',
  spec: {
    id: `crash-${process.pid}-${++seq}`,
    authority: { secretRefs: [] },
    lifetime: { ttlSeconds: 120 },
    ...spec,
    run: { argv: ['/bin/sh', '-c', script] },
  },
});

const scheduledActivities = (history: History) =>
  (history.events ?? []).flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);

describe('worker shutdown', () => {
  it('leaves running cells running, and a restarted worker of the same host ends them with their true outcome', async () => {
    const first = await bed();
    const run = await first.client.start(doc('sleep 12; echo done; exit 3'));
    await waitForContainer(first, run);
    const sandboxId = first.host.sandboxIdFor(run.cellId, run.runId);

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
    const run = await lost.client.start(doc('sleep 60'));
    await waitForContainer(lost, run);
    const sandboxId = lost.host.sandboxIdFor(run.cellId, run.runId);
    // Another host keeps the shared queue served, so the workflow can end without the lost one.
    await bed({ taskQueue: lost.taskQueue });
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
    expect(scheduledActivities(history)).toEqual(['runSandbox']);

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
    const run = await b.client.start(doc('sleep 60'));
    await waitForContainer(b, run);
    const sandboxId = b.host.sandboxIdFor(run.cellId, run.runId);
    const pid = Number(await readFile(join(b.host.config.cellsDir, sandboxId, 'supervisor.pid'), 'utf8'));
    // As a host reboot would: the supervisor's group (sh, runsc run, gofer) and runsc-sandbox, which
    // runs in a session of its own.
    process.kill(-pid, 'SIGKILL');
    for (const p of await processesNaming(`--root=${b.host.config.runscRoot}`, sandboxId)) {
      process.kill(p, 'SIGKILL');
    }
    const r = await run.result();
    expect(r.outcome).toEqual({ kind: 'lost', reason: expect.stringMatching(/supervisor exited without a record/) });
    expect(r.cleanupError).toBeUndefined();
    await expectNoLeftovers(b.host);
  }, 60_000);

  it('removes the sandbox of a terminated workflow (which skips its cleanup) in the next reconcile', async () => {
    const b = await bed();
    const run = await b.client.start(doc('sleep 60'));
    await waitForContainer(b, run);
    const sandboxId = b.host.sandboxIdFor(run.cellId, run.runId);
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
    const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
    try {
      const orphan = async (n: number) => {
        const dir = join(host.config.bundleDir, sandboxIdFor(`periodic-${process.pid}-${n}`, 'run'));
        await mkdir(dir, { recursive: true });
        return dir;
      };
      const atStart = await orphan(1);
      const logs: string[] = [];
      const worker = await createCellWorker({
        connection,
        taskQueue: `test-${host.config.hostId}`,
        host,
        workflowBundle: await loadWorkflowBundle(),
        reconcileIntervalMs: 300,
        orphanGraceMs: 0,
        log: (message, fields) => logs.push(`${message} ${JSON.stringify(fields)}`),
      });
      const running = worker.run();
      await until(async () => !(await exists(atStart)));
      const later = await orphan(2);
      await until(async () => !(await exists(later)));
      expect(logs.filter((l) => l.startsWith('reconcile: removing sandbox'))).toHaveLength(2);
      const t0 = Date.now();
      worker.shutdown();
      await running;
      expect(Date.now() - t0).toBeLessThan(5000);
      const afterStop = await orphan(3);
      await new Promise((r) => setTimeout(r, 1000));
      expect(await exists(afterStop)).toBe(true);
      await rm(afterStop, { recursive: true });
      await expectNoLeftovers(host);
    } finally {
      await connection.close();
      await host.cleanupDir();
    }
  });
});

async function until(done: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

/** Pids whose command line contains every one of `parts`. */
async function processesNaming(...parts: string[]): Promise<number[]> {
  const pids: number[] = [];
  for (const p of await readdir('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const cmd = await readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '');
    if (parts.every((s) => cmd.includes(s))) pids.push(Number(p));
  }
  return pids;
}
