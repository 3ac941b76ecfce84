// Memory: this process's (the workers and clients share it), and the host memory that idle
// sandboxes hold, read from /proc.
import { argvOf, kbField, listPids, programOf } from './proc.ts';

export interface WorkerMemory {
  /** Cells run through Temporal so far. */
  readonly cells: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly heapTotalBytes: number;
  readonly externalBytes: number;
  /** Whether a full GC ran first (node --expose-gc, as npm run bench starts it). */
  readonly afterGc: boolean;
}

export function workerMemory(cells: number): WorkerMemory {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const m = process.memoryUsage();
  return {
    cells,
    rssBytes: m.rss,
    heapUsedBytes: m.heapUsed,
    heapTotalBytes: m.heapTotal,
    externalBytes: m.external,
    afterGc: gc !== undefined,
  };
}

export interface SandboxMemory {
  /** runsc-sandbox (with its ptrace stubs) and runsc-gofer processes started with --root=<root>. */
  readonly processes: number;
  /** Distinct bundles among them: one per sandbox. */
  readonly sandboxes: number;
  /** Sum of their RSS: pages they share (runsc's own text) are counted once per process. */
  readonly rssBytes: number;
  /** Sum of their PSS (smaps_rollup): shared pages split between the processes that map them. */
  readonly pssBytes: number;
}

const SANDBOX_PROGRAMS = new Set(['runsc-sandbox', 'runsc-gofer']);

/** The host memory held by the sandboxes of one runsc root, now. */
export function sandboxMemory(runscRoot: string): SandboxMemory {
  const root = `--root=${runscRoot}`;
  const bundles = new Set<string>();
  let processes = 0;
  let rssBytes = 0;
  let pssBytes = 0;
  for (const pid of listPids()) {
    const argv = argvOf(pid);
    if (argv === undefined || !SANDBOX_PROGRAMS.has(programOf(argv)) || !argv.includes(root)) continue;
    processes++;
    rssBytes += kbField(pid, 'status', 'VmRSS') ?? 0;
    pssBytes += kbField(pid, 'smaps_rollup', 'Pss') ?? 0;
    // runsc-sandbox has --bundle=<dir>, runsc-gofer --bundle <dir>.
    const i = argv.findIndex((a) => a === '--bundle' || a.startsWith('--bundle='));
    const bundle = argv[i]?.startsWith('--bundle=') ? argv[i].slice('--bundle='.length) : argv[i + 1];
    if (i >= 0 && bundle !== undefined) bundles.add(bundle);
  }
  return { processes, sandboxes: bundles.size, rssBytes, pssBytes };
}
