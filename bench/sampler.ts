// The CPU sampler, a process of its own (so that its /proc reading is neither in the bench process's
// figure nor guessed): started by cpu.ts with the scope as one JSON line on stdin. It samples /proc
// every 100 ms for the bench hosts' runsc command-line processes (`runsc run`, `create`, `exec`,
// `delete`, ...: argv[0] is runsc and it names one of the hosts' roots) and sh supervisors
// (`cellos-supervisor:<id>` with a cell folder of one of the hosts), and keeps the largest user +
// system time seen per process. The sandboxes' own processes (runsc-sandbox, its ptrace stubs,
// runsc-gofer) run in the cells' cgroups and are counted there instead. It prints "ready" after
// the first sample; when stdin ends it samples once more and prints one JSON line:
// { "ms": CPU time of those processes since the first sample, "selfMs": its own CPU time since then }.
import { createInterface } from 'node:readline';
import { argvOf, listPids, programOf, statOf } from './proc.ts';

export interface SamplerScope {
  readonly runscRoots: readonly string[];
  readonly cellsDirs: readonly string[];
  readonly intervalMs: number;
}

export interface SamplerResult {
  readonly ms: number;
  readonly selfMs: number;
}

const SUPERVISOR_TAG = 'cellos-supervisor:';

function startSampling(scope: SamplerScope): { stop(): number } {
  const roots = new Set(scope.runscRoots.map((r) => `--root=${r}`));
  const cellsDirs = scope.cellsDirs.map((d) => `${d}/`);
  const ours = (argv: readonly string[]) =>
    argv.some((a) => a.startsWith(SUPERVISOR_TAG))
      ? argv.some((a) => cellsDirs.some((d) => a.startsWith(d)))
      : programOf(argv) === 'runsc' && argv.some((a) => roots.has(a));
  /** Per process (pid and start time): its CPU time when first seen, and the most seen. */
  const seen = new Map<string, { first: number; max: number }>();
  let started = false;
  // Every argument vector is read each time: a process forked by the spawner or by node shows its
  // parent's until it executes the supervisor or runsc.
  const sample = () => {
    for (const pid of listPids()) {
      const argv = argvOf(pid);
      if (argv === undefined || !ours(argv)) continue;
      const stat = statOf(pid);
      if (stat === undefined) continue;
      const key = `${pid}@${stat.startTicks}`;
      const entry = seen.get(key);
      // Alive at the first sample: counts from what it had then; born later: from zero.
      if (entry === undefined) seen.set(key, { first: started ? 0 : stat.cpuMs, max: stat.cpuMs });
      else entry.max = Math.max(entry.max, stat.cpuMs);
    }
  };
  sample();
  started = true;
  const timer = setInterval(sample, scope.intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      let ms = 0;
      for (const { first, max } of seen.values()) ms += max - first;
      return ms;
    },
  };
}

async function main() {
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done) return;
  const sampling = startSampling(JSON.parse(first.value) as SamplerScope);
  const self0 = process.cpuUsage();
  process.stdout.write('ready\n');
  // Drain until stdin ends.
  while (!(await lines.next()).done);
  const ms = sampling.stop();
  const self = process.cpuUsage(self0);
  const result: SamplerResult = { ms, selfMs: (self.user + self.system) / 1000 };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
