// Opening a host path that a document (or an image) named, without trusting it. A FIFO blocks
// open and read, a device or a /proc file (which stat calls "regular", /proc/kmsg) blocks read:
// any of them would hold a thread of libuv's small pool, and with it every file operation of the
// worker. So: a first look with (l)stat refuses them without opening; the open is non-blocking
// and never makes a terminal ours; and the descriptor itself is then checked (fstat, its
// filesystem, and the path the kernel says it has), so a file swapped in between is caught too.
import { constants, type Stats } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { ImageProblem } from './errors.ts';

const { O_RDONLY, O_NONBLOCK, O_NOCTTY, O_NOFOLLOW } = constants;

/** The path of an open descriptor: opening it again reaches the same file, whatever was renamed since. */
export const fdPath = (fh: fsp.FileHandle): string => `/proc/self/fd/${fh.fd}`;

/**
 * Filesystems of kernel interfaces, whose "regular files" may block on read or have effects when
 * read (statfs f_type values from linux/magic.h): proc, sysfs, debugfs, tracefs, securityfs,
 * cgroup, cgroup2, configfs, bpf, pstore, efivarfs, devpts, fusectl, binfmt_misc, selinuxfs, smackfs.
 */
const KERNEL_FILESYSTEMS: ReadonlySet<number> = new Set([
  0x9fa0, 0x62656572, 0x64626720, 0x74726163, 0x73636673, 0x27e0eb, 0x63677270, 0x62656570, 0xcafe4a11, 0x6165676c,
  0xde5e81e4, 0x1cd1, 0x65735543, 0x42494e4d, 0xf97cff8c, 0x43415d53,
]);

export interface OpenedPath {
  fh: fsp.FileHandle;
  stats: Stats;
  /** The path the kernel gives the open descriptor. */
  actual: string;
}

export interface OpenRules {
  /** Whether the descriptor's own path is the one the caller checked. */
  accept: (actual: string) => boolean;
  /** Thrown when `accept` says no: the path changed while it was checked, or leads out of the image. */
  moved: () => Error;
  /** How the path is named in a refusal. */
  what: string;
}

/** Opens a regular file or a directory at a realpath for reading, or throws (the caller closes `fh`). */
export async function openUntrusted(path: string, rules: OpenRules): Promise<OpenedPath> {
  const notRegular = () =>
    new ImageProblem(
      'NotAnImage',
      `${rules.what} is neither a regular file nor a directory (a FIFO, device or socket)`,
    );
  // `path` is a realpath: a symlink at its end (or along it, seen on the descriptor) is a swap.
  const first = await fsp.lstat(path);
  if (first.isSymbolicLink()) throw rules.moved();
  if (!first.isFile() && !first.isDirectory()) throw notRegular();
  const fh = await fsp.open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW).catch((err: NodeJS.ErrnoException) => {
    // O_NOFOLLOW met a symlink: the path was swapped after it was resolved.
    if (err.code === 'ELOOP') throw rules.moved();
    throw err;
  });
  try {
    const stats = await fh.stat();
    if (!stats.isFile() && !stats.isDirectory()) throw notRegular();
    const actual = await fsp.readlink(fdPath(fh));
    if (!rules.accept(actual)) throw rules.moved();
    // Deno's node:fs may lack statfs; the allowlists keep /proc and /sys out unless an operator allows them.
    const statfs = (fsp as Partial<typeof fsp>).statfs;
    if (statfs !== undefined && KERNEL_FILESYSTEMS.has((await statfs(fdPath(fh))).type)) {
      throw new ImageProblem('NotAnImage', `${rules.what} is a kernel interface file (/proc, /sys, ...), not an image`);
    }
    return { fh, stats, actual };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** Reads an open regular file whole, refusing more than `limit` bytes (it may grow while read). */
export async function readLimited(fh: fsp.FileHandle, limit: number, tooLarge: () => Error): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for (;;) {
    const buf = Buffer.allocUnsafe(Math.min(64 * 1024, limit + 1 - size));
    const { bytesRead } = await fh.read(buf, 0, buf.length, size);
    if (bytesRead === 0) break;
    size += bytesRead;
    if (size > limit) throw tooLarge();
    chunks.push(buf.subarray(0, bytesRead));
  }
  return Buffer.concat(chunks, size);
}

/** A regular file to read: a path, opened and checked for each read, or a descriptor already checked. */
export type FileSource = string | fsp.FileHandle;

/**
 * Runs `fn` on a descriptor of `file`. A path must be a realpath: it is opened without following a
 * last symlink, and refused unless the descriptor is a regular file that has this very path, so a
 * file swapped for a FIFO, a device or a symlink after it was checked is never read.
 */
export async function withFile<T>(file: FileSource, what: string, fn: (fh: fsp.FileHandle) => Promise<T>): Promise<T> {
  if (typeof file !== 'string') return fn(file);
  const moved = () => new ImageProblem('UnsafePath', `${what} changed while it was being read`);
  const { fh, stats } = await openUntrusted(file, { accept: (actual) => actual === file, moved, what });
  try {
    if (!stats.isFile()) throw moved();
    return await fn(fh);
  } finally {
    await fh.close();
  }
}
