// Starting a prepared cell: hand its folder to the spawner, whose supervisor runs `runsc run` with
// the launch.env that prepare wrote. Safe to retry at any point: a sandbox id is launched once.
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cellFile, readKill, readSupervisorPid, writeNeverStarted } from './cell-files.ts';
import type { CellHandle, HostContext } from './context.ts';

/** How long a retry waits for the supervisor of an earlier launch request to show up. */
const EARLIER_LAUNCH_WAIT_MS = 3000;

/** Starts the supervisor unless it was started already. */
export async function start(ctx: HostContext, handle: CellHandle): Promise<{ supervisorPid: number | undefined }> {
  const known = await readSupervisorPid(handle.cellDir);
  if (known !== undefined) return { supervisorPid: known };
  if (await readKill(handle.cellDir)) {
    // Killed before it started: record an outcome without launching anything.
    await writeNeverStarted(handle.cellDir);
    return { supervisorPid: undefined };
  }
  // An earlier attempt asked for the launch and died before the supervisor wrote its pid:
  // give that launch time to show up rather than start a second sandbox with the same id.
  const requested = join(handle.cellDir, cellFile.launchRequested);
  if (await exists(requested)) {
    const pid = await waitForPid(handle, EARLIER_LAUNCH_WAIT_MS);
    if (pid !== undefined) return { supervisorPid: pid };
  }
  await writeFile(requested, '');
  ctx.spawner.launch(handle.sandboxId, handle.cellDir);
  // The supervisor writes supervisor.pid as its first act (well under a millisecond later).
  return { supervisorPid: undefined };
}

async function waitForPid(handle: CellHandle, ms: number): Promise<number | undefined> {
  const until = Date.now() + ms;
  for (;;) {
    const pid = await readSupervisorPid(handle.cellDir);
    if (pid !== undefined || Date.now() > until) return pid;
    await sleep(20);
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
