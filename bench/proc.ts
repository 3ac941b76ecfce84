// Reading /proc. Synchronous on purpose: these are in-memory files read in microseconds, and the
// CPU sampler runs every 100 ms beside the cells; going through libuv's thread pool would queue
// behind the host's own file work and cost more event-loop time than it saves.
import { readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';

/** USER_HZ, the unit of /proc times: 100 on every Linux architecture Node supports. */
export const CLOCK_TICKS_PER_S = 100;
const MS_PER_TICK = 1000 / CLOCK_TICKS_PER_S;

export function listPids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The argument vector, or undefined for a process that is gone (or a kernel thread). */
export function argvOf(pid: number): string[] | undefined {
  const raw = read(`/proc/${pid}/cmdline`);
  if (raw === undefined || raw === '') return undefined;
  return raw.replace(/\0$/, '').split('\0');
}

/** argv[0] without its folder: runsc re-executes itself as runsc-sandbox and runsc-gofer (comm is "exe"). */
export function programOf(argv: readonly string[]): string {
  return basename(argv[0] ?? '');
}

export interface ProcStat {
  /** The process's own user + system time, all threads, in ms. */
  readonly cpuMs: number;
  /** Its waited-for children's, in ms. */
  readonly childrenCpuMs: number;
  /** Start time in clock ticks since boot: with the pid, it names one process. */
  readonly startTicks: number;
}

export function statOf(pid: number): ProcStat | undefined {
  const stat = read(`/proc/${pid}/stat`);
  return stat === undefined ? undefined : parseStat(stat);
}

/** Each live thread of `pid`: its name (comm, which threads may share) and its own CPU time. */
export function threadsOf(pid: number): { tid: number; comm: string; cpuMs: number }[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tids.flatMap((tid) => {
    const stat = read(`/proc/${pid}/task/${tid}/stat`);
    if (stat === undefined) return []; // the thread ended
    return [
      {
        tid: Number(tid),
        comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
        cpuMs: parseStat(stat).cpuMs,
      },
    ];
  });
}

/** A /proc stat line (a process's or a thread's). */
function parseStat(stat: string): ProcStat {
  // Fields after "(comm) ": state is field 3, utime 14, stime 15, cutime 16, cstime 17, starttime 22.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const n = (i: number) => Number(f[i - 3]);
  return { cpuMs: (n(14) + n(15)) * MS_PER_TICK, childrenCpuMs: (n(16) + n(17)) * MS_PER_TICK, startTicks: n(22) };
}

/** Busy time of the whole machine, all cores, in ms: /proc/stat's cpu line less idle and iowait. */
export function machineBusyMs(): number {
  const line = read('/proc/stat')?.split('\n')[0] ?? '';
  // user nice system idle iowait irq softirq steal (guest and guest_nice are inside user and nice).
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line.split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq + steal) * MS_PER_TICK;
}

/** A field of /proc/<pid>/status or smaps_rollup given in kB ("VmRSS", "Pss"), in bytes. */
export function kbField(pid: number, file: 'status' | 'smaps_rollup', field: string): number | undefined {
  const text = read(`/proc/${pid}/${file}`);
  const kb = text === undefined ? undefined : new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1];
  return kb === undefined ? undefined : Number(kb) * 1024;
}

export function cpuModel(): string | undefined {
  return /^model name\s*:\s*(.+)$/m.exec(read('/proc/cpuinfo') ?? '')?.[1]?.trim();
}
