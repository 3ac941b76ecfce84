// Cells on a Temporal Schedule, through CellClient.schedules, against the test run's dev server and a
// real worker. Schedules are created paused and driven with trigger/backfill wherever the test needs
// runs to be deterministic.
import { ScheduleNotFoundError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { CellDocumentError } from '../../src/client/cell-client.ts';
import { ScheduleOptionsError, type CellScheduleDescription } from '../../src/client/schedules.ts';
import type { CellSummary } from '../../src/client/visibility.ts';
import type { CellResult } from '../../src/contract/index.ts';
import { cellDocument } from '../helpers/documents.ts';
import { useTestBed } from '../helpers/temporal.ts';
import { sleep, until, type UntilOptions } from '../helpers/wait.ts';

const created: string[] = [];
let seq = 0;

const bed = useTestBed(
  {},
  {
    async afterEach(bed) {
      for (const id of created.splice(0)) await bed.client.schedules.delete(id).catch(() => undefined);
      await waitForNoRunningCells();
    },
  },
);

/** A schedule id, deleted after the test. */
function scheduleId(): string {
  seq += 1;
  const id = `sched-${process.pid}-${seq}`;
  created.push(id);
  return id;
}

const sh = (script: string) => cellDocument(['/bin/sh', '-c', script]);

/** Schedules and visibility move at the server's pace: ask every 250 ms, for `ms` at most. */
const poll = (ms = 20_000): UntilOptions => ({ ms, everyMs: 250 });

/** Cells of a schedule, from visibility (eventually consistent), oldest first. */
async function runsOf(id: string): Promise<CellSummary[]> {
  const runs = await bed.client.list({ scheduleId: id, limit: 100 });
  return runs.sort((a, b) => +a.startTime - +b.startTime);
}

async function waitForNoRunningCells(): Promise<void> {
  await until(
    'the cells of this file to end',
    () => bed.client.list({ running: true, query: `TaskQueue = '${bed.taskQueue}'` }),
    (running) => running.length === 0,
    poll(30_000),
  );
}

/** describe() until every recent run has closed and there are `n` of them. */
function closedRuns(id: string, n: number, ms = 30_000): Promise<CellScheduleDescription> {
  return until(
    `${n} closed runs of schedule ${id}`,
    () => bed.client.schedules.describe(id),
    (d) =>
      d.recentRuns.length === n && d.runningWorkflows.length === 0 && d.recentRuns.every((r) => r.status !== 'RUNNING'),
    poll(ms),
  );
}

describe('schedules', () => {
  it('runs a real cell on trigger, with the schedule id in its result and a unique workflow id cell-<id>-<time>', async () => {
    const id = scheduleId();
    const doc = sh('echo scheduled; exit 0');
    const made = await bed.client.schedules.create(id, doc, { every: '1h', paused: true, note: 'test' });
    expect(made).toEqual({ scheduleId: id, cellId: doc.spec.id, workflowIdPrefix: `cell-${doc.spec.id}-` });

    await bed.client.schedules.trigger(id);
    const first = await closedRuns(id, 1);
    expect(first.recentRuns[0]).toMatchObject({
      status: 'COMPLETED',
      outcome: { kind: 'exited', code: 0 },
      exitCode: 0,
    });
    const { workflowId, runId } = first.recentRuns[0]!;
    expect(workflowId).toMatch(new RegExp(`^cell-${doc.spec.id}-\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$`));
    const result = (await bed.client.temporal.workflow.getHandle(workflowId, runId).result()) as CellResult;
    expect(result).toMatchObject({
      cellId: doc.spec.id,
      workflowId,
      scheduleId: id,
      hostId: bed.host.config.hostId,
      stdout: { tail: 'scheduled\n' },
    });

    await sleep(1100); // the appended time has whole seconds
    await bed.client.schedules.trigger(id);
    const second = await closedRuns(id, 2);
    const ids = second.recentRuns.map((r) => r.workflowId);
    expect(new Set(ids).size).toBe(2);
    expect(ids.every((w) => w.startsWith(made.workflowIdPrefix))).toBe(true);
    expect(second).toMatchObject({
      scheduleId: id,
      cellId: doc.spec.id,
      document: doc,
      taskQueue: bed.taskQueue,
      timing: { every: ['1h'], cron: [] },
      overlap: 'skip',
      paused: true,
      note: 'test',
      actionsTaken: 2,
    });
  });

  it('takes no runs while paused, and runs again once unpaused', async () => {
    const id = scheduleId();
    await bed.client.schedules.create(id, sh('true'), { every: '1s', paused: true });
    await sleep(3000);
    const paused = await bed.client.schedules.describe(id);
    expect(paused).toMatchObject({ paused: true, actionsTaken: 0, recentRuns: [] });

    await bed.client.schedules.unpause(id, 'go');
    const running = await until(
      'a run after unpause',
      () => bed.client.schedules.describe(id),
      (d) => d.actionsTaken >= 1,
      poll(10_000),
    );
    expect(running).toMatchObject({ paused: false, note: 'go' });

    await bed.client.schedules.pause(id, 'maintenance');
    const again = await until(
      'the schedule to show paused',
      () => bed.client.schedules.describe(id),
      (d) => d.paused,
      poll(5000),
    );
    expect(again).toMatchObject({ paused: true, note: 'maintenance' });
    await sleep(3000);
    expect((await bed.client.schedules.describe(id)).actionsTaken).toBe(again.actionsTaken);
  });

  it('backfills a past window: one run per time the spec matches, each its own workflow', async () => {
    const id = scheduleId();
    const doc = sh('true');
    await bed.client.schedules.create(id, doc, { every: '1m', paused: true });
    // A 3-minute window, 30 s off the minute marks: it holds exactly 3 of them.
    const from = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 5 * 60_000 + 30_000);
    const to = new Date(+from + 3 * 60_000);
    await bed.client.schedules.backfill(id, from, to, 'buffer-all');

    const runs = await until(
      'three backfilled runs, closed, in visibility',
      () => runsOf(id),
      (r) => r.length >= 3 && r.every((c) => c.status === 'COMPLETED'),
      poll(),
    );
    expect(runs).toHaveLength(3);
    const expected = [1, 2, 3].map(
      (i) => `cell-${doc.spec.id}-${new Date(+from - 30_000 + i * 60_000).toISOString().replace(/\.000Z$/, 'Z')}`,
    );
    expect(runs.map((r) => r.workflowId).sort()).toEqual(expected);
    expect(runs.every((r) => r.cellId === doc.spec.id && r.scheduleId === id && r.outcome === 'exited')).toBe(true);
  });

  it("overlap 'skip' drops triggers while a run is going", async () => {
    const id = scheduleId();
    await bed.client.schedules.create(id, sh('sleep 4'), { every: '1h', paused: true, overlap: 'skip' });
    for (let i = 0; i < 3; i++) {
      await bed.client.schedules.trigger(id);
      await sleep(400);
    }
    const d = await closedRuns(id, 1);
    await sleep(1500);
    const after = await bed.client.schedules.describe(id);
    expect(after.recentRuns).toHaveLength(1);
    expect(after.actionsSkippedOverlap).toBeGreaterThanOrEqual(2);
    expect(d.recentRuns[0]).toMatchObject({ outcome: { kind: 'exited', code: 0 } });
    expect(
      await until(
        'one run in visibility',
        () => runsOf(id),
        (r) => r.length === 1,
        poll(),
      ),
    ).toHaveLength(1);
  });

  it("overlap 'buffer-one' keeps one trigger for after the running run: two runs, one after the other", async () => {
    const id = scheduleId();
    await bed.client.schedules.create(id, sh('sleep 4'), { every: '1h', paused: true, overlap: 'buffer-one' });
    for (let i = 0; i < 3; i++) {
      await bed.client.schedules.trigger(id);
      await sleep(1100); // distinct times in the workflow ids
    }
    await closedRuns(id, 2, 40_000);
    const runs = await until(
      'two closed runs in visibility',
      () => runsOf(id),
      (r) => r.length === 2 && r.every((c) => c.closeTime !== undefined),
      poll(),
    );
    expect(runs).toHaveLength(2);
    expect(+runs[1]!.startTime).toBeGreaterThanOrEqual(+runs[0]!.closeTime!);
    expect(runs.every((r) => r.outcome === 'exited' && r.exitCode === 0)).toBe(true);
  });

  it('refuses an invalid document with CellDocumentError and creates no schedule', async () => {
    const id = scheduleId();
    const bad = { ...sh('true'), kind: 'Cell' };
    await expect(bed.client.schedules.create(id, bad, { every: '1m' })).rejects.toThrow(CellDocumentError);
    await expect(bed.client.schedules.describe(id)).rejects.toThrow(ScheduleNotFoundError);
  });

  it("refuses overlap 'terminate-other' (it would skip the cell's cleanup) everywhere", async () => {
    const id = scheduleId();
    const create = bed.client.schedules.create(id, sh('true'), { every: '1m', overlap: 'terminate-other' as never });
    await expect(create).rejects.toThrow(ScheduleOptionsError);
    await expect(create).rejects.toThrow(/terminate-other.*cleanup/);
    await expect(bed.client.schedules.describe(id)).rejects.toThrow(ScheduleNotFoundError);

    await bed.client.schedules.create(id, sh('true'), { every: '1m', paused: true });
    await expect(bed.client.schedules.trigger(id, 'terminate-other' as never)).rejects.toThrow(/cleanup/);
    await expect(
      bed.client.schedules.backfill(id, new Date(Date.now() - 60_000), new Date(), 'terminate-other' as never),
    ).rejects.toThrow(/cleanup/);
  });

  it.each([
    ['neither cron nor every', {}, /needs cron or every/],
    ['both cron and every', { cron: '* * * * *', every: '1m' }, /not both/],
    ['a bad interval', { every: 'often' }, /every "often" must be a duration/],
    ['a bad time zone', { cron: '0 * * * *', timezone: 'Mars/Olympus' }, /time zone "Mars\/Olympus"/],
    ['a bad cron expression', { cron: 'every tuesday' }, /invalid schedule/],
  ])('refuses %s with ScheduleOptionsError', async (_what, opts, message) => {
    const id = scheduleId();
    const create = bed.client.schedules.create(id, sh('true'), opts);
    await expect(create).rejects.toThrow(ScheduleOptionsError);
    await expect(create).rejects.toThrow(message);
  });

  it('keeps cron expressions as written, with their next times, and lists and deletes the schedule', async () => {
    const id = scheduleId();
    const doc = sh('true');
    await bed.client.schedules.create(id, doc, { cron: ['0 3 * * *', '30 15 * * MON'], timezone: 'Europe/Paris' });
    const d = await bed.client.schedules.describe(id);
    expect(d.timing).toEqual({ cron: ['0 3 * * *', '30 15 * * MON'], every: [], timezone: 'Europe/Paris' });
    expect(d.nextActionTimes.length).toBeGreaterThan(0);
    expect(+d.nextActionTimes[0]!).toBeGreaterThan(Date.now());

    const listed = await until(
      'the schedule in the listing',
      () => bed.client.schedules.list(),
      (l) => l.some((s) => s.scheduleId === id),
      poll(),
    );
    expect(listed.find((s) => s.scheduleId === id)).toMatchObject({
      cellId: doc.spec.id,
      taskQueue: bed.taskQueue,
      paused: false,
      timing: { cron: ['0 3 * * *', '30 15 * * MON'] },
    });

    await bed.client.schedules.delete(id);
    await expect(bed.client.schedules.describe(id)).rejects.toThrow(ScheduleNotFoundError);
    await expect(bed.client.schedules.trigger(id)).rejects.toThrow(ScheduleNotFoundError);
    await until(
      'the schedule to leave the listing',
      () => bed.client.schedules.list(),
      (l) => !l.some((s) => s.scheduleId === id),
      poll(),
    );
  });
});
