// CPU time spent during a throughput run, split by who spent it:
// - machine: /proc/stat, all cores, busy time (everything, the kernel's included);
// - Temporal server: user + system time of the dev server's process (/proc/<pid>/stat);
// - this process (both workers, both clients, the bench): process.cpuUsage(), all its threads;
// - sandboxes: the hosts' cgroups (cellos/<host id>: cpuacct.usage on cgroup v1, cpu.stat on v2),
//   which hold every cell's runsc-sandbox (with its ptrace stubs) and runsc-gofer, and the warm
//   sandboxes; a parent cgroup keeps the time of children already removed. Exact;
// - runsc CLI + supervisors: `runsc run/create/exec/delete/...` and the sh supervisors, outside the
//   cgroups and living ~0.2 s: sampled from /proc every 100 ms by a process of its own (sampler.ts),
//   the most seen per process. A lower bound (a process's last <100 ms is missed);
// - rest: machine less all the above and the sampler's own time (what the sampling missed, the
//   kernel's work for the sandboxes, `head`, and anything else running on the machine);
// - idle: what the machine spends with no cell running (the idle rig, anything else running),
//   measured over a few seconds before the runs, at that rate over the window: the part of
//   `machine` (mostly of `rest`) that is not the cells'.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { CgroupMode } from '../src/host/cgroups.ts';
import { machineBusyMs, statOf } from './proc.ts';
import type { SamplerResult, SamplerScope } from './sampler.ts';

export interface CpuScope {
  readonly serverPid: number | undefined;
  /** The hosts' runsc roots (`--root=<root>` in their runsc processes' argument vectors). */
  readonly runscRoots: readonly string[];
  /** The hosts' cells folders (a supervisor's argument vector names its cell folder in there). */
  readonly cellsDirs: readonly string[];
  /** The hosts' cgroup parents (`cellos/<host id>`). */
  readonly cgroups: readonly { readonly mode: CgroupMode; readonly parent: string }[];
}

export interface CpuUse {
  readonly wallMs: number;
  readonly machineMs: number;
  readonly temporalServerMs: number;
  readonly nodeMs: number;
  readonly sandboxesMs: number;
  readonly runscCliMs: number;
  /** The sampler process's own time (in neither of the above). */
  readonly samplerMs: number;
  /** machineMs less all the above. */
  readonly restMs: number;
  /** The machine's idle busy rate (measureIdle) over the window: background, not the cells'. */
  readonly idleMs: number;
}

export const SAMPLE_INTERVAL_MS = 100;

export interface CpuWindow {
  stop(): Promise<CpuUse>;
}

/**
 * Starts counting once the sampler has taken its first sample; stop() returns what was spent since.
 * `idleRate`: the machine's busy ms per ms with nothing running (measureIdle).
 */
export async function startCpuWindow(scope: CpuScope, idleRate: number): Promise<CpuWindow> {
  const sampler = await startSampler(scope);
  const t0 = performance.now();
  const machine0 = machineBusyMs();
  const server0 = serverCpuMs(scope.serverPid);
  const cgroups0 = cgroupsCpuMs(scope);
  const node0 = process.cpuUsage();
  return {
    async stop() {
      const node = process.cpuUsage(node0);
      const cgroups = cgroupsCpuMs(scope);
      const server = serverCpuMs(scope.serverPid);
      const machine = machineBusyMs();
      const wallMs = performance.now() - t0;
      const sampled = await sampler.stop();
      const use = {
        wallMs,
        machineMs: machine - machine0,
        temporalServerMs: server - server0,
        nodeMs: (node.user + node.system) / 1000,
        sandboxesMs: cgroups - cgroups0,
        runscCliMs: sampled.ms,
        samplerMs: sampled.selfMs,
      };
      return {
        ...use,
        restMs: use.machineMs - use.temporalServerMs - use.nodeMs - use.sandboxesMs - use.runscCliMs - use.samplerMs,
        idleMs: idleRate * wallMs,
      };
    },
  };
}

export function addCpu(a: CpuUse, b: CpuUse): CpuUse {
  const sum = (k: keyof CpuUse) => a[k] + b[k];
  return {
    wallMs: sum('wallMs'),
    machineMs: sum('machineMs'),
    temporalServerMs: sum('temporalServerMs'),
    nodeMs: sum('nodeMs'),
    sandboxesMs: sum('sandboxesMs'),
    runscCliMs: sum('runscCliMs'),
    samplerMs: sum('samplerMs'),
    restMs: sum('restMs'),
    idleMs: sum('idleMs'),
  };
}

/** What is spent over `ms` with (the caller makes sure) no cell running: the idle rig and anything else. */
export async function measureIdle(scope: CpuScope, ms: number): Promise<CpuUse> {
  const window = await startCpuWindow(scope, 0);
  await new Promise((r) => setTimeout(r, ms));
  return window.stop();
}

function serverCpuMs(pid: number | undefined): number {
  return pid === undefined ? 0 : (statOf(pid)?.cpuMs ?? 0);
}

/** CPU time of everything that ever ran in the hosts' cgroups, in ms (0 where there is none). */
function cgroupsCpuMs(scope: CpuScope): number {
  let ms = 0;
  for (const { mode, parent } of scope.cgroups) {
    try {
      if (mode === 'v1') {
        ms += Number(readFileSync(join('/sys/fs/cgroup/cpuacct', parent, 'cpuacct.usage'), 'utf8')) / 1e6;
      } else if (mode === 'v2') {
        const stat = readFileSync(join('/sys/fs/cgroup', parent, 'cpu.stat'), 'utf8');
        ms += Number(/^usage_usec (\d+)/m.exec(stat)?.[1] ?? 0) / 1000;
      }
    } catch {
      // Not created yet: no cell ran there.
    }
  }
  return ms;
}

/** The sampler process (sampler.ts, beside this file), once it has taken its first sample. */
async function startSampler(scope: CpuScope): Promise<{ stop(): Promise<SamplerResult> }> {
  const program = fileURLToPath(new URL(`./sampler${extname(import.meta.url)}`, import.meta.url));
  const child = spawn(process.execPath, [program], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`the CPU sampler exited ${code ?? signal}`)),
    );
  });
  exited.catch(() => undefined);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const request: SamplerScope = {
    runscRoots: scope.runscRoots,
    cellsDirs: scope.cellsDirs,
    intervalMs: SAMPLE_INTERVAL_MS,
  };
  child.stdin.write(`${JSON.stringify(request)}\n`);
  // Its stdout ends when it exits: a sampler that fails ends the lines.
  const next = async () => {
    const line = await lines.next();
    if (line.done) {
      await exited;
      throw new Error('the CPU sampler stopped without an answer');
    }
    return line.value;
  };
  if ((await next()) !== 'ready') throw new Error('the CPU sampler did not start');
  return {
    async stop() {
      child.stdin.end();
      const result = JSON.parse(await next()) as SamplerResult;
      await exited;
      return result;
    },
  };
}
