// The shapes that cross the workflow boundary: the workflow's input, result and status, the
// kill signal's payload, and the activities' inputs and outputs. Pure types.
import type { CellOutcome, CellResultOutcome, KillReason } from '../cell/outcome.ts';
import type { OutputTail } from '../cell/output.ts';
import type { ArtifactRecord, RefusedArtifact } from '../artifacts/store.ts';
import type { CellEvent } from '../events/cloudevents.ts';

export type { ArtifactRecord, RefusedArtifact };

export type { CellResultOutcome };

/**
 * Where a cell is: being admitted, waiting for a host with room, running on its host, being killed,
 * cleaned up, done.
 */
export type CellPhase = 'placing' | 'queued' | 'running' | 'killing' | 'cleaning-up' | 'done';

/** Milliseconds spent in each phase. */
export interface PhaseDurations {
  placing?: number;
  /** Waiting for a host with room (and the labels the cell asks for). */
  queued?: number;
  starting?: number;
  running?: number;
  killing?: number;
  cleanup?: number;
}

/**
 * The cell workflow's input. Only the document is needed (any Temporal client may start a cell with
 * `{"document": {...}}`, or with the bare document): every other field has a default from the
 * workflow's own context.
 */
export interface CellWorkflowInput {
  /** The document as given: the workflow validates it before anything touches a host. */
  readonly document: unknown;
  /** The shared task queue host queues are derived from; default: the workflow's own task queue. */
  readonly taskQueue?: string | undefined;
  readonly scheduleId?: string | undefined;
  /**
   * How long a host may take to pick up its work before the cell ends as host-lost; default: the
   * admitting worker's CELLOS_HOST_TIMEOUT_SECONDS.
   */
  readonly hostScheduleToStartSeconds?: number | undefined;
  /** Whether the namespace has the cell search attributes; default: what the admitting worker found. */
  readonly indexed?: boolean | undefined;
}

export interface CellResult {
  readonly cellId: string;
  readonly workflowId: string;
  readonly runId: string;
  readonly hostId?: string | undefined;
  readonly sandboxId?: string | undefined;
  readonly outcome: CellResultOutcome;
  /** The workload's own exit code, when it exited by itself or after a kill signal it trapped. */
  readonly exitCode?: number | undefined;
  readonly stdout: OutputTail;
  readonly stderr: OutputTail;
  /** ISO times: the workflow's start and end, and the sandbox's own start and end. */
  readonly startedAt: string;
  readonly endedAt: string;
  readonly sandboxStartedAt?: string | undefined;
  readonly sandboxEndedAt?: string | undefined;
  /** The warm sandbox the cell ran in (booted before it came, see the README's "Warm sandboxes"), when it did. */
  readonly warmSandbox?: string | undefined;
  readonly phases: PhaseDurations;
  /** Set when the cell could not be cleaned up completely (the reconciler finishes it). */
  readonly cleanupError?: string | undefined;
  readonly scheduleId?: string | undefined;
  /**
   * spec.export.artifacts as stored (name, sandbox path, bytes, sha256, where): never their content
   * (`client.artifacts`, `cellos artifacts` fetch it). Empty when the document exports none.
   */
  readonly artifacts: readonly ArtifactRecord[];
  /** Artifacts not exported, with the reason (missing, a symlink, over a limit...). */
  readonly refusedArtifacts: readonly RefusedArtifact[];
}

/** The answer of the status query. */
export interface CellStatus {
  readonly cellId: string;
  readonly phase: CellPhase;
  readonly hostId?: string | undefined;
  readonly sandboxId?: string | undefined;
  readonly sandboxStartedAt?: string | undefined;
  readonly outcome?: CellResultOutcome | undefined;
  readonly killRequested?: string | undefined;
}

export interface KillSignalArgs {
  readonly reason: string;
}

/** What admission tells the workflow: where the cell runs and what its lifecycle needs to know. */
export interface Admission {
  readonly cellId: string;
  /** The admitting worker's host: where cells started before pull placement existed run. */
  readonly hostId: string;
  /** The labels the cell asks for (formatLabels; '' for none): which launch queue it waits in. */
  readonly labels?: string | undefined;
  readonly ttlSeconds: number;
  readonly gracefulShutdownSeconds: number;
  /** The command, for summaries in the UI. */
  readonly argv: readonly string[];
  /**
   * The admitting worker's host took the cell itself (it had room, the labels, and was not
   * draining): the cell skips the launch queue. Absent in cells admitted before local claims.
   */
  readonly claimedBy?: string | undefined;
  /**
   * The run of a cell claimed here goes to the workflow's own queue, where the server hands it back
   * to this worker with the workflow task's completion (eager dispatch; CELLOS_EAGER_RUN), not to the
   * host's queue: no dispatch through the server's matching. Absent: the host's queue.
   */
  readonly eagerRun?: boolean | undefined;
  /** spec.correlation.correlationId (for the events; in the history's encrypted payloads). */
  readonly correlationId?: string | undefined;
  /**
   * What CellCorrelationId holds: the correlation id, or with payload keys its blind index (an
   * HMAC, src/codec/blind-index.ts): search attributes are stored in clear. Absent: correlationId.
   */
  readonly correlationIndex?: string | undefined;
  /** The admitting worker delivers lifecycle events (CELLOS_EVENTS_URL): the workflow emits them. */
  readonly events?: boolean | undefined;
  /** Whether the namespace has the cell search attributes, as the admitting worker found. */
  readonly indexed?: boolean | undefined;
  /** The admitting worker's CELLOS_HOST_TIMEOUT_SECONDS, for a caller that gave none. */
  readonly hostScheduleToStartSeconds?: number | undefined;
}

/** A host's answer to a cell waiting for room: it took the cell. */
export interface Claim {
  readonly hostId: string;
}

/** One run of a cell on its host: the run key is the workflow's run id. */
export interface SandboxRef {
  readonly cellId: string;
  readonly runKey: string;
}

/** How a sandbox ended on its host (the host's view; the workflow adds its own outcomes). */
export interface CellExit {
  readonly cellId: string;
  readonly sandboxId: string;
  readonly hostId: string;
  readonly outcome: CellOutcome;
  readonly startedAtMs: number;
  readonly endedAtMs: number;
  readonly stdout: OutputTail;
  readonly stderr: OutputTail;
  /** The warm sandbox the cell ran in (`runsc exec`), when it did; its own sandbox otherwise. */
  readonly warmSandbox?: string | undefined;
  /** spec.export.artifacts collected after the workload ended, and those that were not, with why. */
  readonly artifacts?: readonly ArtifactRecord[] | undefined;
  readonly refusedArtifacts?: readonly RefusedArtifact[] | undefined;
}

/** A cell's exit as the run activity reports it, with whether it already removed the sandbox. */
export interface SandboxExit extends CellExit {
  readonly removed: boolean;
  readonly removeError?: string | undefined;
}

/** Heartbeat details of runSandbox: visible in the UI and to clients as soon as the sandbox starts. */
export interface SandboxProgress {
  readonly sandboxId: string;
  readonly hostId: string;
  /** When the supervisor was started (host clock, ms since the epoch). */
  readonly startedAtMs: number;
  /** The output so far (tails), for `cellos logs -f` from any machine that reaches Temporal. */
  readonly stdout?: OutputTail | undefined;
  readonly stderr?: OutputTail | undefined;
}

/**
 * The activities the workflow calls. The host validates the document again: anything with access to
 * the namespace can schedule work on a host's queue, and only the host's configuration grants
 * authority.
 */
export interface CellActivities {
  /** Validates the document and places the cell (a local activity on the workflow's worker). */
  /** `claim`: whether the admitting worker's host may take the cell itself (see Admission.claimedBy). */
  admitCell(input: { document: unknown; claim?: boolean }): Promise<Admission>;
  /**
   * Taken by a host with room for the cell: holds that room for the run that follows on the host's
   * own queue (or, if none comes, for a minute).
   */
  claimCell(input: SandboxRef & { document: unknown }): Promise<Claim>;
  /**
   * Prepares, starts, waits for and removes the sandbox; re-attaches on a retry. `hostId`: the host
   * it must run on, when it was sent to a queue that every host polls (an eager run); any other host
   * refuses it at once (WrongHost) and the workflow sends it to that host's own queue.
   */
  runSandbox(input: SandboxRef & { document: unknown; hostId?: string | undefined }): Promise<SandboxExit>;
  /** SIGTERM, the grace, then SIGKILL; records why, so the outcome says it. */
  killSandbox(input: SandboxRef & { reason: KillReason; message: string }): Promise<void>;
  /** Deletes the sandbox and removes its bundle, cgroups and record. Idempotent. */
  removeSandbox(input: SandboxRef): Promise<void>;
}

/** A host as it describes itself (`cellos hosts`): its size, what it runs, whether it drains. */
export interface HostStatus {
  readonly hostId: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly maxCells: number;
  readonly memoryBudgetBytes: number;
  /** Cells holding room now: running, or claimed and about to start. */
  readonly cells: number;
  readonly memoryInUseBytes: number;
  /** The most cells, and the most memory, it held at once since its worker started. */
  readonly mostCells: number;
  readonly mostMemoryBytes: number;
  /** Set while it takes no new cells (`cellos drain`): since when and why. */
  readonly draining: { readonly since: string; readonly reason: string } | undefined;
  /** Its worker is shutting down (it takes no new cells, and leaves when its cells are done). */
  readonly stopping: boolean;
  /** `<pid>@<machine>` of its worker, and when that worker started. */
  readonly process: string;
  readonly startedAt: string;
}

/** What the hosts workflow asks of hosts: describe themselves, and optionally drain or undrain. */
export interface HostsWorkflowInput {
  readonly taskQueue: string;
  readonly hostIds: readonly string[];
  readonly setDraining?: { readonly draining: boolean; readonly reason?: string | undefined } | undefined;
}

/** One host's answer, or why there is none (its worker is down or did not answer in time). */
export interface HostAnswer {
  readonly hostId: string;
  readonly status?: HostStatus | undefined;
  readonly error?: string | undefined;
}

/** The host activities on each host's control queue that `cellos hosts` and `cellos drain` use. */
export interface HostControlActivities {
  describeHost(): Promise<HostStatus>;
  setHostDraining(input: { draining: boolean; reason?: string | undefined }): Promise<HostStatus>;
  /** Up to `length` bytes of an artifact in this host's folder store, from `offset`. */
  readArtifact(input: ArtifactChunkRequest): Promise<ArtifactChunk>;
}

export interface ArtifactChunkRequest {
  /** ArtifactRecord.location: `folder:<host id>:<sha256>`. */
  readonly location: string;
  readonly offset: number;
  readonly length: number;
}

export interface ArtifactChunk {
  /**
   * The bytes, base64. Not a Uint8Array: inside an object it would cross the JSON payload converter
   * as an object of its indices, several times its size, and come out as no Uint8Array.
   */
  readonly base64: string;
  /** The artifact's stored size. */
  readonly size: number;
}

/** Input of artifactChunkWorkflow: one chunk of an artifact from the host that holds it. */
export interface ArtifactChunkWorkflowInput extends ArtifactChunkRequest {
  /** The shared task queue (the host's control queue is derived from it). */
  readonly taskQueue: string;
  readonly hostId: string;
}

/** What one attempt of deliverCellEvents did. */
export interface CellEventsDelivery {
  /** Events the receiver took in this attempt. */
  readonly delivered: number;
  /** Events it refused for good (logged, then skipped). */
  readonly refused: number;
  /** The index this attempt started at (past what earlier attempts delivered). */
  readonly resumedAt: number;
}

/** Lifecycle events (CELLOS_EVENTS_URL), on the workers of the shared queue that have the setting. */
export interface CellEventActivities {
  /** A batch in order, retried by Temporal; a retry resumes after what the receiver took. */
  deliverCellEvents(events: readonly CellEvent[]): Promise<CellEventsDelivery>;
  /**
   * One quick try, as a local activity inside the workflow task that emits the events (no round
   * trip, and no wait when the receiver is down): how many events, from the first, are done
   * (delivered or refused for good). The workflow hands the rest to cellEventsWorkflow.
   */
  tryDeliverCellEvents(events: readonly CellEvent[]): Promise<{ readonly done: number }>;
}
