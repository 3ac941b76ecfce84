// The on-disk record of one cell on its host: <cellsDir>/<sandboxId>/. Everything a later
// process (a restarted worker, the reconciler) needs to re-attach to a running sandbox.
//
// Its small files (the result, the pid, a log's two ends, an output's tail) are read synchronously:
// they were just written and sit in the page cache, so a read never waits on a device, while each
// async call is several trips through libuv's thread pool (open, stat, read, close) and their
// callbacks. A cell's end was read ~2 ms sooner that way, in less CPU.
import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeWaitStatus, type KillRecord, type SupervisorRecord } from '../cell/outcome.ts';
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
  /** The memory the cell's cgroup holds: its document's limit or the host's default. */
  readonly memoryMaxBytes?: number | undefined;
  /** The secrets put into its environment, by name: their values are redacted from its output. */
  readonly secretNames?: readonly string[] | undefined;
  readonly createdAtMs: number;
  /**
   * The runsc container the cell runs in when it is not its own: a warm sandbox the host booted
   * before the cell came (runsc ids cannot be renamed). Signals, deletion and its traces go there.
   */
  readonly runscId?: string | undefined;
  /** spec.export.artifacts, each with the scratch mount (scratch.ts) it lies on. */
  readonly artifacts?: readonly RecordedArtifact[] | undefined;
}

/** An artifact to collect: its name and sandbox path, and where it is on the host. */
export interface RecordedArtifact {
  readonly name: string;
  readonly path: string;
  /** The scratch mount's key (scratch.ts) and the path inside it ('' for the mount itself). */
  readonly scratch: string;
  readonly relativePath: string;
}

/** The runsc container of a cell: its own sandbox id, or the warm sandbox it was given. */
export function runscIdOf(record: CellRecord): string {
  return record.runscId ?? record.sandboxId;
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
  // A cell in a warm sandbox (mode exec): its process spec, runsc exec's log, its pid in the sandbox.
  processSpec: 'process.json',
  runscExecLog: 'runsc.exec.log',
  execPid: 'exec.pid',
  /** Why the warm sandbox's init did not give it the cell's hostname (then nothing ran). */
  hostnameErr: 'hostname.err',
  /** The artifacts exported after the workload ended (export-artifacts.ts): exported once. */
  artifacts: 'artifacts.json',
  /** "go" or "stop": what the supervisor of a warm cell does at its gate. */
  gate: 'gate',
  // A warm sandbox of the pool, until a cell is given it (mode boot).
  pool: 'pool.json',
  booted: 'booted',
  bootErr: 'boot.err',
  /** The init's stdin: the cell's hostname is written into this fifo. */
  nameFifo: 'name.in',
  /** The init's stdout: "named <hostname>" once it set it. */
  named: 'named',
} as const;

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = tempPathFor(path);
  await writeFile(tmp, `${JSON.stringify(value)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}

let temps = 0;
/** A temporary file's path of its own: two writers of one file at once (a kill and a start) each
 * rename theirs; with one shared name, the second rename found nothing (ENOENT). */
export function tempPathFor(path: string): string {
  return `${path}.${process.pid}-${temps++}.tmp`;
}

export async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
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

/** Whether anything exists at `path` (a file a supervisor or another process may write at any time). */
export async function pathExists(path: string): Promise<boolean> {
  return statSync(path, { throwIfNoEntry: false }) !== undefined;
}

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
export async function readSupervisorRecord(dir: string, warm = false): Promise<SupervisorRecord | undefined> {
  const result = await readResult(dir);
  if (!result) return undefined;
  if (warm) return readExecRecord(dir, result);
  const [bootLog, runLog, started, ended, stdoutDropped, stderrDropped] = await Promise.all([
    readLogEnds(join(dir, cellFile.runscBootLog)),
    readLogEnds(join(dir, cellFile.runscRunLog)),
    mtimeMs(join(dir, cellFile.started)),
    mtimeMs(join(dir, cellFile.ended)),
    readCount(join(dir, cellFile.stdoutDropped)),
    readCount(join(dir, cellFile.stderrDropped)),
  ]);
  // The sandbox (`runsc boot`) logs the workload's own wait status. `runsc run` logs one too, but
  // when the sandbox exits quickly it reports the sandbox process's exit code instead (SIGKILL
  // became exit 137 in 23 of 60 runs under load), so it only stands in when the sandbox left no
  // line (the sandbox itself was killed, e.g. by the OOM killer).
  const waitStatus =
    trustedWaitStatus(bootLog, result.runscExitCode) ?? trustedWaitStatus(runLog, result.runscExitCode);
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

/** A cell run by `runsc exec` in a warm sandbox: runsc exec's own log holds the wait status. */
async function readExecRecord(dir: string, result: ResultFile): Promise<SupervisorRecord> {
  const [execLog, started, ended, stdoutDropped, stderrDropped] = await Promise.all([
    readLogEnds(join(dir, cellFile.runscExecLog)),
    mtimeMs(join(dir, cellFile.started)),
    mtimeMs(join(dir, cellFile.ended)),
    readCount(join(dir, cellFile.stdoutDropped)),
    readCount(join(dir, cellFile.stderrDropped)),
  ]);
  return {
    runscExitCode: result.runscExitCode,
    waitStatus: trustedWaitStatus(execLog, result.runscExitCode),
    startedAtMs: started ?? 0,
    endedAtMs: ended ?? started ?? 0,
    oomCount: result.oomCount,
    stdoutDropped,
    stderrDropped,
  };
}

/** The two ends of a runsc log: its first bytes (runsc's own header) and its last bytes. */
export interface LogEnds {
  readonly head: string;
  readonly tail: string;
}

async function readLogEnds(path: string): Promise<LogEnds> {
  const [head, tail] = await Promise.all([readHead(path, 1024), readTail(path, 4096)]);
  return { head, tail: tail.text };
}

/** Any line runsc writes: `I1201 00:19:42.060446   24971 loader.go:689] message`, the pid in group 1. */
const RUNSC_LINE_PREFIX = /^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d{6} +(\d+) [\w.-]+\.go:\d+\] /;
/** The line runsc's main() writes as its very last act: `... main.go:266] Exiting with status: 768`. */
const RUNSC_EXIT_LINE = /^I\d{4} \d\d:\d\d:\d\d\.\d{6} +(\d+) main\.go:\d+\] Exiting with status: (\d+)$/;

/**
 * The workload's wait status from a runsc log, or null when the log holds none that can be trusted.
 *
 * The message part of runsc's lines carries text the document and the workload choose (the argv of
 * `EXEC: [...]`, the path in `failed to load <path>`), newlines included, so a matching line can be
 * forged anywhere in the log. runsc writes its own exit line as its last act, so only a line that
 * passes all of these counts:
 * - it is the log's last line, whole (a newline before and after it), in the exact shape of that
 *   call (severity I, timestamp, pid, `main.go:<line>]`, the status, nothing after);
 * - its pid is the one on the log's first line, which runsc writes before anything a cell controls;
 * - the status agrees with the exit code of `runsc run`, which the supervisor records and nothing in
 *   the sandbox can write: a forged `0` of a sandbox the OOM killer took (runsc exits 137) is refused.
 * What the exit code cannot tell apart (`exit 137` from SIGKILL) is what the log line is read for.
 */
export function trustedWaitStatus(log: LogEnds, runscExitCode: number): number | null {
  const pid = RUNSC_LINE_PREFIX.exec(log.head)?.[1];
  if (pid === undefined || !log.tail.endsWith('\n')) return null;
  const lines = log.tail.split('\n');
  // [..., before, last, '']: the last line must start after a newline that the tail holds, or it
  // may be the end of a longer line that the tail cut.
  if (lines.length < 3) return null;
  const exit = RUNSC_EXIT_LINE.exec(lines[lines.length - 2]!);
  if (!exit || exit[1] !== pid) return null;
  const status = Number(exit[2]);
  return Number.isSafeInteger(status) && runscExitCodeOf(status) === runscExitCode ? status : null;
}

/** What `runsc run` exits with for a workload's wait status: its exit code, or 128 + the signal. */
function runscExitCodeOf(waitStatus: number): number {
  const decoded = decodeWaitStatus(waitStatus);
  return decoded.kind === 'exited' ? decoded.code : 128 + decoded.signalNumber;
}

async function mtimeMs(path: string): Promise<number | undefined> {
  const st = statSync(path, { throwIfNoEntry: false });
  return st === undefined ? undefined : Math.round(st.mtimeMs);
}

async function readCount(path: string): Promise<number> {
  const n = Number.parseInt(readSmall(path, '0'), 10);
  return Number.isFinite(n) ? n : 0;
}

/** A small file's text, or `otherwise` when it cannot be read. */
function readSmall(path: string, otherwise: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return otherwise;
  }
}

export async function readSupervisorPid(dir: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(readFileSync(join(dir, cellFile.supervisorPid), 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the sandbox got as far as starting the workload (runsc's boot log says so). */
export async function workloadStarted(dir: string, warm = false): Promise<boolean> {
  // runsc exec writes the process's pid in the sandbox once it has started it.
  if (warm) return (await readFile(join(dir, cellFile.execPid), 'utf8').catch(() => '')).trim() !== '';
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

/** The first `maxBytes` of a file, decoded as UTF-8; '' when it cannot be read. */
async function readHead(path: string, maxBytes: number): Promise<string> {
  let fd;
  try {
    fd = openSync(path, 'r');
  } catch {
    return '';
  }
  try {
    const buf = new Uint8Array(maxBytes);
    const bytesRead = readSync(fd, buf, 0, maxBytes, 0);
    return new TextDecoder().decode(buf.subarray(0, bytesRead));
  } finally {
    closeSync(fd);
  }
}

/** The last `maxBytes` of a file, decoded as UTF-8 (a split character becomes U+FFFD). */
export async function readTail(path: string, maxBytes: number): Promise<{ text: string; bytes: number }> {
  let fd;
  try {
    fd = openSync(path, 'r');
  } catch {
    return { text: '', bytes: 0 };
  }
  try {
    const { size } = fstatSync(fd);
    const length = Math.min(size, maxBytes);
    const buf = new Uint8Array(length);
    // A file that shrank meanwhile (never one of a cell's) reads short: decode what was read.
    const bytesRead = length > 0 ? readSync(fd, buf, 0, length, size - length) : 0;
    return { text: new TextDecoder().decode(buf.subarray(0, bytesRead)), bytes: size };
  } finally {
    closeSync(fd);
  }
}
