// What a listed (or described) workflow says about its cell: the search attributes the workflow
// keeps current, else the memo the client put on it.
import type { WorkflowExecutionInfo } from '@temporalio/client';
import { cellIdFromWorkflowId } from '../contract/index.ts';
import {
  CellCorrelationIdKey,
  CellExitCodeKey,
  CellHostKey,
  CellIdKey,
  CellOutcomeKey,
  CellPhaseKey,
  CellScheduleIdKey,
  ScheduledByIdKey,
} from '../contract/search-attributes.ts';

export * from './cell-query.ts';

/** One cell run as a visibility listing shows it. */
export interface CellSummary {
  readonly cellId: string;
  readonly workflowId: string;
  readonly runId: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, ... */
  readonly status: string;
  readonly startTime: Date;
  readonly closeTime: Date | undefined;
  readonly phase: string | undefined;
  readonly outcome: string | undefined;
  readonly exitCode: number | undefined;
  readonly hostId: string | undefined;
  readonly scheduleId: string | undefined;
  /** spec.correlation.correlationId (CellCorrelationId), once the cell was admitted. */
  readonly correlationId: string | undefined;
}

/** The memo the client puts on the cell workflows it starts or schedules. */
export interface CellMemo {
  readonly cellId?: string;
  readonly scheduleId?: string;
}

type Listed = Pick<
  WorkflowExecutionInfo,
  'workflowId' | 'runId' | 'status' | 'startTime' | 'closeTime' | 'memo' | 'typedSearchAttributes'
>;

export function cellSummaryOf(wf: Listed): CellSummary {
  const attrs = wf.typedSearchAttributes;
  const memo = (wf.memo ?? {}) as CellMemo;
  const scheduleId = attrs.get(CellScheduleIdKey) ?? memo.scheduleId ?? attrs.get(ScheduledByIdKey);
  return {
    cellId: attrs.get(CellIdKey) ?? memo.cellId ?? cellIdFromWorkflowId(wf.workflowId, scheduleId !== undefined),
    workflowId: wf.workflowId,
    runId: wf.runId,
    status: wf.status.name,
    startTime: wf.startTime,
    closeTime: wf.closeTime,
    phase: attrs.get(CellPhaseKey),
    outcome: attrs.get(CellOutcomeKey),
    exitCode: attrs.get(CellExitCodeKey),
    hostId: attrs.get(CellHostKey),
    scheduleId,
    correlationId: attrs.get(CellCorrelationIdKey),
  };
}
