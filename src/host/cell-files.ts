// The on-disk record of one cell on its host: <cellsDir>/<sandboxId>/. Everything a later
// process (a restarted worker, the reconciler) needs to re-attach to a running sandbox.
import { open, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KillRecord, SupervisorRecord } from '../cell/outcome.ts';
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

export const cellFile = {
  record: 'cell.json',
  supervisorPid: 'supervisor.pid',
  result: 'result.json',
  kill: 'kill.json',
  stdout: 'stdout',
  stderr: 'stderr',
  runscRunLog: 'runsc.run.log',
  runscBootLog: 'runsc.boot.log',
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
/** What the supervisor script writes when runsc run returns. */
export interface SupervisorResultFile {
  readonly runscExitCode: number;
  readonly oomCount: number | null;
}

export const readResult = (dir: string) => readJson<SupervisorResultFile>(join(dir, cellFile.result));

/** The full record of a finished cell: the result file plus what runsc and the files say. */
export async function readSupervisorRecord(dir: string, result: SupervisorResultFile): Promise<SupervisorRecord> {
  const [bootLog, runLog, started, ended, stdoutDropped, stderrDropped] = await Promise.all([
    readTail(join(dir, cellFile.runscBootLog), 16 * 1024),
    readTail(join(dir, cellFile.runscRunLog), 16 * 1024),
    mtimeMs(join(dir, 'started')),
    mtimeMs(join(dir, 'ended')),
    readCount(join(dir, 'stdout.dropped')),
    readCount(join(dir, 'stderr.dropped')),
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
export const readKill = (dir: string) => readJson<KillRecord>(join(dir, cellFile.kill));

export async function readSupervisorPid(dir: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(await readFile(join(dir, cellFile.supervisorPid), 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
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

/** Is `pid` still the supervisor of this cell (and not a reused pid)? */
export async function isSupervisorAlive(pid: number, sandboxId: string): Promise<boolean> {
  try {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmdline.includes(`cellos-supervisor:${sandboxId}`)) return false;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // A zombie has finished; its parent simply has not reaped it yet.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
