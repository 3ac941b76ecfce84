// Names that cross the workflow boundary: the workflow type, queues, ids, activities, signals,
// queries and search attributes. Pure: workflows, activities, worker, client and the CLI import
// these; nobody retypes one of them as a literal.

export const DEFAULT_TASK_QUEUE = 'cellos';
export const CELL_WORKFLOW_TYPE = 'cellWorkflow';
/** Asks hosts to describe themselves (and drain or undrain), on their control queues. */
export const HOSTS_WORKFLOW_TYPE = 'hostsWorkflow';

/** Workflow id of a cell: one running cell per id. */
export function cellWorkflowId(cellId: string): string {
  return `cell-${cellId}`;
}

/** `cell-<id>`, or for a run a schedule started, `cell-<id>-<scheduled time>`. */
export function cellIdFromWorkflowId(workflowId: string, scheduled: boolean): string {
  const id = workflowId.replace(/^cell-/, '');
  return scheduled ? id.replace(/-\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, '') : id;
}

/** The queue of one host: stable across worker restarts, so a crash never orphans a cell's cleanup. */
export function hostTaskQueue(taskQueue: string, hostId: string): string {
  return `${taskQueue}@${hostId}`;
}

/**
 * The control queue of one host: kill and remove only, served by a worker with slots of its own,
 * so that a host full of running cells can still kill one at its deadline and clean up after it.
 */
export function hostControlTaskQueue(taskQueue: string, hostId: string): string {
  return `${hostTaskQueue(taskQueue, hostId)}/control`;
}

/**
 * Where cells wait for a host with room: hosts poll it only while they have room, so Temporal's
 * matching does the placement. One queue per set of labels a cell asks for (formatLabels), and
 * every host polls the queue of each subset of its own labels.
 */
export function launchTaskQueue(taskQueue: string, labels: string): string {
  return labels === '' ? `${taskQueue}/launch` : `${taskQueue}/launch/${labels}`;
}

/**
 * Activity types. `admitCell` runs as a local activity; `runSandbox` on the host's own queue, kill and
 * remove on its control queue (and on the host's queue for cells started before it existed).
 */
export const activityNames = {
  admitCell: 'admitCell',
  claimCell: 'claimCell',
  runSandbox: 'runSandbox',
  killSandbox: 'killSandbox',
  removeSandbox: 'removeSandbox',
} as const;

export type HostActivityName = Exclude<keyof typeof activityNames, 'admitCell'>;

export const hostControlActivityNames = { describeHost: 'describeHost', setHostDraining: 'setHostDraining' } as const;

/** The phase each host activity works in, as log lines and metrics name it. */
export const PHASE_OF_HOST_ACTIVITY: Readonly<Record<HostActivityName, 'claim' | 'run' | 'kill' | 'remove'>> = {
  claimCell: 'claim',
  runSandbox: 'run',
  killSandbox: 'kill',
  removeSandbox: 'remove',
};

export const signals = { kill: 'kill' } as const;
export const queries = { status: 'status' } as const;

/**
 * The cell search attributes the workflow keeps current (registered by the dev server at start; on a
 * cluster, see the README), by role.
 */
export const searchAttributes = {
  cellId: { name: 'CellId', type: 'Keyword' },
  phase: { name: 'CellPhase', type: 'Keyword' },
  outcome: { name: 'CellOutcome', type: 'Keyword' },
  exitCode: { name: 'CellExitCode', type: 'Int' },
  host: { name: 'CellHost', type: 'Keyword' },
  scheduleId: { name: 'CellScheduleId', type: 'Keyword' },
  /** spec.correlation.correlationId: every cell of one pipeline run. */
  correlationId: { name: 'CellCorrelationId', type: 'Keyword' },
} as const;

export const SEARCH_ATTRIBUTES = Object.values(searchAttributes);

/** Set by Temporal on every workflow a schedule starts, registered or not. */
export const SCHEDULED_BY_ID = 'TemporalScheduledById';
