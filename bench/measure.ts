// The measurements: sequential latency, interleaved across the series; throughput at a number of
// cells in flight, ABBA; the worker's memory over many cells.
import { addCpu, measureIdle, startCpuWindow, type CpuUse } from './cpu.ts';
import { sandboxMemory, workerMemory, type WorkerMemory } from './memory.ts';
import type { WarmPoolReport } from './report.ts';
import type { Rig } from './rig.ts';
import type { Series } from './series.ts';
import { settle } from './settle.ts';

/**
 * Before each latency sample: how long the hosts get to finish the previous cells' removals, then
 * the warm pool to be full again.
 */
export const LATENCY_SETTLE = { removalsMs: 3000, poolMs: 2000 } as const;
/** Before the runs where CPU is measured: how long the machine's idle busy rate is measured. */
export const IDLE_MS = 3000;
/** After each throughput run: how long the removals and the pool's refill get before the next run. */
export const THROUGHPUT_SETTLE = { removalsMs: 30_000, poolMs: 15_000 } as const;

export interface SettleWaits {
  readonly samples: number;
  /** Samples taken although the hosts were not idle (removals done, pool full) when the wait ran out. */
  readonly notSettled: number;
  readonly meanWaitMs: number;
}

export interface LatencyRun {
  readonly samples: Record<Series, number[]>;
  readonly settleWaits: SettleWaits;
}

/**
 * `rounds` cells per series, one at a time. Each round runs every series once, in an order rotated
 * by one per round, so that none always follows the same one. Before every sample the hosts finish
 * the previous cells' removals and the warm pool refills (LATENCY_SETTLE), so warm latency is that
 * of a full pool and no sample shares the machine with the previous one's clean-up.
 */
export async function measureLatency(
  rig: Rig,
  series: readonly Series[],
  rounds: number,
  progress: (line: string) => void,
): Promise<LatencyRun> {
  const samples = Object.fromEntries(series.map((s) => [s, [] as number[]])) as Record<Series, number[]>;
  let notSettled = 0;
  let waitedMs = 0;
  for (let round = 0; round < rounds; round++) {
    for (const s of rotate(series, round)) {
      const wait = await settle(rig.hosts, rig.pool, LATENCY_SETTLE.removalsMs, LATENCY_SETTLE.poolMs);
      waitedMs += wait.waitedMs;
      if (!wait.settled) notSettled++;
      const t = performance.now();
      await rig.runCell(s);
      samples[s].push(performance.now() - t);
    }
    if ((round + 1) % 10 === 0 && round + 1 < rounds) progress(`latency: ${round + 1} of ${rounds} rounds`);
  }
  const n = rounds * series.length;
  return { samples, settleWaits: { samples: n, notSettled, meanWaitMs: waitedMs / n } };
}

export interface ThroughputFigure {
  readonly cells: number;
  /** From the first cell's start to the last one's result. */
  readonly wallMs: number;
  readonly cellsPerSecond: number;
  /** After the runs: until the removals were done and the pool full again. */
  readonly settleMs: number;
  /** Only at the level where CPU is measured: the runs and their settling. */
  readonly cpu: CpuUse | undefined;
}

export type ThroughputLevel = Partial<Record<Series, ThroughputFigure>>;

export interface ThroughputRun {
  /** By cells in flight. */
  readonly levels: ReadonlyMap<number, ThroughputLevel>;
  /** What the machine and the rig spent with no cell running, measured before the runs at cpuLevel. */
  readonly idle: CpuUse | undefined;
}

/**
 * At each level, every series runs `cells` cells with `inFlight` of them in flight, twice: in order,
 * then in reverse (ABBA), so that drift over time weighs on all alike. Within a run nothing waits
 * for the pool; after it the hosts finish its removals and refill the pool (THROUGHPUT_SETTLE) before
 * the next. At `cpuLevel` CPU is measured around each run and its settling (a warm cell's share is
 * its sandbox's boot and deletion, which happen before and after its own run), and first for a few
 * seconds with no cell running.
 */
export async function measureThroughput(
  rig: Rig,
  series: readonly Series[],
  levels: readonly number[],
  cells: number,
  cpuLevel: number,
  progress: (line: string) => void,
): Promise<ThroughputRun> {
  const levelsOut = new Map<number, ThroughputLevel>();
  let idle: CpuUse | undefined;
  for (const inFlight of levels) {
    progress(`throughput: ${inFlight} in flight, ${series.length} series, 2 × ${cells} cells each`);
    const acc = new Map<Series, Omit<ThroughputFigure, 'cellsPerSecond'>>();
    const settleAll = () => settle(rig.hosts, rig.pool, THROUGHPUT_SETTLE.removalsMs, THROUGHPUT_SETTLE.poolMs);
    await settleAll();
    if (inFlight === cpuLevel) idle = await measureIdle(rig.cpuScope, IDLE_MS);
    const idleRate = idle ? idle.machineMs / idle.wallMs : 0;
    for (const s of [...series, ...[...series].reverse()]) {
      const window = inFlight === cpuLevel ? await startCpuWindow(rig.cpuScope, idleRate) : undefined;
      const wallMs = await runInFlight(() => rig.runCell(s), cells, inFlight);
      const { waitedMs: settleMs } = await settleAll();
      const cpu = await window?.stop();
      const prev = acc.get(s);
      acc.set(s, {
        cells: (prev?.cells ?? 0) + cells,
        wallMs: (prev?.wallMs ?? 0) + wallMs,
        settleMs: (prev?.settleMs ?? 0) + settleMs,
        cpu: prev?.cpu && cpu ? addCpu(prev.cpu, cpu) : cpu,
      });
    }
    const level: ThroughputLevel = {};
    for (const [s, a] of acc) level[s] = { ...a, cellsPerSecond: (a.cells / a.wallMs) * 1000 };
    levelsOut.set(inFlight, level);
  }
  return { levels: levelsOut, idle };
}

/**
 * Cells through Temporal, `inFlight` at a time and alternating between the two queues, until
 * `total` have run since the start of the bench; the worker's memory after every `every` of them.
 */
export async function runMemoryPhase(
  rig: Rig,
  total: number,
  inFlight: number,
  every: number,
  progress: (line: string) => void,
): Promise<WorkerMemory[]> {
  const readings: WorkerMemory[] = [];
  while (rig.temporalCells < total) {
    const chunk = Math.min(every - (rig.temporalCells % every), total - rig.temporalCells);
    let n = 0;
    await runInFlight(() => rig.runCell(n++ % 2 === 0 ? 'temporal-cold' : 'temporal-warm'), chunk, inFlight);
    readings.push(workerMemory(rig.temporalCells));
    progress(`memory: ${rig.temporalCells} of ${total} cells through Temporal`);
  }
  return readings;
}

/** How long the warm pool gets to fill before its memory is read, and to settle once full. */
const POOL_FILL_WAIT_MS = 15_000;
const POOL_SETTLE_MS = 1000;

/** The host memory of the warm pool, full and idle (and of the cold host, idle, for comparison). */
export async function measureWarmPool(rig: Rig, size: number): Promise<WarmPoolReport> {
  await settle(rig.hosts, rig.pool, POOL_FILL_WAIT_MS, POOL_FILL_WAIT_MS);
  await new Promise((r) => setTimeout(r, POOL_SETTLE_MS));
  const hostMemory = sandboxMemory(rig.warm.config.runscRoot);
  return {
    present: rig.pool !== undefined,
    size,
    stats: await rig.pool?.stats(),
    hostMemory,
    rssBytesPerSandbox: Math.round(hostMemory.rssBytes / size),
    pssBytesPerSandbox: Math.round(hostMemory.pssBytes / size),
    coldHostMemory: sandboxMemory(rig.cold.config.runscRoot),
  };
}

/** Runs `cells` calls of `fn`, at most `inFlight` at once; returns the wall time in ms. */
export async function runInFlight(fn: () => Promise<void>, cells: number, inFlight: number): Promise<number> {
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(inFlight, cells) }, async () => {
      while (next++ < cells) await fn();
    }),
  );
  return performance.now() - t;
}

function rotate<T>(xs: readonly T[], by: number): T[] {
  const k = by % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}
