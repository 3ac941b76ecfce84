// Per-cell cgroups. runsc removes its own cgroup when `runsc run` exits, taking the OOM record
// with it, so each cell gets a parent cgroup that holds the memory limit and outlives runsc:
// <root>/<parent>/<sandboxId>/ with runsc's at <...>/<sandboxId>/sandbox.
import { mkdir, readdir, readFile, rmdir, stat, writeFile } from 'node:fs/promises';
import { pathExists } from './cell-files.ts';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export type CgroupMode = 'v1' | 'v2' | 'none';

export interface CellCgroup {
  /** linux.cgroupsPath for config.json. */
  readonly cgroupsPath: string;
  /** File the supervisor reads after exit: v1 memory.failcnt, v2 memory.events. */
  readonly oomProbe: string | undefined;
}

const ROOT = '/sys/fs/cgroup';

export async function detectCgroupMode(): Promise<CgroupMode> {
  if (await pathExists(join(ROOT, 'cgroup.controllers'))) return 'v2';
  if (await pathExists(join(ROOT, 'memory'))) return 'v1';
  return 'none';
}

export function cellCgroupPath(parent: string, sandboxId: string): string {
  return `/${parent}/${sandboxId}/sandbox`;
}

export async function prepareCellCgroup(
  mode: CgroupMode,
  parent: string,
  sandboxId: string,
  memoryMaxBytes: number | undefined,
): Promise<CellCgroup> {
  const cgroupsPath = cellCgroupPath(parent, sandboxId);
  if (mode === 'none' || memoryMaxBytes === undefined) return { cgroupsPath, oomProbe: undefined };
  if (mode === 'v1') {
    const dir = join(ROOT, 'memory', parent, sandboxId);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'memory.limit_in_bytes'), String(memoryMaxBytes));
    return { cgroupsPath, oomProbe: join(dir, 'memory.failcnt') };
  }
  // v2: the memory controller must be enabled down the path for memory.max to exist.
  const parts = [...parent.split('/').filter(Boolean), sandboxId];
  let dir = ROOT;
  for (const part of parts) {
    await writeFile(join(dir, 'cgroup.subtree_control'), '+memory').catch(() => undefined);
    dir = join(dir, part);
    await mkdir(dir, { recursive: true });
  }
  await writeFile(join(dir, 'memory.max'), String(memoryMaxBytes));
  await writeFile(join(dir, 'memory.swap.max'), '0').catch(() => undefined);
  return { cgroupsPath, oomProbe: join(dir, 'memory.events') };
}

/** The file the supervisor reads for a cell's OOM count (see prepareCellCgroup). */
export function cellOomProbe(mode: CgroupMode, parent: string, sandboxId: string): string | undefined {
  if (mode === 'v1') return join(ROOT, 'memory', parent, sandboxId, 'memory.failcnt');
  if (mode === 'v2') return join(ROOT, parent, sandboxId, 'memory.events');
  return undefined;
}

/**
 * Gives a booted sandbox (a warm one) a cell's own memory and pids limits: the per-cell parent holds
 * the exact memory limit, runsc's own cgroup below it the limit plus `headroomBytes` (as the bundle
 * would have set it), and the pids limit. The order keeps a child's limit under its parent's at every
 * step. Throws when the kernel refuses (e.g. a limit under what the sandbox already uses).
 */
export async function setBootedCellLimits(
  mode: CgroupMode,
  parent: string,
  sandboxId: string,
  limits: { readonly memoryBytes: number; readonly headroomBytes: number; readonly pids: number | undefined },
): Promise<void> {
  if (mode === 'none') return;
  const memBase = mode === 'v1' ? join(ROOT, 'memory') : ROOT;
  const memFile = mode === 'v1' ? 'memory.limit_in_bytes' : 'memory.max';
  const outer = join(memBase, parent, sandboxId, memFile);
  const inner = join(memBase, parent, sandboxId, 'sandbox', memFile);
  const current = Number((await readFile(outer, 'utf8')).trim());
  const writes: [string, number][] = [
    [outer, limits.memoryBytes],
    [inner, limits.memoryBytes + limits.headroomBytes],
  ];
  // Raising: the parent first; lowering: runsc's cgroup first.
  if (Number.isFinite(current) && limits.memoryBytes < current) writes.reverse();
  for (const [file, value] of writes) await writeFile(file, String(value));
  if (limits.pids !== undefined) {
    const pidsFile =
      mode === 'v1'
        ? join(ROOT, 'pids', parent, sandboxId, 'sandbox', 'pids.max')
        : join(ROOT, parent, sandboxId, 'sandbox', 'pids.max');
    await writeFile(pidsFile, String(limits.pids)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err; // no pids controller here: the bundle's limit was a backstop only
    });
  }
}

/** Removes the cell's cgroup folders from every controller, deepest first. Idempotent. */
export async function removeCellCgroup(mode: CgroupMode, parent: string, sandboxId: string): Promise<void> {
  if (mode === 'none') return;
  const bases = mode === 'v2' ? [ROOT] : (await readdir(ROOT).catch(() => [] as string[])).map((c) => join(ROOT, c));
  await Promise.all(bases.map((base) => removeTree(join(base, parent, sandboxId))));
}

/**
 * Removes the host's own parent folder (cellos/<host id>) from every controller when no cell folder is
 * left in it: a host that stops leaves no empty folders behind. One still holding cells stays.
 */
export async function removeCgroupParent(mode: CgroupMode, parent: string): Promise<void> {
  if (mode === 'none') return;
  const bases = mode === 'v2' ? [ROOT] : (await readdir(ROOT).catch(() => [] as string[])).map((c) => join(ROOT, c));
  // rmdir refuses a folder with cgroups in it (ENOTEMPTY, EBUSY): exactly the ones to keep.
  await Promise.all(bases.map((base) => rmdir(join(base, parent)).catch(() => undefined)));
}

/**
 * How long a cgroup folder may refuse its removal (EBUSY) while processes just killed leave it: a
 * removal kills what it finds of the sandbox and then removes its cgroups at once.
 */
const CGROUP_BUSY_WAIT_MS = 3000;

async function removeTree(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return;
  }
  for (const e of entries) await removeTree(join(dir, e));
  for (const until = Date.now() + CGROUP_BUSY_WAIT_MS; ;) {
    try {
      await rmdir(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || Date.now() >= until) throw err;
    }
    await sleep(20);
  }
}

/** A cell's cgroup folder in one controller (v1) or the unified tree (v2). */
export interface CellCgroupDir {
  readonly sandboxId: string;
  readonly path: string;
  /**
   * cgroupfs (kernfs) gives a folder's inode the time it was instantiated: when it was first looked
   * up, or again after its inode was evicted. Never older than the folder, so safe for a grace period.
   */
  readonly mtimeMs: number;
}

/** Every folder under the parent, in every controller: what the reconciler sweeps. */
export async function listCellCgroupDirs(mode: CgroupMode, parent: string): Promise<CellCgroupDir[]> {
  if (mode === 'none') return [];
  const bases = mode === 'v2' ? [ROOT] : (await readdir(ROOT).catch(() => [] as string[])).map((c) => join(ROOT, c));
  const found = await Promise.all(
    bases.map(async (base) => {
      const dir = join(base, parent);
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      return Promise.all(
        entries
          .filter((e) => e.isDirectory())
          .map(async (e) => {
            const path = join(dir, e.name);
            const st = await stat(path).catch(() => undefined);
            return st ? [{ sandboxId: e.name, path, mtimeMs: st.mtimeMs }] : [];
          }),
      );
    }),
  );
  return found.flat(2);
}

/** Cell cgroup folders under the parent, for the reconciler. */
export async function listCellCgroups(mode: CgroupMode, parent: string): Promise<string[]> {
  const base = mode === 'v2' ? join(ROOT, parent) : join(ROOT, 'memory', parent);
  return readdir(base).catch(() => []);
}
