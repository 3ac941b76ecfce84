// How each figure is measured, in words: printed under the tables and kept in the JSON file.
import { SAMPLE_INTERVAL_MS } from './cpu.ts';
import { IDLE_MS, LATENCY_SETTLE, THROUGHPUT_SETTLE } from './measure.ts';
import { WARMUP_PER_SERIES, type BenchOptions } from './options.ts';

export function describeMethod(options: BenchOptions, cpuLevel: number): Record<string, string> {
  return {
    setup:
      'One process: a Temporal dev server (SQLite file) started by the bench; two hosts on this machine, ' +
      `cold (warmPoolSize 0) and warm (warmPoolSize ${options.pool}), each with its own state folder and runsc ` +
      'root; one worker per host on its own task queue (bench-cold, bench-warm) sharing one NativeConnection; ' +
      'a client per queue on that same connection with eager start, as `cellos run` on the embedded default. Every cell is the same trivial document (/bin/true). ' +
      `Warm-up: ${WARMUP_PER_SERIES} cells per series before anything is measured.`,
    series:
      'raw: `runsc run` of the bundle the cold host generates for that document (one copy per cell in flight: ' +
      "runsc run creates and removes the bundle's cgroup). Edge alone: runCell(host, doc) " +
      '(supervisor, capped output, cgroups, exact status; no Temporal). Temporal: CellClient.run (client start ' +
      'to result, workers already running).',
    latency:
      `${options.latency} cells per series, one at a time, interleaved (each round runs every series once, ` +
      'the order rotated by one per round). Before every sample the hosts get up to ' +
      `${LATENCY_SETTLE.removalsMs / 1000} s to finish the previous cells' removals (host.removeLater) and the ` +
      `warm pool up to ${LATENCY_SETTLE.poolMs / 1000} s to be full again: warm latency is that of a full pool, ` +
      "and no sample shares the machine with another's clean-up. Percentiles by nearest rank.",
    throughput:
      `At each level (${options.concurrency.join(', ')} cells in flight) every series runs ${options.throughput} ` +
      'cells twice, in order then in reverse (ABBA); cells/s = all its cells / all its wall time (first start ' +
      'to last result). Within a run nothing waits for the pool; after each run the hosts get up to ' +
      `${THROUGHPUT_SETTLE.removalsMs / 1000} s to finish its removals and the pool up to ` +
      `${THROUGHPUT_SETTLE.poolMs / 1000} s to refill, outside the wall time.`,
    cpu:
      `Around each run at ${cpuLevel} in flight and its settling (a warm cell's sandbox is booted before and ` +
      'deleted after its run: both are its cost), divided by its cells. machine: /proc/stat busy time, all ' +
      'cores. Temporal server: user+system time of the dev server process. this process: process.cpuUsage() ' +
      "of the bench process (both workers, both clients, the bench). sandboxes: the hosts' cgroups " +
      '(cellos/<host id>: cpuacct.usage on cgroup v1, cpu.stat usage_usec on v2), which hold every ' +
      'runsc-sandbox (with its ptrace stubs) and runsc-gofer, warm ones included; exact. runsc CLI + sh: ' +
      "user+system time of the hosts' runsc command-line processes (run, create, start, exec, kill, delete) " +
      'and cellos-supervisor sh processes, outside the cgroups, sampled from /proc every ' +
      `${SAMPLE_INTERVAL_MS} ms by a separate process (bench/sampler.ts), the most seen per process: a lower ` +
      `bound (the last <${SAMPLE_INTERVAL_MS} ms of each is missed). rest: machine less all the above and the ` +
      "sampler's own time: what the sampling missed, the kernel's work, `head`, anything else on the machine. " +
      `idle: the machine's busy time per second measured over ${IDLE_MS / 1000} s with no cell running, just ` +
      "before the level's runs (the idle workers, server and warm pool, and anything else on the machine), " +
      'times the window: the part of machine (mostly of rest) that is not the cells.',
    workerMemory:
      'process.memoryUsage() of the bench process (both workers and clients) after a full gc (node --expose-gc), ' +
      `after the warm-up's ${2 * WARMUP_PER_SERIES} cells through Temporal, then every 50 up to ${options.memory} ` +
      '(8 in flight, alternating the two queues), and at the end.',
    warmPoolMemory:
      'With the pool full and idle after the warm-up (removals done, then 1 s): RSS and PSS (smaps_rollup) summed over the runsc-sandbox ' +
      'and runsc-gofer processes whose command line has --root=<warm host runsc root>, divided by the pool ' +
      "size; and the pool's own figure (stats().memoryBytes or memoryBytes()) when it has one.",
  };
}
