// The durable lifecycle of one cell: validate, place on a host, start the sandbox, wait for
// it (killing it at its deadline or on request), and always clean up.
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  TimeoutFailure,
  condition,
  defineQuery,
  defineSignal,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  workflowInfo,
  ActivityCancellationType,
} from '@temporalio/workflow';
import type { createCellActivities, createPlacementActivities } from '../activities/index.ts';
import type { SandboxExit } from '../activities/types.ts';
import { EMPTY_OUTPUT } from '../src/cell/output.ts';
import type { CellDocument } from '../src/document/schema.ts';
import {
  hostTaskQueue,
  queries,
  signals,
  type CellPhase,
  type CellResult,
  type CellResultOutcome,
  type CellStatus,
  type CellWorkflowInput,
  type KillSignalArgs,
  type PhaseDurations,
} from '../src/shared.ts';
import { failureTypes } from '../src/failures.ts';

type CellActivities = ReturnType<typeof createCellActivities>;
type PlacementActivities = ReturnType<typeof createPlacementActivities>;

export const killSignal = defineSignal<[KillSignalArgs]>(signals.kill);
export const statusQuery = defineQuery<CellStatus>(queries.status);

const admission = proxyLocalActivities<PlacementActivities>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: [failureTypes.invalidDocument] },
});

const DEFAULT_HOST_SCHEDULE_TO_START_S = 120;

export async function cellWorkflow(input: CellWorkflowInput): Promise<CellResult> {
  const info = workflowInfo();
  const startedAtMs = Date.now();
  const phases: PhaseDurations = {};
  let phase: CellPhase = 'placing';
  let hostId: string | undefined;
  let sandboxId: string | undefined;
  let sandboxStartedAtMs: number | undefined;
  let outcome: CellResultOutcome | undefined;
  let killRequest: string | undefined;
  let phaseStartMs = startedAtMs;
  const enter = (next: CellPhase, key?: keyof PhaseDurations) => {
    if (key) phases[key] = Date.now() - phaseStartMs;
    phaseStartMs = Date.now();
    phase = next;
  };

  setHandler(statusQuery, () => ({
    cellId: doc?.spec.id ?? '',
    phase,
    hostId,
    sandboxId,
    sandboxStartedAt: sandboxStartedAtMs === undefined ? undefined : new Date(sandboxStartedAtMs).toISOString(),
    outcome,
    killRequested: killRequest,
  }));
  setHandler(killSignal, ({ reason }) => {
    killRequest ??= reason || 'kill requested';
  });

  let doc: CellDocument | undefined;
  ({ document: doc, hostId } = await admit(input.document));
  const host = hostActivities(input, hostId, doc);
  enter('starting', 'placing');
  const cellId = doc.spec.id;

  let exit: SandboxExit | undefined;
  let cleanupError: string | undefined;
  try {
    if (killRequest !== undefined) {
      outcome = { kind: 'cancelled', reason: `killed before start: ${killRequest}` };
      return result();
    }
    const started = await host.startSandbox({ document: doc, runKey: info.runId });
    sandboxId = started.sandboxId;
    sandboxStartedAtMs = started.startedAtMs;
    enter('running', 'starting');
    exit = await runUntilExit(
      host,
      doc,
      started.sandboxId,
      () => killRequest,
      () => enter('killing', 'running'),
    );
    if ((phase as CellPhase) === 'killing') phases.killing = Date.now() - phaseStartMs;
    else phases.running = Date.now() - phaseStartMs;
    outcome = exit.outcome;
  } catch (err) {
    if (isCancellation(err)) {
      outcome = { kind: 'cancelled', reason: 'the workflow was cancelled' };
    } else if (isHostLost(err)) {
      outcome = { kind: 'host-lost', reason: `host ${hostId} did not pick up the cell's work in time` };
    } else {
      outcome = { kind: 'failed', error: messageOf(err) };
      throw toWorkflowFailure(err);
    }
  } finally {
    await CancellationScope.nonCancellable(async () => {
      phaseStartMs = Date.now();
      phase = 'cleaning-up';
      if (sandboxId !== undefined && exit === undefined && outcome?.kind === 'cancelled') {
        await host.killSandbox({ sandboxId, reason: 'request', message: outcome.reason }).catch(() => undefined);
      }
      if (sandboxId !== undefined || outcome?.kind !== 'host-lost') {
        try {
          if (!exit?.removed) await host.removeSandbox({ cellId, runKey: info.runId });
        } catch (err) {
          cleanupError = messageOf(err);
        }
      }
      phases.cleanup = Date.now() - phaseStartMs;
      phase = 'done';
    });
  }
  return result();

  function result(): CellResult {
    const o = outcome ?? { kind: 'failed', error: 'no outcome recorded' };
    return {
      cellId,
      workflowId: info.workflowId,
      runId: info.runId,
      hostId,
      sandboxId,
      outcome: o,
      exitCode: o.kind === 'exited' ? o.code : o.kind === 'deadline' ? o.exitCode : undefined,
      stdout: exit?.stdout ?? EMPTY_OUTPUT,
      stderr: exit?.stderr ?? EMPTY_OUTPUT,
      startedAt: new Date(startedAtMs).toISOString(),
      endedAt: new Date(Date.now()).toISOString(),
      sandboxStartedAt: sandboxStartedAtMs === undefined ? undefined : new Date(sandboxStartedAtMs).toISOString(),
      sandboxEndedAt: exit ? new Date(exit.endedAtMs).toISOString() : undefined,
      phases,
      cleanupError,
      scheduleId: input.scheduleId,
    };
  }
}

/** Waits for the sandbox; at the deadline or on a kill request, kills it and waits for the record. */
async function runUntilExit(
  host: CellActivities,
  doc: CellDocument,
  sandboxId: string,
  killRequested: () => string | undefined,
  onKilling: () => void,
): Promise<SandboxExit> {
  let exit: SandboxExit | undefined;
  let failure: unknown;
  let deadlinePassed = false;
  // The wait also removes the sandbox once it has its outcome: one round trip less per cell.
  const waiting = host.awaitSandbox({ sandboxId, removeOnExit: true }).then(
    (e) => void (exit = e),
    (err: unknown) => void (failure = err ?? new Error('awaitSandbox failed')),
  );
  const deadline = new CancellationScope();
  void deadline
    .run(() => sleep(doc.spec.lifetime.ttlSeconds * 1000))
    .then(
      () => void (deadlinePassed = true),
      () => undefined,
    );
  try {
    await condition(
      () => exit !== undefined || failure !== undefined || deadlinePassed || killRequested() !== undefined,
    );
    if (exit === undefined && failure === undefined) {
      onKilling();
      const reason = deadlinePassed ? 'deadline' : 'request';
      const message = deadlinePassed
        ? `ttl of ${doc.spec.lifetime.ttlSeconds}s passed`
        : (killRequested() ?? 'kill requested');
      await host.killSandbox({ sandboxId, reason, message });
      await waiting;
    }
  } finally {
    deadline.cancel();
  }
  if (failure !== undefined) throw failure;
  return exit!;
}

function hostActivities(input: CellWorkflowInput, hostId: string, doc: CellDocument): CellActivities {
  const scheduleToStartTimeout = `${input.hostScheduleToStartSeconds ?? DEFAULT_HOST_SCHEDULE_TO_START_S}s`;
  const taskQueue = hostTaskQueue(input.taskQueue, hostId);
  const nonRetryableErrorTypes = [...failureTypes.nonRetryable];
  const start = proxyActivities<CellActivities>({
    taskQueue,
    scheduleToStartTimeout,
    startToCloseTimeout: '10m', // unpacking a large image the first time
    // Let a start that is under way finish, so the cleanup that follows sees its sandbox.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumAttempts: 5, nonRetryableErrorTypes },
  });
  const wait = proxyActivities<CellActivities>({
    taskQueue,
    scheduleToStartTimeout,
    startToCloseTimeout: `${doc.spec.lifetime.ttlSeconds + doc.spec.run.limits.gracefulShutdownSeconds + 300}s`,
    heartbeatTimeout: '10s',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '10s', nonRetryableErrorTypes },
  });
  const control = proxyActivities<CellActivities>({
    taskQueue,
    scheduleToStartTimeout,
    startToCloseTimeout: `${doc.spec.run.limits.gracefulShutdownSeconds + 60}s`,
    retry: {
      initialInterval: '500ms',
      backoffCoefficient: 2,
      maximumInterval: '10s',
      maximumAttempts: 10,
      nonRetryableErrorTypes,
    },
  });
  return {
    startSandbox: start.startSandbox,
    awaitSandbox: wait.awaitSandbox,
    killSandbox: control.killSandbox,
    removeSandbox: control.removeSandbox,
  };
}

/** Validation and placement in one local activity; an invalid document fails the workflow at once. */
async function admit(document: unknown) {
  try {
    return await admission.admitCell({ document });
  } catch (err) {
    const cause = err instanceof ActivityFailure ? err.cause : undefined;
    if (cause instanceof ApplicationFailure && cause.type === failureTypes.invalidDocument) {
      throw ApplicationFailure.create({
        type: failureTypes.invalidDocument,
        message: cause.message,
        nonRetryable: true,
        details: cause.details as unknown[] | undefined,
      });
    }
    throw err;
  }
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

/** Activity failures that outlasted their retries end the workflow with a type the client can act on. */
function toWorkflowFailure(err: unknown): ApplicationFailure {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure && cause.type && failureTypes.nonRetryable.includes(cause.type as never)) {
    return ApplicationFailure.create({
      type: failureTypes.rejected,
      message: cause.message,
      nonRetryable: true,
      cause,
    });
  }
  return ApplicationFailure.create({
    type: failureTypes.infrastructure,
    message: messageOf(err),
    nonRetryable: true,
    cause: cause instanceof Error ? (cause as never) : undefined,
  });
}
