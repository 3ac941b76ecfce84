// Starting a prepared cell: hand its folder to the spawner, whose supervisor runs `runsc run` with
// the launch.env that prepare wrote; or, for a cell in a warm sandbox, open the gate its supervisor
// waits at. Safe to retry at any point: a sandbox id is launched once.
import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cellFile, pathExists, readKill, readSupervisorPid, tempPathFor, writeNeverStarted } from './cell-files.ts';
import { signalSupervisor } from './processes.ts';
import type { CellHandle, HostContext } from './context.ts';

/** How long a retry waits for the supervisor of an earlier launch request to show up. */
const EARLIER_LAUNCH_WAIT_MS = 3000;

/** Starts the supervisor unless it was started already. */
export async function start(ctx: HostContext, handle: CellHandle): Promise<{ supervisorPid: number | undefined }> {
  if (handle.runscId !== undefined) return openGate(ctx, handle);
  const known = await readSupervisorPid(handle.cellDir);
  if (known !== undefined) return { supervisorPid: known };
  // An earlier attempt asked for the launch and died before the supervisor wrote its pid:
  // give that launch time to show up rather than start a second sandbox with the same id.
  const requested = join(handle.cellDir, cellFile.launchRequested);
  if (await pathExists(requested)) {
    const pid = await waitForPid(handle, EARLIER_LAUNCH_WAIT_MS);
    if (pid !== undefined) return { supervisorPid: pid };
  } else {
    await writeFile(requested, '');
  }
  // The request first, then the look for a kill; a kill writes its record, then looks for the
  // request (kill.ts). One of the two sees the other: a kill never takes the cell for unstarted
  // while this launches it.
  if (await readKill(handle.cellDir)) {
    // Killed before it started: record an outcome without launching anything.
    await writeNeverStarted(handle.cellDir);
    return { supervisorPid: undefined };
  }
  ctx.spawner.launch(handle.sandboxId, handle.cellDir);
  // The supervisor writes supervisor.pid as its first act (well under a millisecond later).
  return { supervisorPid: undefined };
}

/**
 * A cell in a warm sandbox: its supervisor was started by prepare and waits, ready, at its gate.
 * The gate file says go (or stop, when a kill was asked for before the start), then a signal wakes a
 * supervisor already waiting, which reads the file: one that has not got there yet reads it when it
 * does. Repeating it is harmless (a retry's start, after a crash).
 */
async function openGate(ctx: HostContext, handle: CellHandle): Promise<{ supervisorPid: number | undefined }> {
  const killed = (await readKill(handle.cellDir)) !== undefined;
  // A kill that came first may have put its stop there: then that is the answer.
  const word = await writeGate(handle, killed ? 'stop' : 'go');
  let pid = await readSupervisorPid(handle.cellDir);
  if (pid === undefined) {
    // Asked for by prepare: give it time to show up; a request that died with the process that
    // made it (or was never made) is made again.
    if (await pathExists(join(handle.cellDir, cellFile.launchRequested))) {
      pid = await waitForPid(handle, EARLIER_LAUNCH_WAIT_MS);
    }
    if (pid === undefined) {
      await requestLaunch(ctx, handle);
      return { supervisorPid: undefined };
    }
  }
  await signalSupervisor(pid, handle.sandboxId, word === 'go' ? 'SIGUSR1' : 'SIGUSR2');
  return { supervisorPid: pid };
}

/**
 * The gate file of a warm cell's supervisor. The first word written there stays: a start's go and
 * a kill's stop are linked into place only where no gate is yet (link never replaces), and each
 * side reads what won. A stop that must win anyway (a kill of a cell not yet past its gate, a
 * removal) is renamed over a go, and the supervisor is sent SIGUSR2, which it heeds until it runs
 * the cell's process.
 */
export async function writeGate(handle: CellHandle, word: 'go' | 'stop', force = word === 'stop'): Promise<string> {
  const path = join(handle.cellDir, cellFile.gate);
  const tmp = tempPathFor(path);
  await writeFile(tmp, `${word}\n`);
  if (force) {
    await rename(tmp, path);
    return word;
  }
  try {
    await link(tmp, path);
    return word;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return (await readFile(path, 'utf8')).trim();
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** Asks the spawner for the cell's supervisor; launch.requested tells a retry that it was asked. */
export async function requestLaunch(ctx: HostContext, handle: CellHandle): Promise<void> {
  await writeFile(join(handle.cellDir, cellFile.launchRequested), '');
  ctx.spawner.launch(handle.sandboxId, handle.cellDir);
}

async function waitForPid(handle: CellHandle, ms: number): Promise<number | undefined> {
  const until = Date.now() + ms;
  for (;;) {
    const pid = await readSupervisorPid(handle.cellDir);
    if (pid !== undefined || Date.now() > until) return pid;
    await sleep(5);
  }
}
