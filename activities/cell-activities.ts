// Host work of a cell, as Temporal activities. Each is idempotent: a retry after a worker
// crash re-attaches to what the first attempt made, never launches a second sandbox.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { CellDocument } from '../src/document/schema.ts';
import {
  SANDBOX_LAUNCH_FAILED,
  WRONG_HOST,
  failureTypes,
  type CellActivities,
  type CellExit,
  type SandboxProgress,
} from '../src/contract/index.ts';
import { parseCellDocument } from '../src/document/parse.ts';
import { failpoint } from '../src/failpoints.ts';
import type { CellHandle, CellHost } from '../src/host/cell-host.ts';
import { withArtifacts } from '../src/host/run-cell.ts';
import { asActivityFailure, asActivityFailureAsync } from './failures.ts';
import type { HostRoom } from '../src/host/room.ts';
import { createLaunchGate } from './launch-gate.ts';
import { noopCellMetrics, type CellMetrics } from './metrics.ts';

export interface CellActivityDeps {
  readonly host: CellHost;
  /** Every line about a cell carries cellId, hostId, sandboxId and phase (prepare, run, kill, remove). */
  readonly log?: (message: string, fields: Record<string, unknown>) => void;
  readonly metrics?: CellMetrics | undefined;
  /**
   * The host's room (CELLOS_MAX_CELLS, CELLOS_MEMORY_BUDGET_BYTES): a sandbox starts only once it
   * holds room there (claimed, or waited for). Unlimited when undefined.
   */
  readonly room?: HostRoom | undefined;
}

/** Attempts at launching a sandbox whose runsc fails before the workload starts. */
const LAUNCH_ATTEMPTS = 4;

/** How often the run heartbeats while it exports the cell's artifacts (its timeout is 10 s). */
const EXPORT_HEARTBEAT_MS = 2_000;

/** Bytes of each stream carried in a heartbeat. */
const LOG_TAIL_BYTES = 16 * 1024;

export function createCellActivities({
  host,
  log = () => undefined,
  metrics = noopCellMetrics,
  room,
}: CellActivityDeps): Omit<CellActivities, 'admitCell' | 'claimCell'> {
  const hostId = host.config.hostId;
  const gate = createLaunchGate(host, room);
  return {
    /**
     * The sandbox's whole run in one activity (one round trip, not three): write the bundle,
     * start the supervisor, heartbeat { sandboxId, startedAtMs }, wait for the recorded outcome,
     * then remove the sandbox. Every step is idempotent, so a retry after a worker crash
     * re-attaches to the sandbox the first attempt started and never launches a second one.
     * If the removal fails, the workflow's cleanup removes it with retries.
     */
    async runSandbox(input) {
      const ctx = Context.current();
      // Sent to a queue every host polls (an eager run, or its retry): only the claiming host runs it.
      if (input.hostId !== undefined && input.hostId !== hostId) {
        throw ApplicationFailure.nonRetryable(
          `runSandbox: cell ${JSON.stringify(input.cellId)} was claimed by host ${JSON.stringify(input.hostId)}, not ${JSON.stringify(hostId)}`,
          WRONG_HOST,
        );
      }
      // The host's own check: anything with access to the namespace can schedule work on this queue.
      const doc = asActivityFailure(() => parseCellDocument(input.document));
      if (doc.spec.id !== input.cellId) {
        throw ApplicationFailure.nonRetryable(
          `runSandbox: cellId ${JSON.stringify(input.cellId)} is not the document's spec.id ${JSON.stringify(doc.spec.id)}`,
          failureTypes.invalidDocument,
        );
      }
      const cell = { cellId: doc.spec.id, hostId, sandboxId: host.sandboxIdFor(doc.spec.id, input.runKey) };
      const preparing = Date.now();
      let handle: CellHandle | undefined;
      let startedHere = false;
      try {
        handle = await prepareWithin(host, doc, input.runKey, ctx);
        await failpoint('after-prepare');
        let full = false;
        startedHere = await gate.launch(handle, {
          signal: ctx.cancellationSignal,
          onWait: (use) => {
            if (!full) {
              log('host full: the sandbox waits for one to end', {
                ...cell,
                phase: 'prepare',
                running: use.cells,
                memoryBytes: use.memoryBytes,
              });
            }
            full = true;
            ctx.heartbeat();
          },
        });
        await failpoint('after-start');
      } catch (err) {
        log('sandbox could not be prepared or started', { ...cell, phase: 'prepare', error: messageOf(err) });
        // Cancelled while it waited for room on the host: nothing ran, nothing is left for the
        // workflow's kill to wait on.
        if (handle && ctx.cancellationDetails?.cancelRequested && (await host.state(handle)) === 'prepared') {
          await host.remove(handle).catch(() => undefined);
        }
        // Its room (a claim, or taken at the gate) is free again unless its sandbox runs.
        if (!handle || (await host.state(handle)) === 'prepared') room?.release(cell.sandboxId);
        throw err;
      }
      // An attempt that finds the sandbox started (a retry after a crash) re-attaches to it.
      if (startedHere) {
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
        if (ctx.cancellationSignal.aborted) {
          // Its workflow was cancelled: the cell ends now (on worker shutdown it keeps running, and
          // a retry re-attaches). This activity's slot is one of the host's CELLOS_MAX_CELLS: it is
          // given back only once the sandbox has ended, or every cancelled cell would run through
          // its grace beside a full host's worth of new ones.
          if (ctx.cancellationDetails?.cancelRequested) {
            log('workflow cancelled: killing the sandbox', { ...cell, phase: 'kill' });
            await Promise.all([
              host.kill(handle, { reason: 'request', message: 'the workflow was cancelled' }),
              host.wait(handle, { onTick: beat, tickMs: 500 }),
            ]).catch((killErr: unknown) =>
              log('killing the sandbox of a cancelled cell failed', {
                ...cell,
                phase: 'kill',
                error: messageOf(killErr),
              }),
            );
            metrics.cellFinished('cancelled');
            room?.release(handle.sandboxId);
          }
          throw ctx.cancellationSignal.reason ?? err;
        }
        throw err;
      } finally {
        stopTracking();
      }
      // The sandbox has ended: its room is free, whether or not the removal below succeeds.
      room?.release(handle.sandboxId);
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
          SANDBOX_LAUNCH_FAILED,
        );
      }
      // Before the sandbox goes: its scratch mount holds the artifacts. Collecting and storing them
      // can take longer than the heartbeat timeout (large ones, a slow object store).
      const exporting = setInterval(() => ctx.heartbeat(progress), EXPORT_HEARTBEAT_MS);
      try {
        exit = withArtifacts(exit, await host.exportArtifacts(handle, exit));
      } finally {
        clearInterval(exporting);
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
      if (handle.runscId !== undefined) {
        // A warm sandbox takes ~1.5 s to delete: the host does it after the result is out. If this
        // process dies first, the reconciler removes it (the workflow is over by then).
        const warm = handle.runscId;
        await failpoint('during-remove');
        host.removeLater(handle, (err) => {
          if (err) {
            log('warm sandbox removal failed; the reconciler removes it', {
              ...cell,
              phase: 'remove',
              warm,
              error: err.message,
            });
            return;
          }
          metrics.phaseDuration('remove', Date.now() - removing);
          log('sandbox removed', { ...cell, phase: 'remove', warm });
        });
        return { ...exit, removed: true };
      }
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
    async killSandbox(input) {
      const handle = await host.attach(host.sandboxIdFor(input.cellId, input.runKey));
      if (!handle) return;
      log('killing sandbox', {
        cellId: handle.cellId,
        hostId,
        sandboxId: handle.sandboxId,
        phase: 'kill',
        reason: input.reason,
      });
      await heartbeating(() => host.kill(handle, { reason: input.reason, message: input.message }));
    },

    /** Deletes the sandbox and removes its bundle, cgroups and record. Idempotent. */
    async removeSandbox(input) {
      const sandboxId = host.sandboxIdFor(input.cellId, input.runKey);
      await heartbeating(() => host.removeById(sandboxId));
      log('sandbox removed', { cellId: input.cellId, hostId, sandboxId, phase: 'remove' });
    },
  };
}

/**
 * prepare, bounded by the host's prepareTimeoutMs (an image that blocks or unpacks forever must not
 * hold a slot) and by the activity's cancellation; it heartbeats meanwhile, since unpacking an image
 * may take longer than the heartbeat timeout. A prepare that finishes after the activity gave up on
 * it for good is removed.
 */
async function prepareWithin(host: CellHost, doc: CellDocument, runKey: string, ctx: Context): Promise<CellHandle> {
  const timeoutMs = host.config.prepareTimeoutMs;
  const preparing = asActivityFailureAsync(() => host.prepare(doc, runKey));
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const beats = setInterval(() => ctx.heartbeat(), 1000);
  const givenUp = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          ApplicationFailure.create({
            type: failureTypes.rejected,
            nonRetryable: true,
            message: `cell ${doc.spec.id}: preparing its sandbox (rootfs, image, bundle) took longer than the host allows (${timeoutMs / 1000} s, CELLOS_PREPARE_TIMEOUT_SECONDS): refused`,
          }),
        ),
      timeoutMs,
    );
    onAbort = () => reject(ctx.cancellationSignal.reason ?? new Error('cancelled'));
    ctx.cancellationSignal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([preparing, givenUp]);
  } catch (err) {
    // Timed out, or the workflow was cancelled: nothing will re-attach to what prepare still makes.
    // (On worker shutdown the retry re-attaches to it instead.)
    if (!ctx.cancellationSignal.aborted || ctx.cancellationDetails?.cancelRequested) {
      void preparing.then(
        (late) => host.remove(late).catch(() => undefined),
        () => undefined,
      );
    }
    throw err;
  } finally {
    clearTimeout(timer);
    clearInterval(beats);
    if (onAbort) ctx.cancellationSignal.removeEventListener('abort', onAbort);
  }
}

/**
 * Runs `fn` heartbeating every second: a kill or removal taken by a worker that died is retried
 * within the heartbeat timeout, not after its whole start-to-close time.
 */
async function heartbeating<T>(fn: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const beats = setInterval(() => ctx.heartbeat(), 1000);
  try {
    return await fn();
  } finally {
    clearInterval(beats);
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
