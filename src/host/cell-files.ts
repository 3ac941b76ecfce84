// The on-disk record of one cell on its host: <cellsDir>/<sandboxId>/. Everything a later
// process (a restarted worker, the reconciler) needs to re-attach to a running sandbox.
import { open, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KillRecord, SupervisorRecord } from '../cell/outcome.ts';
import type { OutputTail } from '../cell/output.ts';
import type { RunscNetwork } from '../runsc/driver.ts';

export interface CellRecord {
  readonly cellId: string;
  readonly sandboxId: string;
  readonly runKey: string;
  readonly hostId: string;
  readonly network: RunscNetwork;
  readonly bundleDir: string;
  readonly gracefulShutdownSeconds: number;
  readonly memoryMaxBytes?: number | undefined;
  readonly createdAtMs: number;
}

/** The files of a cell folder; those from supervisor.pid down are written by supervisor.sh. */
export const cellFile = {
  /** Written last by prepare: its presence means "prepared". */
  record: 'cell.json',
  /** The supervisor's parameters, sourced by supervisor.sh. */
  launchEnv: 'launch.env',
  /** A launch was asked for: a retry waits for that supervisor instead of launching a second. */
  launchRequested: 'launch.requested',
  kill: 'kill.json',
  supervisorPid: 'supervisor.pid',
  /** The supervisor's fifos (outside the folder's top level, which a waiter watches). */
  stdoutPipe: 'pipes/out',
  stderrPipe: 'pipes/err',
  stdout: 'stdout',
  stderr: 'stderr',
  stdoutDropped: 'stdout.dropped',
  stderrDropped: 'stderr.dropped',
  started: 'started',
  ended: 'ended',
  runscRunLog: 'runsc.run.log',
  runscBootLog: 'runsc.boot.log',
  result: 'result.json',
} as const;

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, `${JSON.stringify(value)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}

export async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (err instanceof SyntaxError) return undefined; // being written: the caller looks again
    throw err;
  }
}

export const readRecord = (dir: string) => readJson<CellRecord>(join(dir, cellFile.record));
export const readKill = (dir: string) => readJson<KillRecord>(join(dir, cellFile.kill));

/** What supervisor.sh writes to result.json when runsc run returns. */
interface ResultFile {
  readonly runscExitCode: number;
  readonly oomCount: number | null;
}

const readResult = (dir: string) => readJson<ResultFile>(join(dir, cellFile.result));

/** Whether the supervisor recorded the end (a result.json being written does not count yet). */
export async function hasResult(dir: string): Promise<boolean> {
  return (await readResult(dir)) !== undefined;
}

/** Records the end of a cell killed before its supervisor was started, as the supervisor would. */
export async function writeNeverStarted(dir: string): Promise<void> {
  await Promise.all([cellFile.started, cellFile.ended].map((f) => writeFile(join(dir, f), '')));
  await writeJsonAtomic(join(dir, cellFile.result), { runscExitCode: -1, oomCount: null } satisfies ResultFile);
}

/** The full record of a finished cell: its result.json plus what runsc and the files say; undefined until it ends. */
export async function readSupervisorRecord(dir: string): Promise<SupervisorRecord | undefined> {
  const result = await readResult(dir);
  if (!result) return undefined;
  const [bootLog, runLog, started, ended, stdoutDropped, stderrDropped] = await Promise.all([
    readTail(join(dir, cellFile.runscBootLog), 16 * 1024),
    readTail(join(dir, cellFile.runscRunLog), 16 * 1024),
    mtimeMs(join(dir, cellFile.started)),
    mtimeMs(join(dir, cellFile.ended)),
    readCount(join(dir, cellFile.stdoutDropped)),
    readCount(join(dir, cellFile.stderrDropped)),
  ]);
  // The sandbox (`runsc boot`) logs the workload's own wait status. `runsc run` logs one too, but
  // when the sandbox exits quickly it reports the sandbox process's exit code instead (SIGKILL
  // became exit 137 in 23 of 60 runs under load), so it only stands in when the sandbox left no
  // line (the sandbox itself was killed, e.g. by the OOM killer).
  const waitStatus = lastExitStatus(bootLog.text) ?? lastExitStatus(runLog.text);
  return {
    runscExitCode: result.runscExitCode,
    waitStatus,
    startedAtMs: started ?? 0,
    endedAtMs: ended ?? started ?? 0,
    oomCount: result.oomCount,
    stdoutDropped,
    stderrDropped,
  };
}

function lastExitStatus(log: string): number | null {
  const last = [...log.matchAll(/Exiting with status: (\d+)/g)].at(-1);
  return last ? Number(last[1]) : null;
}

async function mtimeMs(path: string): Promise<number | undefined> {
  return stat(path).then(
    (s) => Math.round(s.mtimeMs),
    () => undefined,
  );
}

async function readCount(path: string): Promise<number> {
  const n = Number.parseInt(await readFile(path, 'utf8').catch(() => '0'), 10);
  return Number.isFinite(n) ? n : 0;
}

export async function readSupervisorPid(dir: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(await readFile(join(dir, cellFile.supervisorPid), 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the sandbox got as far as starting the workload (runsc's boot log says so). */
export async function workloadStarted(dir: string): Promise<boolean> {
  const boot = await readFile(join(dir, cellFile.runscBootLog), 'utf8').catch(() => '');
  return boot.includes('Process should have started');
}

/** The last `maxBytes` of the captured stdout or stderr; the dropped count comes from the caller. */
export async function readOutputTail(
  dir: string,
  stream: 'stdout' | 'stderr',
  maxBytes: number,
  droppedBytes: number,
): Promise<OutputTail> {
  const { text, bytes } = await readTail(join(dir, cellFile[stream]), maxBytes);
  return { tail: text, bytes, droppedBytes };
}

/** The last `maxBytes` of a file, decoded as UTF-8 (a split character becomes U+FFFD). */
export async function readTail(path: string, maxBytes: number): Promise<{ text: string; bytes: number }> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch {
    return { text: '', bytes: 0 };
  }
  try {
    const { size } = await fh.stat();
    const length = Math.min(size, maxBytes);
    const buf = new Uint8Array(length);
    if (length > 0) await fh.read(buf, 0, length, size - length);
    return { text: new TextDecoder().decode(buf), bytes: size };
  } finally {
    await fh.close();
  }
}
