// A cell's scratch mounts: a tmpfs that holds an exported artifact (spec.export.artifacts) is a
// host tmpfs in the cell's folder, bind-mounted read-write into the sandbox, rather than one in the
// sandbox's memory: after the workload ends the host reads the artifacts from it, and removing the
// cell unmounts it. Same size as the tmpfs it replaces; its inode count is capped too, so a cell
// cannot spend the host's kernel memory on millions of empty files.
import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pathExists } from './cell-files.ts';

const run = promisify(execFile);

/** The folder of scratch mounts in a cell's folder. */
export const SCRATCH_DIR = 'scratch';

/** A scratch mount of a cell: `key` is the spec.run.tmpfs index, or 'tmp' for the default /tmp. */
export interface ScratchMount {
  readonly key: string;
  /** Host folder the tmpfs is mounted on (and the bind mount's source). */
  readonly dir: string;
  readonly sizeBytes: number;
}

export function scratchDirOf(cellDir: string, key: string): string {
  return join(cellDir, SCRATCH_DIR, key);
}

/** Mounts a size- and inode-limited tmpfs on each scratch folder (made here). Idempotent. */
export async function mountScratch(mounts: readonly ScratchMount[], inodes: number): Promise<void> {
  if (mounts.length === 0) return;
  const mounted = new Set(await mountPoints());
  for (const m of mounts) {
    if (mounted.has(m.dir)) continue;
    await mkdir(m.dir, { recursive: true, mode: 0o700 });
    // mode=1777 as the sandbox's own tmpfs: the cell's user writes there, files keep its uid.
    await command('mount', [
      '-t',
      'tmpfs',
      '-o',
      `size=${m.sizeBytes},nr_inodes=${inodes},mode=1777,nosuid,nodev`,
      'cellos-scratch',
      m.dir,
    ]);
  }
}

/**
 * Unmounts every mount under the cell's folder, deepest first (before its folder is removed: rm
 * would empty a mounted tmpfs and then fail on its mount point). Nothing mounted: nothing done.
 */
export async function unmountScratch(cellDir: string): Promise<void> {
  // Most cells have none: one stat instead of reading every mount of the host. The folder is made
  // before anything is mounted on it, so a crash between the two leaves it to be found.
  if (!(await pathExists(join(cellDir, SCRATCH_DIR)))) return;
  const under = (await mountPoints()).filter((p) => p.startsWith(`${cellDir}/`)).sort((a, b) => b.length - a.length);
  for (const p of under) {
    // A mount still busy (a sandbox not yet gone) is detached now and freed when it is.
    await command('umount', [p]).catch(() => command('umount', ['-l', p]));
  }
}

/** This process's mount points, from /proc/self/mountinfo (field 5, with its octal escapes). */
async function mountPoints(): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ')[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
}

async function command(program: string, args: readonly string[]): Promise<void> {
  try {
    await run(program, args, { timeout: 10_000 });
  } catch (err) {
    const e = err as { code?: unknown; stderr?: string; message: string };
    throw new Error(
      `${program} ${args.join(' ')} failed (${String(e.code ?? 'no exit code')}): ${(e.stderr ?? e.message).trim().split('\n').slice(-3).join(' ')}`,
      { cause: err },
    );
  }
}
