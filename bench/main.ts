// npm run bench [-- --latency=30 --throughput=40 --concurrency=1,4,8 --pool=8 --memory=300 --edge-throughput]
//
// A trivial cell five ways, side by side in one run: raw `runsc run` of the same bundle; the edge
// alone (runCell, no Temporal) on a cold host and on a warm one (a pool of pre-booted sandboxes);
// through Temporal (client start to result) on each. Latency (p50, p95), throughput at 1, 4 and 8
// in flight, CPU per cell at 8 in flight split by process, the worker's memory over hundreds of
// cells, the warm pool's host memory. Tables on stdout, progress on stderr, every figure in
// bench/results/<date>-<hostname>.json. It reports and asserts nothing: the exit code is 0 unless
// something broke (a cell failed, the set-up failed).
import { relative } from 'node:path';
import { projectRoot } from '../src/project-root.ts';
import { describeMachine, loadAverages } from './machine.ts';
import { LATENCY_SETTLE, measureLatency, measureThroughput, measureWarmPool, runMemoryPhase } from './measure.ts';
import { workerMemory, type WorkerMemory } from './memory.ts';
import { describeMethod } from './method.ts';
import { BenchUsageError, parseBenchOptions, WARMUP_PER_SERIES, type BenchOptions } from './options.ts';
import { formatResult } from './print.ts';
import { buildResult, writeResult, type ResultInput } from './report.ts';
import { startRig, type CloseReport, type Rig } from './rig.ts';
import { SERIES } from './series.ts';
import { settle } from './settle.ts';

const progress = (line: string) => process.stderr.write(`bench: ${line}\n`);

async function main() {
  const options = parseBenchOptions(process.argv.slice(2));
  const startedAt = new Date();
  const load = loadAverages();
  const cpuLevel = options.concurrency.includes(8) ? 8 : options.concurrency.at(-1)!;
  const { rig, close } = await startRig({
    poolSize: options.pool,
    rawInFlight: options.concurrency.at(-1)!,
    progress,
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      progress(`${signal}: stopping what the bench started`);
      void close().finally(() => process.exit(130));
    });
  }
  let measured: Omit<ResultInput, 'cleanup'>;
  let cleanup: CloseReport;
  try {
    measured = await measure(rig, { startedAt, load, cpuLevel, options });
  } finally {
    progress('stopping the workers, the hosts and the server');
    cleanup = await close();
    report(cleanup);
  }
  const result = buildResult({
    ...measured,
    cleanup: { leftoverSandboxes: cleanup.leftoverSandboxes, leftoverProcesses: cleanup.leftoverProcesses },
  });
  const file = await writeResult(result);
  console.log(formatResult(result));
  console.log(`\nAll figures: ${relative(projectRoot, file)}`);
}

interface Run {
  readonly startedAt: Date;
  /** The load averages before the bench started anything. */
  readonly load: readonly number[];
  readonly cpuLevel: number;
  readonly options: BenchOptions;
}

async function measure(rig: Rig, { startedAt, load, cpuLevel, options }: Run): Promise<Omit<ResultInput, 'cleanup'>> {
  const machine = await describeMachine(rig.cold.config.runscPath, rig.cold.platform, load);
  progress(`warm-up: ${WARMUP_PER_SERIES} cells per series`);
  for (let i = 0; i < WARMUP_PER_SERIES; i++) {
    for (const s of SERIES) {
      await settle(rig.hosts, rig.pool, LATENCY_SETTLE.removalsMs, LATENCY_SETTLE.poolMs);
      await rig.runCell(s);
    }
  }
  const memory: WorkerMemory[] = [workerMemory(rig.temporalCells)];
  progress(rig.pool ? `warm pool: waiting for ${options.pool} idle sandboxes` : 'warm pool: the host has none');
  const warmPool = await measureWarmPool(rig, options.pool);
  memory.push(...(await runMemoryPhase(rig, options.memory, 8, 50, progress)));
  progress(`latency: ${options.latency} rounds of ${SERIES.length} cells`);
  const latency = await measureLatency(rig, SERIES, options.latency, progress);
  const throughputSeries = options.edgeThroughput ? SERIES : SERIES.filter((s) => !s.startsWith('edge-'));
  const throughput = await measureThroughput(
    rig,
    throughputSeries,
    options.concurrency,
    options.throughput,
    cpuLevel,
    progress,
  );
  memory.push(workerMemory(rig.temporalCells));
  const statsAtEnd = await rig.pool?.stats();
  return {
    startedAt,
    machine,
    options,
    method: describeMethod(options, cpuLevel),
    warmPool: { ...warmPool, statsAtEnd },
    latency,
    throughput,
    cpuLevel,
    workerMemory: memory,
  };
}

function report(cleanup: CloseReport) {
  for (const e of cleanup.errors) progress(`clean-up: ${e}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof BenchUsageError ? `bench: ${err.message}` : err);
  process.exit(1);
});
