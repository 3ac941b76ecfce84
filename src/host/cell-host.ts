// One host's cells: prepare a bundle, start its supervisor, wait for the recorded outcome,
// kill on a deadline or request, remove everything. Every step is idempotent and keyed by
// the sandbox id, so a restarted process re-attaches instead of launching twice. This file
// checks the host and wires the steps (one module each) to one context.
import { mkdir, readlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { sandboxIdFor } from '../bundle/ids.ts';
import type { CellDocument } from '../document/schema.ts';
import type { OutputTail } from '../cell/output.ts';
import { createRunscDriver, type RunscDriver, type RunscPlatform } from '../runsc/driver.ts';
import { UnsupportedPlatformError } from '../runsc/errors.ts';
import { detectPlatform, runscVersion } from '../runsc/platform.ts';
import { readOutputTail, readRecord, workloadStarted } from './cell-files.ts';
import { detectCgroupMode, removeCgroupParent, type CgroupMode } from './cgroups.ts';
import {
  HostConfigError,
  checkStateHiddenOnHost,
  normalizeHostConfig,
  type HostConfig,
  type HostConfigInput,
} from './config.ts';
import { cellDirOf, handleOf, inBackground, type CellHandle, type HostContext } from './context.ts';
import { kill, type KillOptions } from './kill.ts';
import { start } from './launch.ts';
import { hostPolicy, prepare, warmMisfitOf } from './prepare.ts';
import { checkHostPolicy } from '../bundle/config.ts';
import { remove, removeById } from './remove.ts';
import { readMountCheckScript, realAllowlist } from './mount-check.ts';
import { cellRedactor } from './redact.ts';
import { childEnv } from '../runsc/child-env.ts';
import { createSpawner } from './spawner.ts';
import { cellState, wait, type CellExit, type CellState, type WaitOptions } from './wait.ts';
import { createWarmPool, warmRootfsProblem, type WarmPool } from './warm-pool.ts';
import { createFolderStore, type FolderStore } from '../artifacts/folder-store.ts';
import { requireHostPermissions } from '../deno-permissions.ts';
import type { ArtifactStore } from '../artifacts/store.ts';
import { exportArtifacts, notExported, type ExportedArtifacts } from './export-artifacts.ts';

/** How long after a result removeLater starts removing its sandbox (see there). */
const REMOVE_LATER_DELAY_MS = 250;

export type { CellHandle } from './context.ts';
export type { KillOptions } from './kill.ts';
export type { CellExit, CellState, WaitOptions } from './wait.ts';
export type { ExportedArtifacts } from './export-artifacts.ts';
export type { WarmPool, WarmPoolStats } from './warm-pool.ts';

export interface CellHost {
  readonly config: HostConfig;
  readonly platform: RunscPlatform;
  readonly cgroupMode: CgroupMode;
  readonly runsc: RunscDriver;
  sandboxIdFor(cellId: string, runKey: string): string;
  /** Writes the bundle and the cell record. Idempotent for one (cell, run key). */
  prepare(doc: CellDocument, runKey: string): Promise<CellHandle>;
  /** Starts the supervisor unless it was started already. */
  start(handle: CellHandle): Promise<{ supervisorPid: number | undefined }>;
  launch(doc: CellDocument, runKey: string): Promise<CellHandle>;
  attach(sandboxId: string): Promise<CellHandle | undefined>;
  state(handle: CellHandle): Promise<CellState>;
  wait(handle: CellHandle, opts?: WaitOptions): Promise<CellExit>;
  kill(handle: CellHandle, opts: KillOptions): Promise<void>;
  /** Deletes the sandbox, its cgroups, bundle and record. Idempotent. */
  remove(handle: CellHandle): Promise<void>;
  /** remove() for a sandbox that may have no record (its start was interrupted). */
  removeById(sandboxId: string): Promise<void>;
  /** The captured output so far, as tails of at most `maxBytes` each. */
  readOutput(handle: CellHandle, maxBytes: number): Promise<{ stdout: OutputTail; stderr: OutputTail }>;
  /** Whether the sandbox got as far as starting the workload (runsc's boot log says so). */
  workloadStarted(handle: CellHandle): Promise<boolean>;
  /**
   * Removes a finished cell without holding up its caller: a warm sandbox takes ~1.5 s to delete,
   * which its result need not wait for. shutdown() waits for these; if the process dies first, the
   * reconciler removes what is left (the cell's workflow is over by then).
   */
  removeLater(handle: CellHandle, onDone?: (error: Error | undefined) => void): void;
  /** Waits for the removals removeLater started (and those they start meanwhile). */
  flushRemovals(): Promise<void>;
  /**
   * Why this document would boot its own sandbox rather than run in a warm one (it names its own
   * rootfs, mounts, tmpfs, cpu quota...; or the host keeps none); undefined when it fits. Policy
   * refusals throw as prepare's would.
   */
  warmMisfit(doc: CellDocument): Promise<string | undefined>;
  /** The host's warm sandboxes, when it keeps any (HostConfigInput.warmPoolSize). */
  readonly warmPool: WarmPool | undefined;
  /** Lets the supervisor launcher go (running cells are not affected). */
  close(): void;
  /** Stops the warm pool (its unused sandboxes removed), waits for removeLater's removals, then close(). */
  shutdown(): Promise<void>;
  /** Whether this process is preparing the sandbox now (its files exist before its record does). */
  isPreparing(sandboxId: string): boolean;
  /**
   * Collects the cell's artifacts (spec.export.artifacts) into the artifact store, once its workload
   * has ended; never for a sandbox that failed to launch (they are reported refused then). Idempotent.
   */
  exportArtifacts(handle: CellHandle, exit: CellExit): Promise<ExportedArtifacts>;
  /** Where this host's cells' artifacts go (spec.export.artifacts). */
  readonly artifactStore: ArtifactStore;
  /** The host's folder store, when artifacts go there: the reconciler sweeps what expired. */
  readonly folderStore: FolderStore | undefined;
}

export interface CellHostOptions {
  /** Lines about the host's own work (its warm pool); one JSON line on stderr each by default. */
  readonly log?: ((message: string, fields: Record<string, unknown>) => void) | undefined;
  /** Where exported artifacts go; by default the host's folder store in config.artifactsDir. */
  readonly artifactStore?: ArtifactStore | undefined;
}

export async function createCellHost(
  input: HostConfigInput,
  env: Readonly<Record<string, string | undefined>> = {},
  opts: CellHostOptions = {},
): Promise<CellHost> {
  if (process.platform !== 'linux') throw new UnsupportedPlatformError(process.platform);
  await requireHostPermissions();
  const config = normalizeHostConfig(input, env);
  if (config.defaultRootfs === '') {
    throw new HostConfigError(
      'no default rootfs configured: set CELLOS_DEFAULT_ROOTFS (run scripts/setup.sh to build one)',
    );
  }
  await runscVersion(config.runscPath).catch((err: Error) => {
    throw new HostConfigError(
      `runsc not usable at ${JSON.stringify(config.runscPath)} (install Debian's package runsc or set CELLOS_RUNSC): ${err.message.split('\n')[0]}`,
    );
  });
  if (config.allowSandboxNetwork && (await inRootNetworkNamespace())) {
    throw new HostConfigError(
      'sandbox networking is allowed in the configuration, but this host cannot provide it: runsc refuses "network enabled in root network namespace" here. Unset CELLOS_ALLOW_SANDBOX_NETWORK or run the worker in its own network namespace.',
    );
  }
  const platform = config.platform ?? (await detectPlatform(config.runscPath));
  const cgroupMode = await detectCgroupMode();
  await Promise.all(
    [config.runscRoot, config.cellsDir, config.bundleDir].map((d) => mkdir(d, { recursive: true, mode: 0o700 })),
  );
  // Now that the folders exist: no symlink may put them inside what a cell can see.
  await checkStateHiddenOnHost(config);
  const hostEnv = childEnv(process.env, Object.values(config.secrets));
  const folderStore = opts.artifactStore
    ? undefined
    : createFolderStore({
        dir: config.artifactsDir,
        hostId: config.hostId,
        retentionSeconds: config.artifacts.retentionSeconds,
        quotaBytes: config.artifacts.quotaBytes,
      });
  const artifactStore = opts.artifactStore ?? folderStore!;
  const exporting = new Map<string, Promise<ExportedArtifacts>>();
  const ctx: HostContext = {
    config,
    runsc: createRunscDriver({ runscPath: config.runscPath, root: config.runscRoot, platform, env: hostEnv }),
    cgroupMode,
    // Supervisors and their runsc get the worker's environment without its secrets and keys.
    spawner: await createSpawner(hostEnv),
    mountCheckScript: await readMountCheckScript(),
    preparing: new Map(),
    background: new Set(),
    log: opts.log ?? ((message, fields) => console.error(JSON.stringify({ message, ...fields }))),
    warmPool: undefined,
  };
  if (config.warmPoolSize > 0) {
    const problem = await warmRootfsProblem(config.defaultRootfs);
    if (problem !== undefined) {
      throw new HostConfigError(`${problem}: use a default rootfs that has it, or set CELLOS_WARM_POOL_SIZE=0`);
    }
    ctx.warmPool = createWarmPool({
      ctx,
      policy: hostPolicy(config, await realAllowlist(config.allowedMounts)),
      size: config.warmPoolSize,
      removeById: (id) => removeById(ctx, id),
      log: ctx.log,
    });
    await ctx.warmPool.start();
  }

  return {
    config,
    platform,
    cgroupMode,
    runsc: ctx.runsc,
    sandboxIdFor,
    prepare: (doc, runKey) => prepare(ctx, doc, runKey),
    start: (handle) => start(ctx, handle),
    async launch(doc, runKey) {
      const handle = await prepare(ctx, doc, runKey);
      await start(ctx, handle);
      return handle;
    },
    async attach(sandboxId) {
      const record = await readRecord(cellDirOf(ctx, sandboxId));
      return record ? handleOf(ctx, record) : undefined;
    },
    state: (handle) => cellState(handle),
    wait: (handle, opts) => wait(ctx, handle, opts),
    kill: (handle, opts) => kill(ctx, handle, opts),
    remove: (handle) => remove(ctx, handle),
    removeById: (sandboxId) => removeById(ctx, sandboxId),
    async readOutput(handle, maxBytes) {
      // While it runs: the dropped counts are known only at its end.
      const [stdout, stderr] = await Promise.all([
        readOutputTail(handle.cellDir, 'stdout', maxBytes, 0),
        readOutputTail(handle.cellDir, 'stderr', maxBytes, 0),
      ]);
      // Heartbeats carry these into history: no secret value of the cell in them.
      const redact = cellRedactor(config.secrets, handle.secretNames);
      return { stdout: { ...stdout, tail: redact(stdout.tail) }, stderr: { ...stderr, tail: redact(stderr.tail) } };
    },
    workloadStarted: (handle) => workloadStarted(handle.cellDir, handle.runscId !== undefined),
    removeLater: (handle, onDone) =>
      inBackground(ctx, () =>
        // Started after the result has gone out: its runsc calls (Node spawns, ~10 ms of this
        // process each) would otherwise slow the workflow task that records the result.
        sleep(REMOVE_LATER_DELAY_MS)
          .then(() => remove(ctx, handle))
          .then(
            () => onDone?.(undefined),
            (err: unknown) => onDone?.(err instanceof Error ? err : new Error(String(err))),
          ),
      ),
    warmPool: ctx.warmPool,
    async warmMisfit(doc) {
      const policy = hostPolicy(config, await realAllowlist(config.allowedMounts));
      checkHostPolicy(doc, policy);
      return warmMisfitOf(ctx, doc, policy);
    },
    close: () => ctx.spawner.close(),
    async flushRemovals() {
      while (ctx.background.size > 0) await Promise.all([...ctx.background]);
    },
    async shutdown() {
      await ctx.warmPool?.stop();
      while (ctx.background.size > 0) await Promise.all([...ctx.background]);
      ctx.spawner.close();
      await removeCgroupParent(ctx.cgroupMode, config.cgroupParent);
    },
    isPreparing: (sandboxId) => ctx.preparing.has(sandboxId) || (ctx.warmPool?.owns(sandboxId) ?? false),
    async exportArtifacts(handle, exit) {
      if ((handle.artifacts ?? []).length === 0) return { artifacts: [], refused: [] };
      if (exit.outcome.kind === 'failed' && !(await workloadStarted(handle.cellDir, handle.runscId !== undefined))) {
        return notExported(handle, 'not collected: the sandbox failed before the workload started');
      }
      // One export per cell at a time: a retried run joins the one still under way.
      let running = exporting.get(handle.sandboxId);
      if (!running) {
        running = exportArtifacts(ctx, handle, artifactStore).finally(() => exporting.delete(handle.sandboxId));
        exporting.set(handle.sandboxId, running);
      }
      return running;
    },
    artifactStore,
    folderStore,
  };
}

async function inRootNetworkNamespace(): Promise<boolean> {
  const [mine, init] = await Promise.all([readlink('/proc/self/ns/net'), readlink('/proc/1/ns/net').catch(() => '')]);
  return mine === init;
}
