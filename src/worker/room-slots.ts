// Slots for the launch queues that follow a host's room: a poller of a launch queue gets a slot only
// while the host could take one more cell, so a full (or draining) host stops asking for cells and
// they wait in Temporal, visible as a backlog, until any host has room. A slot is only leave to ask:
// the claim itself takes the room (claimCell), and a claim that finds no room left (several queues
// polled at once) is retried by Temporal, on any host.
import type { ActivitySlotInfo, CustomSlotSupplier, SlotPermit } from '@temporalio/worker';
import type { HostRoom } from '../host/room.ts';

/** How often a waiting reservation looks again, besides being woken when room is freed. */
const RECHECK_MS = 250;

export function roomSlotSupplier(room: HostRoom, isOpen: () => boolean): CustomSlotSupplier<ActivitySlotInfo> {
  let permits = 0;
  // A slot for one more cell of the host's default size, on top of the slots given out already.
  const canGive = () => isOpen() && room.fits(permits + 1, (permits + 1) * room.limits.defaultCellMemoryBytes);
  return {
    type: 'custom',
    async reserveSlot(_ctx, abortSignal): Promise<SlotPermit> {
      while (!canGive()) await roomFreed(room, abortSignal);
      permits++;
      return {};
    },
    tryReserveSlot() {
      // Eager tasks: launch queues get none (no workflow schedules on them from this worker).
      if (!canGive()) return null;
      permits++;
      return {};
    },
    markSlotUsed() {},
    releaseSlot() {
      permits = Math.max(0, permits - 1);
    },
  };
}

/** Resolves when room may have been freed (or after RECHECK_MS); rejects once `signal` aborts. */
function roomFreed(room: HostRoom, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      off();
      signal.removeEventListener('abort', onAbort);
    };
    const onFreed = () => {
      cleanup();
      resolve();
    };
    const onAbort = () => {
      cleanup();
      reject(signal.reason ?? abortError());
    };
    const timer = setTimeout(onFreed, RECHECK_MS);
    const off = room.onFreed(onFreed);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

function abortError(): Error {
  const err = new Error('slot reservation aborted');
  err.name = 'AbortError';
  return err;
}
