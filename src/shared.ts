// Names and types shared by workflows, activities, worker and client. Pure: the workflow
// bundle imports this file, so it must not import Node, execa or Temporal's worker/client.
import type { CellOutcome } from './cell/outcome.ts';
import type { OutputTail } from './cell/output.ts';

export const DEFAULT_TASK_QUEUE = 'cellos';
export const CELL_WORKFLOW_TYPE = 'cellWorkflow';

/** Workflow id of a cell: one running cell per id. */
export function cellWorkflowId(cellId: string): string {
  return `cell-${cellId}`;
}

/** The queue of one host: stable across worker restarts, so a crash never orphans a cell's cleanup. */
export function hostTaskQueue(taskQueue: string, hostId: string): string {
  return `${taskQueue}@${hostId}`;
}

export const signals = { kill: 'kill' } as const;
export const queries = { status: 'status' } as const;

export type CellPhase = 'placing' | 'running' | 'killing' | 'cleaning-up' | 'done';

/** What a cell workflow ends with: the sandbox outcome, or why there was no sandbox outcome. */
export type CellResultOutcome =
  | CellOutcome
  | { readonly kind: 'cancelled'; readonly reason: string }
  | { readonly kind: 'host-lost'; readonly reason: string };

export interface PhaseDurations {
  placing?: number;
  starting?: number;
  running?: number;
  killing?: number;
  cleanup?: number;
}

export interface CellResult {
  readonly cellId: string;
  readonly workflowId: string;
  readonly runId: string;
  readonly hostId: string | undefined;
  readonly sandboxId: string | undefined;
  readonly outcome: CellResultOutcome;
  /** The workload's own exit code, when it exited by itself or after a kill signal it trapped. */
  readonly exitCode: number | undefined;
  readonly stdout: OutputTail;
  readonly stderr: OutputTail;
  /** ISO times: the workflow's start and end, and the sandbox's own start and end. */
  readonly startedAt: string;
  readonly endedAt: string;
  readonly sandboxStartedAt: string | undefined;
  readonly sandboxEndedAt: string | undefined;
  /** Milliseconds spent in each phase. */
  readonly phases: PhaseDurations;
  /** Set when the cell could not be cleaned up completely (the reconciler finishes it). */
  readonly cleanupError: string | undefined;
  readonly scheduleId: string | undefined;
}

export interface CellStatus {
  readonly cellId: string;
  readonly phase: CellPhase;
  readonly hostId: string | undefined;
  readonly sandboxId: string | undefined;
  readonly sandboxStartedAt: string | undefined;
  readonly outcome: CellResultOutcome | undefined;
  readonly killRequested: string | undefined;
}

export interface CellWorkflowInput {
  /** The document as given: the workflow validates it before anything touches a host. */
  readonly document: unknown;
  /** The shared task queue; host queues are derived from it. */
  readonly taskQueue: string;
  readonly scheduleId?: string | undefined;
  /** How long a host may take to pick up its work before the cell ends as host-lost. */
  readonly hostScheduleToStartSeconds?: number | undefined;
  /** Whether the namespace has the cell search attributes (the client checks once). */
  readonly indexed?: boolean | undefined;
}

export interface KillSignalArgs {
  readonly reason: string;
}
