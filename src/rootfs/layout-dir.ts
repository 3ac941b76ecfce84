// An image stored as a directory on the host (OCI image layout, or an unpacked docker save).
import { realpath, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { deepestRealPart, isWithin } from './allowlist.ts';
import { ImageProblem } from './errors.ts';
import type { ImageSource } from './image-source.ts';
import { openUntrusted, readLimited } from './open-file.ts';
import { safeMemberName } from './safe-path.ts';
import type { ImageWork } from './work.ts';

/**
 * `root` must already be a realpath. No file is read from outside it, even through symlinks, and
 * nothing but regular files: where a member leads is settled first, then it is opened and checked
 * on its descriptor (the kernel's path for it is that realpath, it is a regular file) and read
 * through that descriptor only.
 */
export function openImageDir(root: string, work: ImageWork): ImageSource {
  const locate = async (name: string): Promise<{ fh: FileHandle; real: string } | undefined> => {
    const what = safeMemberName(name, 'the image');
    const outside = () => new ImageProblem('UnsafePath', `${what} resolves outside the image directory`);
    // Where a member leads is settled before it is opened or even looked at, so that a symlink
    // planted in the image tells nothing about its target (missing, a device, a file: all "outside").
    const joined = join(root, what);
    const real = await realpath(joined).catch((err: NodeJS.ErrnoException) => err);
    if (typeof real !== 'string') {
      const known = await deepestRealPart(joined);
      if (known === undefined || !isWithin(known, root)) throw outside();
      if (real.code === 'ENOENT' || real.code === 'ENOTDIR') return undefined;
      throw real;
    }
    if (real === root || !isWithin(real, root)) throw outside();
    const opened = await openUntrusted(real, {
      accept: (actual) => actual === real,
      moved: outside,
      what,
    }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (opened === undefined) return undefined;
    if (!opened.stats.isFile()) {
      await opened.fh.close();
      throw new ImageProblem('NotAnImage', `${what} is not a regular file`);
    }
    return { fh: opened.fh, real };
  };

  return {
    async read(name) {
      const found = await locate(name);
      if (found === undefined) return undefined;
      const { fh } = found;
      try {
        const bytes = await readLimited(fh, work.limits.maxJsonBytes, () => work.jsonTooLarge(name));
        work.metadata(bytes.length, name);
        return bytes;
      } finally {
        await fh.close();
      }
    },
    async files(names) {
      // Checked here, and again by each read (a checked open of the same realpath), so no file
      // stays open between the two and a file swapped meanwhile is still refused.
      const paths: string[] = [];
      for (const name of names) {
        await work.tick();
        const found = await locate(name);
        if (found === undefined) throw new ImageProblem('NotAnImage', `${name} is missing from the image`);
        await found.fh.close();
        paths.push(found.real);
      }
      return paths;
    },
    async close() {
      // Nothing held between reads.
    },
  };
}
