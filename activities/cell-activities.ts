// Host work of a cell, as Temporal activities. Each is idempotent: a retry after a worker
// crash re-attaches to what the first attempt made, never launches a second sandbox.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { KillReason } from '../src/cell/outcome.ts';
import type { CellDocument } from '../src/document/schema.ts';
import { parseCellDocument } from '../src/document/parse.ts';
import { failureTypes } from '../src/failures.ts';
import type { CellHost } from '../src/host/cell-host.ts';
import type { SandboxExit, SandboxProgress } from './types.ts';

export interface CellActivityDeps {
  readonly host: CellHost;
  readonly log?: (message: string, fields: Record<string, unknown>) => void;
}

/** Bytes of each stream carried in a heartbeat. */
const LOG_TAIL_BYTES = 16 * 1024;

export function createCellActivities({ host, log = () => undefined }: CellActivityDeps) {
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
      const handle = await nonRetryableAsync(() => host.prepare(doc, input.runKey));
      await host.start(handle);
      const progress: SandboxProgress = { sandboxId: handle.sandboxId, hostId: handle.hostId, startedAtMs: Date.now() };
      ctx.heartbeat(progress);
      // Heartbeats (flushed about once a second, see the worker) carry the output so far.
      const beat = () => {
        void host.readOutput(handle, LOG_TAIL_BYTES).then(
          (out) => ctx.heartbeat({ ...progress, ...out }),
          () => ctx.heartbeat(progress),
        );
      };
      if (ctx.info.attempt === 1) log('sandbox started', { cellId: handle.cellId, sandboxId: handle.sandboxId });
      else
        log('re-attached to sandbox', {
          cellId: handle.cellId,
          sandboxId: handle.sandboxId,
          attempt: ctx.info.attempt,
        });
      const exit = await host
        .wait(handle, { signal: ctx.cancellationSignal, onTick: beat, tickMs: 500 })
        .catch((err: unknown) => {
          // Cancelled: the workflow decides what happens to the sandbox next.
          if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason ?? err;
          throw err;
        });
      log('sandbox exited', { cellId: exit.cellId, sandboxId: exit.sandboxId, outcome: exit.outcome.kind });
      try {
        await host.remove(handle);
        return { ...exit, removed: true };
      } catch (err) {
        return { ...exit, removed: false, removeError: err instanceof Error ? err.message : String(err) };
      }
    },

    /** SIGTERM, the grace, then SIGKILL; records why, so the outcome says it. */
    async killSandbox(input: { cellId: string; runKey: string; reason: KillReason; message: string }): Promise<void> {
      const handle = await host.attach(host.sandboxIdFor(input.cellId, input.runKey));
      if (!handle) return;
      log('killing sandbox', { cellId: handle.cellId, sandboxId: handle.sandboxId, reason: input.reason });
      await host.kill(handle, { reason: input.reason, message: input.message });
    },

    /** Deletes the sandbox and removes its bundle, cgroups and record. Idempotent. */
    async removeSandbox(input: { cellId: string; runKey: string }): Promise<void> {
      const sandboxId = host.sandboxIdFor(input.cellId, input.runKey);
      await host.removeById(sandboxId);
      log('sandbox removed', { cellId: input.cellId, sandboxId });
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

function asNonRetryable(err: unknown): unknown {
  if (err instanceof Error && (failureTypes.nonRetryable as readonly string[]).includes(err.name)) {
    return ApplicationFailure.create({ type: err.name, message: err.message, nonRetryable: true });
  }
  return err;
}
