// npm run bench: a trivial cell through Temporal (client start to result) against a raw
// `runsc run` of the same bundle, side by side in one run; throughput at 8 concurrent cells;
// worker memory over hundreds of cells. Prints figures, asserts nothing.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { CellClient } from '../src/client/cell-client.ts';
import { parseCellDocument } from '../src/document/parse.ts';
import { createCellHost } from '../src/host/cell-host.ts';
import { startDevServer } from '../src/temporal/dev-server.ts';
import { createCellWorker } from '../src/worker/cell-worker.ts';
import { projectRoot } from '../src/worker/config.ts';
import { loadWorkflowBundle } from '../src/worker/workflow-bundle.ts';

const run = promisify(execFile);
const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const N_LATENCY = Number(args.get('latency') ?? 20);
const N_THROUGHPUT = Number(args.get('throughput') ?? 48);
const CONCURRENCY = Number(args.get('concurrency') ?? 8);
const N_MEMORY = Number(args.get('memory') ?? 300);

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'cellos-bench-'));
  const port = 30000 + Math.floor(Math.random() * 10000);
  const server = await startDevServer({ stateDir: join(dir, 'temporal'), port, headless: true });
  const host = await createCellHost({
    hostId: `bench${process.pid}`,
    stateDir: join(dir, 'host'),
    defaultRootfs: process.env.CELLOS_DEFAULT_ROOTFS ?? join(projectRoot, '.tools/rootfs/busybox'),
  });
  // Figures only on stdout: the worker's own lines at WARN (not the expected one about host queues).
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) => {
      if (!entry.message.startsWith('No workflows registered')) console.error(`[${entry.level}] ${entry.message}`);
    }),
  });
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const taskQueue = 'bench';
  const worker = await createCellWorker({
    connection: nativeConnection,
    taskQueue,
    host,
    workflowBundle: await loadWorkflowBundle(),
    maxConcurrentCells: 32,
    // No reconciler: the raw baseline's bundle has a record that no workflow owns.
    reconcileIntervalMs: 0,
  });
  const running = worker.run();
  const client = new CellClient({ connection: await Connection.connect({ address: server.address }), taskQueue });

  let seq = 0;
  const doc = () => ({
    apiVersion: 'cellos.io/v1',
    kind: 'ExecutionCell',
    spec: {
      id: `bench-${++seq}`,
      authority: { secretRefs: [] },
      lifetime: { ttlSeconds: 60 },
      run: { argv: ['/bin/true'] },
    },
  });
  // The raw baseline runs the very bundle the host generates for the same document.
  const rawHandle = await host.prepare(parseCellDocument(doc()), 'raw-baseline');
  const rawFlags = host.runsc.globalFlags('none');
  const raw = async () => {
    const id = `raw-${process.pid}-${++seq}`.padEnd(41, '_');
    await run(host.config.runscPath, [...rawFlags, 'run', '--bundle', rawHandle.bundleDir, id], { maxBuffer: 1 << 20 });
  };
  const viaTemporal = async () => {
    const r = await client.run(doc());
    if (r.outcome.kind !== 'exited' || r.outcome.code !== 0)
      throw new Error(`bench cell failed: ${JSON.stringify(r.outcome)}`);
  };
  const time = async (fn: () => Promise<void>) => {
    const t = performance.now();
    await fn();
    return performance.now() - t;
  };

  // Warm-up: first sandbox, first workflow (bundle load, sticky cache).
  for (let i = 0; i < 3; i++) await Promise.all([raw(), viaTemporal()].map((p) => p));
  console.log(
    `runsc: ${(await run(host.config.runscPath, ['--version'])).stdout.split('\n')[0]}, platform ${host.platform}, ${process.platform} ${process.arch}, node ${process.version}`,
  );

  // 1. Latency, interleaved so both sides see the same noise.
  const rawTimes: number[] = [];
  const wfTimes: number[] = [];
  for (let i = 0; i < N_LATENCY; i++) {
    rawTimes.push(await time(raw));
    wfTimes.push(await time(viaTemporal));
  }
  const mr = median(rawTimes);
  const mw = median(wfTimes);
  console.log(
    `latency (median of ${N_LATENCY}): raw runsc run ${mr.toFixed(0)} ms, through Temporal ${mw.toFixed(0)} ms, ratio ${(mw / mr).toFixed(2)}`,
  );

  // 2. Throughput at CONCURRENCY cells in flight.
  const throughput = async (fn: () => Promise<void>) => {
    let next = 0;
    const t = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next++ < N_THROUGHPUT) await fn();
      }),
    );
    return (N_THROUGHPUT / (performance.now() - t)) * 1000;
  };
  const cpu = async <T>(label: string, fn: () => Promise<T>): Promise<T> => {
    const [sys0, srv0, me0] = [await systemCpuMs(), await processCpuMs(server.pid), process.cpuUsage()];
    const out = await fn();
    const [sys1, srv1, me1] = [await systemCpuMs(), await processCpuMs(server.pid), process.cpuUsage(me0)];
    const per = (ms: number) => (ms / N_THROUGHPUT).toFixed(0);
    console.log(
      `  cpu per cell, ${label}: machine ${per(sys1 - sys0)} ms` +
        (label === 'temporal'
          ? `, of which temporal server ${per(srv1 - srv0)} ms, worker+client ${per((me1.user + me1.system) / 1000)} ms`
          : ''),
    );
    return out;
  };
  const tr1 = await cpu('raw', () => throughput(raw));
  const tw1 = await cpu('temporal', () => throughput(viaTemporal));
  const tw2 = await throughput(viaTemporal);
  const tr2 = await throughput(raw);
  const tr = (tr1 + tr2) / 2;
  const tw = (tw1 + tw2) / 2;
  console.log(
    `throughput at ${CONCURRENCY} concurrent (${N_THROUGHPUT} cells, ABBA): raw ${tr.toFixed(2)} cells/s, through Temporal ${tw.toFixed(2)} cells/s, ratio ${(tw / tr).toFixed(2)}`,
  );

  // 3. Worker memory over many cells (worker and client share this process).
  const samples: string[] = [];
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let done = 0; done < N_MEMORY; done += 50) {
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next++ < 50) await viaTemporal();
      }),
    );
    gc?.();
    const m = process.memoryUsage();
    samples.push(
      `${done + 50}: heap ${(m.heapUsed / 2 ** 20).toFixed(1)} MiB, rss ${(m.rss / 2 ** 20).toFixed(0)} MiB`,
    );
  }
  console.log(`worker memory after every 50 cells${gc ? ' (after gc)' : ''}:\n  ${samples.join('\n  ')}`);

  await host.remove(rawHandle);
  worker.shutdown();
  await running;
  await nativeConnection.close();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}

/** CPU time used by the whole machine (all cores, busy jiffies), in ms. */
async function systemCpuMs(): Promise<number> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  const busy = line.reduce((a, b) => a + b, 0) - line[3]! - line[4]!;
  return (busy * 1000) / 100;
}

async function processCpuMs(pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 1000) / 100;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
