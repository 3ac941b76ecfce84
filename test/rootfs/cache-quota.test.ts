// The image cache has a quota: past it, the least recently used images go, but never one that
// a cell uses (its bundle names it) or that was used within the last minutes.
import { mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evictToQuota } from '../../src/rootfs/evict.ts';
import { resolveRootfs, rootfsPathsInBundles, type ResolveRootfsOptions } from '../../src/rootfs/index.ts';
import { useWorkspace } from './helpers.ts';
import { layerTar, ociLayout } from './images.ts';

const work = useWorkspace();
const MiB = 1024 * 1024;

/** An image of one 1 MiB file whose bytes are `fill`; returns its layout path. */
async function image(name: string, fill: number): Promise<string> {
  const dir = join(work.dir, name);
  await ociLayout(dir, [{ layers: [await layerTar([{ name: 'data', content: Buffer.alloc(MiB, fill) }])] }]);
  return dir;
}

/** Makes an entry look last used `agoMs` ago. */
async function lastUsed(rootfs: string, agoMs: number): Promise<void> {
  const t = new Date(Date.now() - agoMs);
  await utimes(join(rootfs, '..', 'last-used'), t, t);
}

const entries = async () => (await readdir(work.cache)).filter((n) => !n.startsWith('.')).sort();
const hexOf = (rootfs: string) => rootfs.split('/').at(-2)!;

describe('the image cache quota', () => {
  it('records each image size on disk and when it was last used', async () => {
    const a = await resolveRootfs({ image: await image('a', 1) }, work.opts());
    const record = JSON.parse(await readFile(join(a.path, '..', 'image.json'), 'utf8')) as { bytes: number };
    expect(record.bytes).toBeGreaterThanOrEqual(MiB);
    expect(record.bytes).toBeLessThan(2 * MiB);
    await lastUsed(a.path, 60_000);
    await resolveRootfs({ image: join(work.dir, 'a') }, work.opts());
    const { mtimeMs } = await stat(join(a.path, '..', 'last-used'));
    expect(Date.now() - mtimeMs).toBeLessThan(5_000);
  });

  it('evicts the least recently used image when a new one goes over the quota', async () => {
    const opts: ResolveRootfsOptions = {
      ...work.opts(),
      imageCacheMaxBytes: Math.floor(2.5 * MiB),
      imageCacheMinIdleMs: 0,
    };
    const a = await resolveRootfs({ image: await image('a', 1) }, opts);
    const b = await resolveRootfs({ image: await image('b', 2) }, opts);
    await lastUsed(a.path, 20_000);
    await lastUsed(b.path, 30_000); // b is the older use
    const c = await resolveRootfs({ image: await image('c', 3) }, opts);
    expect(await entries()).toEqual([hexOf(a.path), hexOf(c.path)].sort());
  });

  it('never evicts an image that a bundle names, even the least recently used', async () => {
    const bundles = join(work.dir, 'bundles');
    const inUse = () => rootfsPathsInBundles(bundles);
    const opts: ResolveRootfsOptions = {
      ...work.opts(),
      imageCacheMaxBytes: Math.floor(2.5 * MiB),
      imageCacheMinIdleMs: 0,
      rootfsInUse: inUse,
    };
    const a = await resolveRootfs({ image: await image('a', 1) }, opts);
    const b = await resolveRootfs({ image: await image('b', 2) }, opts);
    await mkdir(join(bundles, 'cell-b'), { recursive: true });
    await writeFile(join(bundles, 'cell-b', 'config.json'), JSON.stringify({ root: { path: b.path, readonly: true } }));
    await lastUsed(a.path, 20_000);
    await lastUsed(b.path, 3_600_000); // hours ago: its cell runs long
    const c = await resolveRootfs({ image: await image('c', 3) }, opts);
    expect(await inUse()).toEqual([b.path]);
    expect(await entries()).toEqual([hexOf(b.path), hexOf(c.path)].sort());
  });

  it('keeps images used within the idle time even over the quota (a cell may be starting with one)', async () => {
    const opts: ResolveRootfsOptions = { ...work.opts(), imageCacheMaxBytes: 0 };
    const a = await resolveRootfs({ image: await image('a', 1) }, opts);
    const b = await resolveRootfs({ image: await image('b', 2) }, opts);
    expect(await entries()).toEqual([hexOf(a.path), hexOf(b.path)].sort());
    // Once idle for longer than the default 10 minutes, they may go.
    await lastUsed(a.path, 11 * 60_000);
    await lastUsed(b.path, 11 * 60_000);
    const evicted = await evictToQuota(work.cache, { maxBytes: 0, minIdleMs: 10 * 60_000 });
    expect(evicted.sort()).toEqual([hexOf(a.path), hexOf(b.path)].sort());
    expect(await entries()).toEqual([]);
  });

  it('rebuilds an evicted image on its next use', async () => {
    const opts: ResolveRootfsOptions = { ...work.opts(), imageCacheMaxBytes: 0, imageCacheMinIdleMs: 0 };
    const first = await resolveRootfs({ image: await image('a', 1) }, opts);
    const b = await resolveRootfs({ image: await image('b', 2) }, opts); // evicts a, keeps b (just made)
    expect(await entries()).toEqual([hexOf(b.path)]);
    const again = await resolveRootfs({ image: join(work.dir, 'a') }, opts);
    expect(again.path).toBe(first.path);
    expect((await readFile(join(again.path, 'data'))).equals(Buffer.alloc(MiB, 1))).toBe(true);
  });

  it('measures entries made before sizes were recorded, and evicts them by their old time of use', async () => {
    const old = join(work.cache, 'ab'.repeat(32));
    await mkdir(join(old, 'rootfs'), { recursive: true });
    await writeFile(join(old, 'rootfs', 'data'), Buffer.alloc(MiB, 7));
    await writeFile(join(old, 'image.json'), JSON.stringify({ digest: `sha256:${'ab'.repeat(32)}` }));
    const longAgo = new Date(Date.now() - 3_600_000);
    await utimes(join(old, 'image.json'), longAgo, longAgo);
    expect(await evictToQuota(work.cache, { maxBytes: 10 * MiB, minIdleMs: 60_000 })).toEqual([]);
    const record = JSON.parse(await readFile(join(old, 'image.json'), 'utf8')) as { bytes: number };
    expect(record.bytes).toBeGreaterThanOrEqual(MiB);
    expect(await evictToQuota(work.cache, { maxBytes: 0, minIdleMs: 60_000 })).toEqual(['ab'.repeat(32)]);
  });
});
