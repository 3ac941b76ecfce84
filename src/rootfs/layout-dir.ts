// An image stored as a directory on the host (OCI image layout, or an unpacked docker save).
import { lstat, readFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { ImageProblem } from './errors.ts';
import { METADATA_LIMIT, type ImageSource } from './image-source.ts';
import { safeMemberName } from './safe-path.ts';

/** `root` must already be a realpath. No file is read from outside it, even through symlinks. */
export function openImageDir(root: string): ImageSource {
  const locate = async (name: string): Promise<string | undefined> => {
    const joined = join(root, safeMemberName(name, 'the image'));
    const real = await realpath(joined).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (real === undefined) return undefined;
    if (!real.startsWith(`${root}/`)) {
      throw new ImageProblem('UnsafePath', `${name} resolves outside the image directory (to ${real})`);
    }
    const st = await lstat(real);
    if (!st.isFile()) throw new ImageProblem('NotAnImage', `${name} is not a regular file`);
    return real;
  };

  return {
    async read(name) {
      const path = await locate(name);
      if (path === undefined) return undefined;
      if ((await lstat(path)).size > METADATA_LIMIT) {
        throw new ImageProblem('NotAnImage', `${name} is larger than ${METADATA_LIMIT} bytes`);
      }
      return readFile(path);
    },
    async files(names) {
      const paths: string[] = [];
      for (const name of names) {
        const path = await locate(name);
        if (path === undefined) throw new ImageProblem('NotAnImage', `${name} is missing from the image`);
        paths.push(path);
      }
      return paths;
    },
  };
}
