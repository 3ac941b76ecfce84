// The host's warm sandboxes: a few sandboxes booted ahead of the cells (`runsc create` + `start`
// of an idle init, ~170 ms each here), so that a cell that fits their shape runs with `runsc exec`
// (~35 ms) instead of booting its own. Each is given to exactly one cell and destroyed with it;
// the pool boots a new one in the background. A warm sandbox lives in the cells folder under its
// own id with a pool.json (no cell record), booted by a supervisor in mode "boot"; once a cell is
// given it, that cell's record names it (runscId) and it is the cell's to remove.
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateBundleConfig, serializeBundleConfig, type HostPolicy } from '../bundle/config.ts';
import { sandboxIdFor, isSandboxId } from '../bundle/ids.ts';
import { WARM_PROGRAMS, sandboxShapeKey, warmInitProcessOf, warmShapeInput } from '../bundle/warm-shape.ts';
import { parseCellDocument } from '../document/parse.ts';
import { cellFile, pathExists, readJson, readRecord, readTail, writeJsonAtomic } from './cell-files.ts';
import { cellCgroupPath, prepareCellCgroup } from './cgroups.ts';
import { cellDirOf, type HostContext } from './context.ts';
import { launchEnv } from './launch-env.ts';
import { findHostProcesses, processToken } from './processes.ts';

/** The slug of every warm sandbox's id (see sandboxIdFor): `cellos-warm_____-<hash>`. */
const WARM_ID_PREFIX = 'cellos-warm';
/**
 * Boots under way at once. One: a boot costs about what a cold cell does, and under a burst (the pool
 * empty, cells arriving faster than boots) parallel boots only took CPU from the cells (measured: at
 * 8 in flight on 2 cores, 4 parallel boots made warm cells cost 312 ms of CPU against 188 cold).
 */
const MAX_PARALLEL_BOOTS = 1;
/** A boot that has not finished in this time is given up (and its sandbox removed). */
const BOOT_TIMEOUT_MS = 30_000;
/**
 * A taken sandbox is replaced once its cell's sandbox is removed (refill), so that the boot, as
 * costly as a cold cell's, does not take CPU from the cell; or after this time, for a long cell.
 */
const REFILL_AFTER_TAKE_MS = 2000;
/** After failed boots the pool waits before the next, doubling up to this. */
const MAX_BACKOFF_MS = 30_000;

export interface WarmPoolStats {
  /** How many warm sandboxes the pool keeps. */
  readonly size: number;
  readonly ready: number;
  readonly booting: number;
  /** Boots that failed since the start, and the last failure's message. */
  readonly failedBoots: number;
  readonly lastError: string | undefined;
}

export interface WarmPool {
  readonly size: number;
  /** What a cell's bundle must share with the pool's (see sandboxShapeKey). */
  readonly shapeKey: string;
  /** Fills the pool, after removing the warm sandboxes an earlier process left unused. */
  start(): Promise<void>;
  /** A booted sandbox for one cell, or undefined when none is ready. No two callers get the same. */
  take(): string | undefined;
  /** The cell's record now names the sandbox: it is the cell's. */
  handedOver(runscId: string): Promise<void>;
  /** A sandbox the pool gave a cell is gone: boot its replacement now. */
  refill(): void;
  /** Whether the sandbox is one of the pool's (booting, ready, or being handed to a cell). */
  owns(sandboxId: string): boolean;
  stats(): WarmPoolStats;
  /** The host memory (RSS) of the ready sandboxes' runsc processes. */
  memoryBytes(): Promise<number>;
  /** Stops booting and removes the sandboxes no cell was given. */
  stop(): Promise<void>;
}

export interface WarmPoolDeps {
  readonly ctx: HostContext;
  readonly policy: HostPolicy;
  readonly size: number;
  /** Removes a sandbox and its files by id (the host's removeById). */
  readonly removeById: (sandboxId: string) => Promise<void>;
  readonly log?: ((message: string, fields: Record<string, unknown>) => void) | undefined;
}

export function isWarmSandboxId(id: string): boolean {
  return isSandboxId(id) && id.startsWith(WARM_ID_PREFIX);
}

/** Why the host's default rootfs cannot hold warm sandboxes, or undefined when it can. */
export async function warmRootfsProblem(rootfs: string): Promise<string | undefined> {
  for (const program of WARM_PROGRAMS) {
    if (!(await pathExists(join(rootfs, program))))
      return `the default rootfs ${rootfs} has no ${program}, which a warm sandbox needs`;
  }
  return undefined;
}

/** pool.json: a warm sandbox no cell has yet, and the process whose pool it is. */
interface PoolRecord {
  readonly sandboxId: string;
  readonly hostId: string;
  /** processToken of the pool's process. */
  readonly owner: string | undefined;
  readonly createdAtMs: number;
}

export function createWarmPool(deps: WarmPoolDeps): WarmPool {
  const { ctx, policy, size, removeById, log = () => undefined } = deps;
  const owner = processToken(process.pid);
  const { config } = ctx;
  const shapeKey = sandboxShapeKey(shapeConfig(ctx, policy, sandboxIdFor(WARM_ID_PREFIX, 'shape')));
  const ready: string[] = [];
  const booting = new Set<string>();
  const handing = new Set<string>();
  let stopped = true;
  let failedBoots = 0;
  let lastError: string | undefined;
  let backoffUntil = 0;
  let backoffMs = 0;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  const bootsDone = new Set<Promise<void>>();
  let reaping: Promise<void> = Promise.resolve();

  const fill = () => {
    if (stopped) return;
    const wait = backoffUntil - Date.now();
    if (wait > 0) {
      retryTimer ??= setTimeout(() => {
        retryTimer = undefined;
        fill();
      }, wait);
      retryTimer.unref?.();
      return;
    }
    while (!stopped && ready.length + booting.size < size && booting.size < MAX_PARALLEL_BOOTS) {
      const id = sandboxIdFor(WARM_ID_PREFIX, randomUUID());
      booting.add(id);
      const done = boot(id)
        .then(
          () => {
            backoffMs = 0;
            if (stopped) return removeById(id);
            ready.push(id);
          },
          async (err: unknown) => {
            failedBoots++;
            lastError = err instanceof Error ? err.message : String(err);
            backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs === 0 ? 1000 : backoffMs * 2);
            backoffUntil = Date.now() + backoffMs;
            log('warm sandbox failed to boot; the pool tries again later', {
              hostId: config.hostId,
              sandboxId: id,
              phase: 'warm',
              error: lastError,
              retryInMs: backoffMs,
            });
            await removeById(id).catch(() => undefined);
          },
        )
        .catch(() => undefined)
        .finally(() => {
          booting.delete(id);
          bootsDone.delete(done);
          fill();
        });
      bootsDone.add(done);
    }
  };

  async function boot(id: string): Promise<void> {
    const dir = cellDirOf(ctx, id);
    const bundleDir = join(config.bundleDir, id);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // pool.json before anything else of the sandbox: whatever a crash leaves is named by its owner.
    await writeJsonAtomic(join(dir, cellFile.pool), {
      sandboxId: id,
      hostId: config.hostId,
      owner: await owner,
      createdAtMs: Date.now(),
    } satisfies PoolRecord);
    const shape = shapeConfig(ctx, policy, id);
    const cfg = { ...shape, process: warmInitProcessOf(shape) };
    const cgroup = await prepareCellCgroup(ctx.cgroupMode, config.cgroupParent, id, policy.memory?.defaultBytes);
    await mkdir(bundleDir, { recursive: true, mode: 0o700 });
    await writeFile(join(bundleDir, 'config.json'), serializeBundleConfig(cfg), { mode: 0o600 });
    const env = launchEnv({
      mode: 'boot',
      bundleDir,
      sandboxId: id,
      maxStdoutBytes: 0,
      maxStderrBytes: 0,
      oomProbe: cgroup.oomProbe,
      runscPath: config.runscPath,
      globalFlags: ctx.runsc.globalFlags('none'),
    });
    await writeFile(join(dir, cellFile.launchEnv), env, { mode: 0o600 });
    ctx.spawner.launch(id, dir);
    const until = Date.now() + BOOT_TIMEOUT_MS;
    for (;;) {
      const booted = (await readFile(join(dir, cellFile.booted), 'utf8').catch(() => '')).trim();
      if (booted !== '') {
        if (booted === '0') return;
        const err = (await readTail(join(dir, cellFile.bootErr), 2000)).text.trim();
        throw new Error(`runsc create/start of warm sandbox ${id} exited ${booted}${err ? `: ${err}` : ''}`);
      }
      if (Date.now() > until) throw new Error(`warm sandbox ${id} did not boot within ${BOOT_TIMEOUT_MS / 1000} s`);
      await sleep(10);
    }
  }

  /**
   * Warm sandboxes an earlier process booted and gave no cell: their ids. Those a cell has stay, and
   * so do those of a pool whose process still runs (two processes on one state folder). A folder
   * without pool.json that no record names is a boot or a removal cut short. Called before this
   * pool boots anything, so that none of its own sandboxes is among them.
   */
  async function findLeftovers(): Promise<string[]> {
    const names = await readdir(config.cellsDir).catch(() => [] as string[]);
    const given = new Set<string>();
    for (const name of names) {
      const record = isSandboxId(name) ? await readRecord(join(config.cellsDir, name)) : undefined;
      if (record?.runscId) given.add(record.runscId);
    }
    const found: string[] = [];
    for (const n of names.filter((name) => isWarmSandboxId(name) && !given.has(name))) {
      const pooled = await readJson<PoolRecord>(join(config.cellsDir, n, cellFile.pool));
      const [pid] = (pooled?.owner ?? '').split(':');
      if (pooled?.owner && (await processToken(Number(pid))) === pooled.owner) continue;
      found.push(n);
    }
    // A given one keeps its folder; only the pool's mark goes.
    await Promise.all([...given].map((n) => unlink(join(config.cellsDir, n, cellFile.pool)).catch(() => undefined)));
    return found;
  }

  return {
    size,
    shapeKey,
    async start() {
      if (!stopped) return;
      stopped = false;
      // The removals are not awaited: an old sandbox takes ~1.5 s to delete, and the pool fills meanwhile.
      reaping = findLeftovers()
        .catch(() => [] as string[])
        .then((leftovers) => {
          fill();
          return Promise.all(leftovers.map((id) => removeById(id).catch(() => undefined)));
        })
        .then(() => undefined);
    },
    take() {
      const id = ready.shift();
      if (id === undefined) return undefined;
      handing.add(id);
      setTimeout(fill, REFILL_AFTER_TAKE_MS).unref?.();
      return id;
    },
    async handedOver(id) {
      handing.delete(id);
      await unlink(join(cellDirOf(ctx, id), cellFile.pool)).catch(() => undefined);
    },
    refill: () => fill(),
    owns: (id) => booting.has(id) || ready.includes(id) || handing.has(id),
    stats: () => ({ size, ready: ready.length, booting: booting.size, failedBoots, lastError }),
    async memoryBytes() {
      return rssOfSandboxes(ctx, new Set(ready));
    },
    async stop() {
      stopped = true;
      clearTimeout(retryTimer);
      retryTimer = undefined;
      await Promise.all([...bootsDone, reaping]);
      const idle = ready.splice(0);
      await Promise.all(idle.map((id) => removeById(id).catch(() => undefined)));
    },
  };
}

/** The bundle config of a warm sandbox: the shape document's, with the sandbox's own id and cgroup. */
function shapeConfig(ctx: HostContext, policy: HostPolicy, id: string) {
  const doc = parseCellDocument(warmShapeInput(id));
  return generateBundleConfig(doc, {
    ...policy,
    // No secret, grant or host mount is part of a warm sandbox; its cell brings its own env.
    secretEnv: {},
    secretGrants: {},
    mountSources: [],
    sandboxId: id,
    rootfsPath: ctx.config.defaultRootfs,
    cgroupsPath: cellCgroupPath(ctx.config.cgroupParent, id),
  });
}

/** RSS of the runsc-sandbox and runsc-gofer processes of the given sandboxes (from /proc). */
async function rssOfSandboxes(ctx: HostContext, ids: ReadonlySet<string>): Promise<number> {
  const procs = (await findHostProcesses(ctx.config)).filter((p) => p.kind === 'runsc' && ids.has(p.sandboxId));
  let total = 0;
  for (const p of procs) {
    const status = await readFile(`/proc/${p.pid}/status`, 'utf8').catch(() => '');
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    if (kb !== undefined) total += Number(kb) * 1024;
  }
  return total;
}
