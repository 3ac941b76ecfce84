// The sandboxes running on a host, from its cell records: what a host's room counts besides the
// cells its own worker process took (a previous process may have left some running).
import { readdir } from 'node:fs/promises';
import type { CellHost } from './cell-host.ts';
import type { Occupant } from './room.ts';

export async function runningOccupants(host: CellHost): Promise<Occupant[]> {
  const ids = await readdir(host.config.cellsDir).catch(() => [] as string[]);
  const found = await Promise.all(
    ids.map(async (id): Promise<Occupant | undefined> => {
      const handle = await host.attach(id).catch(() => undefined);
      if (!handle || (await host.state(handle).catch(() => undefined)) !== 'running') return undefined;
      return { sandboxId: id, memoryBytes: handle.memoryMaxBytes ?? host.config.memory.defaultBytes };
    }),
  );
  return found.filter((o): o is Occupant => o !== undefined);
}
