// The durable lifecycle of one cell: admit (validate, place), run the sandbox on its host, kill it
// at its deadline or on request, and always clean up. The happy path is one local activity (no
// round trip of its own), the claim, the run and three workflow tasks: see the README's "Round
// trips of a cell" for each one and what it buys.
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  TimeoutFailure,
  condition,
  defineQuery,
  defineSignal,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import { sandboxIdFor } from '../src/bundle/ids.ts';
import { describeOutcome, exitCodeOf } from '../src/cell/outcome.ts';
import {
  WRONG_HOST,
  failureTypes,
  hostControlTaskQueue,
  hostTaskQueue,
  isCellFailureType,
  launchTaskQueue,
  queries,
  signals,
  type Admission,
  type CellActivities,
  type CellResult,
  type CellStatus,
  type CellWorkflowInput,
  type KillSignalArgs,
  type SandboxExit,
  type SandboxRef,
} from '../src/contract/index.ts';
import { ScheduledByIdKey } from '../src/contract/search-attributes.ts';
import { cellIdOf } from '../src/document/cell-id.ts';
import { cellEventTypes, destroyedData } from '../src/events/cloudevents.ts';
import { CellEvents } from './cell-events.ts';
import { cellInputOf } from './cell-input.ts';
import { CellState } from './cell-state.ts';

export const killSignal = defineSignal<[KillSignalArgs]>(signals.kill);
export const statusQuery = defineQuery<CellStatus>(queries.status);

const admission = proxyLocalActivities<Pick<CellActivities, 'admitCell'>>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: [failureTypes.invalidDocument, failureTypes.unplaceable] },
  summary: 'validate the cell document and check that a host can run it',
});

const DEFAULT_HOST_SCHEDULE_TO_START_S = 120;

/**
 * Cells started before pull placement run where they were admitted. The others wait in the launch
 * queue of their labels until a host with room claims them.
 */
const PULL_PLACEMENT_PATCH = 'pull-placement';

/** Search attributes and host timeout default to what admission finds (cell-input.ts). */
const DEFAULTS_FROM_ADMISSION_PATCH = 'defaults-from-admission';

/** A run started by a schedule that did not pass scheduleId (the Temporal CLI's, the UI's) names it too. */
const SCHEDULE_ID_FROM_SCHEDULER_PATCH = 'schedule-id-from-scheduler';

/**
 * Every patch above at once, a claim waited for when a queued cell is cancelled or killed (cells
 * before it stopped at once, and a host that had claimed one as the cancel came kept what it
 * prepared for a minute or more), and no outcome memo where the search attributes hold it. A cell
 * started since records this one marker and one TemporalChangeVersion upsert (a visibility write on
 * the server) instead of three of each; older histories lack it and ask the patches they recorded,
 * one by one, as before.
 */
const CELL_LIFECYCLE_PATCH = 'cell-lifecycle-2';

export async function cellWorkflow(raw: CellWorkflowInput): Promise<CellResult> {
  // Asked in the first activation, before the local activity: asked after it, a replay would meet
  // the marker in another workflow task than the first run did whenever the local activity's
  // result and the next commands were recorded in two tasks (a local activity is resolved from its
  // marker within the task that recorded it), and fail as non-deterministic.
  const current = patched(CELL_LIFECYCLE_PATCH);
  const pull = current || patched(PULL_PLACEMENT_PATCH);
  const controlFromStart = current || patched(CONTROL_QUEUE_FROM_START_PATCH);
  const checked = cellInputOf(raw);
  if ('problem' in checked) {
    throw ApplicationFailure.nonRetryable(
      `invalid cell workflow input: ${checked.problem}`,
      failureTypes.invalidDocument,
    );
  }
  const input = checked;
  // Callers that do not say whether the namespace has the search attributes (any client but ours)
  // get what admission finds; until then, and if admission fails, none are written: an unregistered
  // attribute would fail every workflow task. Cells before this patch assumed they were there.
  const defaultsFromAdmission = current || patched(DEFAULTS_FROM_ADMISSION_PATCH);
  // Asked only by such a run (its start's search attributes are in history): other cells record no marker.
  const scheduler =
    input.scheduleId === undefined ? workflowInfo().typedSearchAttributes.get(ScheduledByIdKey) : undefined;
  const scheduledBy =
    scheduler !== undefined && (current || patched(SCHEDULE_ID_FROM_SCHEDULER_PATCH)) ? scheduler : undefined;
  const cell = new CellState({
    indexed: defaultsFromAdmission ? input.indexed === true : input.indexed !== false,
    scheduleId: input.scheduleId ?? scheduledBy,
  });
  setHandler(statusQuery, () => cell.toStatus());
  setHandler(killSignal, ({ reason }) => {
    cell.killRequest ??= reason || 'kill requested';
  });

  let admitted: Admission;
  try {
    // A worker of this cell's queue family is one of its hosts: it may take a cell that no kill
    // request reached yet.
    const claim = cell.killRequest === undefined && sharedQueueOf(input) === workflowInfo().taskQueue;
    admitted = admissionOf(await admission.admitCell({ document: input.document, claim }));
  } catch (err) {
    // Nothing touched a host yet: a cancelled cell just ends; an invalid one fails, findable by outcome.
    cell.cellId = cellIdOf(input.document) ?? '';
    if (isCancellation(err)) {
      cell.end({ kind: 'cancelled', reason: 'the workflow was cancelled before the cell was placed' });
      cell.enter('done');
      return cell.toResult();
    }
    cell.end({ kind: 'failed', error: messageOf(err) });
    cell.enter('done');
    throw toWorkflowFailure(err);
  }
  const ref: SandboxRef = { cellId: admitted.cellId, runKey: workflowInfo().runId };
  cell.cellId = admitted.cellId;
  cell.correlationIndex = admitted.correlationIndex ?? admitted.correlationId;
  if (defaultsFromAdmission) cell.indexed = input.indexed ?? admitted.indexed ?? true;
  const events = new CellEvents(admitted.events === true, sharedQueueOf(input));
  let started = false;
  cell.sandboxId = sandboxIdFor(ref.cellId, ref.runKey);

  let host: HostActivities | undefined;
  try {
    // Claimed by the admitting worker's host (it had room), else by whichever host takes it from
    // the launch queue.
    const claim =
      pull && admitted.claimedBy === undefined
        ? await claimHost(input, admitted, ref, cell, current)
        : { hostId: pull ? admitted.claimedBy : admitted.hostId };
    const hostId = claim.hostId;
    if (claim.cancelled !== undefined) {
      // Cancelled as a host claimed the cell: what that host prepared is removed in finally.
      if (hostId !== undefined) {
        cell.hostId = hostId;
        host = hostActivities(input, { ...admitted, hostId }, cell.sandboxId, controlFromStart);
      }
      throw claim.cancelled;
    }
    if (hostId === undefined) {
      cell.end({ kind: 'cancelled', reason: `killed while queued: ${cell.killRequest ?? 'kill requested'}` });
    } else {
      cell.hostId = hostId;
      host = hostActivities(input, { ...admitted, hostId }, cell.sandboxId, controlFromStart);
      cell.enter('running');
      if (cell.killRequest !== undefined) {
        cell.end({ kind: 'cancelled', reason: `killed before start: ${cell.killRequest}` });
      } else {
        started = true;
        events.emit(
          cellEventTypes.started,
          { hostId },
          {
            cellId: ref.cellId,
            runId: ref.runKey,
            hostId,
            sandboxId: cell.sandboxId,
            correlationId: admitted.correlationId,
          },
        );
        if (events.on) await events.flush();
        cell.exit = await runUntilExit(host, input.document, ref, admitted, cell);
        cell.end(cell.exit.outcome);
      }
    }
  } catch (err) {
    if (isCancellation(err)) {
      cell.end({ kind: 'cancelled', reason: 'the workflow was cancelled' });
    } else if (isHostLost(err)) {
      cell.end({ kind: 'host-lost', reason: `host ${cell.hostId} did not pick up the cell's work in time` });
    } else {
      const failure = toWorkflowFailure(err);
      cell.end({ kind: 'failed', error: messageOf(err) });
      cell.failureType = failure.type ?? undefined;
      throw failure;
    }
  } finally {
    // Runs on success, failure, deadline and cancellation alike (not on terminate: the reconciler
    // on the host covers that). A cell that never left the queue has nothing on a host, nor one
    // whose run removed its sandbox (the happy path): no scope is made for them, since every
    // promise made in a workflow costs the worker a stack trace.
    const placed = host;
    if (placed && !cell.exit?.removed) await CancellationScope.nonCancellable(() => cleanUp(placed, ref, cell));
    emitEnd(events, cell, admitted, started);
    // No scope when events are off: every promise made in a workflow costs a stack trace.
    if (events.on) await CancellationScope.nonCancellable(() => events.close());
    cell.enter('done');
    // The outcome in the memo too where no search attribute holds it (the UI shows current details
    // only while a worker answers). With them, CellOutcome and CellExitCode say it in the UI and the
    // result has it all: a memo would cost the server one more visibility write per cell.
    if (cell.outcome && !(current && cell.indexed)) {
      upsertMemo({ outcome: describeOutcome(cell.outcome), exitCode: exitCodeOf(cell.outcome) ?? null });
    }
  }
  return cell.toResult();
}

/** The events of a cell's end: its command's exit code, a failure, and that it is gone. */
function emitEnd(events: CellEvents, cell: CellState, admitted: Admission, started: boolean): void {
  const outcome = cell.outcome;
  if (outcome === undefined) return;
  const where = cell.hostId ? { hostId: cell.hostId } : { taskQueue: workflowInfo().taskQueue };
  const ids = { cellId: admitted.cellId, runId: workflowInfo().runId };
  const exitCode = exitCodeOf(outcome);
  if (cell.exit && exitCode !== undefined) {
    events.emit(cellEventTypes.commandCompleted, where, {
      ...ids,
      argv: admitted.argv,
      exitCode,
      durationMs: Math.max(0, cell.exit.endedAtMs - cell.exit.startedAtMs),
    });
  }
  if (outcome.kind === 'failed') {
    // CellOS has no code for these: the failure type says which (e.g. CellRejectedByHost).
    const reason = cell.failureType ?? 'cell_failed';
    events.emit(cellEventTypes.failed, where, { ...ids, reason, message: outcome.error });
  }
  if (started) events.emit(cellEventTypes.destroyed, where, destroyedData(ids.cellId, ids.runId, outcome));
}

/** Kills the sandbox of a cell cancelled while it ran, then removes it (not from a lost host). */
async function cleanUp(host: HostActivities, ref: SandboxRef, cell: CellState): Promise<void> {
  cell.enter('cleaning-up');
  if (cell.exit === undefined && cell.outcome?.kind === 'cancelled') {
    await host.killSandbox({ ...ref, reason: 'request', message: cell.outcome.reason }).catch(() => undefined);
  }
  if (cell.outcome?.kind !== 'host-lost') {
    try {
      await host.removeSandbox(ref);
    } catch (err) {
      cell.cleanupError = messageOf(err);
    }
  }
}

/**
 * The host that took the cell from its launch queue, or none if a kill came first; `cancelled` when
 * the workflow was cancelled while the cell was queued (with the host that claimed it meanwhile).
 */
async function claimHost(
  input: CellWorkflowInput,
  admitted: Admission,
  ref: SandboxRef,
  cell: CellState,
  /** Wait for the claim's answer when stopped (cells started before CELL_LIFECYCLE_PATCH did not). */
  settles: boolean,
): Promise<{ hostId?: string | undefined; cancelled?: unknown }> {
  cell.enter('queued');
  const labels = admitted.labels ?? '';
  const { claimCell } = proxyActivities<Pick<CellActivities, 'claimCell'>>({
    taskQueue: launchTaskQueue(sharedQueueOf(input), labels),
    summary: `wait for a host with room${labels ? ` and labels ${labels}` : ''}`,
    // A claim takes milliseconds: one taken by a worker that died is given to another host soon.
    startToCloseTimeout: '10s',
    // A host that finds itself full after all gives the cell back at once, for any host to take.
    retry: {
      initialInterval: '200ms',
      backoffCoefficient: 1.5,
      maximumInterval: '2s',
      nonRetryableErrorTypes: [failureTypes.invalidDocument, failureTypes.rejected],
    },
    // A claim being answered as the kill comes is answered: the workflow learns which host prepared
    // the cell and removes it there. (The same cancel command as TRY_CANCEL: old histories replay.)
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
  // Stopped in the very activation the claim was asked in, it was never sent: nothing to wait for.
  const stoppedAtOnce = cell.killRequest !== undefined || CancellationScope.current().consideredCancelled;
  let hostId: string | undefined;
  let failure: unknown;
  const queued = new CancellationScope();
  void queued
    .run(() => claimCell({ ...ref, document: input.document }))
    .then(
      (c) => void (hostId = c.hostId),
      (err: unknown) => void (failure = err ?? new Error('claimCell failed')),
    );
  let cancelled: unknown;
  try {
    await condition(() => hostId !== undefined || failure !== undefined || cell.killRequest !== undefined);
  } catch (err) {
    // The workflow was cancelled (and `queued` with it).
    if (!isCancellation(err)) throw err;
    cancelled = err;
  }
  if (hostId === undefined && failure === undefined) {
    if (cancelled === undefined) queued.cancel();
    if (!stoppedAtOnce && settles) {
      await CancellationScope.nonCancellable(() => condition(() => hostId !== undefined || failure !== undefined));
    }
  }
  if (cancelled !== undefined) return { hostId, cancelled };
  if (failure !== undefined && hostId === undefined && cell.killRequest === undefined) throw failure;
  return { hostId };
}

/** The shared queue: the caller's, or else the one this workflow runs on. */
function sharedQueueOf(input: CellWorkflowInput): string {
  return input.taskQueue || workflowInfo().taskQueue;
}

/** Runs the sandbox; at the deadline or on a kill request, kills it and waits for its record. */
async function runUntilExit(
  host: HostActivities,
  document: unknown,
  ref: SandboxRef,
  admitted: Admission,
  cell: CellState,
): Promise<SandboxExit> {
  let exit: SandboxExit | undefined;
  let failure: unknown;
  let deadlinePassed = false;
  const running = host.runSandbox({ ...ref, document }).then(
    (e) => void (exit = e),
    (err: unknown) => void (failure = err ?? new Error('runSandbox failed')),
  );
  const ttl = admitted.ttlSeconds;
  const deadline = new CancellationScope();
  void deadline
    .run(() => sleep(ttl * 1000, { summary: `deadline: spec.lifetime.ttlSeconds = ${ttl}` }))
    .then(
      () => void (deadlinePassed = true),
      () => undefined,
    );
  try {
    await condition(
      () => exit !== undefined || failure !== undefined || deadlinePassed || cell.killRequest !== undefined,
    );
    if (exit === undefined && failure === undefined) {
      cell.enter('killing');
      const reason = deadlinePassed ? 'deadline' : 'request';
      const message = deadlinePassed ? `ttl of ${ttl}s passed` : (cell.killRequest ?? 'kill requested');
      const kill = () => host.killSandbox({ ...ref, reason, message });
      await kill();
      // A kill can miss a sandbox that a retried launch starts just after it: until the run ends,
      // kill again after every grace period.
      const grace = admitted.gracefulShutdownSeconds;
      while (!(await condition(() => exit !== undefined || failure !== undefined, (grace + 5) * 1000))) await kill();
      await running;
    }
  } finally {
    deadline.cancel();
  }
  if (failure !== undefined) throw failure;
  return exit!;
}

type HostActivities = Omit<CellActivities, 'admitCell' | 'claimCell'>;

/**
 * Kill and remove go to the host's control queue, whose slots running cells never hold. Cells
 * started before it existed keep sending them to the host's queue, which still serves them: their
 * host may run a worker that does not poll the control queue yet.
 */
const CONTROL_QUEUE_PATCH = 'host-control-queue';

/**
 * The same, asked in the first activation. CONTROL_QUEUE_PATCH is asked where the host is known,
 * which for a cell claimed at admission is right after the local activity: when that activity's
 * marker and the next commands were recorded in two workflow tasks (a slow admission, a workflow
 * task heartbeat), a replay asked it in the first of them, did not find the marker, and failed as
 * non-deterministic (seen in the cluster's SIGKILL-mid-burst test). Cells whose history has this
 * marker never ask the old one.
 */
const CONTROL_QUEUE_FROM_START_PATCH = 'host-control-queue-from-start';

function hostActivities(
  input: CellWorkflowInput,
  admitted: Admission,
  sandboxId: string,
  controlFromStart: boolean,
): HostActivities {
  const { cellId, hostId, gracefulShutdownSeconds: grace } = admitted;
  const hostQueue = hostTaskQueue(sharedQueueOf(input), hostId);
  // A host that does not pick up its work in this time is lost: the cell ends as host-lost.
  const scheduleToStartTimeout = `${input.hostScheduleToStartSeconds ?? admitted.hostScheduleToStartSeconds ?? DEFAULT_HOST_SCHEDULE_TO_START_S}s`;
  const controlQueue =
    controlFromStart || patched(CONTROL_QUEUE_PATCH) ? hostControlTaskQueue(sharedQueueOf(input), hostId) : hostQueue;
  const retry = { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '10s' } as const;
  const argv = admitted.argv.join(' ');
  const runOptions = {
    scheduleToStartTimeout,
    summary: `run cell ${cellId} in sandbox ${sandboxId} on host ${hostId}: ${argv.length > 80 ? `${argv.slice(0, 80)}…` : argv}`,
    startToCloseTimeout: `${admitted.ttlSeconds + grace + 600}s`,
    // A dead worker is noticed within this time; the retry re-attaches on the same host.
    heartbeatTimeout: '10s',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry,
  } as const;
  const run = proxyActivities<HostActivities>({ ...runOptions, taskQueue: hostQueue });
  // Claimed by the host of the worker running this task, whose server dispatches eagerly: the run
  // goes to this workflow's own queue and comes back to that worker with this task's completion.
  // A retry (or a server that does not hand it back) may reach any host's worker there: any other
  // host refuses it at once, and it goes to the host's own queue.
  const eager =
    admitted.eagerRun === true && admitted.claimedBy === hostId
      ? proxyActivities<HostActivities>(runOptions).runSandbox
      : undefined;
  const runSandbox: HostActivities['runSandbox'] = eager
    ? async (args) => {
        try {
          return await eager({ ...args, hostId });
        } catch (err) {
          if (!isWrongHost(err)) throw err;
          return run.runSandbox(args);
        }
      }
    : run.runSandbox;
  const control = (summary: string) =>
    proxyActivities<HostActivities>({
      taskQueue: controlQueue,
      scheduleToStartTimeout,
      summary,
      startToCloseTimeout: `${grace + 60}s`,
      // A worker that dies holding the task (its poll was answered as it died) is noticed within this.
      heartbeatTimeout: '10s',
      retry: { ...retry, maximumAttempts: 10 },
    });
  return {
    runSandbox,
    killSandbox: control(
      `kill sandbox ${sandboxId} of cell ${cellId} on host ${hostId}: SIGTERM, ${grace}s grace, SIGKILL`,
    ).killSandbox,
    removeSandbox: control(`delete sandbox ${sandboxId} of cell ${cellId} on host ${hostId} and remove its bundle`)
      .removeSandbox,
  };
}

/**
 * Admission's answer. Cells admitted by a worker older than this one (still running during a
 * deploy) recorded the whole validated document instead: the same facts are read from it.
 */
function admissionOf(a: Admission | LegacyAdmission): Admission {
  if (!('document' in a)) return a;
  const { spec } = a.document;
  return {
    cellId: spec.id,
    hostId: a.hostId,
    ttlSeconds: spec.lifetime.ttlSeconds,
    gracefulShutdownSeconds: spec.run.limits.gracefulShutdownSeconds,
    argv: spec.run.argv,
  };
}

interface LegacyAdmission {
  readonly hostId: string;
  readonly document: {
    readonly spec: {
      readonly id: string;
      readonly lifetime: { readonly ttlSeconds: number };
      readonly run: { readonly argv: readonly string[]; readonly limits: { readonly gracefulShutdownSeconds: number } };
    };
  };
}

function isWrongHost(err: unknown): boolean {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === WRONG_HOST;
}

function isHostLost(err: unknown): boolean {
  return (
    err instanceof ActivityFailure &&
    err.cause instanceof TimeoutFailure &&
    err.cause.timeoutType === 'SCHEDULE_TO_START'
  );
}

function messageOf(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

/**
 * An activity failure that outlasted its retries ends the workflow with a type the client can act
 * on: the cell failure type an activity gave it (see failureTypeOf), else CellInfrastructureFailure.
 */
function toWorkflowFailure(err: unknown): ApplicationFailure {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure && isCellFailureType(cause.type)) {
    return ApplicationFailure.create({
      type: cause.type,
      message: cause.message,
      nonRetryable: true,
      details: cause.details as unknown[] | undefined,
    });
  }
  return ApplicationFailure.create({
    type: failureTypes.infrastructure,
    message: messageOf(err),
    nonRetryable: true,
    cause: cause instanceof Error ? (cause as never) : undefined,
  });
}
