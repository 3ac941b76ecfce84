// Everything known about one run of a cell: the document it was given (its workflow's first event),
// where it is or how it ended, and how long each phase took.
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { CellHostKey, CellPhaseKey } from '../contract/search-attributes.ts';
import type {
  CellResult,
  CellResultOutcome,
  CellStatus,
  CellWorkflowInput,
  PhaseDurations,
} from '../contract/index.ts';
import { cellSummaryOf } from './visibility.ts';

export interface CellDescription {
  readonly cellId: string;
  readonly workflowId: string;
  readonly runId: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, TERMINATED, ... */
  readonly workflowStatus: string;
  readonly taskQueue: string;
  /** ISO times of the workflow. */
  readonly startTime: string;
  readonly closeTime: string | undefined;
  readonly scheduleId: string | undefined;
  /** The document as the workflow got it (its first event's input). */
  readonly document: unknown;
  /** The phase it is in (running) or ended in. */
  readonly phase: string | undefined;
  /** Milliseconds spent in each phase, once it has ended. */
  readonly phases: PhaseDurations;
  readonly hostId: string | undefined;
  readonly sandboxId: string | undefined;
  readonly sandboxStartedAt: string | undefined;
  readonly sandboxEndedAt: string | undefined;
  readonly outcome: CellResultOutcome | undefined;
  readonly exitCode: number | undefined;
  readonly killRequested: string | undefined;
  readonly cleanupError: string | undefined;
  /** When the workflow ended without a result. */
  readonly failure: { readonly type: string | undefined; readonly message: string } | undefined;
}

export interface DescribeSources {
  readonly temporal: Client;
  readonly description: WorkflowExecutionDescription;
  /** The live status (answered by a worker; undefined when none answers in time). */
  status(): Promise<CellStatus | undefined>;
  /** The result once closed; rejects with CellFailedError when it failed. */
  result(): Promise<CellResult>;
}

export async function describeCell(s: DescribeSources): Promise<CellDescription> {
  const d = s.description;
  const summary = cellSummaryOf(d);
  const input = await workflowInputOf(s.temporal, d.workflowId, d.runId);
  const base = {
    cellId: summary.cellId,
    workflowId: d.workflowId,
    runId: d.runId,
    workflowStatus: d.status.name,
    taskQueue: d.taskQueue,
    startTime: d.startTime.toISOString(),
    closeTime: d.closeTime?.toISOString(),
    scheduleId: input?.scheduleId ?? summary.scheduleId,
    document: input?.document,
  };
  const fromAttributes = {
    phase: d.typedSearchAttributes.get(CellPhaseKey),
    phases: {},
    hostId: d.typedSearchAttributes.get(CellHostKey),
    sandboxId: undefined,
    sandboxStartedAt: undefined,
    sandboxEndedAt: undefined,
    outcome: undefined,
    exitCode: undefined,
    killRequested: undefined,
    cleanupError: undefined,
    failure: undefined,
  };
  if (d.status.name === 'RUNNING') {
    const live = await s.status();
    if (!live) return { ...base, ...fromAttributes };
    return {
      ...base,
      ...fromAttributes,
      phase: live.phase,
      hostId: live.hostId ?? fromAttributes.hostId,
      sandboxId: live.sandboxId,
      sandboxStartedAt: live.sandboxStartedAt,
      killRequested: live.killRequested,
    };
  }
  try {
    const r = await s.result();
    return {
      ...base,
      phase: 'done',
      phases: r.phases,
      hostId: r.hostId,
      sandboxId: r.sandboxId,
      sandboxStartedAt: r.sandboxStartedAt,
      sandboxEndedAt: r.sandboxEndedAt,
      outcome: r.outcome,
      exitCode: r.exitCode,
      killRequested: undefined,
      cleanupError: r.cleanupError,
      failure: undefined,
    };
  } catch (err) {
    const e = err as { type?: string; message?: string };
    return {
      ...base,
      ...fromAttributes,
      failure: { type: e.type ?? d.status.name, message: e.message ?? String(err) },
    };
  }
}

/** The input of a cell workflow run: the first event of its history. */
export async function workflowInputOf(
  temporal: Client,
  workflowId: string,
  runId: string,
): Promise<CellWorkflowInput | undefined> {
  const res = await temporal.workflowService.getWorkflowExecutionHistory({
    namespace: temporal.options.namespace,
    execution: { workflowId, runId },
    maximumPageSize: 1,
  });
  const payload = res.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  return payload ? defaultPayloadConverter.fromPayload<CellWorkflowInput>(payload) : undefined;
}
