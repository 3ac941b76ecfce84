// A rootfs that is a directory on the host: used as it is (read-only), never modified.
import { lstat, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { RootfsError, type RootfsField } from './errors.ts';

/** The realpath of an existing host directory that has a /tmp directory, or a RootfsError. */
export async function resolveHostDir(path: string, field: RootfsField): Promise<string> {
  if (typeof path !== 'string' || !isAbsolute(path)) {
    throw new RootfsError(field, 'NotFound', `${JSON.stringify(path)} is not an absolute path`);
  }
  const hostError = (err: NodeJS.ErrnoException): never => {
    if (err.code === 'ENOENT') throw new RootfsError(field, 'NotFound', `${path} does not exist`);
    if (err.code === 'ENOTDIR') throw new RootfsError(field, 'NotADirectory', `${path} is not a directory`);
    throw new RootfsError(field, 'HostError', `${path} cannot be read: ${err.message}`, { cause: err });
  };
  const real = await realpath(path).catch(hostError);
  if (!(await stat(real).catch(hostError)).isDirectory()) {
    throw new RootfsError(field, 'NotADirectory', `${path} is not a directory`);
  }
  const tmp = await lstat(join(real, 'tmp')).catch(() => undefined);
  if (tmp === undefined || !tmp.isDirectory()) {
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
  return real;
}
