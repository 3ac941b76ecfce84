// `cellos schedule <create|list|describe|pause|unpause|trigger|backfill|delete>`: cells on a Temporal
// Schedule. Each run is its own cell workflow, `cell-<spec.id>-<scheduled time>`, on this
// CELLOS_TASK_QUEUE; `cellos ps --schedule ID` lists them.
import type { CellScheduleDescription, CellScheduleSummary } from '../../client/schedules.ts';
import type { CreateScheduleOptions, OverlapPolicy } from '../../client/schedule-options.ts';
import { describeOutcome } from '../../cell/outcome.ts';
import { withCellClient } from '../client.ts';
import { ValidCell } from '../../client/valid-cell.ts';
import { readDocumentJson } from '../document-input.ts';
import { formatTable, formatTime } from '../format.ts';
import type { CliIo } from '../io.ts';
import { createProgress } from '../progress.ts';

interface Done {
  readonly exitCode: 0;
}

export interface ScheduleCreateOptions {
  readonly scheduleId: string;
  readonly file: string;
  readonly schedule: CreateScheduleOptions;
  readonly json: boolean;
}

/**
 * Creates the schedule and describes it. The client validates the document (CellDocumentError, exit 3)
 * before it creates anything.
 */
export async function scheduleCreate(
  opts: ScheduleCreateOptions,
  io: CliIo,
): Promise<Done & { description: CellScheduleDescription }> {
  // Validated before connecting (a fast exit 3); the client takes it without validating again.
  const document = ValidCell.from(await readDocumentJson(opts.file, io));
  return withCellClient(io, async ({ client }) => {
    const { cellId } = await client.schedules.create(opts.scheduleId, document, opts.schedule);
    const description = await client.schedules.describe(opts.scheduleId);
    io.stderr.write(
      `cellos: schedule ${opts.scheduleId} created: it runs cell ${cellId}: ${timingText(description)}` +
        `${description.paused ? ' (paused)' : ''}\n`,
    );
    io.stdout.write(`${opts.json ? JSON.stringify(description) : humanSchedule(description)}\n`);
    return { exitCode: 0, description };
  });
}

export async function scheduleList(
  opts: { readonly json: boolean },
  io: CliIo,
): Promise<Done & { schedules: CellScheduleSummary[] }> {
  return withCellClient(io, async ({ client }) => {
    const schedules = await client.schedules.list();
    if (opts.json) {
      io.stdout.write(`${JSON.stringify(schedules)}\n`);
    } else {
      io.stdout.write(
        `${formatTable(
          ['SCHEDULE', 'CELL', 'WHEN', 'STATE', 'NEXT RUN', 'LAST RUN'],
          schedules.map((s) => [
            s.scheduleId,
            s.cellId ?? '-',
            timingText(s),
            s.paused ? 'paused' : 'active',
            s.paused ? '-' : formatTime(s.nextActionTimes[0]),
            formatTime(s.recentRuns.at(-1)?.scheduledAt),
          ]),
        )}\n`,
      );
    }
    return { exitCode: 0, schedules };
  });
}

export async function scheduleDescribe(
  opts: { readonly scheduleId: string; readonly json: boolean },
  io: CliIo,
): Promise<Done & { description: CellScheduleDescription }> {
  return withCellClient(io, async ({ client }) => {
    const progress = io.stderr.isTTY ? createProgress(io.stderr) : undefined;
    progress?.set(`describing schedule ${opts.scheduleId} and the outcomes of its recent runs`);
    const description = await client.schedules.describe(opts.scheduleId).finally(() => progress?.finish());
    io.stdout.write(`${opts.json ? JSON.stringify(description) : humanSchedule(description)}\n`);
    return { exitCode: 0, description };
  });
}

export async function schedulePause(
  opts: { readonly scheduleId: string; readonly note: string },
  io: CliIo,
): Promise<Done> {
  return withCellClient(io, async ({ client }) => {
    await client.schedules.pause(opts.scheduleId, opts.note);
    io.stderr.write(`cellos: schedule ${opts.scheduleId} paused: ${opts.note}\n`);
    return { exitCode: 0 };
  });
}

export async function scheduleUnpause(
  opts: { readonly scheduleId: string; readonly note: string },
  io: CliIo,
): Promise<Done> {
  return withCellClient(io, async ({ client }) => {
    await client.schedules.unpause(opts.scheduleId, opts.note);
    io.stderr.write(`cellos: schedule ${opts.scheduleId} unpaused: ${opts.note}\n`);
    return { exitCode: 0 };
  });
}

export async function scheduleTrigger(
  opts: { readonly scheduleId: string; readonly overlap: OverlapPolicy | undefined },
  io: CliIo,
): Promise<Done> {
  return withCellClient(io, async ({ client }) => {
    await client.schedules.trigger(opts.scheduleId, opts.overlap);
    io.stderr.write(
      `cellos: schedule ${opts.scheduleId} triggered (overlap policy: ${opts.overlap ?? "the schedule's own"}); ` +
        `\`cellos schedule describe ${opts.scheduleId}\` shows the run\n`,
    );
    return { exitCode: 0 };
  });
}

export async function scheduleBackfill(
  opts: {
    readonly scheduleId: string;
    readonly from: Date;
    readonly to: Date;
    readonly overlap: OverlapPolicy | undefined;
  },
  io: CliIo,
): Promise<Done> {
  return withCellClient(io, async ({ client }) => {
    await client.schedules.backfill(opts.scheduleId, opts.from, opts.to, opts.overlap);
    io.stderr.write(
      `cellos: schedule ${opts.scheduleId}: backfilling the runs due from ${opts.from.toISOString()} to ${opts.to.toISOString()}` +
        ` (overlap policy: ${opts.overlap ?? "the schedule's own"})\n`,
    );
    return { exitCode: 0 };
  });
}

export async function scheduleDelete(opts: { readonly scheduleId: string }, io: CliIo): Promise<Done> {
  return withCellClient(io, async ({ client }) => {
    await client.schedules.delete(opts.scheduleId);
    io.stderr.write(`cellos: schedule ${opts.scheduleId} deleted (runs it started go on)\n`);
    return { exitCode: 0 };
  });
}

function timingText(s: Pick<CellScheduleSummary, 'timing'>): string {
  const { cron, every, timezone } = s.timing;
  const parts = [...every.map((e) => `every ${e}`), ...cron.map((c) => `cron "${c}"`)];
  return `${parts.join(', ') || 'never'}${cron.length > 0 ? ` (${timezone ?? 'UTC'})` : ''}`;
}

function humanSchedule(d: CellScheduleDescription): string {
  const rows: [string, string][] = [
    ['cell', d.cellId ?? '-'],
    ['when', timingText(d)],
    ['state', d.paused ? `paused${d.note ? `: ${d.note}` : ''}` : `active${d.note ? ` (${d.note})` : ''}`],
    ['overlap', d.overlap],
    ['catch-up', d.catchupWindow],
    ['task queue', d.taskQueue ?? '-'],
    ['created', formatTime(d.createdAt)],
    [
      'runs',
      `${d.actionsTaken} taken, ${d.actionsSkippedOverlap} skipped (overlap), ${d.runningWorkflows.length} running`,
    ],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const next = d.paused ? [] : d.nextActionTimes.slice(0, 5);
  const recent = d.recentRuns.map((r) => [
    formatTime(r.scheduledAt),
    r.workflowId,
    r.status,
    r.outcome
      ? describeOutcome(r.outcome)
      : r.failure
        ? `${r.failure.type ? `${r.failure.type}: ` : ''}${r.failure.message}`
        : '-',
  ]);
  return [
    `schedule ${d.scheduleId}`,
    ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
    `next runs:${next.length === 0 ? (d.paused ? ' none while paused' : ' none') : ''}`,
    ...next.map((t) => `  ${formatTime(t)}`),
    `recent runs:${recent.length === 0 ? ' none' : ''}`,
    ...(recent.length > 0
      ? formatTable(['SCHEDULED', 'WORKFLOW', 'STATUS', 'OUTCOME'], recent)
          .split('\n')
          .map((l) => `  ${l}`)
      : []),
  ].join('\n');
}
