// Cells on a schedule: a Temporal Schedule whose action starts the cell workflow. Each run's
// workflow id is `cell-<spec.id>-<scheduled time>` (Temporal appends the time), so runs never
// collide; they carry CellScheduleId (and TemporalScheduledById) for finding them.
import {
  ScheduleNotFoundError,
  encodeScheduleOverlapPolicy,
  isGrpcServiceError,
  type Client,
  type ScheduleDescription,
  type ScheduleOverlapPolicy,
  type ScheduleSummary,
} from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import { cellIdOf } from '../document/cell-id.ts';
import { CellIdKey, CellScheduleIdKey } from '../contract/search-attributes.ts';
import { ValidCell } from './valid-cell.ts';
import { cellDetails, cellSummary } from './details.ts';
import {
  CELL_WORKFLOW_TYPE,
  cellWorkflowId,
  type CellResultOutcome,
  type CellResult,
  type CellWorkflowInput,
} from '../contract/index.ts';
import { formatDuration } from './durations.ts';
import {
  checkOverlap,
  checkScheduleId,
  normalizeScheduleOptions,
  ScheduleOptionsError,
  type CreateScheduleOptions,
  type OverlapPolicy,
} from './schedule-options.ts';

export * from './schedule-options.ts';

const TO_TEMPORAL = {
  skip: 'SKIP',
  'buffer-one': 'BUFFER_ONE',
  'buffer-all': 'BUFFER_ALL',
  'cancel-other': 'CANCEL_OTHER',
  'allow-all': 'ALLOW_ALL',
} as const satisfies Record<OverlapPolicy, ScheduleOverlapPolicy>;

/** The memo cellos puts on a schedule: what was asked for, as written. */
interface ScheduleMemo {
  readonly cellId?: string;
  readonly taskQueue?: string;
  readonly cron?: string[];
  readonly every?: string;
}

/** When a schedule runs, as the user wrote it. */
export interface ScheduleTiming {
  readonly cron: readonly string[];
  readonly every: readonly string[];
  readonly timezone: string | undefined;
}

export interface CellScheduleSummary {
  readonly scheduleId: string;
  readonly cellId: string | undefined;
  readonly taskQueue: string | undefined;
  readonly timing: ScheduleTiming;
  readonly paused: boolean;
  readonly note: string | undefined;
  readonly nextActionTimes: readonly Date[];
  /** Runs started (oldest first), as schedule listings show them (eventually consistent). */
  readonly recentRuns: readonly { readonly scheduledAt: Date; readonly workflowId: string; readonly runId: string }[];
}

export interface CellScheduleRun {
  readonly scheduledAt: Date;
  readonly takenAt: Date;
  readonly workflowId: string;
  readonly runId: string;
  /** RUNNING, COMPLETED, FAILED, ... or NOT_FOUND once the server has dropped it (retention). */
  readonly status: string;
  readonly outcome: CellResultOutcome | undefined;
  readonly exitCode: number | undefined;
  readonly failure: { readonly type: string | undefined; readonly message: string } | undefined;
}

export interface CellScheduleDescription {
  readonly scheduleId: string;
  readonly cellId: string | undefined;
  /** The document every run gets (validated again by each run). */
  readonly document: unknown;
  readonly taskQueue: string | undefined;
  readonly timing: ScheduleTiming;
  /** Temporal's policy, lowercased and dashed: skip, buffer-one, ... */
  readonly overlap: string;
  readonly catchupWindow: string;
  readonly paused: boolean;
  readonly note: string | undefined;
  readonly createdAt: Date;
  readonly nextActionTimes: readonly Date[];
  readonly actionsTaken: number;
  readonly actionsSkippedOverlap: number;
  readonly runningWorkflows: readonly { readonly workflowId: string; readonly runId: string }[];
  /** The latest runs (oldest first) with their outcomes once they have ended. */
  readonly recentRuns: readonly CellScheduleRun[];
}

/** What the schedules need of CellClient. */
export interface ScheduleHost {
  readonly temporal: Client;
  readonly taskQueue: string;
  workflowInput(document: unknown, scheduleId?: string): Promise<CellWorkflowInput>;
  /** The result of a run; rejects with CellFailedError when it failed. */
  resultOf(workflowId: string, runId: string, cellId: string): Promise<CellResult>;
}

export class CellSchedules {
  private readonly host: ScheduleHost;

  constructor(host: ScheduleHost) {
    this.host = host;
  }

  private get temporal(): Client {
    return this.host.temporal;
  }

  /**
   * Creates a schedule that runs `document`. The document is validated here (CellDocumentError) and
   * again by each run; options are checked first (ScheduleOptionsError). Throws the SDK's
   * ScheduleAlreadyRunning when the id is taken.
   */
  async create(
    scheduleId: string,
    document: unknown,
    opts: CreateScheduleOptions,
  ): Promise<{ readonly scheduleId: string; readonly cellId: string; readonly workflowIdPrefix: string }> {
    checkScheduleId(scheduleId);
    const o = normalizeScheduleOptions(opts);
    const cell = ValidCell.from(document);
    const cellId = cell.parsed.spec.id;
    const input = await this.host.workflowInput(cell.document, scheduleId);
    const typedSearchAttributes: SearchAttributePair[] = input.indexed
      ? [
          { key: CellScheduleIdKey, value: scheduleId },
          { key: CellIdKey, value: cellId },
        ]
      : [];
    const memo: ScheduleMemo = {
      cellId,
      taskQueue: this.host.taskQueue,
      ...(o.cron.length > 0 ? { cron: [...o.cron] } : {}),
      ...(opts.every !== undefined ? { every: opts.every } : {}),
    };
    try {
      await this.temporal.schedule.create({
        scheduleId,
        spec: {
          ...(o.cron.length > 0 ? { cronExpressions: [...o.cron] } : {}),
          ...(o.everyMs !== undefined ? { intervals: [{ every: o.everyMs }] } : {}),
          ...(o.timezone !== undefined ? { timezone: o.timezone } : {}),
        },
        action: {
          type: 'startWorkflow',
          workflowType: CELL_WORKFLOW_TYPE,
          taskQueue: this.host.taskQueue,
          workflowId: cellWorkflowId(cellId),
          args: [input],
          memo: { cellId, scheduleId },
          staticSummary: cellSummary(cell.parsed, scheduleId),
          staticDetails: cellDetails(cell.parsed),
          ...(typedSearchAttributes.length > 0 ? { typedSearchAttributes } : {}),
        },
        policies: {
          overlap: TO_TEMPORAL[o.overlap],
          ...(o.catchupWindowMs !== undefined ? { catchupWindow: o.catchupWindowMs } : {}),
        },
        memo: { ...opts.memo, ...memo },
        state: { paused: o.paused, ...(o.note !== undefined ? { note: o.note } : {}) },
      });
    } catch (err) {
      // The server checks cron expressions; the SDK turns its complaint into a TypeError.
      if (err instanceof TypeError) throw new ScheduleOptionsError('cron', `invalid schedule: ${err.message}`);
      throw err;
    }
    return { scheduleId, cellId, workflowIdPrefix: `${cellWorkflowId(cellId)}-` };
  }

  /** Schedules that run cells (listing is eventually consistent: a new one may take a moment to show). */
  async list(): Promise<CellScheduleSummary[]> {
    const out: CellScheduleSummary[] = [];
    for await (const s of this.temporal.schedule.list()) {
      if (s.action?.workflowType !== CELL_WORKFLOW_TYPE) continue;
      out.push(summaryOf(s));
    }
    return out;
  }

  /** The schedule, its next times and its latest runs with their outcomes. ScheduleNotFoundError if none. */
  async describe(scheduleId: string): Promise<CellScheduleDescription> {
    const d = await this.temporal.schedule.getHandle(scheduleId).describe();
    const memo = (d.memo ?? {}) as ScheduleMemo;
    const input = d.action.args?.[0] as CellWorkflowInput | undefined;
    const cellId = memo.cellId ?? cellIdOf(input?.document);
    const recentRuns = await Promise.all(
      d.info.recentActions.map((a) =>
        this.runOf(a.action.workflow.workflowId, a.action.workflow.firstExecutionRunId, cellId ?? '').then(
          (run): CellScheduleRun => ({ scheduledAt: a.scheduledAt, takenAt: a.takenAt, ...run }),
        ),
      ),
    );
    return {
      scheduleId,
      cellId,
      document: input?.document,
      taskQueue: d.action.taskQueue,
      timing: timingOf(d.spec, memo),
      overlap: (d.policies.overlap ?? 'SKIP').toLowerCase().replace(/_/g, '-'),
      catchupWindow: formatDuration(d.policies.catchupWindow),
      paused: d.state.paused,
      note: d.state.note || undefined,
      createdAt: d.info.createdAt,
      nextActionTimes: d.info.nextActionTimes,
      actionsTaken: d.info.numActionsTaken,
      actionsSkippedOverlap: d.info.numActionsSkippedOverlap,
      runningWorkflows: d.info.runningActions.map((a) => ({
        workflowId: a.workflow.workflowId,
        runId: a.workflow.firstExecutionRunId,
      })),
      recentRuns,
    };
  }

  async pause(scheduleId: string, note = 'paused'): Promise<void> {
    await this.temporal.schedule.getHandle(scheduleId).pause(note);
  }

  async unpause(scheduleId: string, note = 'unpaused'): Promise<void> {
    await this.temporal.schedule.getHandle(scheduleId).unpause(note);
  }

  /** Runs the cell now, subject to the schedule's overlap policy unless `overlap` overrides it. */
  async trigger(scheduleId: string, overlap?: OverlapPolicy): Promise<void> {
    const policy = checkOverlap(overlap);
    // Not ScheduleHandle.trigger: it defaults to ALLOW_ALL; an unset policy lets the schedule's own apply.
    await this.patch(scheduleId, {
      triggerImmediately: { overlapPolicy: policy ? encodeScheduleOverlapPolicy(TO_TEMPORAL[policy]) : undefined },
    });
  }

  /** Takes the runs the schedule would have taken between `from` and `to`, as if that time passed now. */
  async backfill(scheduleId: string, from: Date, to: Date, overlap?: OverlapPolicy): Promise<void> {
    const policy = checkOverlap(overlap);
    if (!(from instanceof Date) || !(to instanceof Date) || Number.isNaN(+from) || Number.isNaN(+to)) {
      throw new ScheduleOptionsError('from', 'backfill needs two valid times');
    }
    if (+from >= +to) {
      throw new ScheduleOptionsError(
        'from',
        `backfill from ${from.toISOString()} must be before to ${to.toISOString()}`,
      );
    }
    await this.temporal.schedule.getHandle(scheduleId).backfill({
      start: from,
      end: to,
      ...(policy ? { overlap: TO_TEMPORAL[policy] } : {}),
    });
  }

  /** Deletes the schedule; runs it started go on. */
  async delete(scheduleId: string): Promise<void> {
    await this.temporal.schedule.getHandle(scheduleId).delete();
  }

  private async patch(
    scheduleId: string,
    patch: { triggerImmediately: { overlapPolicy: ReturnType<typeof encodeScheduleOverlapPolicy> } },
  ): Promise<void> {
    try {
      await this.temporal.workflowService.patchSchedule({
        namespace: this.temporal.options.namespace,
        scheduleId,
        identity: this.temporal.options.identity,
        requestId: randomUUID(),
        patch,
      });
    } catch (err) {
      if (isGrpcServiceError(err) && err.code === 5 /* NOT_FOUND */) {
        throw new ScheduleNotFoundError(err.details || `schedule not found: ${scheduleId}`, scheduleId);
      }
      throw err;
    }
  }

  private async runOf(
    workflowId: string,
    runId: string,
    cellId: string,
  ): Promise<Omit<CellScheduleRun, 'scheduledAt' | 'takenAt'>> {
    const none = { outcome: undefined, exitCode: undefined, failure: undefined };
    const desc = await this.temporal.workflow
      .getHandle(workflowId, runId)
      .describe()
      .catch(() => undefined);
    if (!desc) return { workflowId, runId, status: 'NOT_FOUND', ...none };
    const status = desc.status.name;
    if (status === 'RUNNING') return { workflowId, runId, status, ...none };
    return this.host.resultOf(workflowId, runId, cellId).then(
      (r) => ({ workflowId, runId, status, outcome: r.outcome, exitCode: r.exitCode, failure: undefined }),
      (err: unknown) => {
        const e = err as { type?: string; message?: string };
        return { workflowId, runId, status, ...none, failure: { type: e.type, message: e.message ?? String(err) } };
      },
    );
  }
}

function summaryOf(s: ScheduleSummary): CellScheduleSummary {
  const memo = (s.memo ?? {}) as ScheduleMemo;
  return {
    scheduleId: s.scheduleId,
    cellId: memo.cellId,
    taskQueue: memo.taskQueue,
    timing: timingOf(s.spec, memo),
    paused: s.state.paused,
    note: s.state.note || undefined,
    nextActionTimes: s.info.nextActionTimes,
    recentRuns: s.info.recentActions.map((a) => ({
      scheduledAt: a.scheduledAt,
      workflowId: a.action.workflow.workflowId,
      runId: a.action.workflow.firstExecutionRunId,
    })),
  };
}

function timingOf(spec: ScheduleDescription['spec'] | undefined, memo: ScheduleMemo): ScheduleTiming {
  // Temporal stores cron expressions compiled into calendars: the memo keeps them as written.
  const every = memo.every !== undefined ? [memo.every] : (spec?.intervals ?? []).map((i) => formatDuration(i.every));
  const cron = memo.cron ?? (spec?.calendars?.length ? [`(${spec.calendars.length} calendar specs)`] : []);
  return { cron, every, timezone: spec?.timezone || undefined };
}
