// Killing a cell on a deadline or a request: SIGTERM, the grace, then SIGKILL. The kill record is
// written before each signal, so that the outcome says who killed it and with what, and so that a
// cell not started yet is never started.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KillReason, KillRecord } from '../cell/outcome.ts';
import {
  cellFile,
  hasResult,
  readKill,
  readRecord,
  readSupervisorPid,
  runscIdOf,
  writeJsonAtomic,
  writeNeverStarted,
  pathExists,
} from './cell-files.ts';
import { writeGate } from './launch.ts';
import { signalSupervisor } from './processes.ts';
import type { CellHandle, HostContext } from './context.ts';
import { cellState } from './wait.ts';

export interface KillOptions {
  readonly reason: KillReason;
  readonly message?: string | undefined;
  /** SIGTERM-to-SIGKILL grace; the document's gracefulShutdownSeconds by default. */
  readonly graceSeconds?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

type KillSignal = 'SIGTERM' | 'SIGKILL';

/** How long SIGKILL is retried while a sandbox is still booting and cannot take it yet. */
const SIGKILL_TRIES_MS = 5000;

export async function kill(ctx: HostContext, handle: CellHandle, opts: KillOptions): Promise<void> {
  const graceMs = (opts.graceSeconds ?? handle.gracefulShutdownSeconds) * 1000;
  if (await finished(handle)) return;
  // A kill asked for again (the workflow repeats it until the run ends; a retry after a crash) goes
  // on from where the last one got: its signals stay in the record, and once SIGKILL was sent the
  // grace is not granted again.
  const previous = await readKill(handle.cellDir);
  const signals: KillSignal[] = previous?.reason === opts.reason ? [...previous.signals] : [];
  if (signals.includes('SIGKILL')) {
    await send(ctx, handle, opts, signals, 'SIGKILL', Date.now() + SIGKILL_TRIES_MS);
    return;
  }
  const termDeadline = Date.now() + graceMs;
  await send(ctx, handle, opts, signals, 'SIGTERM', termDeadline);
  while (Date.now() < termDeadline) {
    if (await finished(handle)) return;
    await sleep(50);
  }
  if (await finished(handle)) return;
  await send(ctx, handle, opts, signals, 'SIGKILL', Date.now() + SIGKILL_TRIES_MS);
}

/** Finished, lost, or already removed by the process that collected its outcome. */
async function finished(handle: CellHandle): Promise<boolean> {
  if (await hasResult(handle.cellDir)) return true;
  if (!(await readRecord(handle.cellDir))) return true;
  return (await cellState(handle)) === 'lost';
}

/** Sends `signal` until runsc takes it or the cell is over; a sandbox still booting cannot take one yet. */
async function send(
  ctx: HostContext,
  handle: CellHandle,
  opts: KillOptions,
  signals: KillSignal[],
  signal: KillSignal,
  until: number,
): Promise<void> {
  if (signals.at(-1) !== signal) signals.push(signal);
  await writeKillRecord(handle, { reason: opts.reason, message: opts.message ?? opts.reason, signals });
  while (Date.now() < until) {
    opts.signal?.throwIfAborted();
    const st = await cellState(handle);
    if (st === 'exited' || st === 'lost') return;
    if (st === 'running') {
      const sent = await signalCell(ctx, handle, signal).catch(() => 'not-running' as const);
      if (sent === 'sent') return;
    }
    if (!(await readRecord(handle.cellDir))) return;
    if (st === 'prepared' && (await stoppedBeforeStart(handle))) return;
    await sleep(100);
  }
}

/**
 * Whether a prepared cell, its kill record written, can no longer start. A cold cell's start writes
 * launch.requested and then looks for a kill record: without the request, it will see the record
 * (and the outcome is written here at once); with it, the launch may be under way, and the signal
 * waits for the sandbox. A warm cell's gate takes the first word put there: a stop put first wins,
 * a go put first means the start is under way.
 */
async function stoppedBeforeStart(handle: CellHandle): Promise<boolean> {
  if (handle.runscId === undefined) {
    if (await pathExists(join(handle.cellDir, cellFile.launchRequested))) return false;
    await writeNeverStarted(handle.cellDir);
    return true;
  }
  if ((await writeGate(handle, 'stop', false)) !== 'stop') return false;
  await stopSupervisor(handle);
  return true;
}

/** SIGUSR2 to a warm cell's supervisor, whose gate says stop: it ends the cell unrun if it can. */
async function stopSupervisor(handle: CellHandle): Promise<void> {
  const supervisor = await readSupervisorPid(handle.cellDir);
  if (supervisor !== undefined) await signalSupervisor(supervisor, handle.sandboxId, 'SIGUSR2');
}

/**
 * SIGTERM goes to the cell's process, as it would to a sandbox's init; SIGKILL to every process in
 * the sandbox. In a warm sandbox the cell's process is not the init: SIGTERM is sent to its pid
 * there, which runsc exec wrote once it started it (until then, nothing can take it yet).
 */
async function signalCell(ctx: HostContext, handle: CellHandle, signal: KillSignal): Promise<'sent' | 'not-running'> {
  const container = runscIdOf(handle);
  if (signal === 'SIGKILL' || handle.runscId === undefined) {
    return ctx.runsc.kill(container, signal, { all: signal === 'SIGKILL', network: handle.network });
  }
  const pid = Number.parseInt(await readFile(join(handle.cellDir, cellFile.execPid), 'utf8').catch(() => ''), 10);
  if (Number.isInteger(pid) && pid > 0) return ctx.runsc.kill(container, signal, { pid, network: handle.network });
  // Still at its gate (started is written once it opens): the supervisor ends it unrun, unless it
  // already read go, and then the process it runs takes the signal once its pid is known.
  if (!(await pathExists(join(handle.cellDir, cellFile.started)))) {
    await writeGate(handle, 'stop');
    await stopSupervisor(handle);
  }
  return 'not-running';
}

async function writeKillRecord(handle: CellHandle, record: KillRecord): Promise<void> {
  await writeJsonAtomic(join(handle.cellDir, cellFile.kill), record).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err; // the cell was removed meanwhile: nothing to kill
  });
}
