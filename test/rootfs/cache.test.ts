import { lstat, mkdir, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as applyLayerModule from '../../src/rootfs/apply-layer.ts';
import { buildIntoCache } from '../../src/rootfs/cache.ts';
import { resolveRootfs } from '../../src/rootfs/index.ts';
import { expectSampleRootfs, useSampleLayers, useWorkspace } from './helpers.ts';
import { ociLayout, tarDirectory } from './images.ts';

const work = useWorkspace();
const layers = useSampleLayers();
afterEach(() => {
  vi.restoreAllMocks();
});

describe('the image cache', () => {
  it('returns the cached rootfs on a second resolve without unpacking again, even from another path', async () => {
    const image = join(work.dir, 'image');
    await ociLayout(image, [{ layers }]);
    await tarDirectory(image, join(work.dir, 'image.tar'));
    const first = await resolveRootfs({ image }, work.opts());
    const before = await stat(join(first.path, 'etc/motd'));

    const apply = vi.spyOn(applyLayerModule, 'applyLayer');
    await rename(image, join(work.dir, 'moved'));
    const second = await resolveRootfs({ image: join(work.dir, 'moved') }, work.opts());
    const third = await resolveRootfs({ image: join(work.dir, 'image.tar') }, work.opts());
    const fourth = await resolveRootfs({ image: join(work.dir, 'image.tar') }, work.opts());
    expect(apply).not.toHaveBeenCalled();
    expect([second, third, fourth]).toEqual([first, first, first]);
    const after = await stat(join(first.path, 'etc/motd'));
    expect(after.ino).toBe(before.ino);
    expect(after.ctimeMs).toBe(before.ctimeMs);
    expect(await readdir(work.cache)).toEqual([first.digest!.slice('sha256:'.length)]);
  });

  it('serves concurrent resolves of one image with one unpack and one path', async () => {
    const image = join(work.dir, 'image');
    await ociLayout(image, [{ layers }]);
    await tarDirectory(image, join(work.dir, 'image.tar'));
    const apply = vi.spyOn(applyLayerModule, 'applyLayer');
    const results = await Promise.all([
      resolveRootfs({ image }, work.opts()),
      resolveRootfs({ image }, work.opts()),
      resolveRootfs({ image: join(work.dir, 'image.tar') }, work.opts()),
      resolveRootfs({ image: join(work.dir, 'image.tar') }, work.opts()),
    ]);
    expect(new Set(results.map((r) => r.path)).size).toBe(1);
    expect(apply).toHaveBeenCalledTimes(layers.length);
    await expectSampleRootfs(results[0]!.path);
    expect(await readdir(work.cache)).toEqual([results[0]!.digest!.slice('sha256:'.length)]);
  });

  it('lets two racing builders (as two processes would) agree on one complete copy', async () => {
    const hex = 'ab'.repeat(32);
    const seen: string[] = [];
    const build = (marker: string, delayMs: number) => async (_scratch: string, rootfs: string) => {
      await mkdir(rootfs);
      await writeFile(join(rootfs, 'half'), marker);
      // Both builders are mid-way here: neither copy is visible yet.
      seen.push(...(await readdir(work.cache)).filter((n) => !n.startsWith('.tmp-')));
      await new Promise((r) => setTimeout(r, delayMs));
      await writeFile(join(rootfs, 'done'), marker);
    };
    const [a, b] = await Promise.all([
      buildIntoCache(work.cache, hex, build('a', 30)),
      buildIntoCache(work.cache, hex, build('b', 60)),
    ]);
    expect(a).toBe(join(work.cache, hex, 'rootfs'));
    expect(b).toBe(a);
    expect(seen).toEqual([]);
    expect(await readdir(a)).toEqual(['done', 'half']);
    expect(await readdir(work.cache)).toEqual([hex]);
  });

  it('leaves nothing in the cache when a build fails', async () => {
    const hex = 'cd'.repeat(32);
    const failing = async (_scratch: string, rootfs: string) => {
      await mkdir(rootfs);
      await writeFile(join(rootfs, 'half'), 'x');
      throw new Error('disk on fire');
    };
    await expect(buildIntoCache(work.cache, hex, failing)).rejects.toThrow('disk on fire');
    expect(await readdir(work.cache)).toEqual([]);
  });

  it('sweeps temp directories left by a process that died mid-unpack', async () => {
    await mkdir(join(work.cache, '.tmp-999999999-0123456789ab-XXXXXX/rootfs'), { recursive: true });
    await buildIntoCache(work.cache, 'ef'.repeat(32), async (_s, rootfs) => mkdir(rootfs).then(() => undefined));
    expect(await readdir(work.cache)).toEqual(['ef'.repeat(32)]);
    expect((await lstat(join(work.cache, 'ef'.repeat(32), 'rootfs'))).isDirectory()).toBe(true);
  });
});
