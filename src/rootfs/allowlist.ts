// Which host paths a document may name. Only the operator's configuration grants a path: the
// document's rootfs folder must lie under CELLOS_ALLOWED_ROOTFS (or be the default rootfs), its
// image under CELLOS_ALLOWED_IMAGES (or the image cache). Checked on realpaths, so a symlink in an
// allowed folder cannot lead out of it, and refused in the same words whether or not a path
// outside exists: a refusal must not tell a document what the host holds.
import { lstat, realpath } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { RootfsError, type RootfsField } from './errors.ts';

export interface Allowlist {
  /** Folders (or files) that a path may be or lie under. */
  readonly under: readonly string[];
  /** Paths allowed as they are, but not what lies under them (the default rootfs). */
  readonly exactly: readonly string[];
  /** Folders that an allowed path (other than `exactly`) must neither hold nor lie in: the host's own state. */
  readonly never: readonly string[];
  /** The rule, ending the refusal "<path> is not ...". */
  readonly rule: string;
}

/**
 * The realpath of `path` when the allowlist grants it; else a RootfsError naming the field and the
 * rule. A path that does not resolve is reported missing only when the part of it that does
 * resolve lies in an allowed folder; outside (or through a dangling symlink), it gets the same
 * refusal as a path that exists.
 */
export async function allowedRealpath(path: string, field: RootfsField, list: Allowlist): Promise<string> {
  if (typeof path !== 'string' || !isAbsolute(path) || path.includes('\0') || /(^|\/)\.\.?(\/|$)/.test(path)) {
    throw new RootfsError(
      field,
      'NotAllowed',
      `${JSON.stringify(path)} must be an absolute path without . or .. segments`,
    );
  }
  const [under, exactly, never] = await Promise.all([
    realpaths(list.under),
    realpaths(list.exactly),
    realpaths(list.never),
  ]);
  const exposes = (real: string) => never.some((dir) => isWithin(dir, real) || isWithin(real, dir));
  const allowed = (real: string) =>
    exactly.includes(real) || (under.some((root) => isWithin(real, root)) && !exposes(real));
  const refused = () => new RootfsError(field, 'NotAllowed', `${path} is not ${list.rule}`);

  const real = await realpath(path).catch((err: NodeJS.ErrnoException) => err);
  if (typeof real === 'string') {
    if (!allowed(real)) throw refused();
    return real;
  }
  // Say why only inside an allowed folder: where the resolvable part of the path leads decides.
  const known = await deepestRealPart(path);
  if (known === undefined || !under.some((root) => isWithin(known, root)) || exposes(known)) throw refused();
  if (real.code === 'ENOENT' || real.code === 'ENOTDIR')
    throw new RootfsError(field, 'NotFound', `${path} does not exist`);
  throw new RootfsError(field, 'HostError', `${path} cannot be resolved: ${real.code ?? real.message}`, {
    cause: real,
  });
}

/** Whether `path` is `root` or lies under it (both realpaths). */
export function isWithin(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith('/') ? root : `${root}/`);
}

async function realpaths(paths: readonly string[]): Promise<string[]> {
  const reals = await Promise.all(paths.map((p) => realpath(p).catch(() => undefined)));
  return reals.filter((p): p is string => p !== undefined);
}

/**
 * Where a path that does not resolve leads: the realpath of its deepest existing part, or
 * undefined when a symlink along it leads nowhere (dangling, or a loop), whose target then
 * cannot be told apart from a host path that is missing. Walked one component at a time.
 */
export async function deepestRealPart(path: string): Promise<string | undefined> {
  let current = '/';
  for (const segment of path.split('/').filter(Boolean)) {
    const next = join(current, segment);
    const st = await lstat(next).catch((err: NodeJS.ErrnoException) => err);
    if (st instanceof Error) return st.code === 'ENOENT' || st.code === 'ENOTDIR' ? current : undefined;
    if (st.isSymbolicLink()) {
      const real = await realpath(next).catch(() => undefined);
      if (real === undefined) return undefined;
      current = real;
    } else {
      current = next;
    }
  }
  return current;
}
