// The image cache: <cacheDir>/<digest-hex>/rootfs. An entry is built in a private temp
// directory beside it and renamed into place, so it appears whole or not at all; when two
// builders race (two processes), the first rename wins and the other's copy is dropped.
//
// Each entry records its size on disk (image.json `bytes`) and when it was last used (the mtime
// of its `last-used` file, touched by every lookup). Past the quota, entries are evicted least
// recently used first, but never one that is in use; see evict.ts for what "in use" means.
import { lstat, mkdir, mkdtemp, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageWork } from './work.ts';

export const TEMP_PREFIX = '.tmp-';
export const MARKER = 'last-used';
export const RECORD = 'image.json';

/** Builds of this process, so concurrent resolves of one image share one unpack. */
const building = new Map<string, Promise<string>>();
/** Entries a resolve of this process is handing out right now (by cache key): never evicted meanwhile. */
const pinned = new Map<string, number>();
let exclusiveTail: Promise<unknown> = Promise.resolve();

export const cachedRootfsPath = (cacheDir: string, hex: string) => join(cacheDir, hex, 'rootfs');

/**
 * Runs `fn` alone among the cache's lookups and eviction renames of this process, so that an
 * entry is never renamed away between a lookup that finds it and the use of what it found.
 */
export function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  const run = exclusiveTail.then(fn, fn);
  exclusiveTail = run.catch(() => undefined);
  return run;
}

/** Marks an entry as being handed out by this process; returns the unpin. */
export function pin(cacheDir: string, hex: string): () => void {
  const key = join(cacheDir, hex);
  pinned.set(key, (pinned.get(key) ?? 0) + 1);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    const n = (pinned.get(key) ?? 1) - 1;
    if (n > 0) pinned.set(key, n);
    else pinned.delete(key);
  };
}

/** Whether this process holds the entry (pinned by a resolve, or being built). */
export const heldHere = (cacheDir: string, hex: string) =>
  pinned.has(join(cacheDir, hex)) || building.has(join(cacheDir, hex));

/** The cached rootfs of this image (its use recorded), or undefined. */
export function lookupCache(cacheDir: string, hex: string): Promise<string | undefined> {
  return exclusive(async () => {
    const path = cachedRootfsPath(cacheDir, hex);
    const st = await stat(path).catch(() => undefined);
    if (!st?.isDirectory()) return undefined;
    await touch(join(cacheDir, hex, MARKER)).catch(() => undefined);
    return path;
  });
}

/**
 * Returns the cached rootfs, building it with `build(scratch, rootfs)` when missing. `build`
 * fills `rootfs`; `scratch` is for its own temporary files and is removed afterwards. On
 * failure nothing is left in the cache. A build shared with a concurrent resolve runs under the
 * first resolve's work (its limits and abort signal).
 */
export function ensureCached(
  cacheDir: string,
  hex: string,
  work: ImageWork,
  build: (scratch: string, rootfs: string) => Promise<void>,
): Promise<string> {
  const key = join(cacheDir, hex);
  let pending = building.get(key);
  if (pending === undefined) {
    pending = buildIntoCache(cacheDir, hex, build, work).finally(() => building.delete(key));
    building.set(key, pending);
  }
  return pending;
}

/** The build-and-rename step alone, without the in-process sharing (exported for tests). */
export async function buildIntoCache(
  cacheDir: string,
  hex: string,
  build: (scratch: string, rootfs: string) => Promise<void>,
  work?: ImageWork,
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
    const bytes = await diskUsage(join(temp, 'rootfs'), work);
    await writeFile(
      join(temp, RECORD),
      `${JSON.stringify({ digest: `sha256:${hex}`, unpackedAt: new Date().toISOString(), bytes })}\n`,
    );
    await writeFile(join(temp, MARKER), '');
    try {
      await exclusive(() => rename(temp, join(cacheDir, hex)));
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

/** Bytes a folder takes on disk (blocks, each hard-linked file once), yielding as it walks. */
export async function diskUsage(dir: string, work?: ImageWork): Promise<number> {
  const seen = new Set<string>();
  let bytes = 0;
  const walk = async (path: string): Promise<void> => {
    await work?.tick();
    const st = await lstat(path);
    if (st.nlink > 1 && !st.isDirectory()) {
      const id = `${st.dev}:${st.ino}`;
      if (seen.has(id)) return;
      seen.add(id);
    }
    bytes += st.blocks * 512;
    if (st.isDirectory()) for (const name of await readdir(path)) await walk(join(path, name));
  };
  await walk(dir);
  return bytes;
}

/** Sets a file's times to now, creating it when missing. */
async function touch(path: string): Promise<void> {
  const now = new Date();
  await utimes(path, now, now).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
    await writeFile(path, '');
  });
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
