// Claiming a cell from a launch queue: the pull half of placement. Only a host with room polls a
// launch queue (see src/worker/room-slots.ts); the claim takes that room for the cell and tells the
// workflow which host took it, and the workflow sends the run to that host's own queue. The claim
// holds the room for a while; the run adopts it when it arrives.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { cellMemoryBytes } from '../src/bundle/config.ts';
import { failureTypes, type CellActivities } from '../src/contract/index.ts';
import { parseCellDocument } from '../src/document/parse.ts';
import type { CellDocument } from '../src/document/schema.ts';
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
  /** False while the worker stops: no new cell is taken. */
  readonly accepting?: (() => boolean) | undefined;
  readonly log?: (message: string, fields: Record<string, unknown>) => void;
}

/**
 * Takes room on this host for the cell: undefined when it did (and its preparation has started),
 * otherwise why not, and whether another host may take it (retryable) or none can (rejected).
 */
export type ClaimHere = (doc: CellDocument, runKey: string) => ClaimRefusal | undefined;

export interface ClaimRefusal {
  readonly message: string;
  readonly type: typeof HOST_FULL | typeof failureTypes.rejected;
}

export function createClaimHere({ host, room, drain, labels, accepting = () => true }: ClaimDeps): ClaimHere {
  const hostId = host.config.hostId;
  return (doc, runKey) => {
    const wanted = doc.spec.placement?.labels ?? {};
    // The queue says the labels match; a task put on the wrong queue by hand must not get through.
    if (!satisfies(labels, wanted)) {
      return {
        message: `host ${hostId} {${formatLabels(labels)}} lacks the labels cell ${doc.spec.id} asks for {${formatLabels(wanted)}}`,
        type: HOST_FULL,
      };
    }
    const memoryBytes = cellMemoryBytes(doc, host.config.memory);
    if (memoryBytes > room.limits.memoryBudgetBytes) {
      return {
        message: `cell ${doc.spec.id}: spec.run.limits.memoryMaxBytes ${memoryBytes} is more than host ${hostId}'s whole memory budget (${room.limits.memoryBudgetBytes} bytes, CELLOS_MEMORY_BUDGET_BYTES)`,
        type: failureTypes.rejected,
      };
    }
    const drained = drain.current();
    if (drained) return { message: `host ${hostId} is draining (${drained.reason})`, type: HOST_FULL };
    if (!accepting()) return { message: `host ${hostId} is stopping`, type: HOST_FULL };
    const sandboxId = host.sandboxIdFor(doc.spec.id, runKey);
    if (!room.tryTake(sandboxId, memoryBytes, CLAIM_HOLD_MS)) {
      const use = room.use();
      return {
        message: `host ${hostId} has no room for cell ${doc.spec.id} (${use.cells}/${room.limits.maxCells} cells, ${use.memoryBytes}+${memoryBytes}/${room.limits.memoryBudgetBytes} bytes)`,
        type: HOST_FULL,
      };
    }
    // Its bundle (or warm sandbox) is made while the answer travels and the run comes back to this
    // host: the run's own prepare joins it or finds its record (a failure is the run's to report).
    // What it makes is the cell's, removed by the run or the workflow's cleanup.
    void host.prepare(doc, runKey).catch(() => undefined);
    return undefined;
  };
}

export function createClaimActivity(deps: ClaimDeps): Pick<CellActivities, 'claimCell'> {
  const { host, log = () => undefined } = deps;
  const hostId = host.config.hostId;
  const claimHere = createClaimHere(deps);
  return {
    async claimCell(input) {
      const doc = asActivityFailure(() => parseCellDocument(input.document));
      if (doc.spec.id !== input.cellId) {
        throw ApplicationFailure.nonRetryable(
          `claimCell: cellId ${JSON.stringify(input.cellId)} is not the document's spec.id ${JSON.stringify(doc.spec.id)}`,
          failureTypes.invalidDocument,
        );
      }
      const refused = asActivityFailure(() => claimHere(doc, input.runKey));
      if (refused) {
        throw refused.type === HOST_FULL
          ? ApplicationFailure.retryable(refused.message, HOST_FULL)
          : ApplicationFailure.nonRetryable(refused.message, refused.type);
      }
      if (Context.current().info.attempt > 1) {
        const sandboxId = host.sandboxIdFor(doc.spec.id, input.runKey);
        log('claimed cell after retries', {
          cellId: doc.spec.id,
          hostId,
          sandboxId,
          phase: 'claim',
          attempt: Context.current().info.attempt,
        });
      }
      return { hostId };
    },
  };
}
