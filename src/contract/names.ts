// Names that cross the workflow boundary: the workflow type, queues, ids, activities, signals,
// queries and search attributes. Pure: workflows, activities, worker, client and the CLI import
// these; nobody retypes one of them as a literal.

export const DEFAULT_TASK_QUEUE = 'cellos';
export const CELL_WORKFLOW_TYPE = 'cellWorkflow';
/** Asks hosts to describe themselves (and drain or undrain), on their control queues. */
export const HOSTS_WORKFLOW_TYPE = 'hostsWorkflow';
/** Reads one chunk of an artifact from the host that holds it, on that host's control queue. */
export const ARTIFACT_CHUNK_WORKFLOW_TYPE = 'artifactChunkWorkflow';

/**
 * The most bytes one artifact chunk carries. It crosses Temporal twice (the activity's result, the
 * workflow's), base64 in a JSON payload: 360 KiB is 480 KiB there, under the 512 KiB past which the
 * server and every worker log a warning for each payload (the hard limit is 2 MiB), with room for a
 * codec's envelope. A client keeps a few chunks in flight to make up for their size.
 */
export const ARTIFACT_CHUNK_MAX_BYTES = 360 * 1024;

/** Workflow id of a cell: one running cell per id. */
export function cellWorkflowId(cellId: string): string {
  return `cell-${cellId}`;
}

/**
 * Workflow id of one chunk read: the content's first 12 hex digits, the offset, and a nonce the
 * reading client draws once per read, so that two reads of one artifact never share an id.
 */
export function artifactChunkWorkflowId(sha256: string, offset: number, nonce: string): string {
  return `artifact-${sha256.slice(0, 12)}-${offset}-${nonce}`;
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
 * Activity types. `admitCell` runs as a local activity; `runSandbox` on the host's own queue (or, an
 * eager run, on the shared queue: see Admission.eagerRun), kill and remove on its control queue (and
 * on the host's queue for cells started before it existed).
 */
export const activityNames = {
  admitCell: 'admitCell',
  claimCell: 'claimCell',
  runSandbox: 'runSandbox',
  killSandbox: 'killSandbox',
  removeSandbox: 'removeSandbox',
} as const;

export type HostActivityName = Exclude<keyof typeof activityNames, 'admitCell'>;

export const hostControlActivityNames = {
  describeHost: 'describeHost',
  setHostDraining: 'setHostDraining',
  readArtifact: 'readArtifact',
} as const;

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
