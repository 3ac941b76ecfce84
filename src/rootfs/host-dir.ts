// A rootfs that is a directory on the host: used as it is (read-only), never modified.
import { lstat, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { allowedRealpath, type Allowlist } from './allowlist.ts';
import { ImageProblem, RootfsError, type RootfsField } from './errors.ts';
import { fdPath, openUntrusted } from './open-file.ts';

/**
 * The realpath of a directory that a document named, granted by `allow` and with a /tmp directory,
 * or a RootfsError. The check is made again on the opened directory: its descriptor must have the
 * path that was checked, so a symlink swapped into the path meanwhile is refused.
 */
export async function resolveAllowedDir(path: string, field: RootfsField, allow: Allowlist): Promise<string> {
  const real = await allowedRealpath(path, field, allow);
  const opened = await openUntrusted(real, {
    accept: (actual) => actual === real,
    moved: () => new RootfsError(field, 'NotAllowed', `${path} changed while it was being checked`),
    what: path,
  }).catch((err: unknown) => {
    if (err instanceof ImageProblem) throw new RootfsError(field, 'NotADirectory', `${path} is not a directory`);
    throw hostError(field, path)(err as NodeJS.ErrnoException);
  });
  try {
    if (!opened.stats.isDirectory()) throw new RootfsError(field, 'NotADirectory', `${path} is not a directory`);
    await checkTmp(join(fdPath(opened.fh), 'tmp'), path, real, field);
  } finally {
    await opened.fh.close();
  }
  return real;
}

/** The realpath of the host's own default rootfs (the operator's setting, trusted), with a /tmp directory. */
export async function resolveHostDir(path: string, field: RootfsField): Promise<string> {
  if (typeof path !== 'string' || !isAbsolute(path)) {
    throw new RootfsError(field, 'NotFound', `${JSON.stringify(path)} is not an absolute path`);
  }
  const real = await realpath(path).catch(hostError(field, path));
  if (!(await stat(real).catch(hostError(field, path))).isDirectory()) {
    throw new RootfsError(field, 'NotADirectory', `${path} is not a directory`);
  }
  await checkTmp(join(real, 'tmp'), path, real, field);
  return real;
}

const hostError =
  (field: RootfsField, path: string) =>
  (err: NodeJS.ErrnoException): never => {
    if (err instanceof RootfsError) throw err;
    if (err.code === 'ENOENT') throw new RootfsError(field, 'NotFound', `${path} does not exist`);
    if (err.code === 'ENOTDIR') throw new RootfsError(field, 'NotADirectory', `${path} is not a directory`);
    throw new RootfsError(field, 'HostError', `${path} cannot be read: ${err.message}`, { cause: err });
  };

async function checkTmp(tmpPath: string, path: string, real: string, field: RootfsField): Promise<void> {
  const tmp = await lstat(tmpPath).catch(() => undefined);
  if (tmp !== undefined && tmp.isDirectory()) return;
  const what =
    tmp === undefined
      ? 'has no /tmp directory'
      : tmp.isSymbolicLink()
        ? 'has /tmp as a symlink'
        : 'has /tmp that is not a directory';
  throw new RootfsError(
    field,
    'MissingTmp',
    `${path} ${what}; the sandbox mounts a tmpfs at /tmp, so the rootfs needs a real /tmp directory (mkdir ${join(real, 'tmp')})`,
  );
}
