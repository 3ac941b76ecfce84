// The image cache: <cacheDir>/<digest-hex>/rootfs. An entry is built in a private temp
// directory beside it and renamed into place, so it appears whole or not at all; when two
// builders race (two processes), the first rename wins and the other's copy is dropped.
import { mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const TEMP_PREFIX = '.tmp-';
/** Builds of this process, so concurrent resolves of one image share one unpack. */
const building = new Map<string, Promise<string>>();

export const cachedRootfsPath = (cacheDir: string, hex: string) => join(cacheDir, hex, 'rootfs');

/** The cached rootfs of this image, or undefined. */
export async function lookupCache(cacheDir: string, hex: string): Promise<string | undefined> {
  const path = cachedRootfsPath(cacheDir, hex);
  const st = await stat(path).catch(() => undefined);
  return st?.isDirectory() ? path : undefined;
}

/**
 * Returns the cached rootfs, building it with `build(scratch, rootfs)` when missing. `build`
 * fills `rootfs`; `scratch` is for its own temporary files and is removed afterwards. On
 * failure nothing is left in the cache.
 */
export function ensureCached(
  cacheDir: string,
  hex: string,
  build: (scratch: string, rootfs: string) => Promise<void>,
): Promise<string> {
  const key = join(cacheDir, hex);
  let pending = building.get(key);
  if (pending === undefined) {
    pending = buildIntoCache(cacheDir, hex, build).finally(() => building.delete(key));
    building.set(key, pending);
  }
  return pending;
}

/** The build-and-rename step alone, without the in-process sharing (exported for tests). */
export async function buildIntoCache(
  cacheDir: string,
  hex: string,
  build: (scratch: string, rootfs: string) => Promise<void>,
): Promise<string> {
  const hit = await lookupCache(cacheDir, hex);
  if (hit !== undefined) return hit;
  await mkdir(cacheDir, { recursive: true, mode: 0o700 });
  await sweepAbandoned(cacheDir);
  const temp = await mkdtemp(join(cacheDir, `${TEMP_PREFIX}${process.pid}-${hex.slice(0, 12)}-`));
  try {
    const scratch = join(temp, 'scratch');
    await mkdir(scratch, { mode: 0o700 });
    await build(scratch, join(temp, 'rootfs'));
    await rm(scratch, { recursive: true, force: true });
    await writeFile(
      join(temp, 'image.json'),
      `${JSON.stringify({ digest: `sha256:${hex}`, unpackedAt: new Date().toISOString() })}\n`,
    );
    try {
      await rename(temp, join(cacheDir, hex));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Someone else renamed theirs first: theirs is complete, use it.
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      await rm(temp, { recursive: true, force: true });
      const other = await lookupCache(cacheDir, hex);
      if (other === undefined) throw err;
      return other;
    }
    return cachedRootfsPath(cacheDir, hex);
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw err;
  }
}

/** Removes temp directories left by processes that died mid-build (their pid is gone). */
async function sweepAbandoned(cacheDir: string): Promise<void> {
  for (const name of await readdir(cacheDir)) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const pid = Number(name.slice(TEMP_PREFIX.length).split('-')[0]);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || isAlive(pid)) continue;
    await rm(join(cacheDir, name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
