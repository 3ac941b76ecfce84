// Claiming a cell from a launch queue: the pull half of placement. Only a host with room polls a
// launch queue (see src/worker/room-slots.ts); the claim takes that room for the cell and tells the
// workflow which host took it, and the workflow sends the run to that host's own queue. The claim
// holds the room for a while; the run adopts it when it arrives.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { cellMemoryBytes } from '../src/bundle/config.ts';
import { failureTypes, type CellActivities } from '../src/contract/index.ts';
import { parseCellDocument } from '../src/document/parse.ts';
import type { CellHost } from '../src/host/cell-host.ts';
import type { HostDrain } from '../src/host/drain.ts';
import type { HostRoom } from '../src/host/room.ts';
import { formatLabels, satisfies, type Labels } from '../src/placement/labels.ts';
import { asActivityFailure } from './failures.ts';

/** A claim whose run never arrives (the workflow was killed, or lost the answer) frees its room after this. */
export const CLAIM_HOLD_MS = 60_000;

/** Retryable: the cell goes back to its launch queue for any host to claim. */
export const HOST_FULL = 'HostFull';

export interface ClaimDeps {
  readonly host: CellHost;
  readonly room: HostRoom;
  readonly drain: HostDrain;
  readonly labels: Labels;
  readonly log?: (message: string, fields: Record<string, unknown>) => void;
}

export function createClaimActivity({
  host,
  room,
  drain,
  labels,
  log = () => undefined,
}: ClaimDeps): Pick<CellActivities, 'claimCell'> {
  const hostId = host.config.hostId;
  return {
    async claimCell(input) {
      const doc = asActivityFailure(() => parseCellDocument(input.document));
      if (doc.spec.id !== input.cellId) {
        throw ApplicationFailure.nonRetryable(
          `claimCell: cellId ${JSON.stringify(input.cellId)} is not the document's spec.id ${JSON.stringify(doc.spec.id)}`,
          failureTypes.invalidDocument,
        );
      }
      const sandboxId = host.sandboxIdFor(doc.spec.id, input.runKey);
      const cell = { cellId: doc.spec.id, hostId, sandboxId, phase: 'claim' };
      const wanted = doc.spec.placement?.labels ?? {};
      // The queue says the labels match; a task put on the wrong queue by hand must not get through.
      if (!satisfies(labels, wanted)) {
        throw ApplicationFailure.retryable(
          `host ${hostId} {${formatLabels(labels)}} lacks the labels cell ${doc.spec.id} asks for {${formatLabels(wanted)}}`,
          HOST_FULL,
        );
      }
      const memoryBytes = asActivityFailure(() => cellMemoryBytes(doc, host.config.memory));
      if (memoryBytes > room.limits.memoryBudgetBytes) {
        throw ApplicationFailure.nonRetryable(
          `cell ${doc.spec.id}: spec.run.limits.memoryMaxBytes ${memoryBytes} is more than host ${hostId}'s whole memory budget (${room.limits.memoryBudgetBytes} bytes, CELLOS_MEMORY_BUDGET_BYTES)`,
          failureTypes.rejected,
        );
      }
      const drained = drain.current();
      if (drained) {
        throw ApplicationFailure.retryable(`host ${hostId} is draining (${drained.reason})`, HOST_FULL);
      }
      if (!room.tryTake(sandboxId, memoryBytes, CLAIM_HOLD_MS)) {
        const use = room.use();
        throw ApplicationFailure.retryable(
          `host ${hostId} has no room for cell ${doc.spec.id} (${use.cells}/${room.limits.maxCells} cells, ${use.memoryBytes}+${memoryBytes}/${room.limits.memoryBudgetBytes} bytes)`,
          HOST_FULL,
        );
      }
      if (Context.current().info.attempt > 1)
        log('claimed cell after retries', { ...cell, attempt: Context.current().info.attempt });
      // Its bundle (or warm sandbox) is made while the claim's answer travels and the run comes back
      // to this host: the run's own prepare joins it or finds its record (a failure is the run's to
      // report). What it makes is the cell's, removed by the run or the workflow's cleanup.
      void host.prepare(doc, input.runKey).catch(() => undefined);
      return { hostId };
    },
  };
}
