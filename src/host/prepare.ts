// Preparing a cell: its bundle, cgroup, supervisor parameters and record, everything a launch
// needs, checked before anything is written: the host's policy (secrets granted to the cell, root,
// memory, tmpfs, network), then its host mounts resolved and checked on their descriptors (see
// mount-check.ts, whose prestart hook checks them again once runsc has mounted them). Idempotent
// for one (cell, run key): the record is written last, and a prepare that finds it returns it
// without touching anything.
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  SANDBOX_MEMORY_HEADROOM,
  checkHostPolicy,
  generateBundleConfig,
  scratchSizes,
  serializeBundleConfig,
  type HostPolicy,
} from '../bundle/config.ts';
import { cellProcessOf, warmMisfit } from '../bundle/warm-shape.ts';
import { BundleConfigError } from '../bundle/errors.ts';
import { sandboxIdFor } from '../bundle/ids.ts';
import type { CellDocument } from '../document/schema.ts';
import { resolveRootfs, rootfsPathsInBundles } from '../rootfs/index.ts';
import { cellFile, pathExists, readRecord, writeJsonAtomic, type CellRecord } from './cell-files.ts';
import { cellCgroupPath, cellOomProbe, prepareCellCgroup, setBootedCellLimits } from './cgroups.ts';
import { cellDirOf, handleOf, inBackground, type CellHandle, type HostContext } from './context.ts';
import type { HostConfig } from './config.ts';
import { launchEnv } from './launch-env.ts';
import { requestLaunch } from './launch.ts';
import { checkMountSources, mountCheckHook, realAllowlist } from './mount-check.ts';
import { removeById, removeCellFiles } from './remove.ts';
import { mountScratch, scratchDirOf } from './scratch.ts';
import { artifactMounts } from '../document/artifacts.ts';
import type { RecordedArtifact } from './cell-files.ts';

export async function prepare(ctx: HostContext, doc: CellDocument, runKey: string): Promise<CellHandle> {
  const sandboxId = sandboxIdFor(doc.spec.id, runKey);
  // One prepare per sandbox at a time: a second (the run's, while the claim's runs) joins the first.
  const inFlight = ctx.preparing.get(sandboxId);
  if (inFlight) return inFlight;
  const p = prepareOnce(ctx, doc, runKey, sandboxId).finally(() => ctx.preparing.delete(sandboxId));
  ctx.preparing.set(sandboxId, p);
  return p;
}

async function prepareOnce(
  ctx: HostContext,
  doc: CellDocument,
  runKey: string,
  sandboxId: string,
): Promise<CellHandle> {
  const { config } = ctx;
  const cellDir = cellDirOf(ctx, sandboxId);
  const existing = await readRecord(cellDir);
  if (existing) return handleOf(ctx, existing);
  // A folder without a record is what a prepare or a removal cut short left (a worker killed in
  // it). What is left there (a supervisor's claim on the cell, its pid file) would make this
  // prepare's supervisor give the cell up, or the start take it for started: remove it all first,
  // as the reconciler would.
  if (await pathExists(cellDir)) await removeById(ctx, sandboxId);
  const { run } = doc.spec;
  // The host's policy first (secrets and their grants, root, memory, tmpfs, network, mounts as
  // written), then the host mounts resolved: a refused document creates nothing on the host.
  const allowedMounts = await realAllowlist(config.allowedMounts);
  const policy = hostPolicy(config, allowedMounts);
  const { memoryBytes } = checkHostPolicy(doc, policy);
  const mounts = await checkMountSources(doc, allowedMounts);
  const artifacts = recordedArtifacts(doc);
  const record: CellRecord = {
    cellId: doc.spec.id,
    sandboxId,
    runKey,
    hostId: config.hostId,
    network: run.network,
    bundleDir: join(config.bundleDir, sandboxId),
    gracefulShutdownSeconds: run.limits.gracefulShutdownSeconds,
    // What the cell's cgroup holds (the host's default when the document names none): an OOM reports it.
    memoryMaxBytes: memoryBytes,
    secretNames: [...doc.spec.authority.secretRefs],
    createdAtMs: Date.now(),
    ...(artifacts.length > 0 ? { artifacts } : {}),
  };
  const warm = await prepareWarm(ctx, doc, record, policy);
  if (warm) return warm;
  const handle = handleOf(ctx, record);
  try {
    await mkdir(join(cellDir, 'pipes'), { recursive: true, mode: 0o700 });
    const rootfs = await resolveRootfs(run.rootfs, {
      defaultRootfs: config.defaultRootfs,
      imageCacheDir: config.imageCacheDir,
      allowedRootfs: config.allowedRootfs,
      allowedImages: config.allowedImages,
      hostDirs: [config.stateDir, config.bundleDir, config.imageCacheDir],
      imageLimits: config.imageLimits,
      imageCacheMaxBytes: config.imageCacheMaxBytes,
      rootfsInUse: () => rootfsPathsInBundles(config.bundleDir),
      signal: AbortSignal.timeout(config.prepareTimeoutMs),
    });
    const scratch = [...scratchSizes(doc, memoryBytes, new Set(artifacts.map((a) => a.scratch)))].map(
      ([key, sizeBytes]) => ({ key, sizeBytes, dir: scratchDirOf(cellDir, key) }),
    );
    const ociConfig = generateBundleConfig(doc, {
      ...policy,
      sandboxId,
      rootfsPath: rootfs.path,
      cgroupsPath: cellCgroupPath(config.cgroupParent, sandboxId),
      mountSources: mounts.map((m) => m.source),
      prestartHooks: mounts.length > 0 ? [mountCheckHook(ctx.mountCheckScript, record.bundleDir, mounts)] : [],
      scratchSources: Object.fromEntries(scratch.map((s) => [s.key, s.dir])),
    });
    await checkMountPoints(doc, rootfs.path);
    await mountScratch(scratch, scratchInodes(config.artifacts.maxFilesPerArtifact));
    const cgroup = await prepareCellCgroup(ctx.cgroupMode, config.cgroupParent, sandboxId, memoryBytes);
    await mkdir(record.bundleDir, { recursive: true, mode: 0o700 });
    await writeFile(join(record.bundleDir, 'config.json'), serializeBundleConfig(ociConfig), { mode: 0o600 });
    const env = launchEnv({
      mode: 'run',
      bundleDir: record.bundleDir,
      sandboxId,
      maxStdoutBytes: run.output.maxStdoutBytes,
      maxStderrBytes: run.output.maxStderrBytes,
      oomProbe: cgroup.oomProbe,
      runscPath: config.runscPath,
      globalFlags: ctx.runsc.globalFlags(record.network),
    });
    await writeFile(join(cellDir, cellFile.launchEnv), env, { mode: 0o600 });
    // The record last: its presence means "prepared", which is what re-attach trusts.
    await writeJsonAtomic(join(cellDir, cellFile.record), record);
    return handle;
  } catch (err) {
    await removeCellFiles(ctx, handle);
    throw err;
  }
}

/**
 * The cell in one of the host's warm sandboxes, when it fits their shape and one is ready; undefined
 * otherwise (the cell boots its own). Its bundle is generated as for a cold cell, by the same
 * generator: its process runs as it would have, the sandbox-wide rest is the pool's (see
 * warm-shape.ts), its memory and pids limits are written into the sandbox's cgroups. A warm sandbox
 * that cannot be given to the cell is removed, never given to another.
 */
async function prepareWarm(
  ctx: HostContext,
  doc: CellDocument,
  base: CellRecord,
  policy: HostPolicy,
): Promise<CellHandle | undefined> {
  const pool = ctx.warmPool;
  if (!pool || warmRefusal(ctx, doc) !== undefined) return undefined;
  const { config } = ctx;
  // Only its process part and limits are used: the rest of a warm cell's sandbox is the pool's.
  const cfg = warmBundleConfig(ctx, doc, policy, base.sandboxId);
  if (warmMisfit(doc, cfg, pool.shapeKey) !== undefined) return undefined;
  const runscId = pool.take();
  if (runscId === undefined) return undefined;
  const record: CellRecord = { ...base, runscId, bundleDir: join(config.bundleDir, runscId) };
  const handle = handleOf(ctx, record);
  try {
    await mkdir(join(handle.cellDir, 'pipes'), { recursive: true, mode: 0o700 });
    await setBootedCellLimits(ctx.cgroupMode, config.cgroupParent, runscId, {
      memoryBytes: record.memoryMaxBytes ?? config.memory.defaultBytes,
      headroomBytes: SANDBOX_MEMORY_HEADROOM,
      pids: cfg.linux.resources.pids?.limit,
    });
    await Promise.all([
      writeFile(join(handle.cellDir, cellFile.processSpec), JSON.stringify(cellProcessOf(cfg)), { mode: 0o600 }),
      writeFile(
        join(handle.cellDir, cellFile.launchEnv),
        launchEnv({
          mode: 'exec',
          bundleDir: record.bundleDir,
          sandboxId: base.sandboxId,
          container: runscId,
          containerDir: cellDirOf(ctx, runscId),
          hostname: cfg.hostname,
          maxStdoutBytes: doc.spec.run.output.maxStdoutBytes,
          maxStderrBytes: doc.spec.run.output.maxStderrBytes,
          oomProbe: cellOomProbe(ctx.cgroupMode, config.cgroupParent, runscId),
          runscPath: config.runscPath,
          globalFlags: ctx.runsc.globalFlags('none'),
        }),
        { mode: 0o600 },
      ),
    ]);
    await writeJsonAtomic(join(handle.cellDir, cellFile.record), record);
    // The supervisor gets the sandbox ready for the cell now (hostname, output readers) and waits
    // at its gate for the start (see supervisor.sh).
    await requestLaunch(ctx, handle);
  } catch (err) {
    // Not the cell's yet: its folder goes, and so does the warm sandbox (it may hold the cell's
    // limits, or be gone: its cgroups missing). The cell boots its own instead.
    await rm(handle.cellDir, { recursive: true, force: true }).catch(() => undefined);
    await pool.handedOver(runscId);
    inBackground(ctx, () => removeById(ctx, runscId));
    ctx.log('warm sandbox could not be given to the cell; it boots its own', {
      cellId: base.cellId,
      sandboxId: base.sandboxId,
      hostId: config.hostId,
      phase: 'prepare',
      warm: runscId,
      error: err instanceof Error ? err.message : String(err),
    });
    return undefined;
  }
  await pool.handedOver(runscId);
  return handle;
}

/** Why a cell (already checked against the host's policy) cannot run warm here; undefined if it can. */
export function warmMisfitOf(ctx: HostContext, doc: CellDocument, policy: HostPolicy): string | undefined {
  return warmRefusal(ctx, doc) ?? warmMisfit(doc, warmBundleConfig(ctx, doc, policy, 'probe'), ctx.warmPool!.shapeKey);
}

/** The refusals that need no bundle: these never fit. */
function warmRefusal(ctx: HostContext, doc: CellDocument): string | undefined {
  if (!ctx.warmPool) return 'this host keeps no warm sandboxes (CELLOS_WARM_POOL_SIZE=0)';
  const run = doc.spec.run;
  if (run.rootfs !== undefined) return 'it names its own rootfs';
  if (run.network !== 'none') return `its network is ${run.network}`;
  if (run.mounts.length > 0) return 'it mounts host folders';
  // Its artifacts lie on a host folder bound into its own sandbox, which a booted one lacks.
  if ((doc.spec.export?.artifacts?.length ?? 0) > 0) return 'it exports artifacts';
  return undefined;
}

/** The cell's bundle as if it ran cold on the default rootfs (its cgroups path is the pool's, unused). */
function warmBundleConfig(ctx: HostContext, doc: CellDocument, policy: HostPolicy, sandboxId: string) {
  return generateBundleConfig(doc, {
    ...policy,
    sandboxId,
    rootfsPath: ctx.config.defaultRootfs,
    cgroupsPath: '',
    mountSources: [],
  });
}

/** The document's artifacts with the scratch mount each lies on (the schema made sure one does). */
function recordedArtifacts(doc: CellDocument): RecordedArtifact[] {
  const artifacts = doc.spec.export?.artifacts ?? [];
  const { mounts } = artifactMounts(doc.spec.run, artifacts);
  return artifacts.map((a, i) => ({
    name: a.name,
    path: a.path,
    scratch: mounts[i]!.scratch,
    relativePath: mounts[i]!.relativePath,
  }));
}

/** Inodes of a scratch tmpfs: room for a full directory artifact twice over, never fewer than 16384. */
function scratchInodes(maxFilesPerArtifact: number): number {
  return Math.max(16_384, 2 * maxFilesPerArtifact);
}

/** What this host lets documents do, as the bundle generator takes it. */
export function hostPolicy(config: HostConfig, allowedMounts: readonly string[]): HostPolicy {
  return {
    secretEnv: config.secrets,
    secretGrants: config.secretGrants,
    allowedMounts,
    allowSandboxNetwork: config.allowSandboxNetwork,
    allowRootUser: config.allowRootUser,
    memory: config.memory,
  };
}

/** runsc creates missing mount points inside the rootfs even when it is read-only: refuse instead. */
async function checkMountPoints(doc: CellDocument, rootfs: string): Promise<void> {
  const targets = [
    { path: '/tmp', field: 'the rootfs' },
    ...doc.spec.run.tmpfs.map((t, i) => ({ path: t.path, field: `spec.run.tmpfs[${i}].path` })),
    ...doc.spec.run.mounts.map((m, i) => ({ path: m.destination, field: `spec.run.mounts[${i}].destination` })),
    // The scratch folders made for artifacts outside every declared mount (document/artifacts.ts).
    ...artifactMounts(doc.spec.run, doc.spec.export?.artifacts ?? []).implicit.map((m) => ({
      path: m.mountPath,
      field: `spec.export.artifacts[${m.scratch.slice(1)}].path`,
    })),
  ];
  for (const t of targets) {
    const st = await stat(join(rootfs, t.path)).catch(() => undefined);
    if (!st?.isDirectory()) {
      throw new BundleConfigError(
        'RootfsUnavailable',
        `${t.field}: mount point ${t.path} is not a directory in the rootfs ${rootfs}; add it to the image (runsc would otherwise create it in the shared rootfs)`,
      );
    }
  }
}
