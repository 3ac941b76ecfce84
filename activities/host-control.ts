// What a host says about itself and how it is drained, on its control queue (see workflows/hosts.ts).
import type { HostControlActivities, HostStatus } from '../src/contract/index.ts';
import type { HostDrain } from '../src/host/drain.ts';
import type { HostRoom } from '../src/host/room.ts';
import type { Labels } from '../src/placement/labels.ts';

export interface HostControlDeps {
  readonly hostId: string;
  readonly labels: Labels;
  readonly room: HostRoom;
  readonly drain: HostDrain;
  readonly isStopping: () => boolean;
  readonly process: string;
  readonly startedAt: string;
}

export function createHostControlActivities(deps: HostControlDeps): HostControlActivities {
  const status = (): HostStatus => {
    const use = deps.room.use();
    return {
      hostId: deps.hostId,
      labels: deps.labels,
      maxCells: deps.room.limits.maxCells,
      memoryBudgetBytes: deps.room.limits.memoryBudgetBytes,
      cells: use.cells,
      memoryInUseBytes: use.memoryBytes,
      mostCells: deps.room.highWater().cells,
      mostMemoryBytes: deps.room.highWater().memoryBytes,
      draining: deps.drain.current(),
      stopping: deps.isStopping(),
      process: deps.process,
      startedAt: deps.startedAt,
    };
  };
  return {
    describeHost: () => Promise.resolve(status()),
    async setHostDraining({ draining, reason }) {
      await deps.drain.set(draining ? reason || 'drained by cellos drain' : undefined);
      return status();
    },
  };
}
