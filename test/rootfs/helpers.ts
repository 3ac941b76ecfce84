// Temp directories and the checks every test of the sample image makes.
import { lstat, mkdtemp, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';

export async function tempDir(prefix = 'cellos-rootfs-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
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
