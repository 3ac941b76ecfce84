// Determinism guard: every saved history of cellWorkflow must replay against today's workflow code.
// A change to workflows/ that would break a cell running during a deploy (different commands, order or
// activity types) fails here; make it with patched()/deprecatePatch() instead.
//
// The histories in test/histories/ are recorded from a real run of each path:
//   source scripts/env.sh && RECORD_HISTORIES=1 npx vitest run test/temporal/replay.test.ts
// Every .json there is replayed. Re-record only on purpose (a new path, or a change made behind
// patched()); recording overwrites <path>.json, so first copy a history that running cells may still be
// on to another name (e.g. success-v1.json) to keep replaying it.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { historyFromJSON, historyToJSON, type History } from '@temporalio/common/lib/proto-utils.js';
import { NativeConnection, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { CellFailedError } from '../../src/client/cell-client.ts';
import {
  CELL_WORKFLOW_TYPE,
  cellWorkflowId,
  launchTaskQueue,
  signals,
  type CellResult,
  type CellWorkflowInput,
} from '../../src/contract/index.ts';
import { loadWorkflowBundle } from '../../src/worker/workflow-bundle.ts';
import { deadlineDocument, loopScript, shDocument, TRAPPED } from '../helpers/documents.ts';
import { repoRoot } from '../helpers/host.ts';
import { fetchHistory, startRunningCell, startTestBed, useTestBed, waitForPhase } from '../helpers/temporal.ts';
import { deferred, until } from '../helpers/wait.ts';

const historiesDir = join(repoRoot, 'test', 'histories');
const RECORD = process.env.RECORD_HISTORIES === '1';

/** Every path of cellWorkflow that must keep replaying. */
const PATHS = [
  'success',
  'non-zero-exit',
  'deadline-sigterm',
  'deadline-sigkill',
  'kill-signal',
  'cancelled-mid-run',
  'host-rejected',
  'invalid-document',
  'host-lost',
  'killed-before-start',
  'killed-while-queued',
  'cancelled-while-queued',
  'cancelled-as-claimed',
  'scheduled-by-temporal',
  'eager-run',
  'eager-run-refused',
] as const;
type PathName = (typeof PATHS)[number];

// Only defined when recording, so that a normal run reports no skipped tests.
if (RECORD) describe('recording cellWorkflow histories (RECORD_HISTORIES=1)', recordHistories);

function recordHistories(): void {
  const bed = useTestBed();
  beforeAll(async () => {
    await mkdir(historiesDir, { recursive: true });
  });

  // Ids without the pid, so that a history recorded again differs only where the workflow does.
  let seq = 0;
  const id = () => `replay-${++seq}`;
  const doc = (script: string, run: Record<string, unknown> = {}) => shDocument(script, { id: id(), run });
  const input = (document: unknown, extra: Partial<CellWorkflowInput> = {}): CellWorkflowInput => ({
    document,
    taskQueue: bed.taskQueue,
    ...extra,
  });
  const idOf = (document: { spec: { id: string } }) => cellWorkflowId(document.spec.id);
  /** Started on the bed's worker, with the launch and host queues of another queue family. */
  const startIn = async (family: string, d: { spec: { id: string } }, extra: Partial<CellWorkflowInput> = {}) => {
    const handle = await bed.client.temporal.workflow.start(CELL_WORKFLOW_TYPE, {
      taskQueue: bed.taskQueue,
      workflowId: idOf(d),
      args: [input(d, { taskQueue: family, ...extra })],
    });
    return bed.client.getHandle(d.spec.id, handle.firstExecutionRunId);
  };

  async function save(path: PathName, workflowId: string, runId?: string): Promise<void> {
    const history = JSON.parse(historyToJSON(await fetchHistory(bed, workflowId, runId))) as {
      events: { eventType: string }[];
    };
    // A closed run only: replaying an open history proves less.
    expect(history.events.at(-1)?.eventType).toMatch(/^EVENT_TYPE_WORKFLOW_EXECUTION_(COMPLETED|FAILED)$/);
    await writeFile(join(historiesDir, `${path}.json`), `${JSON.stringify(history, null, 2)}\n`);
  }

  const record: Record<PathName, () => Promise<void>> = {
    async success() {
      const run = await bed.client.start(doc('echo hello'));
      expect((await run.result()).outcome).toEqual({ kind: 'exited', code: 0 });
      await save('success', run.workflowId, run.runId);
    },
    async 'non-zero-exit'() {
      const run = await bed.client.start(doc('echo bad >&2; exit 3'));
      expect((await run.result()).outcome).toEqual({ kind: 'exited', code: 3 });
      await save('non-zero-exit', run.workflowId, run.runId);
    },
    async 'deadline-sigterm'() {
      const run = await bed.client.start(deadlineDocument(9, { ttlSeconds: 2, graceSeconds: 5 }, { id: id() }));
      expect((await run.result()).outcome).toEqual({ kind: 'deadline', signal: 'SIGTERM', exitCode: 9 });
      await save('deadline-sigterm', run.workflowId, run.runId);
    },
    async 'deadline-sigkill'() {
      const run = await bed.client.start(deadlineDocument('ignore', { ttlSeconds: 1, graceSeconds: 1 }, { id: id() }));
      expect((await run.result()).outcome).toEqual({ kind: 'deadline', signal: 'SIGKILL' });
      await save('deadline-sigkill', run.workflowId, run.runId);
    },
    async 'kill-signal'() {
      const { run } = await startRunningCell(bed, doc(loopScript(4)), { output: TRAPPED });
      await run.kill('operator says stop');
      expect((await run.result()).outcome).toEqual({
        kind: 'killed',
        reason: 'operator says stop',
        signal: 'SIGTERM',
      });
      await save('kill-signal', run.workflowId, run.runId);
    },
    async 'cancelled-mid-run'() {
      const { run } = await startRunningCell(bed, doc('sleep 30'));
      await bed.client.temporal.workflow.getHandle(run.workflowId, run.runId).cancel();
      const r = await run.result();
      expect(r.outcome).toEqual({ kind: 'cancelled', reason: 'the workflow was cancelled' });
      expect(r.cleanupError).toBeUndefined();
      await save('cancelled-mid-run', run.workflowId, run.runId);
    },
    async 'host-rejected'() {
      const run = await bed.client.start(doc('true', { mounts: [{ source: '/etc', destination: '/tmp' }] }));
      const err = await run.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CellFailedError);
      expect((err as CellFailedError).type).toBe('CellRejectedByHost');
      await save('host-rejected', run.workflowId, run.runId);
    },
    async 'invalid-document'() {
      const bad = { apiVersion: 'cellos.io/v1', kind: 'ExecutionCell', spec: { id: 'replay-invalid' } };
      const handle = await bed.client.temporal.workflow.start(CELL_WORKFLOW_TYPE, {
        taskQueue: bed.taskQueue,
        workflowId: `replay-invalid-${Date.now()}`,
        args: [input(bad)],
      });
      const err = await handle.result().catch((e: unknown) => e);
      expect((err as { cause?: { type?: string } }).cause?.type).toBe('InvalidCellDocument');
      await save('invalid-document', handle.workflowId, handle.firstExecutionRunId);
    },
    async 'host-lost'() {
      // A host claims the cell and is never seen again: a stand-in host answers the claim on the
      // launch queue of a queue family no worker serves, so the run goes to a queue nobody polls.
      const d = doc('true');
      const lostQueue = `${bed.taskQueue}-unpolled`;
      const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
      const claimer = await Worker.create({
        connection,
        taskQueue: launchTaskQueue(lostQueue, ''),
        activities: { claimCell: () => Promise.resolve({ hostId: 'gone' }) },
      });
      try {
        await claimer.runUntil(async () => {
          const handle = await bed.client.temporal.workflow.start(CELL_WORKFLOW_TYPE, {
            taskQueue: bed.taskQueue,
            workflowId: idOf(d),
            args: [input(d, { taskQueue: lostQueue, hostScheduleToStartSeconds: 1 })],
          });
          const r = (await handle.result()) as CellResult;
          expect(r.outcome.kind).toBe('host-lost');
          await save('host-lost', handle.workflowId, handle.firstExecutionRunId);
        });
      } finally {
        await connection.close();
      }
    },
    async 'killed-before-start'() {
      const d = doc('echo never');
      const handle = await bed.client.temporal.workflow.signalWithStart(CELL_WORKFLOW_TYPE, {
        taskQueue: bed.taskQueue,
        workflowId: idOf(d),
        args: [input(d)],
        signal: signals.kill,
        signalArgs: [{ reason: 'changed my mind' }],
      });
      const r = (await handle.result()) as CellResult;
      expect(r.outcome).toEqual({ kind: 'cancelled', reason: 'killed while queued: changed my mind' });
      expect(r.sandboxStartedAt).toBeUndefined();
      await save('killed-before-start', handle.workflowId, handle.signaledRunId);
    },
    async 'killed-while-queued'() {
      // Queued in a queue family no host serves: its claim is never answered.
      const run = await startIn(`${bed.taskQueue}-unclaimed`, doc('echo never'));
      await waitForPhase(() => run.status(), 'queued');
      await run.kill('changed my mind');
      expect((await run.result()).outcome).toEqual({
        kind: 'cancelled',
        reason: 'killed while queued: changed my mind',
      });
      await save('killed-while-queued', run.workflowId, run.runId);
    },
    async 'cancelled-while-queued'() {
      const run = await startIn(`${bed.taskQueue}-unclaimed`, doc('echo never'));
      await waitForPhase(() => run.status(), 'queued');
      await bed.client.temporal.workflow.getHandle(run.workflowId, run.runId).cancel();
      expect((await run.result()).outcome).toEqual({ kind: 'cancelled', reason: 'the workflow was cancelled' });
      await save('cancelled-while-queued', run.workflowId, run.runId);
    },
    async 'cancelled-as-claimed'() {
      // A stand-in host answers the claim only after the workflow was cancelled. Its queues are not
      // served: the cleanup's kill and removal time out (host timeout 1 s).
      const family = `${bed.taskQueue}-slow-claim`;
      const asked = deferred();
      const answered = deferred();
      const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
      const claimer = await Worker.create({
        connection,
        taskQueue: launchTaskQueue(family, ''),
        activities: {
          claimCell: async () => {
            asked.resolve();
            await answered.promise;
            return { hostId: 'slow' };
          },
        },
      });
      try {
        await claimer.runUntil(async () => {
          const run = await startIn(family, doc('true'), { hostScheduleToStartSeconds: 1 });
          await asked.promise;
          await bed.client.temporal.workflow.getHandle(run.workflowId, run.runId).cancel();
          await new Promise((r) => setTimeout(r, 500));
          answered.resolve();
          const r = await run.result();
          expect(r.outcome).toEqual({ kind: 'cancelled', reason: 'the workflow was cancelled' });
          await save('cancelled-as-claimed', run.workflowId, run.runId);
        });
      } finally {
        await connection.close();
      }
    },
    async 'scheduled-by-temporal'() {
      // A schedule made without our client (as the Temporal CLI or the UI makes one): no scheduleId in
      // the input, so the workflow takes it from TemporalScheduledById (its patch marker is recorded).
      const d = doc('echo scheduled');
      const scheduleId = `replay-schedule-${Date.now()}`;
      const schedule = await bed.client.temporal.schedule.create({
        scheduleId,
        spec: { intervals: [{ every: '1h' }] },
        state: { paused: true },
        action: {
          type: 'startWorkflow',
          workflowType: CELL_WORKFLOW_TYPE,
          workflowId: idOf(d),
          taskQueue: bed.taskQueue,
          args: [{ document: d }],
        },
      });
      try {
        await schedule.trigger();
        let started: { workflowId: string; firstExecutionRunId: string } | undefined;
        for (let i = 0; i < 100 && started === undefined; i++) {
          started = (await schedule.describe()).info.recentActions[0]?.action.workflow;
          if (started === undefined) await new Promise((r) => setTimeout(r, 100));
        }
        expect(started).toBeDefined();
        const r = (await bed.client.temporal.workflow.getHandle(started!.workflowId).result()) as CellResult;
        expect(r.outcome).toEqual({ kind: 'exited', code: 0 });
        expect(r.scheduleId).toBe(scheduleId);
        await save('scheduled-by-temporal', started!.workflowId, started!.firstExecutionRunId);
      } finally {
        await schedule.delete();
      }
    },
    async 'eager-run'() {
      // Claimed at admission: the run on the shared queue, handed back with workflow task 1.
      const run = await bed.client.start(doc('echo eager'));
      expect((await run.result()).outcome).toEqual({ kind: 'exited', code: 0 });
      await save('eager-run', run.workflowId, run.runId);
    },
    async 'eager-run-refused'() {
      // The eager run's retry (its worker shut down) reached another host, which refused it
      // (WrongHost); the run went on to the claiming host's own queue, where a new worker of that
      // host re-attached.
      const first = await startTestBed();
      const beds = [first];
      try {
        // Longer than the shutdown's 5 s grace: the first attempt fails with the worker.
        const { run } = await startRunningCell(first, doc('sleep 9; echo done'));
        beds.push(await startTestBed({ taskQueue: first.taskQueue }));
        await first.stopWorker();
        // The claiming host comes back only once the other one has refused the retry.
        await until(
          'the retry refused by the other host',
          async () => JSON.stringify((await fetchHistory(first, run.workflowId, run.runId)).events),
          (events) => events.includes('WrongHost'),
          { everyMs: 200 },
        );
        beds.push(
          await startTestBed({
            host: { hostId: first.host.config.hostId, stateDir: first.host.config.stateDir },
            taskQueue: first.taskQueue,
          }),
        );
        const r = await run.result();
        expect(r.outcome).toEqual({ kind: 'exited', code: 0 });
        expect(r.stdout.tail).toBe('done\n');
        await save('eager-run-refused', run.workflowId, run.runId);
      } finally {
        for (const b of beds.reverse()) await b.close();
      }
    },
  };

  it.each(PATHS)('records the %s path', async (path) => {
    await record[path]();
  });
}

describe('replaying saved cellWorkflow histories', () => {
  let names: string[] = [];
  const histories = new Map<string, History>();
  let bundle: { code: string };
  beforeAll(async () => {
    names = (await readdir(historiesDir)).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, ''));
    for (const name of names) {
      histories.set(name, historyFromJSON(JSON.parse(await readFile(join(historiesDir, `${name}.json`), 'utf8'))));
    }
    bundle = await loadWorkflowBundle();
  });

  async function replay(entries: [string, History][]): Promise<Map<string, Error | undefined>> {
    const results = new Map<string, Error | undefined>();
    const replayed = Worker.runReplayHistories(
      { workflowBundle: bundle, replayName: 'cellos-replay-test' },
      entries.map(([workflowId, history]) => ({ workflowId, history })),
    );
    for await (const r of replayed) results.set(r.workflowId, r.error);
    return results;
  }

  it('has a saved history for every path of the workflow (at least 8)', () => {
    expect(names.length).toBeGreaterThanOrEqual(8);
    expect(names).toEqual(expect.arrayContaining([...PATHS]));
  });

  it('replays every saved history without a non-determinism or workflow task error', async () => {
    const results = await replay([...histories]);
    expect([...results.keys()].sort()).toEqual([...names].sort());
    const errors = [...results].filter(([, e]) => e !== undefined).map(([n, e]) => `${n}: ${e?.name}: ${e?.message}`);
    expect(errors).toEqual([]);
  });

  it('notices when the code no longer matches a history (the guard is real)', async () => {
    // Rename the first activity the success path schedules, as a code change would.
    const tampered = historyFromJSON(JSON.parse(await readFile(join(historiesDir, 'success.json'), 'utf8')));
    const scheduled = tampered.events?.find(
      (e) => e.activityTaskScheduledEventAttributes,
    )?.activityTaskScheduledEventAttributes;
    expect(scheduled?.activityType?.name).toBeTruthy();
    scheduled!.activityType!.name = `${scheduled!.activityType!.name}Renamed`;
    const results = await replay([['success-tampered', tampered]]);
    expect(results.get('success-tampered')).toBeInstanceOf(DeterminismViolationError);
  });
});
