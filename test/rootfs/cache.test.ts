import { lstat, mkdir, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import * as applyLayerModule from '../../src/rootfs/apply-layer.ts';
import { buildIntoCache } from '../../src/rootfs/cache.ts';
import { resolveRootfs } from '../../src/rootfs/index.ts';
import { expectSampleRootfs, tempDir } from './helpers.ts';
import { ociLayout, sampleLayers, tarDirectory } from './images.ts';

let layers: Buffer[];
let work: { dir: string; cleanup: () => Promise<void> };
let cache: string;
const opts = () => ({ defaultRootfs: '/', imageCacheDir: cache });

beforeAll(async () => {
  layers = await sampleLayers();
});
beforeEach(async () => {
  work = await tempDir();
  cache = join(work.dir, 'cache');
});
afterEach(async () => {
  vi.restoreAllMocks();
  await work.cleanup();
});

describe('the image cache', () => {
  it('returns the cached rootfs on a second resolve without unpacking again, even from another path', async () => {
    const image = join(work.dir, 'image');
    await ociLayout(image, [{ layers }]);
    await tarDirectory(image, join(work.dir, 'image.tar'));
    const first = await resolveRootfs({ image }, opts());
    const before = await stat(join(first.path, 'etc/motd'));

    const apply = vi.spyOn(applyLayerModule, 'applyLayer');
    await rename(image, join(work.dir, 'moved'));
    const second = await resolveRootfs({ image: join(work.dir, 'moved') }, opts());
    const third = await resolveRootfs({ image: join(work.dir, 'image.tar') }, opts());
    const fourth = await resolveRootfs({ image: join(work.dir, 'image.tar') }, opts());
    expect(apply).not.toHaveBeenCalled();
    expect([second, third, fourth]).toEqual([first, first, first]);
    const after = await stat(join(first.path, 'etc/motd'));
    expect(after.ino).toBe(before.ino);
    expect(after.ctimeMs).toBe(before.ctimeMs);
    expect(await readdir(cache)).toEqual([first.digest!.slice('sha256:'.length)]);
  });

  it('serves concurrent resolves of one image with one unpack and one path', async () => {
    const image = join(work.dir, 'image');
    await ociLayout(image, [{ layers }]);
    await tarDirectory(image, join(work.dir, 'image.tar'));
    const apply = vi.spyOn(applyLayerModule, 'applyLayer');
    const results = await Promise.all([
      resolveRootfs({ image }, opts()),
      resolveRootfs({ image }, opts()),
      resolveRootfs({ image: join(work.dir, 'image.tar') }, opts()),
      resolveRootfs({ image: join(work.dir, 'image.tar') }, opts()),
    ]);
    expect(new Set(results.map((r) => r.path)).size).toBe(1);
    expect(apply).toHaveBeenCalledTimes(layers.length);
    await expectSampleRootfs(results[0]!.path);
    expect(await readdir(cache)).toEqual([results[0]!.digest!.slice('sha256:'.length)]);
  });

  it('lets two racing builders (as two processes would) agree on one complete copy', async () => {
    const hex = 'ab'.repeat(32);
    const seen: string[] = [];
    const build = (marker: string, delayMs: number) => async (_scratch: string, rootfs: string) => {
      await mkdir(rootfs);
      await writeFile(join(rootfs, 'half'), marker);
      // Both builders are mid-way here: neither copy is visible yet.
      seen.push(...(await readdir(cache)).filter((n) => !n.startsWith('.tmp-')));
      await new Promise((r) => setTimeout(r, delayMs));
      await writeFile(join(rootfs, 'done'), marker);
    };
    const [a, b] = await Promise.all([
      buildIntoCache(cache, hex, build('a', 30)),
      buildIntoCache(cache, hex, build('b', 60)),
    ]);
    expect(a).toBe(join(cache, hex, 'rootfs'));
    expect(b).toBe(a);
    expect(seen).toEqual([]);
    expect(await readdir(a)).toEqual(['done', 'half']);
    expect(await readdir(cache)).toEqual([hex]);
  });

  it('leaves nothing in the cache when a build fails', async () => {
    const hex = 'cd'.repeat(32);
    const failing = async (_scratch: string, rootfs: string) => {
      await mkdir(rootfs);
      await writeFile(join(rootfs, 'half'), 'x');
      throw new Error('disk on fire');
    };
    await expect(buildIntoCache(cache, hex, failing)).rejects.toThrow('disk on fire');
    expect(await readdir(cache)).toEqual([]);
  });

  it('sweeps temp directories left by a process that died mid-unpack', async () => {
    await mkdir(join(cache, '.tmp-999999999-0123456789ab-XXXXXX/rootfs'), { recursive: true });
    await buildIntoCache(cache, 'ef'.repeat(32), async (_s, rootfs) => mkdir(rootfs).then(() => undefined));
    expect(await readdir(cache)).toEqual(['ef'.repeat(32)]);
    expect((await lstat(join(cache, 'ef'.repeat(32), 'rootfs'))).isDirectory()).toBe(true);
  });
});
