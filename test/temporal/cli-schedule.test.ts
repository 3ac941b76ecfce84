// A schedule that the Temporal CLI creates, with nothing but {"document": ...} as its workflow's
// input, runs cells on a real worker: triggered, it starts cell-<id>-<time>, which exits with the
// document's code and output. Our own tooling names its schedule too, although its input has no
// scheduleId: the workflow takes it from Temporal's TemporalScheduledById.
import { describe, expect, it } from 'vitest';
import { cellWorkflowId, CELL_WORKFLOW_TYPE, SCHEDULED_BY_ID, type CellResult } from '../../src/contract/index.ts';
import { CellScheduleIdKey, ScheduledByIdKey } from '../../src/contract/search-attributes.ts';
import { rawDocument } from '../helpers/documents.ts';
import { temporalCli } from '../helpers/temporal-cli.ts';
import { useTestBed } from '../helpers/temporal.ts';
import { until } from '../helpers/wait.ts';

const bed = useTestBed();

const schedule = (args: string[]) => temporalCli('schedule', args);

/** Runs `temporal schedule <args>` and fails the test, with the CLI's output, unless it exits 0. */
async function scheduleOk(args: string[]): Promise<string> {
  const out = await schedule(args);
  expect(out.code, `temporal schedule ${args.join(' ')}\n${out.stdout}${out.stderr}`).toBe(0);
  return out.stdout;
}

describe('a schedule created by the Temporal CLI', () => {
  it('runs the cell on trigger as cell-<id>-<time>, to the document’s exit code and output', async () => {
    const doc = rawDocument(['/bin/sh', '-c', 'echo from-schedule; exit 4'], { prefix: 'clisched' });
    const scheduleId = `clisched-${process.pid}-${Date.now()}`;
    await scheduleOk([
      'create',
      '--schedule-id',
      scheduleId,
      '--workflow-id',
      cellWorkflowId(doc.spec.id),
      '--type',
      CELL_WORKFLOW_TYPE,
      '--task-queue',
      bed.taskQueue,
      '--input',
      JSON.stringify({ document: doc }),
      '--interval',
      '1h',
      '--paused',
    ]);
    try {
      await scheduleOk(['trigger', '--schedule-id', scheduleId]);

      // The schedule appends the scheduled time to the workflow id; visibility finds the run by schedule.
      const [listed] = await until(
        `a run of schedule ${scheduleId} in visibility`,
        async () => {
          const found = [];
          for await (const wf of bed.client.temporal.workflow.list({
            query: `${SCHEDULED_BY_ID} = '${scheduleId}'`,
          })) {
            found.push(wf);
          }
          return found;
        },
        (found) => found.length === 1,
        { everyMs: 250 },
      );
      const { workflowId, runId } = listed!;
      expect(workflowId).toMatch(
        new RegExp(`^${cellWorkflowId(doc.spec.id)}-\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$`),
      );
      expect(listed!.type).toBe(CELL_WORKFLOW_TYPE);

      const result = (await bed.client.temporal.workflow.getHandle(workflowId, runId).result()) as CellResult;
      expect(result).toMatchObject({
        cellId: doc.spec.id,
        workflowId,
        runId,
        hostId: bed.host.config.hostId,
        outcome: { kind: 'exited', code: 4 },
        exitCode: 4,
        stdout: { tail: 'from-schedule\n' },
      });

      // The schedule's own account of the run: `temporal schedule describe`'s recent actions.
      const described = JSON.parse(await scheduleOk(['describe', '--schedule-id', scheduleId, '--output', 'json'])) as {
        info: { recentActions: { startWorkflowResult: { workflowId: string; runId: string } }[] };
      };
      expect(described.info.recentActions.map((a) => a.startWorkflowResult)).toEqual([{ workflowId, runId }]);

      // Our tooling. The input carries no scheduleId (only CellClient.schedules puts it there): the
      // workflow takes it from TemporalScheduledById, for its result and CellScheduleId.
      const description = await bed.client.temporal.workflow.getHandle(workflowId, runId).describe();
      expect(description.typedSearchAttributes.get(ScheduledByIdKey)).toBe(scheduleId);
      expect(description.typedSearchAttributes.get(CellScheduleIdKey)).toBe(scheduleId);
      expect(result.scheduleId).toBe(scheduleId);
      const [summary] = await until(
        'the run listed by its cell id, with its outcome',
        () => bed.client.list({ cellId: doc.spec.id }),
        (found) => found.length === 1 && found[0]!.outcome !== undefined,
        { everyMs: 250 },
      );
      expect(summary).toMatchObject({ workflowId, scheduleId, outcome: 'exited', exitCode: 4 });
      expect(await bed.client.describe(doc.spec.id)).toMatchObject({ workflowId, scheduleId });
      expect(await bed.client.schedules.describe(scheduleId)).toMatchObject({
        cellId: doc.spec.id,
        taskQueue: bed.taskQueue,
        recentRuns: [{ workflowId, runId, status: 'COMPLETED', outcome: { kind: 'exited', code: 4 }, exitCode: 4 }],
      });
      // Filtering by schedule asks CellScheduleId (the namespace has the cell attributes).
      expect((await bed.client.list({ scheduleId })).map((c) => c.workflowId)).toEqual([workflowId]);
    } finally {
      await scheduleOk(['delete', '--schedule-id', scheduleId]);
    }
  });
});
