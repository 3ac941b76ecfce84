// The durable lifecycle of one cell: admit (validate, place), run the sandbox on its host,
// kill it at its deadline or on request, and always clean up. The happy path is one local
// activity and one host activity, so a trivial cell costs ~two server round trips.
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
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ActivityOptions } from '@temporalio/common';
import type { createCellActivities, createPlacementActivities } from '../activities/index.ts';
import type { Admission } from '../activities/placement.ts';
import type { SandboxExit } from '../activities/types.ts';
import { sandboxIdFor } from '../src/bundle/ids.ts';
import { describeOutcome } from '../src/cell/outcome.ts';
import { EMPTY_OUTPUT } from '../src/cell/output.ts';
import type { CellDocument } from '../src/document/schema.ts';
import { failureTypes } from '../src/failures.ts';
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
import { searchAttributeUpdates } from './search-attributes.ts';

type CellActivities = ReturnType<typeof createCellActivities>;
type PlacementActivities = ReturnType<typeof createPlacementActivities>;

export const killSignal = defineSignal<[KillSignalArgs]>(signals.kill);
export const statusQuery = defineQuery<CellStatus>(queries.status);

const admission = proxyLocalActivities<PlacementActivities>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: [failureTypes.invalidDocument] },
  summary: 'validate the cell document and choose a host',
});

const DEFAULT_HOST_SCHEDULE_TO_START_S = 120;

export async function cellWorkflow(input: CellWorkflowInput): Promise<CellResult> {
  const info = workflowInfo();
  const startedAtMs = Date.now();
  const phases: PhaseDurations = {};
  let phase: CellPhase = 'placing';
  let cellId = '';
  let hostId: string | undefined;
  let sandboxId: string | undefined;
  let outcome: CellResultOutcome | undefined;
  let killRequest: string | undefined;
  let exit: SandboxExit | undefined;
  let cleanupError: string | undefined;
  let phaseStartMs = startedAtMs;

  const show = () => {
    if (input.indexed !== false) {
      upsertSearchAttributes(searchAttributeUpdates({ cellId, phase, hostId, outcome, scheduleId: input.scheduleId }));
    }
    setCurrentDetails(currentDetails(cellId, phase, hostId, sandboxId, outcome, killRequest));
  };
  const enter = (next: CellPhase, key?: keyof PhaseDurations) => {
    if (key) phases[key] = Date.now() - phaseStartMs;
    phaseStartMs = Date.now();
    phase = next;
    show();
  };

  setHandler(statusQuery, () => ({
    cellId,
    phase,
    hostId,
    sandboxId,
    // The sandbox's own start time is in the run activity's heartbeat (see CellClient.status).
    sandboxStartedAt: iso(exit?.startedAtMs),
    outcome,
    killRequested: killRequest,
  }));
  setHandler(killSignal, ({ reason }) => {
    killRequest ??= reason || 'kill requested';
  });

  let admitted: Admission;
  try {
    admitted = await admit(input.document);
  } catch (err) {
    // Nothing touched a host yet: a cancelled cell just ends; an invalid one fails, findable by outcome.
    cellId = rawCellId(input.document);
    if (isCancellation(err)) {
      outcome = { kind: 'cancelled', reason: 'the workflow was cancelled before the cell was placed' };
      phase = 'done';
      show();
      return result();
    }
    outcome = { kind: 'failed', error: messageOf(err) };
    phase = 'done';
    show();
    throw err;
  }
  const doc = admitted.document;
  cellId = doc.spec.id;
  hostId = admitted.hostId;
  sandboxId = sandboxIdFor(cellId, info.runId);
  const host = hostActivities(input, hostId, doc, sandboxId);
  enter('running', 'placing');

  try {
    if (killRequest !== undefined) {
      outcome = { kind: 'cancelled', reason: `killed before start: ${killRequest}` };
    } else {
      exit = await runUntilExit(
        host,
        doc,
        info.runId,
        () => killRequest,
        () => enter('killing', 'running'),
      );
      phases.starting = Math.max(0, exit.startedAtMs - (startedAtMs + (phases.placing ?? 0)));
      if ((phase as CellPhase) === 'killing') phases.killing = Date.now() - phaseStartMs;
      else phases.running = Date.now() - phaseStartMs;
      outcome = exit.outcome;
    }
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
    // Runs on success, failure, deadline and cancellation alike (not on terminate: the
    // reconciler on the host covers that).
    await CancellationScope.nonCancellable(async () => {
      if (exit?.removed) return;
      enter('cleaning-up');
      if (exit === undefined && outcome?.kind === 'cancelled') {
        await host
          .killSandbox({ cellId, runKey: info.runId, reason: 'request', message: outcome.reason })
          .catch(() => undefined);
      }
      if (outcome?.kind !== 'host-lost') {
        try {
          await host.removeSandbox({ cellId, runKey: info.runId });
        } catch (err) {
          cleanupError = messageOf(err);
        }
      }
      phases.cleanup = Date.now() - phaseStartMs;
    });
    phase = 'done';
    show();
    // The outcome in the memo too: the UI shows current details only while a worker answers.
    if (outcome) upsertMemo({ outcome: describeResultOutcome(outcome), exitCode: exitCodeOf(outcome) ?? null });
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
      exitCode: exitCodeOf(o),
      stdout: exit?.stdout ?? EMPTY_OUTPUT,
      stderr: exit?.stderr ?? EMPTY_OUTPUT,
      startedAt: iso(startedAtMs)!,
      endedAt: iso(Date.now())!,
      sandboxStartedAt: iso(exit?.startedAtMs),
      sandboxEndedAt: iso(exit?.endedAtMs),
      phases,
      cleanupError: cleanupError ?? (exit && !exit.removed ? exit.removeError : undefined),
      scheduleId: input.scheduleId,
    };
  }
}

/** Runs the sandbox; at the deadline or on a kill request, kills it and waits for its record. */
async function runUntilExit(
  host: HostActivities,
  doc: CellDocument,
  runKey: string,
  killRequested: () => string | undefined,
  onKilling: () => void,
): Promise<SandboxExit> {
  let exit: SandboxExit | undefined;
  let failure: unknown;
  let deadlinePassed = false;
  const running = host.runSandbox({ document: doc, runKey }).then(
    (e) => void (exit = e),
    (err: unknown) => void (failure = err ?? new Error('runSandbox failed')),
  );
  const ttl = doc.spec.lifetime.ttlSeconds;
  const deadline = new CancellationScope();
  void deadline
    .run(() => sleep(ttl * 1000, { summary: `deadline: spec.lifetime.ttlSeconds = ${ttl}` }))
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
      const message = deadlinePassed ? `ttl of ${ttl}s passed` : (killRequested() ?? 'kill requested');
      const kill = () => host.killSandbox({ cellId: doc.spec.id, runKey, reason, message });
      await kill();
      // A kill can miss a sandbox that a retried launch starts just after it: until the run
      // ends, kill again after every grace period.
      const grace = doc.spec.run.limits.gracefulShutdownSeconds;
      while (!(await condition(() => exit !== undefined || failure !== undefined, (grace + 5) * 1000))) await kill();
      await running;
    }
  } finally {
    deadline.cancel();
  }
  if (failure !== undefined) throw failure;
  return exit!;
}

interface HostActivities {
  runSandbox: CellActivities['runSandbox'];
  killSandbox: CellActivities['killSandbox'];
  removeSandbox: CellActivities['removeSandbox'];
}

function hostActivities(
  input: CellWorkflowInput,
  hostId: string,
  doc: CellDocument,
  sandboxId: string,
): HostActivities {
  const base: ActivityOptions = {
    taskQueue: hostTaskQueue(input.taskQueue, hostId),
    // A host that does not pick up its work in this time is lost: the cell ends as host-lost.
    scheduleToStartTimeout: `${input.hostScheduleToStartSeconds ?? DEFAULT_HOST_SCHEDULE_TO_START_S}s`,
  };
  const retry = {
    initialInterval: '500ms',
    backoffCoefficient: 2,
    maximumInterval: '10s',
    nonRetryableErrorTypes: [...failureTypes.nonRetryable],
  };
  const grace = doc.spec.run.limits.gracefulShutdownSeconds;
  const argv = doc.spec.run.argv.join(' ');
  const run = proxyActivities<CellActivities>({
    ...base,
    summary: `run cell ${doc.spec.id} in sandbox ${sandboxId} on host ${hostId}: ${argv.length > 80 ? `${argv.slice(0, 80)}…` : argv}`,
    startToCloseTimeout: `${doc.spec.lifetime.ttlSeconds + grace + 600}s`,
    // A dead worker is noticed within this time; the retry re-attaches on the same host.
    heartbeatTimeout: '10s',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry,
  });
  const control = (summary: string) =>
    proxyActivities<CellActivities>({
      ...base,
      summary,
      startToCloseTimeout: `${grace + 60}s`,
      retry: { ...retry, maximumAttempts: 10 },
    });
  return {
    runSandbox: run.runSandbox,
    killSandbox: control(
      `kill sandbox ${sandboxId} of cell ${doc.spec.id} on host ${hostId}: SIGTERM, ${grace}s grace, SIGKILL`,
    ).killSandbox,
    removeSandbox: control(`delete sandbox ${sandboxId} of cell ${doc.spec.id} on host ${hostId} and remove its bundle`)
      .removeSandbox,
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

function currentDetails(
  cellId: string,
  phase: CellPhase,
  hostId: string | undefined,
  sandboxId: string | undefined,
  outcome: CellResultOutcome | undefined,
  killRequest: string | undefined,
): string {
  const lines = [`**cell** ${cellId || '(validating)'}`, `**phase** ${phase}`];
  if (hostId) lines.push(`**host** ${hostId}`);
  if (sandboxId) lines.push(`**sandbox** ${sandboxId}`);
  if (killRequest) lines.push(`**kill requested** ${killRequest}`);
  if (outcome) lines.push(`**outcome** ${describeResultOutcome(outcome)}`);
  return lines.join('\n');
}

export function describeResultOutcome(outcome: CellResultOutcome): string {
  if (outcome.kind === 'cancelled') return `cancelled: ${outcome.reason}`;
  if (outcome.kind === 'host-lost') return `host lost: ${outcome.reason}`;
  return describeOutcome(outcome);
}

function exitCodeOf(o: CellResultOutcome): number | undefined {
  return o.kind === 'exited' ? o.code : o.kind === 'deadline' ? o.exitCode : undefined;
}

/** The id of a document that failed validation, when it has a usable one, for search attributes. */
function rawCellId(document: unknown): string {
  const id = (document as { spec?: { id?: unknown } } | null)?.spec?.id;
  return typeof id === 'string' && /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(id.trim()) ? id.trim() : '';
}

/** A bad time from a host must not throw a plain error in workflow code (that hangs the workflow). */
function iso(ms: number | undefined): string | undefined {
  return ms !== undefined && Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
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
  if (
    cause instanceof ApplicationFailure &&
    cause.type &&
    (failureTypes.nonRetryable as readonly string[]).includes(cause.type)
  ) {
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
