// Eager run: a cell claimed at admission by the host of the worker running its first workflow task
// has its run sent to the workflow's own queue, and the server hands that activity back to the same
// worker with the task's completion (CELLOS_EAGER_RUN, the dev server's
// system.enableActivityEagerExecution), not through matching. Real dev server, real workers, real runsc.
import type { History } from '@temporalio/common/lib/proto-utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawDocument } from '../helpers/documents.ts';
import { fetchHistory, startTestBed, type TemporalTestBed } from '../helpers/temporal.ts';
import { expectNoLeftovers } from '../helpers/host.ts';

let eager: TemporalTestBed;
let matched: TemporalTestBed;

beforeAll(async () => {
  [eager, matched] = await Promise.all([startTestBed(), startTestBed({ worker: { eagerRun: false } })]);
});

afterAll(async () => {
  await Promise.all([eager?.close(), matched?.close()]);
});

/** The run activity's schedule: its queue, and the started event that answers it. */
function runOf(history: History) {
  const events = history.events ?? [];
  const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runSandbox');
  const started = events.find(
    (e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(scheduled?.eventId),
  );
  const completed = events.find((e) => e.workflowTaskCompletedEventAttributes);
  return {
    queue: scheduled?.activityTaskScheduledEventAttributes?.taskQueue?.name,
    startedBy: started?.activityTaskStartedEventAttributes?.identity,
    completedBy: completed?.workflowTaskCompletedEventAttributes?.identity,
  };
}

describe('eager run', () => {
  it('sends the run of a cell claimed at admission to the shared queue, and the claiming worker runs it', async () => {
    const run = await eager.client.start(rawDocument(['/bin/sh', '-c', 'echo eager; exit 4'], { prefix: 'eagerrun' }));
    const r = await run.result();
    expect(r.outcome).toEqual({ kind: 'exited', code: 4 });
    expect(r.stdout.tail).toBe('eager\n');
    expect(r.hostId).toBe(eager.host.config.hostId);
    const history = await fetchHistory(eager, run.workflowId, run.runId);
    const { queue, startedBy, completedBy } = runOf(history);
    expect(queue).toBe(eager.taskQueue);
    expect(startedBy).toBe(completedBy);
    expect(JSON.stringify(history.events)).not.toContain('WrongHost');
    await expectNoLeftovers(eager.host);
  }, 60_000);

  it("is off without eagerRun: the run goes to the host's own queue", async () => {
    const run = await matched.client.start(rawDocument(['/bin/true'], { prefix: 'eagerrun' }));
    expect((await run.result()).outcome).toEqual({ kind: 'exited', code: 0 });
    const { queue } = runOf(await fetchHistory(matched, run.workflowId, run.runId));
    expect(queue).toBe(`${matched.taskQueue}@${matched.host.config.hostId}`);
  }, 60_000);
});
