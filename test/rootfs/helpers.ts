// Temp folders and the checks every test of the sample image makes.
import { lstat, mkdtemp, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, expect } from 'vitest';
import type { ResolveRootfsOptions } from '../../src/rootfs/index.ts';
import { sampleLayers } from './images.ts';

export interface Workspace {
  /** The running test's temp folder. */
  readonly dir: string;
  /** The image cache, `<dir>/cache` (made by whoever first writes to it). */
  readonly cache: string;
  /**
   * resolveRootfs's options: this cache, `/` (or `defaultRootfs`) as the default rootfs, and the
   * workspace as the one folder that rootfs paths and images may come from.
   */
  opts(defaultRootfs?: string): ResolveRootfsOptions;
}

/** A temp folder of its own for each test of the file: made before the test, removed after it. */
export function useWorkspace(): Workspace {
  let current: string | undefined;
  const dir = () => {
    if (current === undefined) throw new Error('the workspace exists only while a test runs');
    return current;
  };
  beforeEach(async () => {
    current = await mkdtemp(join(tmpdir(), 'cellos-rootfs-'));
  });
  afterEach(async () => {
    if (current !== undefined) await rm(current, { recursive: true, force: true });
    current = undefined;
  });
  return {
    get dir() {
      return dir();
    },
    get cache() {
      return join(dir(), 'cache');
    },
    opts: (defaultRootfs = '/') => ({
      defaultRootfs,
      imageCacheDir: join(dir(), 'cache'),
      allowedRootfs: [dir()],
      allowedImages: [dir()],
    }),
  };
}

/** sampleLayers(), made once for the file's tests: the returned array is filled before they run. */
export function useSampleLayers(): Buffer[] {
  const layers: Buffer[] = [];
  beforeAll(async () => {
    layers.push(...(await sampleLayers()));
  });
  return layers;
}

const exists = (p: string) =>
  lstat(p).then(
    () => true,
    () => false,
  );

/** The rootfs made from sampleLayers(): layer 2's whiteouts and opaque directory applied. */
export async function expectSampleRootfs(root: string): Promise<void> {
  const busybox = await stat(join(root, 'bin/busybox'));
  expect(busybox.isFile()).toBe(true);
  expect(busybox.mode & 0o777).toBe(0o755);
  expect(busybox.size).toBe((await stat('/bin/busybox')).size);
  expect(await readlink(join(root, 'bin/sh'))).toBe('busybox');
  expect(await readFile(join(root, 'etc/motd'), 'utf8')).toBe('hello from layer 2\n');
  // The hardlink kept the lower file: replacing etc/motd unlinked it first.
  expect(await readFile(join(root, 'etc/motd-link'), 'utf8')).toBe('hello\n');
  expect(await exists(join(root, 'etc/remove-me'))).toBe(false);
  expect(await exists(join(root, 'etc/remove-dir'))).toBe(false);
  expect(await exists(join(root, 'etc/.wh.remove-me'))).toBe(false);
  expect(await readFile(join(root, 'opaque/new'), 'utf8')).toBe('added by layer 2\n');
  expect(await exists(join(root, 'opaque/old'))).toBe(false);
  expect(await exists(join(root, 'opaque/sub'))).toBe(false);
  expect(await exists(join(root, 'opaque/.wh..wh..opq'))).toBe(false);
  const home = await stat(join(root, 'home/user'));
  expect(home.mode & 0o7777).toBe(0o700);
  // Ownership is kept when unpacking as root (as the worker does); otherwise files are the caller's.
  if (process.getuid?.() === 0) expect(home.uid).toBe(1000);
  expect((await stat(join(root, 'usr/bin/su-like'))).mode & 0o7777).toBe(0o4755);
  expect(await exists(join(root, 'dev/null'))).toBe(false);
  const tmp = await lstat(join(root, 'tmp'));
  expect(tmp.isDirectory()).toBe(true);
  expect(tmp.mode & 0o7777).toBe(0o1777);
}
