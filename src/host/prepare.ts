// Preparing a cell: its bundle, cgroup, supervisor parameters and record, everything a launch
// needs, checked before anything is written. Idempotent for one (cell, run key): the record is
// written last, and a prepare that finds it returns it without touching anything.
import { mkdir, realpath, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateBundleConfig, isAllowedHostPath, serializeBundleConfig } from '../bundle/config.ts';
import { BundleConfigError } from '../bundle/errors.ts';
import { sandboxIdFor } from '../bundle/ids.ts';
import type { CellDocument } from '../document/schema.ts';
import { resolveRootfs } from '../rootfs/index.ts';
import { cellFile, readRecord, writeJsonAtomic, type CellRecord } from './cell-files.ts';
import { cellCgroupPath, prepareCellCgroup } from './cgroups.ts';
import { cellDirOf, handleOf, type CellHandle, type HostContext } from './context.ts';
import { launchEnv } from './launch-env.ts';
import { removeCellFiles } from './remove.ts';

export async function prepare(ctx: HostContext, doc: CellDocument, runKey: string): Promise<CellHandle> {
  const sandboxId = sandboxIdFor(doc.spec.id, runKey);
  const { preparing } = ctx;
  preparing.set(sandboxId, (preparing.get(sandboxId) ?? 0) + 1);
  try {
    return await prepareOnce(ctx, doc, runKey, sandboxId);
  } finally {
    const n = (preparing.get(sandboxId) ?? 1) - 1;
    if (n > 0) preparing.set(sandboxId, n);
    else preparing.delete(sandboxId);
  }
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
  const { run } = doc.spec;
  const record: CellRecord = {
    cellId: doc.spec.id,
    sandboxId,
    runKey,
    hostId: config.hostId,
    network: run.network,
    bundleDir: join(config.bundleDir, sandboxId),
    gracefulShutdownSeconds: run.limits.gracefulShutdownSeconds,
    memoryMaxBytes: run.limits.memoryMaxBytes,
    createdAtMs: Date.now(),
  };
  const handle = handleOf(ctx, record);
  try {
    await mkdir(join(cellDir, 'pipes'), { recursive: true, mode: 0o700 });
    const rootfs = await resolveRootfs(run.rootfs, {
      defaultRootfs: config.defaultRootfs,
      imageCacheDir: config.imageCacheDir,
    });
    // Pure checks first (allowlist, secrets, network), so a refused document touches nothing else.
    const ociConfig = generateBundleConfig(doc, {
      sandboxId,
      rootfsPath: rootfs.path,
      cgroupsPath: cellCgroupPath(config.cgroupParent, sandboxId),
      secretEnv: config.secrets,
      allowedMounts: config.allowedMounts,
      allowSandboxNetwork: config.allowSandboxNetwork,
    });
    await checkMountPoints(doc, rootfs.path, config.allowedMounts);
    const cgroup = await prepareCellCgroup(ctx.cgroupMode, config.cgroupParent, sandboxId, record.memoryMaxBytes);
    await mkdir(record.bundleDir, { recursive: true, mode: 0o700 });
    await writeFile(join(record.bundleDir, 'config.json'), serializeBundleConfig(ociConfig), { mode: 0o600 });
    const env = launchEnv({
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

/** runsc creates missing mount points inside the rootfs even when it is read-only: refuse instead. */
async function checkMountPoints(doc: CellDocument, rootfs: string, allowed: readonly string[]): Promise<void> {
  const targets = [
    { path: '/tmp', field: 'the rootfs' },
    ...doc.spec.run.tmpfs.map((t, i) => ({ path: t.path, field: `spec.run.tmpfs[${i}].path` })),
    ...doc.spec.run.mounts.map((m, i) => ({ path: m.destination, field: `spec.run.mounts[${i}].destination` })),
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
  for (const [i, m] of doc.spec.run.mounts.entries()) {
    const real = await realpath(m.source).catch(() => {
      throw new BundleConfigError(
        'MountNotAllowed',
        `spec.run.mounts[${i}].source: ${m.source} does not exist on this host`,
      );
    });
    // A symlink inside an allowed folder must not lead outside it.
    if (!isAllowedHostPath(real, allowed)) {
      throw new BundleConfigError(
        'MountNotAllowed',
        `spec.run.mounts[${i}].source: ${m.source} resolves to ${real}, which is not under a host path this worker allows`,
      );
    }
  }
}
