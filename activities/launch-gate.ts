// The last check before a sandbox starts: it must hold room on the host. A cell claimed from a
// launch queue holds it already (the claim's room is adopted); a run that came without a claim (a
// cell started before pull placement, or a retry after the worker restarted) waits here for room.
// Either way no host runs more than its maximum, even when runs arrive faster than cells end.
import { readKill } from '../src/host/cell-files.ts';
import type { CellHandle, CellHost } from '../src/host/cell-host.ts';
import type { HostRoom, RoomUse } from '../src/host/room.ts';

export interface LaunchGate {
  /**
   * Starts the sandbox once it holds room, unless it was launched already (a re-attach). True when
   * this call started it.
   */
  launch(handle: CellHandle, opts: LaunchGateWaitOptions): Promise<boolean>;
}

export interface LaunchGateWaitOptions {
  readonly signal: AbortSignal;
  /** Called about every second while the host is full (the run activity heartbeats here). */
  readonly onWait: (use: RoomUse) => void;
}

export function createLaunchGate(host: CellHost, room: HostRoom | undefined): LaunchGate {
  return {
    async launch(handle, { signal, onWait }) {
      if ((await host.state(handle)) !== 'prepared') return false; // started by an earlier attempt
      if (room) {
        const memory = handle.memoryMaxBytes ?? room.limits.defaultCellMemoryBytes;
        // Killed while it waited (its deadline passed): start() records it as never started at once.
        await room.take(handle.sandboxId, memory, {
          signal,
          onWait,
          giveUp: async () => (await readKill(handle.cellDir)) !== undefined,
        });
      }
      await host.start(handle);
      return true;
    },
  };
}
