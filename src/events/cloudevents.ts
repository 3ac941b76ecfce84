// A cell's lifecycle as CloudEvents 1.0 (JSON format, structured mode), with CellOS's event types.
// Pure: workflow code builds the events (its clock gives `time`, its run id and a counter give `id`),
// and activities/events.ts posts them.
//
// The data follows cellos-core's `events.rs` (docs.rs, cellos-core 0.7.x) where it could be read:
// camelCase keys; `command.v1.completed` carries cellId, runId, argv, exitCode, durationMs
// (command_completed_data_v1); `lifecycle.v1.destroyed` carries outcome `succeeded` | `failed`, an
// optional terminalState `clean` | `forced`, a reason, and never an exit code (FC-23: the exit code
// belongs to command.completed); reasons are LifecycleReason's snake_case codes or free text. The
// fields of `lifecycle.v1.started` and `lifecycle.v1.failed` were not visible: cellId, runId, hostId,
// sandboxId, correlationId, reason and message are our choice, and so is `outcomeKind` (this
// project's own outcome, beside CellOS's two-valued one).
import type { CellResultOutcome } from '../cell/outcome.ts';

export const cellEventTypes = {
  started: 'dev.cellos.events.cell.lifecycle.v1.started',
  commandCompleted: 'dev.cellos.events.cell.command.v1.completed',
  destroyed: 'dev.cellos.events.cell.lifecycle.v1.destroyed',
  failed: 'dev.cellos.events.cell.lifecycle.v1.failed',
} as const;

export type CellEventType = (typeof cellEventTypes)[keyof typeof cellEventTypes];

/** CellOS's LifecycleReason codes. Any other string is a free-form reason, as CellOS's `Other(String)`. */
export const lifecycleReasons = {
  oom: 'oom',
  ttlExceeded: 'ttl_exceeded',
  vmmCrashed: 'vmm_crashed',
  bootFailed: 'boot_failed',
  signalKilled: 'signal_killed',
  initCrashed: 'init_crashed',
  kernelCannotMountRoot: 'kernel_cannot_mount_root',
} as const;

// `string & {}` keeps the codes offered by editors while any string is accepted.
export type LifecycleReason = (typeof lifecycleReasons)[keyof typeof lifecycleReasons] | (string & {});

/** What every event's data says: which cell, and which run of it (the workflow's run id). */
interface CellEventDataBase {
  readonly cellId: string;
  readonly runId: string;
}

/** The cell's sandbox started on its host. */
export interface LifecycleStartedData extends CellEventDataBase {
  readonly hostId?: string | undefined;
  readonly sandboxId?: string | undefined;
  /** spec.correlation.correlationId, when the document has one. */
  readonly correlationId?: string | undefined;
}

/** The workload ended with an exit code of its own (send it only when there is one: see exitCodeOf). */
export interface CommandCompletedData extends CellEventDataBase {
  readonly argv: readonly string[];
  readonly exitCode: number;
  readonly durationMs: number;
}

/** The cell is gone: its sandbox ended and was removed, or it never got one. */
export interface LifecycleDestroyedData extends CellEventDataBase {
  /** Whether the lifecycle ran through (CellOS: "no phase error"); a non-zero exit code still `succeeded`. */
  readonly outcome: 'succeeded' | 'failed';
  /** `clean`: the workload's own end was observed; `forced`: we SIGKILLed it or never saw it end. */
  readonly terminalState: 'clean' | 'forced';
  readonly reason?: LifecycleReason | undefined;
  /** This project's outcome kind (`exited`, `deadline`, `host-lost`, ...). */
  readonly outcomeKind: CellResultOutcome['kind'];
}

/** The cell failed instead of completing (refused, unplaceable, or the infrastructure failed past its retries). */
export interface LifecycleFailedData extends CellEventDataBase {
  /** A CellOS code, or the cell's failure type (`failureTypes`, e.g. `CellRejectedByHost`) as free text. */
  readonly reason: LifecycleReason;
  readonly message?: string | undefined;
}

export interface CellEventDataByType {
  [cellEventTypes.started]: LifecycleStartedData;
  [cellEventTypes.commandCompleted]: CommandCompletedData;
  [cellEventTypes.destroyed]: LifecycleDestroyedData;
  [cellEventTypes.failed]: LifecycleFailedData;
}

/** One CloudEvents 1.0 event in the JSON format: exactly what is posted. */
export interface CellEventOf<T extends CellEventType> {
  readonly specversion: '1.0';
  /** Unique per event and the same on every retry (cellEventId): receivers de-duplicate on source + id. */
  readonly id: string;
  /** The host the cell runs on, or the queue it waits in (cellEventSource). */
  readonly source: string;
  readonly type: T;
  /** The cell id. */
  readonly subject: string;
  /** RFC 3339. */
  readonly time: string;
  readonly datacontenttype: 'application/json';
  readonly data: CellEventDataByType[T];
}

export type CellEvent = { [T in CellEventType]: CellEventOf<T> }[CellEventType];

/** What the caller decides for each event: the builder takes no clock and no randomness. */
export interface CellEventHead {
  readonly id: string;
  readonly source: string;
  /** An ISO time (workflow code: `new Date().toISOString()`, which its deterministic clock gives). */
  readonly time: string;
}

/**
 * An event id that is unique and that a retry rebuilds the same: the workflow's run id and the
 * event's sequence number in that run (0, 1, 2, ...).
 */
export function cellEventId(runId: string, seq: number): string {
  if (runId === '') throw new Error('cellEventId: runId is empty');
  if (!Number.isSafeInteger(seq) || seq < 0) throw new Error(`cellEventId: seq ${seq} is not a whole number >= 0`);
  return `${runId}:${seq}`;
}

/**
 * The event's source as a URI-reference: `/cellos/hosts/<hostId>` once a host has the cell,
 * `/cellos/queues/<task queue>` while it waits for one.
 */
export function cellEventSource(where: { readonly hostId: string } | { readonly taskQueue: string }): string {
  if ('hostId' in where) return `/cellos/hosts/${encodeURIComponent(nonEmpty('hostId', where.hostId))}`;
  return `/cellos/queues/${encodeURIComponent(nonEmpty('taskQueue', where.taskQueue))}`;
}

// RFC 3339 date-time, as CloudEvents requires for `time` (toISOString's form and offsets).
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$/;

/** A cell event; `subject` is the data's cellId. Undefined data fields are left out, as JSON would. */
export function cellEvent<T extends CellEventType>(
  type: T,
  head: CellEventHead,
  data: CellEventDataByType[T],
): CellEventOf<T> {
  if (!RFC3339.test(head.time)) throw new Error(`cellEvent: time ${JSON.stringify(head.time)} is not RFC 3339`);
  return {
    specversion: '1.0',
    id: nonEmpty('id', head.id),
    source: nonEmpty('source', head.source),
    type,
    subject: nonEmpty('data.cellId', data.cellId),
    time: head.time,
    datacontenttype: 'application/json',
    data: withoutUndefined(data),
  };
}

/**
 * The destroyed event's data for how a cell ended. `clean` when the workload's own end (an exit,
 * its death by a signal or OOM, or our SIGTERM that it obeyed) was observed; `forced` when we
 * SIGKILLed it or never saw it end (runsc failed, the sandbox or the host was lost, the workflow
 * was cancelled).
 */
export function destroyedData(cellId: string, runId: string, outcome: CellResultOutcome): LifecycleDestroyedData {
  const base = { cellId, runId, outcomeKind: outcome.kind };
  switch (outcome.kind) {
    case 'exited':
      return { ...base, outcome: 'succeeded', terminalState: 'clean' };
    case 'signaled':
      return { ...base, outcome: 'failed', terminalState: 'clean', reason: lifecycleReasons.signalKilled };
    case 'oom':
      return { ...base, outcome: 'failed', terminalState: 'clean', reason: lifecycleReasons.oom };
    case 'deadline':
      return {
        ...base,
        outcome: 'failed',
        terminalState: forcedBy(outcome.signal),
        reason: lifecycleReasons.ttlExceeded,
      };
    case 'killed':
      return {
        ...base,
        outcome: 'failed',
        terminalState: forcedBy(outcome.signal),
        reason: outcome.reason || 'killed',
      };
    case 'failed':
      // runsc is this backend's VMM: it failed, so no status of the workload came back.
      return { ...base, outcome: 'failed', terminalState: 'forced', reason: lifecycleReasons.vmmCrashed };
    case 'lost':
    case 'cancelled':
    case 'host-lost':
      return { ...base, outcome: 'failed', terminalState: 'forced', reason: outcome.reason || outcome.kind };
  }
}

function forcedBy(signal: 'SIGTERM' | 'SIGKILL'): 'clean' | 'forced' {
  return signal === 'SIGKILL' ? 'forced' : 'clean';
}

function nonEmpty(name: string, value: string): string {
  if (typeof value !== 'string' || value === '') throw new Error(`cellEvent: ${name} is empty`);
  return value;
}

// The event travels as JSON (Temporal's payloads, the POST body), which drops undefined fields: the
// event built is then equal to the one received.
function withoutUndefined<T extends object>(data: T): T {
  return Object.fromEntries(Object.entries(data).filter(([, v]) => v !== undefined)) as T;
}
