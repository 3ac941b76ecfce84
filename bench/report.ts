// The bench's figures as one JSON document, written to bench/results/<date>-<hostname>.json.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { projectRoot } from '../src/project-root.ts';
import type { CpuUse } from './cpu.ts';
import type { Machine } from './machine.ts';
import type { LatencyRun, ThroughputRun } from './measure.ts';
import type { SandboxMemory, WorkerMemory } from './memory.ts';
import type { BenchOptions } from './options.ts';
import type { Series } from './series.ts';
import { ratio, round, summarize, type LatencySummary } from './stats.ts';
import type { PoolStats } from './warm-pool.ts';

export const RESULTS_DIR = join(projectRoot, 'bench', 'results');

/** CPU per cell: a run's CpuUse divided by its cells (the idle rate over the same time, likewise). */
export type CpuPerCell = Omit<CpuUse, 'wallMs'> & { readonly cells: number };

export interface IdleRates {
  readonly seconds: number;
  readonly machineMs: number;
  readonly temporalServerMs: number;
  readonly nodeMs: number;
  /** The warm pool's idle sandboxes, mostly. */
  readonly sandboxesMs: number;
  readonly runscCliMs: number;
  readonly restMs: number;
}

export interface WarmPoolReport {
  /** Whether the warm host has a pool (host.warmPool with stats()); without one its rows ran cold. */
  readonly present: boolean;
  readonly size: number;
  /** The pool's own figures when full and idle, before the latency runs. */
  readonly stats: PoolStats | undefined;
  /** And after the throughput runs (failed boots over the whole bench). */
  readonly statsAtEnd?: PoolStats | undefined;
  /** Its sandboxes' runsc processes, from /proc, at the same moment. */
  readonly hostMemory: SandboxMemory;
  /** hostMemory per warm sandbox (divided by the pool size). */
  readonly rssBytesPerSandbox: number;
  readonly pssBytesPerSandbox: number;
  /** The same reading on the cold host: what it holds idle (nothing). */
  readonly coldHostMemory: SandboxMemory;
}

export interface ThroughputFigures {
  readonly cells: number;
  /** Wall time of its runs, first start to last result. */
  readonly seconds: number;
  readonly cellsPerSecond: number;
  /** After its runs, until their removals were done and the pool full again (not in `seconds`). */
  readonly settleSeconds: number;
}

export interface BenchResult {
  readonly format: 'cellos-bench/1';
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: Machine;
  readonly options: BenchOptions;
  readonly method: Readonly<Record<string, string>>;
  readonly warmPool: WarmPoolReport;
  readonly latency: {
    readonly summary: Partial<Record<Series, LatencySummary>>;
    readonly samplesMs: Partial<Record<Series, number[]>>;
    readonly settleWaits: LatencyRun['settleWaits'];
  };
  /** By cells in flight. */
  readonly throughput: Record<string, Partial<Record<Series, ThroughputFigures>>>;
  readonly cpuPerCell: {
    readonly inFlight: number;
    readonly bySeries: Partial<Record<Series, CpuPerCell>>;
    /** With no cell running, just before those runs: ms of CPU per second of wall time. */
    readonly idlePerSecond: IdleRates | undefined;
  };
  readonly workerMemory: readonly WorkerMemory[];
  /** Each series against raw `runsc run`: p50 latency (lower is better), throughput (higher is better). */
  readonly ratiosToRaw: {
    readonly latencyP50: Partial<Record<Series, number>>;
    readonly throughput: Record<string, Partial<Record<Series, number>>>;
  };
  readonly cleanup: { readonly leftoverSandboxes: number; readonly leftoverProcesses: number };
  /** What makes figures of this run doubtful (a busy machine, no warm pool, failed boots...). */
  readonly warnings: readonly string[];
}

export interface ResultInput {
  readonly startedAt: Date;
  readonly machine: Machine;
  readonly options: BenchOptions;
  readonly method: Readonly<Record<string, string>>;
  readonly warmPool: WarmPoolReport;
  readonly latency: LatencyRun;
  readonly throughput: ThroughputRun;
  readonly cpuLevel: number;
  readonly workerMemory: readonly WorkerMemory[];
  readonly cleanup: BenchResult['cleanup'];
}

export function buildResult(input: ResultInput): BenchResult {
  const summary: Partial<Record<Series, LatencySummary>> = {};
  const samplesMs: Partial<Record<Series, number[]>> = {};
  for (const [s, xs] of entries(input.latency.samples)) {
    const sum = summarize(xs);
    summary[s] = {
      ...sum,
      p50: round(sum.p50),
      p95: round(sum.p95),
      mean: round(sum.mean),
      min: round(sum.min),
      max: round(sum.max),
    };
    samplesMs[s] = xs.map((x) => round(x));
  }
  const throughput: BenchResult['throughput'] = {};
  const throughputRatios: BenchResult['ratiosToRaw']['throughput'] = {};
  for (const [inFlight, level] of input.throughput.levels) {
    const figures: BenchResult['throughput'][string] = {};
    const ratios: Partial<Record<Series, number>> = {};
    for (const [s, f] of entries(level)) {
      figures[s] = {
        cells: f.cells,
        seconds: round(f.wallMs / 1000, 2),
        cellsPerSecond: round(f.cellsPerSecond, 2),
        settleSeconds: round(f.settleMs / 1000, 2),
      };
      const r = ratio(f.cellsPerSecond, level.raw?.cellsPerSecond);
      if (r !== undefined) ratios[s] = round(r, 2);
    }
    throughput[inFlight] = figures;
    throughputRatios[inFlight] = ratios;
  }
  const cpu: Partial<Record<Series, CpuPerCell>> = {};
  for (const [s, f] of entries(input.throughput.levels.get(input.cpuLevel) ?? {})) {
    if (f.cpu) cpu[s] = cpuPerCell(f.cpu, f.cells);
  }
  const latencyRatios: Partial<Record<Series, number>> = {};
  for (const [s, sum] of entries(summary)) {
    const r = ratio(sum.p50, summary.raw?.p50);
    if (r !== undefined) latencyRatios[s] = round(r, 2);
  }
  return {
    format: 'cellos-bench/1',
    startedAt: input.startedAt.toISOString(),
    durationSeconds: Math.round((Date.now() - input.startedAt.getTime()) / 1000),
    machine: input.machine,
    options: input.options,
    method: input.method,
    warmPool: input.warmPool,
    latency: {
      summary,
      samplesMs,
      settleWaits: { ...input.latency.settleWaits, meanWaitMs: round(input.latency.settleWaits.meanWaitMs) },
    },
    throughput,
    cpuPerCell: { inFlight: input.cpuLevel, bySeries: cpu, idlePerSecond: idleRates(input.throughput.idle) },
    workerMemory: input.workerMemory,
    ratiosToRaw: { latencyP50: latencyRatios, throughput: throughputRatios },
    cleanup: input.cleanup,
    warnings: warningsOf(input, idleRates(input.throughput.idle)),
  };
}

/** A machine busier than this with no cell running (share of all its cores) makes the CPU figures doubtful. */
const BUSY_IDLE_SHARE = 0.1;

function warningsOf(input: ResultInput, idleRates: IdleRates | undefined): string[] {
  const { machine, warmPool, latency, cleanup } = input;
  const warnings: string[] = [];
  const [load1 = 0] = machine.loadAverageAtStart;
  if (load1 > machine.cpus) {
    warnings.push(`the load average was ${load1} at the start, on ${machine.cpus} cores: something else was running`);
  }
  const idle = idleRates?.machineMs ?? 0;
  if (idle > BUSY_IDLE_SHARE * machine.cpus * 1000) {
    warnings.push(
      `with no cell running the machine was ${Math.round(idle / (machine.cpus * 10))}% busy (${Math.round(idle)} ms/s): ` +
        "the throughput and the machine's CPU figures include other work; the per-process CPU figures do not",
    );
  }
  if (!warmPool.present) {
    warnings.push(`the warm host has no warm pool (warmPoolSize ${warmPool.size} ignored): its rows ran cold`);
  }
  const failed = warmPool.statsAtEnd?.failedBoots ?? warmPool.stats?.failedBoots;
  if (failed) {
    const last = warmPool.statsAtEnd?.lastError ?? warmPool.stats?.lastError;
    warnings.push(`${failed} warm sandbox boots failed (last: ${last ?? 'unknown'})`);
  }
  if (latency.settleWaits.notSettled) {
    warnings.push(
      `the hosts were not idle (removals done, pool full) before ${latency.settleWaits.notSettled} of ${latency.settleWaits.samples} latency samples`,
    );
  }
  if (cleanup.leftoverSandboxes || cleanup.leftoverProcesses) {
    warnings.push(
      `after the hosts shut down, ${cleanup.leftoverSandboxes} sandboxes and ${cleanup.leftoverProcesses} runsc processes were left (the bench removed them)`,
    );
  }
  return warnings;
}

function idleRates(idle: CpuUse | undefined): IdleRates | undefined {
  if (idle === undefined) return undefined;
  const per = (ms: number) => round((ms / idle.wallMs) * 1000);
  return {
    seconds: round(idle.wallMs / 1000, 2),
    machineMs: per(idle.machineMs),
    temporalServerMs: per(idle.temporalServerMs),
    nodeMs: per(idle.nodeMs),
    sandboxesMs: per(idle.sandboxesMs),
    runscCliMs: per(idle.runscCliMs),
    restMs: per(idle.restMs),
  };
}

function cpuPerCell(cpu: CpuUse, cells: number): CpuPerCell {
  const per = (ms: number) => round(ms / cells);
  return {
    cells,
    machineMs: per(cpu.machineMs),
    temporalServerMs: per(cpu.temporalServerMs),
    nodeMs: per(cpu.nodeMs),
    sandboxesMs: per(cpu.sandboxesMs),
    runscCliMs: per(cpu.runscCliMs),
    samplerMs: per(cpu.samplerMs),
    restMs: per(cpu.restMs),
    idleMs: per(cpu.idleMs),
  };
}

/** Writes the result, formatted as the repository's prettier formats JSON; returns the file's path. */
export async function writeResult(result: BenchResult): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const host = result.machine.hostname.replace(/[^A-Za-z0-9.-]+/g, '_');
  const file = join(RESULTS_DIR, `${result.startedAt.slice(0, 10)}-${host}.json`);
  const text = `${JSON.stringify(result, null, 2)}\n`;
  await writeFile(file, await prettierJson(text, file));
  return file;
}

/** `prettier --check .` covers bench/results: format as it would (plain JSON when prettier is not there). */
async function prettierJson(text: string, file: string): Promise<string> {
  try {
    const prettier = await import('prettier');
    const config = await prettier.resolveConfig(file);
    return await prettier.format(text, { ...config, filepath: file });
  } catch {
    return text;
  }
}

function entries<K extends string, V>(record: Partial<Record<K, V>>): [K, V][] {
  return Object.entries(record).filter((e): e is [K, V] => e[1] !== undefined) as [K, V][];
}
