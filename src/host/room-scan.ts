// The sandboxes running on a host, from its cell records: what a host's room counts besides the
// cells its own worker process took (a previous process may have left some running, or a claim's
// hold lapsed while its sandbox waits at the gate).
import { readdir } from 'node:fs/promises';
import type { CellHost } from './cell-host.ts';
import type { Occupant } from './room.ts';
import { readSupervisorPid } from './cell-files.ts';
import type { CellHandle } from './context.ts';
import { isSupervisorAlive } from './processes.ts';

export async function runningOccupants(host: CellHost): Promise<Occupant[]> {
  const ids = await readdir(host.config.cellsDir).catch(() => [] as string[]);
  const found = await Promise.all(
    ids.map(async (id): Promise<Occupant | undefined> => {
      const handle = await host.attach(id).catch(() => undefined);
      if (!handle) return undefined;
      const state = await host.state(handle).catch(() => undefined);
      // A sandbox booted at its claim waits at its gate, 'prepared', but holds its memory already.
      if (state !== 'running' && !(state === 'prepared' && (await supervisorRuns(handle)))) return undefined;
      return { sandboxId: id, memoryBytes: handle.memoryMaxBytes ?? host.config.memory.defaultBytes };
    }),
  );
  return found.filter((o): o is Occupant => o !== undefined);
}

async function supervisorRuns(handle: CellHandle): Promise<boolean> {
  const pid = await readSupervisorPid(handle.cellDir);
  return pid !== undefined && (await isSupervisorAlive(pid, handle.sandboxId));
}
