// runsc's state folder (its --root): a `<sandbox id>_sandbox:<container id>.state` file per container
// (older releases: `<container id>.state`), each with a `.lock` of the same name beside it. A `.lock`
// without its `.state` is what a create killed part-way leaves behind. Only this module knows the
// naming; the host's remove and its reconciler both read the folder through it.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

export interface RunscStateFile {
  /** The file's name in the root folder. */
  readonly name: string;
  readonly containerId: string;
  /** The sandbox the container runs in, when the name says (it does in newer releases). */
  readonly sandboxId: string | undefined;
  readonly kind: 'state' | 'lock';
}

/** A root folder entry as a container's state or lock file; undefined for anything else. */
export function parseStateFileName(name: string): RunscStateFile | undefined {
  const m = /^(?:(.*)_sandbox:)?(.+)\.(state|lock)$/.exec(name);
  if (!m) return undefined;
  return { name, containerId: m[2]!, sandboxId: m[1], kind: m[3] as 'state' | 'lock' };
}

/** The state and lock files in `root`; none when the folder does not exist (other errors throw). */
export async function listStateFiles(root: string): Promise<RunscStateFile[]> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names.map(parseStateFileName).filter((f): f is RunscStateFile => f !== undefined);
}

/** The files of one container (or of the sandbox it runs in): what runsc still knows of it. */
export function stateFilesOf(files: readonly RunscStateFile[], id: string): RunscStateFile[] {
  return files.filter((f) => f.containerId === id || f.sandboxId === id);
}

/** Lock files whose state file is missing. */
export function staleLocks(files: readonly RunscStateFile[]): RunscStateFile[] {
  const names = new Set(files.map((f) => f.name));
  return files.filter((f) => f.kind === 'lock' && !names.has(`${f.name.slice(0, -'.lock'.length)}.state`));
}

/** Removes the stale lock files of one container; they block nothing but are leftovers. */
export async function removeStaleLocks(root: string, id: string): Promise<void> {
  const files = stateFilesOf(await listStateFiles(root).catch(() => []), id);
  for (const lock of staleLocks(files)) await rm(join(root, lock.name), { force: true });
}
