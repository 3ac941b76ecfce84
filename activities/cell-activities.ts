// Host work of a cell, as Temporal activities. Each is idempotent: a retry after a worker
// crash re-attaches to what the first attempt made, never launches a second sandbox.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { KillReason } from '../src/cell/outcome.ts';
import type { CellDocument } from '../src/document/schema.ts';
import { parseCellDocument } from '../src/document/parse.ts';
import { failpoint } from '../src/failpoints.ts';
import { failureTypes } from '../src/failures.ts';
import type { CellExit, CellHandle, CellHost } from '../src/host/cell-host.ts';
import { noopCellMetrics, type CellMetrics } from '../src/worker/metrics.ts';
import type { SandboxExit, SandboxProgress } from './types.ts';

export interface CellActivityDeps {
  readonly host: CellHost;
  /** Every line about a cell carries cellId, hostId, sandboxId and phase (prepare, run, kill, remove). */
  readonly log?: (message: string, fields: Record<string, unknown>) => void;
  readonly metrics?: CellMetrics | undefined;
}

/** Attempts at launching a sandbox whose runsc fails before the workload starts. */
const LAUNCH_ATTEMPTS = 4;

/** Bytes of each stream carried in a heartbeat. */
const LOG_TAIL_BYTES = 16 * 1024;

export function createCellActivities({ host, log = () => undefined, metrics = noopCellMetrics }: CellActivityDeps) {
  const hostId = host.config.hostId;
  return {
    /**
     * The sandbox's whole run in one activity (one round trip, not three): write the bundle,
     * start the supervisor, heartbeat { sandboxId, startedAtMs }, wait for the recorded outcome,
     * then remove the sandbox. Every step is idempotent, so a retry after a worker crash
     * re-attaches to the sandbox the first attempt started and never launches a second one.
     * If the removal fails, the workflow's cleanup removes it with retries.
     */
    async runSandbox(input: { document: CellDocument; runKey: string }): Promise<SandboxExit> {
      const ctx = Context.current();
      const doc = nonRetryable(() => parseCellDocument(input.document));
      const cell = { cellId: doc.spec.id, hostId, sandboxId: host.sandboxIdFor(doc.spec.id, input.runKey) };
      const preparing = Date.now();
      let handle: CellHandle;
      try {
        handle = await nonRetryableAsync(() => host.prepare(doc, input.runKey));
        await failpoint('after-prepare');
        await host.start(handle);
        await failpoint('after-start');
      } catch (err) {
        log('sandbox could not be prepared or started', { ...cell, phase: 'prepare', error: messageOf(err) });
        throw err;
      }
      // The record is written by the attempt that prepares the sandbox: an older one means a re-attach.
      if (handle.createdAtMs >= preparing) {
        metrics.cellStarted();
        metrics.phaseDuration('prepare', Date.now() - preparing);
      }
      const progress: SandboxProgress = { sandboxId: handle.sandboxId, hostId: handle.hostId, startedAtMs: Date.now() };
      ctx.heartbeat(progress);
      // Heartbeats (flushed about once a second, see the worker) carry the output so far.
      const beat = () => {
        void host.readOutput(handle, LOG_TAIL_BYTES).then(
          (out) => ctx.heartbeat({ ...progress, ...out }),
          () => ctx.heartbeat(progress),
        );
      };
      if (ctx.info.attempt === 1) log('sandbox started', { ...cell, phase: 'run' });
      else log('re-attached to sandbox', { ...cell, phase: 'run', attempt: ctx.info.attempt });
      const stopTracking = metrics.trackRunning();
      let exit: CellExit;
      try {
        exit = await host.wait(handle, { signal: ctx.cancellationSignal, onTick: beat, tickMs: 500 });
      } catch (err) {
        // Cancelled: the workflow decides what happens to the sandbox next.
        if (ctx.cancellationSignal.aborted) {
          // Its workflow was cancelled: the cell ends now (on worker shutdown it keeps running).
          if (ctx.cancellationDetails?.cancelRequested) metrics.cellFinished('cancelled');
          throw ctx.cancellationSignal.reason ?? err;
        }
        throw err;
      } finally {
        stopTracking();
      }
      // runsc failed before the workload started (a transient launch failure): remove what it left
      // and let the activity's retry policy launch again, a few times at most. A workload that
      // could not be loaded (its program is missing) is the cell's own outcome, not retried.
      if (
        exit.outcome.kind === 'failed' &&
        ctx.info.attempt < LAUNCH_ATTEMPTS &&
        !/creating process:|failed to load/.test(exit.outcome.error) &&
        !(await host.workloadStarted(handle))
      ) {
        log('runsc failed to launch the sandbox; retrying', { ...cell, phase: 'run', error: exit.outcome.error });
        await host.remove(handle);
        throw ApplicationFailure.retryable(
          `runsc could not launch sandbox ${handle.sandboxId} of cell ${handle.cellId} (attempt ${ctx.info.attempt} of ${LAUNCH_ATTEMPTS}): ${exit.outcome.error}`,
          'SandboxLaunchFailed',
        );
      }
      metrics.cellFinished(exit.outcome.kind);
      metrics.phaseDuration('run', exit.endedAtMs - exit.startedAtMs);
      log('sandbox exited', {
        ...cell,
        phase: 'run',
        outcome: exit.outcome.kind,
        durationMs: exit.endedAtMs - exit.startedAtMs,
      });
      const removing = Date.now();
      try {
        await failpoint('during-remove');
        await host.remove(handle);
        metrics.phaseDuration('remove', Date.now() - removing);
        log('sandbox removed', { ...cell, phase: 'remove' });
        return { ...exit, removed: true };
      } catch (err) {
        const removeError = messageOf(err);
        log("sandbox removal failed; the workflow's cleanup retries it", {
          ...cell,
          phase: 'remove',
          error: removeError,
        });
        return { ...exit, removed: false, removeError };
      }
    },

    /** SIGTERM, the grace, then SIGKILL; records why, so the outcome says it. */
    async killSandbox(input: { cellId: string; runKey: string; reason: KillReason; message: string }): Promise<void> {
      const handle = await host.attach(host.sandboxIdFor(input.cellId, input.runKey));
      if (!handle) return;
      log('killing sandbox', {
        cellId: handle.cellId,
        hostId,
        sandboxId: handle.sandboxId,
        phase: 'kill',
        reason: input.reason,
      });
      await host.kill(handle, { reason: input.reason, message: input.message });
    },

    /** Deletes the sandbox and removes its bundle, cgroups and record. Idempotent. */
    async removeSandbox(input: { cellId: string; runKey: string }): Promise<void> {
      const sandboxId = host.sandboxIdFor(input.cellId, input.runKey);
      await host.removeById(sandboxId);
      log('sandbox removed', { cellId: input.cellId, hostId, sandboxId, phase: 'remove' });
    },
  };
}

function nonRetryable<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw asNonRetryable(err);
  }
}

async function nonRetryableAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw asNonRetryable(err);
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function asNonRetryable(err: unknown): unknown {
  if (err instanceof Error && (failureTypes.nonRetryable as readonly string[]).includes(err.name)) {
    return ApplicationFailure.create({ type: err.name, message: err.message, nonRetryable: true });
  }
  return err;
}
