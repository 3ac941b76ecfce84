// Waiting until the hosts are idle: the removals they run after a cell's result (a warm sandbox
// takes ~1.5 s to delete: host.removeLater) are done and the warm pool is full again. Both are
// the warm pool's work, reached through casts like the pool (see warm-pool.ts).
import type { CellHost } from '../src/host/cell-host.ts';
import { stopWarmPool, waitPoolFull, type PoolView } from './warm-pool.ts';

export interface Settled {
  /** Whether the hosts were idle before the time ran out. */
  readonly settled: boolean;
  readonly waitedMs: number;
}

/** Waits for the hosts' pending removals (up to `removalsMs`), then for the pool to be full (up to `poolMs`). */
export async function settle(
  hosts: readonly CellHost[],
  pool: PoolView | undefined,
  removalsMs: number,
  poolMs: number,
): Promise<Settled> {
  const t0 = performance.now();
  const flushed = await withTimeout(Promise.all(hosts.map(flushRemovals)), removalsMs);
  const full = await waitPoolFull(pool, poolMs);
  return { settled: flushed && full.full, waitedMs: performance.now() - t0 };
}

async function flushRemovals(host: CellHost): Promise<void> {
  const flush = (host as unknown as { flushRemovals?: () => Promise<void> }).flushRemovals;
  if (typeof flush === 'function') await flush.call(host);
}

/** Stops the host: pool, pending removals and supervisor launcher (host.shutdown() where there is one). */
export async function shutdownHost(host: CellHost): Promise<void> {
  const shutdown = (host as unknown as { shutdown?: () => Promise<void> }).shutdown;
  if (typeof shutdown === 'function') return shutdown.call(host);
  await stopWarmPool(host);
  host.close();
}

async function withTimeout(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
