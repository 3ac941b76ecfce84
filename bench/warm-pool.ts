// The warm host's pool of pre-booted sandboxes, seen from outside. The host option
// (HostConfigInput.warmPoolSize) and `host.warmPool` are being added beside this bench: both are
// reached through casts, so that the bench compiles with and without them, and a host without a
// pool is reported as such (its "warm" rows then run cold).
import type { CellHost } from '../src/host/cell-host.ts';
import type { HostConfigInput } from '../src/host/config.ts';

export interface PoolStats {
  readonly size: number;
  readonly ready: number;
  readonly booting: number;
  readonly failedBoots: number | undefined;
  readonly lastError: string | undefined;
  /** Host memory of the ready sandboxes, when the pool says (stats().memoryBytes or memoryBytes()). */
  readonly memoryBytes: number | undefined;
}

export interface PoolView {
  /** The counts only (cheap): undefined when stats() does not answer in the expected shape. */
  counts(): Promise<Pick<PoolStats, 'size' | 'ready' | 'booting'> | undefined>;
  /** The counts, the failures and the memory (which walks /proc). */
  stats(): Promise<PoolStats | undefined>;
}

/** The input with `warmPoolSize`, which HostConfigInput may not declare yet. */
export function withWarmPool(input: HostConfigInput, size: number): HostConfigInput {
  return { ...input, ...({ warmPoolSize: size } as object) };
}

interface PoolLike {
  stats?: () => unknown;
  memoryBytes?: () => unknown;
  start?: () => unknown;
  stop?: () => unknown;
}

function poolOf(host: CellHost): PoolLike | undefined {
  const pool = (host as unknown as { warmPool?: unknown }).warmPool;
  return typeof pool === 'object' && pool !== null ? (pool as PoolLike) : undefined;
}

/**
 * The host's pool, started (its start() is idempotent, in case the host leaves starting it to the
 * worker), or undefined when the host has none.
 */
export async function warmPoolOf(host: CellHost): Promise<PoolView | undefined> {
  const pool = poolOf(host);
  if (pool === undefined || typeof pool.stats !== 'function') return undefined;
  if (typeof pool.start === 'function') await pool.start();
  const raw = async () => {
    const s = (await pool.stats?.()) as Partial<Record<keyof PoolStats, unknown>> | undefined;
    return typeof s?.size === 'number' && typeof s.ready === 'number'
      ? { ...s, size: s.size, ready: s.ready }
      : undefined;
  };
  return {
    async counts() {
      const s = await raw();
      return s && { size: s.size, ready: s.ready, booting: typeof s.booting === 'number' ? s.booting : 0 };
    },
    async stats() {
      const s = await raw();
      if (s === undefined) return undefined;
      const memoryBytes =
        typeof s.memoryBytes === 'number'
          ? s.memoryBytes
          : typeof pool.memoryBytes === 'function'
            ? await Promise.resolve(pool.memoryBytes()).then(
                (m) => (typeof m === 'number' ? m : undefined),
                () => undefined,
              )
            : undefined;
      return {
        size: s.size,
        ready: s.ready,
        booting: typeof s.booting === 'number' ? s.booting : 0,
        failedBoots: typeof s.failedBoots === 'number' ? s.failedBoots : undefined,
        lastError: typeof s.lastError === 'string' ? s.lastError : undefined,
        memoryBytes,
      };
    },
  };
}

/** Stops the host's pool, when it has one that can be stopped (host.close() may not). */
export async function stopWarmPool(host: CellHost): Promise<void> {
  const pool = poolOf(host);
  if (typeof pool?.stop === 'function') await pool.stop();
}

/** Waits until every warm sandbox is booted and idle, or `timeoutMs` passed. */
export async function waitPoolFull(
  pool: PoolView | undefined,
  timeoutMs: number,
): Promise<{ full: boolean; waitedMs: number }> {
  const t0 = performance.now();
  if (pool === undefined) return { full: true, waitedMs: 0 };
  for (;;) {
    const s = await pool.counts();
    const waitedMs = performance.now() - t0;
    if (s === undefined || (s.ready >= s.size && s.booting === 0)) return { full: true, waitedMs };
    if (waitedMs >= timeoutMs) return { full: false, waitedMs };
    await new Promise((r) => setTimeout(r, 20));
  }
}
