// `cellos bundle <file|-> --out DIR [--run-key K]`: the OCI bundle config a host would write for a
// document, without running it.
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { generateBundleConfig, serializeBundleConfig } from '../../bundle/config.ts';
import { sandboxIdFor } from '../../bundle/ids.ts';
import { cellCgroupPath } from '../../host/cgroups.ts';
import { normalizeHostConfig } from '../../host/config.ts';
import { workerConfigFromEnv } from '../../worker/config.ts';
import { readCellDocument } from '../document-input.ts';
import { usageError, validationError } from '../exit.ts';
import type { CliIo } from '../io.ts';

export interface BundleOptions {
  readonly file: string;
  readonly outDir: string;
  /** Distinguishes runs of one cell id in the sandbox id; random by default, as for a real run. */
  readonly runKey: string | undefined;
}

export interface BundleOutput {
  readonly exitCode: 0;
  readonly path: string;
  readonly sandboxId: string;
}

export async function bundle(opts: BundleOptions, io: CliIo): Promise<BundleOutput> {
  const doc = await readCellDocument(opts.file, io);
  const host = normalizeHostConfig(workerConfigFromEnv(io.env).host, io.env);
  const rootfs = doc.spec.run.rootfs;
  if (rootfs !== undefined && 'image' in rootfs) {
    throw validationError('this document cannot be bundled without running it:', [
      'spec.run.rootfs.image: the host unpacks images when the cell starts; `cellos bundle` takes documents with the default rootfs or spec.run.rootfs.path',
    ]);
  }
  const runKey = opts.runKey ?? crypto.randomUUID();
  const sandboxId = sandboxIdFor(doc.spec.id, runKey);
  // Everything is checked before the first write: a refused document leaves nothing behind.
  const text = serializeBundleConfig(
    generateBundleConfig(doc, {
      sandboxId,
      rootfsPath: rootfs?.path ?? host.defaultRootfs,
      cgroupsPath: cellCgroupPath(host.cgroupParent, sandboxId),
      secretEnv: host.secrets,
      secretGrants: host.secretGrants,
      allowedMounts: host.allowedMounts,
      allowSandboxNetwork: host.allowSandboxNetwork,
      allowRootUser: host.allowRootUser,
      memory: host.memory,
    }),
  );
  const dir = resolve(opts.outDir);
  const path = join(dir, 'config.json');
  const created = await mkdir(dir, { recursive: true, mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
    throw usageError(`cannot create the bundle folder ${dir}: ${err.code ?? err.message}`);
  });
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    // Written aside and renamed: the file is 0600 even when it replaces an older one (it may hold secrets).
    await writeFile(tmp, text, { mode: 0o600 });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    if (created !== undefined) await rm(created, { recursive: true, force: true });
    throw usageError(`cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  io.stdout.write(`${path}\n`);
  io.stderr.write(`cellos: bundle of cell ${doc.spec.id} (sandbox id ${sandboxId}, run key ${runKey})\n`);
  return { exitCode: 0, path, sandboxId };
}
