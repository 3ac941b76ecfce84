// Where a cell stands and how it ended, from its files alone (nothing polls runsc): the
// supervisor's record becomes the CellExit, or the cell is lost when its supervisor is gone
// without one.
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { outcomeOf } from '../cell/outcome.ts';
import { EMPTY_OUTPUT } from '../cell/output.ts';
import type { CellExit } from '../contract/types.ts';
import {
  cellFile,
  hasResult,
  readKill,
  readOutputTail,
  readSupervisorPid,
  readSupervisorRecord,
  readTail,
  pathExists,
} from './cell-files.ts';
import type { CellHandle, HostContext } from './context.ts';
import { findHostProcesses, isSupervisorAlive } from './processes.ts';
import { cellRedactor } from './redact.ts';
import { watchDir, type DirWatch } from './watch.ts';

/** How a sandbox ended: declared in the contract, since the run activity reports it as is. */
export type { CellExit };

export type CellState = 'prepared' | 'running' | 'exited' | 'lost';

export interface WaitOptions {
  readonly signal?: AbortSignal | undefined;
  /** Called about every `tickMs` while the cell runs (activities heartbeat here). */
  readonly onTick?: (() => void) | undefined;
  readonly tickMs?: number | undefined;
}

/** A supervisor missing this long (never started, or gone without a record) makes the cell lost. */
const LOST_AFTER_MS = 3000;

export async function cellState(handle: CellHandle): Promise<CellState> {
  if (await hasResult(handle.cellDir)) return 'exited';
  // A warm cell's supervisor runs from its prepare on, but the cell is started when its gate opens.
  if (handle.runscId !== undefined && !(await pathExists(join(handle.cellDir, cellFile.gate)))) return 'prepared';
  const pid = await readSupervisorPid(handle.cellDir);
  if (pid === undefined) return 'prepared';
  if (await isSupervisorAlive(pid, handle.sandboxId)) return 'running';
  // It may have finished between the two reads.
  if (await hasResult(handle.cellDir)) return 'exited';
  // The pid file may name a supervisor that lost the race for the cell to another still running.
  const scope = { cellsDir: dirname(handle.cellDir), runscRoot: '' };
  const live = await findHostProcesses(scope, handle.sandboxId);
  return live.some((p) => p.kind === 'supervisor') ? 'running' : 'lost';
}

export async function wait(ctx: HostContext, handle: CellHandle, opts: WaitOptions = {}): Promise<CellExit> {
  const changes = watchDir(handle.cellDir, cellFile.result);
  try {
    return await waitWatching(ctx, handle, opts, changes);
  } finally {
    changes.close();
  }
}

async function waitWatching(
  ctx: HostContext,
  handle: CellHandle,
  opts: WaitOptions,
  changes: DirWatch,
): Promise<CellExit> {
  const tickMs = opts.tickMs ?? 1000;
  let lastTick = Date.now();
  let missingSince: number | undefined;
  for (;;) {
    opts.signal?.throwIfAborted();
    const exit = await collect(ctx, handle);
    if (exit) return exit;
    const st = await cellState(handle);
    if (st === 'lost' || st === 'prepared') {
      // 'prepared' too long means the supervisor never started (its launcher died first).
      missingSince ??= Date.now();
      if (Date.now() - missingSince > LOST_AFTER_MS) {
        const again = await collect(ctx, handle);
        if (again) return again;
        await logLost(ctx, handle, st);
        return lostExit(
          handle,
          st === 'lost'
            ? 'its supervisor exited without a record (host restarted or process killed)'
            : 'its supervisor was never started',
        );
      }
    } else {
      missingSince = undefined;
    }
    if (Date.now() - lastTick >= tickMs) {
      lastTick = Date.now();
      opts.onTick?.();
    }
    // The result file appears: inotify wakes us at once; the timeout covers a missed event.
    await changes.next(250, opts.signal);
  }
}

/** The CellExit of a finished cell, from the supervisor's record; undefined while it runs. */
async function collect(ctx: HostContext, handle: CellHandle): Promise<CellExit | undefined> {
  const dir = handle.cellDir;
  const record = await readSupervisorRecord(dir, handle.runscId !== undefined);
  if (!record) return undefined;
  const tailBytes = ctx.config.outputTailBytes;
  const [kill, runscError, stdout, stderr] = await Promise.all([
    readKill(dir),
    record.waitStatus === null ? runscFailure(handle, record.runscExitCode) : undefined,
    readOutputTail(dir, 'stdout', tailBytes, record.stdoutDropped),
    readOutputTail(dir, 'stderr', tailBytes, record.stderrDropped),
  ]);
  // The result goes into the workflow's history: no secret value of the cell in it.
  const redact = cellRedactor(ctx.config.secrets, handle.secretNames);
  return {
    cellId: handle.cellId,
    sandboxId: handle.sandboxId,
    hostId: handle.hostId,
    outcome: outcomeOf(record, kill, {
      runscError: runscError === undefined ? undefined : redact(runscError),
      memoryMaxBytes: handle.memoryMaxBytes,
      warm: handle.runscId !== undefined,
    }),
    startedAtMs: record.startedAtMs,
    endedAtMs: record.endedAtMs,
    stdout: { ...stdout, tail: redact(stdout.tail) },
    stderr: { ...stderr, tail: redact(stderr.tail) },
    ...(handle.runscId !== undefined ? { warmSandbox: handle.runscId } : {}),
  };
}

/** Why runsc itself failed, from its log and the workload's stderr. */
async function runscFailure(handle: CellHandle, code: number): Promise<string> {
  const warm = handle.runscId !== undefined;
  const dir = handle.cellDir;
  const [log, stderr, hostnameErr] = await Promise.all([
    readTail(join(dir, warm ? cellFile.runscExecLog : cellFile.runscRunLog), 64 * 1024),
    readTail(join(dir, cellFile.stderr), 2000),
    warm ? readTail(join(dir, cellFile.hostnameErr), 2000) : undefined,
  ]);
  const errors = log.text
    .split('\n')
    .filter((l) => /^[EFW]\d{4}|FATAL|error/i.test(l))
    .slice(-5)
    .join('\n');
  const command = warm ? `runsc exec in warm sandbox ${handle.runscId}` : 'runsc run';
  const hostname = hostnameErr?.text.trim() ? `\nsetting the hostname: ${hostnameErr.text.trim()}` : '';
  return `${command} exited ${code} for cell ${handle.cellId} (sandbox ${handle.sandboxId})${errors ? `:\n${errors}` : ''}${hostname}${stderr.text ? `\nstderr: ${stderr.text.trim()}` : ''}`;
}

/** What the cell's folder held when it was called lost: the only evidence of how it got there. */
async function logLost(ctx: HostContext, handle: CellHandle, state: CellState): Promise<void> {
  const files = await readdir(handle.cellDir).catch((err: NodeJS.ErrnoException) => [`(${err.code ?? 'unreadable'})`]);
  ctx.log('cell lost: its supervisor is gone without a record', {
    cellId: handle.cellId,
    sandboxId: handle.sandboxId,
    hostId: handle.hostId,
    phase: 'run',
    state,
    supervisorPid: await readSupervisorPid(handle.cellDir),
    files: files.sort().join(' '),
    ...(handle.runscId !== undefined ? { warm: handle.runscId } : {}),
  });
}

function lostExit(handle: CellHandle, reason: string): CellExit {
  return {
    cellId: handle.cellId,
    sandboxId: handle.sandboxId,
    hostId: handle.hostId,
    outcome: { kind: 'lost', reason },
    startedAtMs: handle.createdAtMs,
    endedAtMs: Date.now(),
    stdout: EMPTY_OUTPUT,
    stderr: EMPTY_OUTPUT,
  };
}
