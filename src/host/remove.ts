// Removing a cell: its sandbox, supervisor, cgroups, bundle and folder, whatever state it is in
// (finished, running, killed half-way, a create that failed, no record at all). Idempotent.
import { rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { listStateFiles, removeStaleLocks, stateFilesOf } from '../runsc/state-dir.ts';
import { cellFile, hasResult, readRecord, readSupervisorPid, runscIdOf } from './cell-files.ts';
import { removeCellCgroup } from './cgroups.ts';
import { cellDirOf, handleOf, type CellHandle, type HostContext } from './context.ts';
import { writeGate } from './launch.ts';
import { unmountScratch } from './scratch.ts';
import { findHostProcesses, isSupervisorAlive, killGroup, killPid, signalSupervisor } from './processes.ts';

/** How long a supervisor gets to finish once its sandbox is killed or deleted. */
const SUPERVISOR_EXIT_WAIT_MS = 5000;
/** How long a removal waits for a sandbox that is still booting to take a signal. */
const BOOT_WAIT_MS = 5000;

/** Deletes the sandbox, its cgroups, bundle and record. Idempotent. */
export async function remove(ctx: HostContext, handle: CellHandle): Promise<void> {
  const { config, runsc } = ctx;
  const id = handle.sandboxId;
  // A cell in a warm sandbox: the container to kill and delete is that sandbox.
  const container = runscIdOf(handle);
  const pid = await readSupervisorPid(handle.cellDir);
  let ended = await hasResult(handle.cellDir);
  // Without a pid file (the record is gone) or a result (killed, lost, never finished), look for
  // what may still run in /proc too: the normal path, a cell that exited, needs no scan.
  const searched = pid === undefined || !ended;
  let supervisors = await liveSupervisors(ctx, id, pid, searched);
  // A warm cell's supervisor may wait at its gate, which no sandbox's end opens: it ends unrun.
  if (handle.runscId !== undefined && supervisors.length > 0) {
    await writeGate(handle, 'stop').catch(() => undefined);
    for (const p of supervisors) await signalSupervisor(p, id, 'SIGUSR2');
  }
  if (supervisors.length > 0) {
    // SIGKILL lets `runsc run` return and remove its own container; `delete --force` of a container
    // that runsc run still holds stops it but then fails here ("context deadline exceeded").
    // 'failed': runsc kill itself failed (not a container that is not running): nothing to wait for.
    const kill = () =>
      runsc.kill(container, 'SIGKILL', { all: true, network: handle.network }).catch(() => 'failed' as const);
    let sent = await kill();
    // Removed right after its launch, a sandbox may still be booting: `runsc run` has not made the
    // container yet, nothing takes the signal, and a delete now would run before the container
    // exists (runsc run then boots it anyway, and killed later it leaves a stopped container in
    // runsc's state). Retry until it takes the signal, its supervisor ends, or the wait is over.
    for (const until = Date.now() + BOOT_WAIT_MS; sent === 'not-running' && handle.runscId === undefined;) {
      if (Date.now() >= until || (await hasResult(handle.cellDir))) break;
      if ((await waitGone(supervisors, id, 0)).length === 0) break;
      await sleep(25);
      sent = await kill();
    }
    ended = await hasResult(handle.cellDir);
    // Signalled, or its workload already ended (its result is written): its runsc run is returning.
    if (sent === 'sent' || ended) supervisors = await waitGone(supervisors, id, SUPERVISOR_EXIT_WAIT_MS);
  }
  // runsc run removes its container when it returns; delete it ourselves when it did not.
  if (supervisors.length > 0 || !ended || (await runscKnows(ctx, container))) {
    await runsc.delete(container, { network: handle.network });
  }
  if (supervisors.length > 0) {
    // With its sandbox gone the supervisor finishes on its own; make sure of it.
    for (const p of await waitGone(supervisors, id, SUPERVISOR_EXIT_WAIT_MS)) killGroup(p);
  }
  if (searched) {
    // A sandbox runsc has no state for (a create that failed part-way, a reused id) survives delete.
    for (const sandbox of new Set([id, container])) {
      for (const p of await findHostProcesses(config, sandbox)) {
        if (p.kind === 'supervisor') killGroup(p.pgid);
        else killPid(p.pid);
      }
    }
  }
  await removeStaleLocks(config.runscRoot, container);
  await removeCellFiles(ctx, handle);
  if (handle.runscId !== undefined) ctx.warmPool?.refill();
}

/** remove() for a sandbox that may have no record (its start was interrupted). */
export async function removeById(ctx: HostContext, sandboxId: string): Promise<void> {
  const record = await readRecord(cellDirOf(ctx, sandboxId));
  await remove(
    ctx,
    handleOf(
      ctx,
      record ?? {
        cellId: '',
        sandboxId,
        runKey: '',
        hostId: ctx.config.hostId,
        network: 'none',
        bundleDir: join(ctx.config.bundleDir, sandboxId),
        gracefulShutdownSeconds: 0,
        createdAtMs: 0,
      },
    ),
  );
}

/** The cell's own files: cgroups, bundle and folder (prepare's undo when it fails). */
export async function removeCellFiles(ctx: HostContext, handle: CellHandle): Promise<void> {
  // A warm sandbox's cgroups and folder (its boot logs) carry its own id.
  const ids = [...new Set([handle.sandboxId, runscIdOf(handle)])];
  for (const id of ids) await removeCellCgroup(ctx.cgroupMode, ctx.config.cgroupParent, id);
  await rm(handle.bundleDir, { recursive: true, force: true });
  for (const dir of ids.map((id) => cellDirOf(ctx, id))) {
    // The supervisor's fifos first: Deno's recursive rm opens a fifo and blocks on it.
    await Promise.all(
      [cellFile.stdoutPipe, cellFile.stderrPipe].map((f) => unlink(join(dir, f)).catch(() => undefined)),
    );
    // Its scratch tmpfs too (artifacts): rm would empty it and then fail on its mount point.
    await unmountScratch(dir);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Whether runsc's state folder still has a file of this sandbox (a container, or a stale lock). */
async function runscKnows(ctx: HostContext, sandboxId: string): Promise<boolean> {
  const files = await listStateFiles(ctx.config.runscRoot).catch(() => []);
  return stateFilesOf(files, sandboxId).length > 0;
}

/** Supervisor pids of a sandbox that still run: the one in its pid file, and (search) any in /proc. */
async function liveSupervisors(
  ctx: HostContext,
  sandboxId: string,
  pid: number | undefined,
  search: boolean,
): Promise<number[]> {
  const pids = new Set<number>();
  if (pid !== undefined && (await isSupervisorAlive(pid, sandboxId))) pids.add(pid);
  if (search) {
    // Group leaders only: the supervisor's subshells share its argument vector.
    for (const p of await findHostProcesses(ctx.config, sandboxId)) {
      if (p.kind === 'supervisor' && p.pid === p.pgid) pids.add(p.pid);
    }
  }
  return [...pids];
}

/** Waits up to `ms` for the supervisors to exit; returns those still alive. */
async function waitGone(pids: readonly number[], sandboxId: string, ms: number): Promise<number[]> {
  const until = Date.now() + ms;
  let alive = [...pids];
  for (;;) {
    const checks = await Promise.all(alive.map((p) => isSupervisorAlive(p, sandboxId)));
    alive = alive.filter((_, i) => checks[i]);
    if (alive.length === 0 || Date.now() >= until) return alive;
    await sleep(50);
  }
}
