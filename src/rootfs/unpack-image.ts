// Turns a planned image into a rootfs directory: apply each layer (checking its digest), then
// give directories their modes and make sure /tmp exists.
import { chmod, lstat, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { applyLayer, finishDirectories, type DirectoryTimes } from './apply-layer.ts';
import type { ImageSource } from './image-source.ts';
import type { ImagePlan } from './plan.ts';
import type { ImageWork } from './work.ts';

export async function unpackImage(
  source: ImageSource,
  plan: ImagePlan,
  scratch: string,
  rootfs: string,
  work: ImageWork,
): Promise<void> {
  await mkdir(rootfs, { mode: 0o755 });
  await chmod(rootfs, 0o755);
  const files = await source.files(
    plan.layers.map((l) => l.name),
    scratch,
  );
  const directories: DirectoryTimes = new Map();
  const chown = process.getuid?.() === 0;
  for (const [i, layer] of plan.layers.entries()) {
    // applyLayer checks the layer's digest on the bytes it applies.
    await applyLayer(files[i]!, { root: rootfs, label: layer.label, directories, chown, work, expect: layer.expect });
  }
  await finishDirectories(rootfs, directories, work);
  await ensureTmp(rootfs);
}

/** The sandbox mounts a tmpfs on /tmp: whatever the image had there is hidden anyway. */
async function ensureTmp(rootfs: string): Promise<void> {
  const tmp = join(rootfs, 'tmp');
  const st = await lstat(tmp).catch(() => undefined);
  if (st?.isDirectory()) return;
  if (st !== undefined) await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  await chmod(tmp, 0o1777);
}
