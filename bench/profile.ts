// Where the worker's CPU goes per cell: `npm run bench:profile -- --cells=200 --in-flight=8
// --series=temporal-cold`. Re-runs itself under `node --cpu-prof` (a profile per JS thread: the
// main thread and the workflow threads), runs the cells on the bench's rig, and prints the CPU per
// cell of each thread of the process (from /proc: JS threads and the Rust core's alike) and of the
// dev server, then the functions and packages the JS time went to. Reports; never fails on figures.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BenchUsageError, wholeNumber } from './options.ts';
import { statOf, threadsOf } from './proc.ts';
import { startRig } from './rig.ts';
import type { Series } from './series.ts';
import { settle } from './settle.ts';
import { renderTable } from './table.ts';

/** Set in the profiled child: the folder its profiles and its window go to. */
const CHILD_ENV = 'CELLOS_BENCH_PROFILE_DIR';
const WINDOW_FILE = 'window.json';

interface ProfileWindow {
  readonly startUs: number;
  readonly endUs: number;
  readonly cells: number;
}

/** CLOCK_MONOTONIC in µs, the clock of V8's profile timestamps. */
const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);
const IDLE_MS = 5000;
const SERVER = 'dev server (all threads)';

interface Options {
  readonly cells: number;
  readonly inFlight: number;
  readonly series: Series;
}

function options(): Options {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        cells: { type: 'string', default: '200' },
        'in-flight': { type: 'string', default: '8' },
        series: { type: 'string', default: 'temporal-cold' },
      },
    }));
  } catch (err) {
    throw new BenchUsageError((err as Error).message);
  }
  const series = values.series;
  if (series !== 'temporal-cold' && series !== 'temporal-warm') {
    throw new BenchUsageError(`--series ${JSON.stringify(series)} must be temporal-cold or temporal-warm`);
  }
  return {
    cells: wholeNumber('cells', values.cells, 1),
    inFlight: wholeNumber('in-flight', values['in-flight'], 1),
    series,
  };
}

/** CPU ms per thread name of this process (thread names repeat: the Rust core's workers, libuv's pool). */
function threadCpu(): Map<string, number> {
  const byName = new Map<string, number>();
  for (const t of threadsOf(process.pid)) {
    // Node's worker threads (the workflow threads) are named like the main thread.
    const name = t.tid === process.pid ? `${t.comm} (main thread)` : t.comm;
    byName.set(name, (byName.get(name) ?? 0) + t.cpuMs);
  }
  return byName;
}

async function runCells(opts: Options): Promise<void> {
  const progress = (line: string) => process.stderr.write(`profile: ${line}\n`);
  const { rig, close } = await startRig({
    poolSize: opts.series === 'temporal-warm' ? 8 : 0,
    rawInFlight: 1,
    progress,
  });
  try {
    for (let i = 0; i < 10; i++) await rig.runCell(opts.series); // JIT and caches warm
    await settle(rig.hosts, rig.pool, 10_000, 30_000);
    const serverPid = rig.server.pid;
    const sample = (): CpuSample => ({
      threads: threadCpu(),
      server: serverPid ? statOf(serverPid)?.cpuMs : undefined,
    });
    // What the process and the server spend with no cell at all (polls, timers, the warm host's
    // pool), per ms: taken off the figures below, as the bench does.
    const idleStart = sample();
    const idleT0 = performance.now();
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const idle = rates(idleStart, sample(), performance.now() - idleT0);
    const before = sample();
    const startUs = monotonicUs();
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: opts.inFlight }, async () => {
        while (next < opts.cells) {
          next++;
          await rig.runCell(opts.series);
        }
      }),
    );
    const wallMs = performance.now() - t0;
    // The profiles' sample times are on the same monotonic clock: the report keeps this window only.
    const window: ProfileWindow = { startUs, endUs: monotonicUs(), cells: opts.cells };
    await writeFile(join(process.env[CHILD_ENV]!, WINDOW_FILE), JSON.stringify(window));
    const perCell = [...rates(before, sample(), wallMs)]
      .map(([name, rate]): [string, number] => [
        name,
        (Math.max(0, rate - (idle.get(name) ?? 0)) * wallMs) / opts.cells,
      ])
      .filter(([, ms]) => ms >= 0.01)
      .sort((x, y) => y[1] - x[1]);
    const worker = perCell.filter(([n]) => n !== SERVER).reduce((sum, [, ms]) => sum + ms, 0);
    console.log(
      `${opts.cells} cells (${opts.series}), ${opts.inFlight} in flight, ${(opts.cells / (wallMs / 1000)).toFixed(2)} cells/s`,
    );
    console.log(
      renderTable(
        ["thread (libuv's pool is named node too)", 'CPU ms per cell, less idle'],
        [...perCell.map(([name, ms]) => [name, ms.toFixed(2)]), ['worker process, all threads', worker.toFixed(2)]],
      ),
    );
  } finally {
    await close();
  }
}

interface CpuSample {
  readonly threads: Map<string, number>;
  readonly server: number | undefined;
}

/** CPU ms per wall ms of each thread name of this process and of the server, from `a` to `b`. */
function rates(a: CpuSample, b: CpuSample, wallMs: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, ms] of b.threads) out.set(`worker process: ${name}`, (ms - (a.threads.get(name) ?? 0)) / wallMs);
  if (a.server !== undefined && b.server !== undefined) out.set(SERVER, (b.server - a.server) / wallMs);
  return out;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}
interface CpuProfile {
  readonly startTime: number;
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Where a frame's code lives: a package, a file of this project, node's own, or the VM. */
function placeOf(url: string, root: string): string {
  if (url === '') return '(native: V8, node, gc)';
  if (url.startsWith('node:')) return 'node: (core)';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (pkg) return pkg[1]!;
  return relative(root, path) || path;
}

async function report(dir: string): Promise<void> {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const window = JSON.parse(await readFile(join(dir, WINDOW_FILE), 'utf8')) as ProfileWindow;
  const cells = window.cells;
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
  for (const file of files) {
    const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile;
    const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
    const self = new Map<string, number>();
    const places = new Map<string, number>();
    let busyUs = 0;
    let at = profile.startTime;
    profile.samples.forEach((id, i) => {
      const frame = byNode.get(id)!.callFrame;
      const us = profile.timeDeltas[i] ?? 0;
      at += us;
      if (at < window.startUs || at > window.endUs) return;
      if (frame.functionName === '(idle)' || frame.functionName === '(program)') return;
      busyUs += us;
      const place = placeOf(frame.url, root);
      const name = (frame.functionName || '(anonymous)').slice(0, 60);
      const fn = `${name} ${place}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
      self.set(fn, (self.get(fn) ?? 0) + us);
      places.set(place, (places.get(place) ?? 0) + us);
    });
    if (busyUs < 1000 * cells * 0.05) continue; // a thread that did next to nothing
    const perCell = (us: number) => (us / 1000 / cells).toFixed(3);
    console.log(`\n${file}: ${perCell(busyUs)} ms busy per cell (samples in the window; profiled runs are slower)`);
    const top = (m: Map<string, number>, n: number) =>
      [...m.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, n)
        .map(([k, us]) => [k, perCell(us), `${((100 * us) / busyUs).toFixed(1)}%`]);
    console.log(renderTable(['where', 'ms per cell', 'share'], top(places, 12)));
    console.log(renderTable(['function (self time)', 'ms per cell', 'share'], top(self, 25)));
  }
}

async function main(): Promise<void> {
  const opts = options();
  if (process.env[CHILD_ENV]) return runCells(opts);
  const dir = await mkdtemp(join(tmpdir(), 'cellos-profile-'));
  try {
    const child = spawnSync(
      process.execPath,
      [
        ...process.execArgv,
        '--cpu-prof',
        `--cpu-prof-dir=${dir}`,
        fileURLToPath(import.meta.url),
        ...process.argv.slice(2),
      ],
      { stdio: 'inherit', env: { ...process.env, [CHILD_ENV]: dir } },
    );
    if (child.status !== 0) throw new Error(`the profiled run exited ${child.status ?? child.signal}`);
    await report(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main().catch((err: unknown) => {
  console.error(err instanceof BenchUsageError ? `bench:profile: ${err.message}` : err);
  process.exitCode = 1;
});
