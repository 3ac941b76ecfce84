// Time of check, time of use: a path is resolved and checked, then a symlink is swapped into it
// before it is opened. The swap is made deterministic by running it right after realpath returns.
import type * as FsPromises from 'node:fs/promises';
import { mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { resolveRootfs, RootfsError, type ResolveRootfsOptions } from '../../src/rootfs/index.ts';
import { useSampleLayers, useWorkspace } from './helpers.ts';
import { ociLayout, tarDirectory } from './images.ts';

/** Runs once, right after the next realpath of `path` returns. */
const afterRealpath = vi.hoisted(() => ({ path: '', swap: undefined as (() => Promise<void>) | undefined }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof FsPromises>();
  const realpath = async (...args: Parameters<typeof fs.realpath>) => {
    const result = await fs.realpath(...args);
    if (args[0] === afterRealpath.path && afterRealpath.swap !== undefined) {
      const swap = afterRealpath.swap;
      afterRealpath.swap = undefined;
      await swap();
    }
    return result;
  };
  return { ...fs, realpath, default: { ...fs, realpath } };
});

const work = useWorkspace();
const layers = useSampleLayers();
let allowed: string;
let outside: string;
const opts = (): ResolveRootfsOptions => ({
  defaultRootfs: '/',
  imageCacheDir: work.cache,
  allowedRootfs: [allowed],
  allowedImages: [allowed],
});

beforeEach(async () => {
  allowed = join(work.dir, 'allowed');
  outside = join(work.dir, 'outside');
  await mkdir(join(allowed, 'sub', 'rootfs', 'tmp'), { recursive: true });
  await mkdir(join(outside, 'rootfs', 'tmp'), { recursive: true });
  await writeFile(join(outside, 'rootfs', 'secret'), 'host state\n');
});
afterEach(() => {
  afterRealpath.swap = undefined;
});

/** After the check, `at` becomes a symlink to `to`. */
const swapAfterCheck = (checked: string, at: string, to: string) => {
  afterRealpath.path = checked;
  afterRealpath.swap = async () => {
    await rename(at, `${at}.before`);
    await symlink(to, at);
  };
};

describe('a symlink swapped in between check and use', () => {
  it('refuses a rootfs folder replaced by a symlink to a host folder', async () => {
    const path = join(allowed, 'sub', 'rootfs');
    swapAfterCheck(path, path, join(outside, 'rootfs'));
    const err = await resolveRootfs({ path }, opts()).catch((e: unknown) => e);
    expect(afterRealpath.swap).toBeUndefined();
    expect(err).toBeInstanceOf(RootfsError);
    expect(err).toMatchObject({
      reason: 'NotAllowed',
      message: `spec.run.rootfs.path: ${path} changed while it was being checked`,
    });
  });

  it('refuses a rootfs whose parent folder is replaced by a symlink (caught on the descriptor)', async () => {
    const path = join(allowed, 'sub', 'rootfs');
    swapAfterCheck(path, join(allowed, 'sub'), outside);
    const err = await resolveRootfs({ path }, opts()).catch((e: unknown) => e);
    expect(afterRealpath.swap).toBeUndefined();
    expect(err).toMatchObject({
      name: 'RootfsError',
      reason: 'NotAllowed',
      message: expect.stringMatching(/changed while it was being checked$/),
    });
  });

  it('refuses an image tarball replaced by a symlink to a host file', async () => {
    await ociLayout(join(work.dir, 'layout'), [{ layers }]);
    await tarDirectory(join(work.dir, 'layout'), join(allowed, 'image.tar'));
    await tarDirectory(join(work.dir, 'layout'), join(outside, 'image.tar'));
    const image = join(allowed, 'image.tar');
    swapAfterCheck(image, image, join(outside, 'image.tar'));
    const err = await resolveRootfs({ image }, opts()).catch((e: unknown) => e);
    expect(afterRealpath.swap).toBeUndefined();
    expect(err).toMatchObject({
      name: 'RootfsError',
      reason: 'NotAllowed',
      message: `spec.run.rootfs.image: ${image}: changed while it was being checked`,
    });
  });

  it('refuses an image folder whose parent is replaced by a symlink', async () => {
    await ociLayout(join(allowed, 'sub', 'image'), [{ layers }]);
    await ociLayout(join(outside, 'image'), [{ layers }]);
    const image = join(allowed, 'sub', 'image');
    swapAfterCheck(image, join(allowed, 'sub'), outside);
    const err = await resolveRootfs({ image }, opts()).catch((e: unknown) => e);
    expect(afterRealpath.swap).toBeUndefined();
    expect(err).toMatchObject({
      name: 'RootfsError',
      reason: 'NotAllowed',
      message: expect.stringMatching(/changed while it was being checked$/),
    });
  });
});
