// What the host's modules work over: one host's settings and tools, in a small object passed to
// module-level functions rather than closed over by one big factory.
import { join } from 'node:path';
import type { RunscDriver } from '../runsc/driver.ts';
import type { CellRecord } from './cell-files.ts';
import type { CgroupMode } from './cgroups.ts';
import type { HostConfig } from './config.ts';
import type { Spawner } from './spawner.ts';
import type { WarmPool } from './warm-pool.ts';

export interface HostContext {
  readonly config: HostConfig;
  readonly runsc: RunscDriver;
  readonly cgroupMode: CgroupMode;
  readonly spawner: Spawner;
  /** mount-check.sh's text: the prestart hook that checks a cell's host mounts (see mount-check.ts). */
  readonly mountCheckScript: string;
  /** Sandboxes whose prepare() runs in this process: files without a record yet, not leftovers. */
  readonly preparing: Map<string, Promise<CellHandle>>;
  /** Lines about the host's own work (the warm pool, a warm sandbox that could not be used). */
  readonly log: (message: string, fields: Record<string, unknown>) => void;
  /** Removals under way that no caller waits for (see CellHost.removeLater); shutdown waits for them. */
  readonly background: Set<Promise<void>>;
  /** The host's warm sandboxes, when it keeps any (set once, right after the context is made). */
  warmPool: WarmPool | undefined;
}

/** A cell's record and where its files are: what every step after prepare takes. */
export interface CellHandle extends CellRecord {
  readonly cellDir: string;
}

export function cellDirOf(ctx: HostContext, sandboxId: string): string {
  return join(ctx.config.cellsDir, sandboxId);
}

export function handleOf(ctx: HostContext, record: CellRecord): CellHandle {
  return { ...record, cellDir: cellDirOf(ctx, record.sandboxId) };
}

/** Runs `work` without the caller waiting for it; the host's shutdown (and flushRemovals) does. */
export function inBackground(ctx: HostContext, work: () => Promise<void>): void {
  const p: Promise<void> = work()
    .catch(() => undefined)
    .finally(() => ctx.background.delete(p));
  ctx.background.add(p);
}
