// The processes of one host's cells, found in /proc: the supervisors (their argument vector names
// the sandbox and the cell dir under this host's cells dir) and runsc's own runsc-sandbox and
// runsc-gofer processes (started with --root=<this host's runsc root>). Several hosts may share a
// machine: a process that does not name this host's folders is never reported.
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { isSandboxId } from '../bundle/ids.ts';

export interface HostProcessScope {
  readonly cellsDir: string;
  readonly runscRoot: string;
}

export interface HostProcess {
  readonly pid: number;
  /** Process group; a supervisor leads its own (it is spawned in its own session). */
  readonly pgid: number;
  readonly kind: 'supervisor' | 'runsc';
  readonly sandboxId: string;
  /** Start time (ms since the epoch, 10 ms resolution). */
  readonly startedAtMs: number;
  readonly command: string;
}

/** The marker spawner.sh puts in each supervisor's argument vector, before its sandbox id. */
const SUPERVISOR_TAG = 'cellos-supervisor:';
const RUNSC_PROCESSES = new Set(['runsc-sandbox', 'runsc-gofer']);
/** USER_HZ, the unit of /proc/<pid>/stat start times: 100 on every Linux architecture Node supports. */
const CLOCK_TICKS_PER_S = 100;

/** Live (not zombie) processes of this host's cells; only those of `sandboxId` when given. */
export async function findHostProcesses(scope: HostProcessScope, sandboxId?: string): Promise<HostProcess[]> {
  const [pids, bootMs] = await Promise.all([readdir('/proc').catch(() => [] as string[]), bootTimeMs()]);
  const found = await Promise.all(
    pids.filter((p) => /^\d+$/.test(p)).map((p) => inspect(Number(p), scope, bootMs, sandboxId)),
  );
  return found.filter((p): p is HostProcess => p !== undefined);
}

async function inspect(
  pid: number,
  scope: HostProcessScope,
  bootMs: number,
  only: string | undefined,
): Promise<HostProcess | undefined> {
  const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (raw === '' || (only !== undefined && !raw.includes(only))) return undefined;
  const argv = raw.split('\0').filter((a, i, all) => a !== '' || i < all.length - 1);
  const match = supervisorOf(argv, scope) ?? runscOf(argv, scope);
  if (!match || (only !== undefined && match.sandboxId !== only)) return undefined;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields after "(comm) ": state ppid pgrp session ... starttime is the 20th of them.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields.length < 20 || fields[0] === 'Z') return undefined;
  return {
    pid,
    pgid: Number(fields[2]),
    kind: match.kind,
    sandboxId: match.sandboxId,
    startedAtMs: bootMs + (Number(fields[19]) * 1000) / CLOCK_TICKS_PER_S,
    command: argv.join(' ').slice(0, 200),
  };
}

function supervisorOf(argv: readonly string[], scope: HostProcessScope) {
  const tag = argv.find((a) => a.startsWith(SUPERVISOR_TAG));
  if (tag === undefined) return undefined;
  const sandboxId = tag.slice(SUPERVISOR_TAG.length);
  // The cell dir argument ties the supervisor to this host's cells dir.
  if (!isSandboxId(sandboxId) || !argv.includes(join(scope.cellsDir, sandboxId))) return undefined;
  return { kind: 'supervisor' as const, sandboxId };
}

function runscOf(argv: readonly string[], scope: HostProcessScope) {
  if (!RUNSC_PROCESSES.has(basename(argv[0] ?? '')) || !argv.includes(`--root=${scope.runscRoot}`)) return undefined;
  // The sandbox id is in the bundle path and the log paths.
  for (const arg of argv.slice(1)) {
    const id = arg.split(/[/=:,]/).find(isSandboxId);
    if (id !== undefined) return { kind: 'runsc' as const, sandboxId: id };
  }
  return undefined;
}

async function bootTimeMs(): Promise<number> {
  const stat = await readFile('/proc/stat', 'utf8').catch(() => '');
  const btime = /^btime (\d+)$/m.exec(stat);
  return btime ? Number(btime[1]) * 1000 : 0;
}

function readProc(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Whether a process still runs (a zombie counts as gone: it has finished). */
export async function isProcessAlive(pid: number): Promise<boolean> {
  // /proc is in memory: a synchronous read waits on nothing (and costs no trips through libuv's pool).
  const stat = readProc(`/proc/${pid}/stat`);
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

/** Is `pid` still the supervisor of this cell (and not a reused pid)? */
export async function isSupervisorAlive(pid: number, sandboxId: string): Promise<boolean> {
  const cmdline = readProc(`/proc/${pid}/cmdline`);
  return cmdline.includes(`${SUPERVISOR_TAG}${sandboxId}`) && (await isProcessAlive(pid));
}

/** SIGKILL to a process group; never to this process's own group. True when the signal was sent. */
export function killGroup(pgid: number): boolean {
  if (!Number.isInteger(pgid) || pgid <= 1 || pgid === ownGroup()) return false;
  try {
    process.kill(-pgid, 'SIGKILL');
    return true;
  } catch {
    return false; // already gone
  }
}

/** SIGKILL to one process; never to this process. True when the signal was sent. */
export function killPid(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) return false;
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

let ownPgid: number | undefined;
/** This process's group, read once (a supervisor is never in it: it runs in its own session). */
function ownGroup(): number {
  if (ownPgid === undefined) {
    try {
      const stat = readFileSync('/proc/self/stat', 'utf8');
      ownPgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    } catch {
      ownPgid = process.pid;
    }
  }
  return ownPgid;
}

/** A process's identity over time: its pid and start time (a reused pid has another start time). */
export async function processToken(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields.length >= 20 && fields[0] !== 'Z' ? `${pid}:${fields[19]}` : undefined;
}

/** Sends `signal` to the supervisor of `sandboxId` if `pid` still is it. True when it was sent. */
export async function signalSupervisor(
  pid: number,
  sandboxId: string,
  signal: 'SIGUSR1' | 'SIGUSR2',
): Promise<boolean> {
  if (!(await isSupervisorAlive(pid, sandboxId))) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}
