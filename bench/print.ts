// The bench's figures as text tables for stdout, from the same result the JSON file holds.
import type { BenchResult } from './report.ts';
import { SERIES, SERIES_LABEL, type Series } from './series.ts';
import { fixed, mib, renderTable } from './table.ts';

export function formatResult(r: BenchResult): string {
  const warnings = r.warnings.map((w) => `warning: ${w}`).join('\n');
  return [machineLine(r), poolLine(r), warnings, latency(r), throughput(r), cpu(r), memory(r), poolMemory(r)]
    .filter(Boolean)
    .join('\n\n');
}

function machineLine({ machine: m, startedAt }: BenchResult): string {
  return (
    `cellos-gvisor bench, ${startedAt.slice(0, 16).replace('T', ' ')} UTC on ${m.hostname}: ` +
    `${m.cpus} × ${m.cpuModel ?? 'unknown CPU'}, ${mib(m.memoryBytes, 0)}, Linux ${m.kernel}, ` +
    `runsc ${m.runsc} (${m.runscPlatform}), node ${m.node}, load ${m.loadAverageAtStart.join(' ')} at start`
  );
}

function poolLine({ warmPool: p }: BenchResult): string {
  if (!p.present) {
    return (
      `warm host: NO warm pool (the host has no warmPool: this build ignores warmPoolSize ${p.size}); ` +
      'its rows ran cold.'
    );
  }
  return `warm host: a pool of ${p.size} pre-booted sandboxes; cold host: none.`;
}

function seriesOf<T>(record: Partial<Record<Series, T>>): [Series, T][] {
  return SERIES.flatMap((s) => (record[s] === undefined ? [] : [[s, record[s]] as [Series, T]]));
}

function latency({ latency: l, ratiosToRaw, options }: BenchResult): string {
  const rows = seriesOf(l.summary).map(([s, x]) => [
    SERIES_LABEL[s],
    fixed(x.p50),
    fixed(x.p95),
    fixed(x.mean),
    fixed(x.min),
    fixed(ratiosToRaw.latencyP50[s], 2),
  ]);
  return (
    `Latency, one cell at a time (ms; ${options.latency} per series, interleaved; the hosts idle and the warm pool full before each)\n` +
    renderTable(['', 'p50', 'p95', 'mean', 'min', 'p50 / raw'], rows)
  );
}

function throughput({ throughput: t, ratiosToRaw, options }: BenchResult): string {
  const levels = Object.keys(t)
    .map(Number)
    .sort((a, b) => a - b);
  const header = ['', ...levels.flatMap((n) => [`${n} in flight`, '/ raw'])];
  const series = SERIES.filter((s) => levels.some((n) => t[n]?.[s] !== undefined));
  const rows = series.map((s) => [
    SERIES_LABEL[s],
    ...levels.flatMap((n) => [fixed(t[n]?.[s]?.cellsPerSecond, 2), fixed(ratiosToRaw.throughput[n]?.[s], 2)]),
  ]);
  return (
    `Throughput (cells/s; 2 × ${options.throughput} cells per series and level, ABBA)\n` + renderTable(header, rows)
  );
}

function cpu({ cpuPerCell: c }: BenchResult): string {
  const rows = seriesOf(c.bySeries).map(([s, x]) => [
    SERIES_LABEL[s],
    fixed(x.machineMs),
    fixed(x.temporalServerMs),
    fixed(x.nodeMs),
    fixed(x.sandboxesMs),
    fixed(x.runscCliMs),
    fixed(x.temporalServerMs + x.nodeMs + x.sandboxesMs + x.runscCliMs),
    fixed(x.restMs),
    fixed(x.idleMs),
  ]);
  const i = c.idlePerSecond;
  const idle = i
    ? `\nIdle (${fixed(i.seconds, 0)} s before the runs, no cell running), ms per second: machine ${fixed(i.machineMs)}, ` +
      `Temporal server ${fixed(i.temporalServerMs)}, this process ${fixed(i.nodeMs)}, sandboxes ${fixed(i.sandboxesMs)} ` +
      `(the idle warm pool), runsc CLI + sh ${fixed(i.runscCliMs)}, rest ${fixed(i.restMs)}.`
    : '';
  return (
    `CPU per cell at ${c.inFlight} in flight (ms, all cores; each run and its clean-up)\n` +
    renderTable(
      ['', 'machine', 'Temporal server', 'this process', 'sandboxes', 'runsc CLI + sh', 'these 4', 'rest', 'idle'],
      rows,
    ) +
    '\nmachine: /proc/stat busy time. Temporal server: its process. this process: both workers, both clients,\n' +
    "the bench. sandboxes: the hosts' cgroups (runsc-sandbox, its stubs, runsc-gofer; exact). runsc CLI + sh:\n" +
    '`runsc run/create/exec/delete` and the supervisors, /proc sampled every 100 ms by a separate process\n' +
    "(a lower bound). rest: the machine less these 4 and the sampler's own time. idle: the machine's busy\n" +
    'time with no cell running (the idle rig, anything else; below) at the same rate over the same time.' +
    idle
  );
}

function memory({ workerMemory: w, machine }: BenchResult): string {
  const rows = w.map((m, i) => [
    i === w.length - 1 ? `${m.cells} (end of bench)` : String(m.cells),
    mib(m.heapUsedBytes),
    mib(m.heapTotalBytes),
    mib(m.externalBytes),
    mib(m.rssBytes, 0),
  ]);
  const gc = w.every((m) => m.afterGc) ? 'after a full gc' : 'WITHOUT gc (run node with --expose-gc)';
  const { missing } = machine.memorySettings;
  const settings =
    missing.length === 0 ? "with a worker's memory settings" : `WITHOUT ${missing.join(' ')} (run npm run bench)`;
  return (
    `Worker memory (this process: both workers and clients; ${gc}; ${settings})\n` +
    renderTable(['cells through Temporal', 'heap used', 'heap total', 'external', 'RSS'], rows)
  );
}

function poolMemory({ warmPool: p }: BenchResult): string {
  const m = p.hostMemory;
  const own = p.stats?.memoryBytes === undefined ? '' : `; the pool's own figure: ${mib(p.stats.memoryBytes)}`;
  return (
    `Warm pool host memory (full and idle, pool of ${p.size}): ${m.sandboxes} sandboxes, ${m.processes} runsc ` +
    `processes, RSS ${mib(m.rssBytes)} (${mib(p.rssBytesPerSandbox)} per sandbox), ` +
    `PSS ${mib(m.pssBytes)} (${mib(p.pssBytesPerSandbox)} per sandbox)${own}. ` +
    `Cold host idle: ${p.coldHostMemory.processes} runsc processes.`
  );
}
