// Images built to cost the host: an index that fans out, metadata too large to hold, a small
// layer that unpacks to gigabytes, too many entries, an archive that is mostly junk. Each stops
// at its cap, quickly, with a refusal that names the cap and its setting, and leaves nothing in
// the cache; and the worker's event loop keeps turning meanwhile.
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveRootfs, RootfsError, type ResolveRootfsOptions } from '../../src/rootfs/index.ts';
import { useWorkspace } from './helpers.ts';
import {
  addImage,
  fileHeader,
  gzip,
  layerTar,
  ociLayout,
  tarDirectory,
  writeBlob,
  zeroBombLayer,
  type LayerEntry,
} from './images.ts';

const work = useWorkspace();
const MiB = 1024 * 1024;
const INDEX = 'application/vnd.oci.image.index.v1+json';

/** Resolves while a timer measures the longest stretch the event loop could not run. */
async function measured(spec: { image: string }, opts: ResolveRootfsOptions) {
  let last = performance.now();
  let longestStallMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longestStallMs = Math.max(longestStallMs, now - last);
    last = now;
  }, 5);
  const started = performance.now();
  try {
    const result = await resolveRootfs(spec, opts).catch((e: unknown) => e);
    return { result, ms: performance.now() - started, longestStallMs };
  } finally {
    clearInterval(timer);
  }
}

const expectCacheEmpty = async () => expect(await readdir(work.cache).catch(() => [])).toEqual([]);

/**
 * index.json lists index 1 `fanOut` times, index 1 lists index 2 `fanOut` times, ..., and the last
 * index lists one real image `fanOut` times: read again at every mention, fanOut^(levels+1) reads.
 */
async function fanOutLayout(dir: string, fanOut: number, levels: number): Promise<void> {
  const leaf = await addImage(dir, { layers: [await layerTar([{ name: 'hello', content: 'hi\n' }])] });
  let child: { mediaType: string; digest: string; size: number } = {
    mediaType: leaf.mediaType,
    digest: leaf.digest,
    size: leaf.size,
  };
  for (let level = 0; level < levels; level++) {
    const index = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: Array(fanOut).fill(child) }),
    );
    child = { mediaType: INDEX, ...(await writeBlob(dir, index)) };
  }
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: Array(fanOut).fill(child) }));
}

describe('an index that fans out', () => {
  it('is read once per blob: 64-way fan-out over four nested indexes resolves fast without stalling the worker', async () => {
    const dir = join(work.dir, 'layout');
    await fanOutLayout(dir, 64, 4);
    await tarDirectory(dir, join(work.dir, 'bomb.tar'));
    const { result, ms, longestStallMs } = await measured({ image: join(work.dir, 'bomb.tar') }, work.opts());
    expect(result).toMatchObject({ source: 'image' });
    expect(ms).toBeLessThan(3000);
    expect(longestStallMs).toBeLessThan(200);
  }, 30_000);

  it('is refused past the descriptor cap, naming it', async () => {
    const dir = join(work.dir, 'layout');
    await fanOutLayout(dir, 3000, 2);
    await tarDirectory(dir, join(work.dir, 'bomb.tar'));
    const { result, ms, longestStallMs } = await measured({ image: join(work.dir, 'bomb.tar') }, work.opts());
    expect(result).toBeInstanceOf(RootfsError);
    expect(result).toMatchObject({ reason: 'TooLarge', failureType: 'CellRejectedByHost' });
    expect((result as Error).message).toMatch(
      /the image needs more than 4096 descriptors \(index entries, manifests, configs and layers\), this host's limit \(imageLimits\.maxDescriptors\)/,
    );
    expect(ms).toBeLessThan(3000);
    expect(longestStallMs).toBeLessThan(200);
    await expectCacheEmpty();
  }, 30_000);

  it('refuses an index.json larger than the metadata cap', async () => {
    const dir = join(work.dir, 'layout');
    await ociLayout(dir, []);
    await writeFile(
      join(dir, 'index.json'),
      JSON.stringify({ schemaVersion: 2, manifests: [], padding: 'x'.repeat(5 * MiB) }),
    );
    await tarDirectory(dir, join(work.dir, 'image.tar'));
    for (const image of [dir, join(work.dir, 'image.tar')]) {
      const { result } = await measured({ image }, work.opts());
      expect(result).toMatchObject({ name: 'RootfsError', reason: 'TooLarge' });
      expect((result as Error).message).toMatch(
        /index\.json is larger than 4194304 bytes, this host's limit \(imageLimits\.maxJsonBytes\)/,
      );
    }
  });
});

describe('a layer that unpacks to far more than it weighs', () => {
  it('stops a 2 MB layer of 2 GiB of zeros at the unpack cap, reporting it, and keeps nothing', async () => {
    const bomb = zeroBombLayer(2048 * MiB);
    expect(bomb.length).toBeLessThan(3 * MiB);
    const image = join(work.dir, 'image');
    await ociLayout(image, [{ layers: [], gzippedLayers: [bomb] }]);
    const { result, ms, longestStallMs } = await measured(
      { image },
      { ...work.opts(), imageLimits: { maxUnpackedBytes: 64 * MiB } },
    );
    expect(result).toBeInstanceOf(RootfsError);
    expect(result).toMatchObject({ reason: 'TooLarge', field: 'spec.run.rootfs.image' });
    expect((result as Error).message).toBe(
      `spec.run.rootfs.image: ${image}: the image needs more than 67108864 bytes unpacked, this host's limit (CELLOS_IMAGE_MAX_UNPACKED_BYTES); nothing was kept`,
    );
    expect(ms).toBeLessThan(5000);
    expect(longestStallMs).toBeLessThan(200);
    await expectCacheEmpty();
  }, 30_000);

  it('stops a gzip docker-save archive whose layer.tar is 2 GiB while copying it out', async () => {
    // The outer archive is gzip members concatenated: manifest, config, then a 2 GiB layer.tar.
    const inner = 2048 * MiB + 512 + 1024;
    const config = JSON.stringify({
      os: 'linux',
      architecture: 'amd64',
      rootfs: { diff_ids: [`sha256:${'0'.repeat(64)}`] },
    });
    const head = await layerTar([
      { name: 'manifest.json', content: JSON.stringify([{ Config: 'config.json', Layers: ['big/layer.tar'] }]) },
      { name: 'config.json', content: config },
    ]);
    const mib = gzip(Buffer.alloc(MiB));
    const parts = [gzip(head.subarray(0, head.length - 1024)), gzip(fileHeader('big/layer.tar', inner))];
    parts.push(gzip(fileHeader('zeros', 2048 * MiB)));
    for (let i = 0; i < 2048; i++) parts.push(mib);
    parts.push(gzip(Buffer.alloc(1024 + 1024))); // the inner tar's end, then the outer's
    const image = join(work.dir, 'saved.tar.gz');
    await writeFile(image, Buffer.concat(parts));
    // The first pass inflates the whole archive to list its members (~2 GiB); the copy stops at the
    // unpacked cap. The read cap proves that, where a time bound flaked on a busy machine (11.2 s).
    const imageLimits = { maxUnpackedBytes: 64 * MiB, maxReadBytes: 2048 * MiB + 256 * MiB };
    const { result, ms } = await measured({ image }, { ...work.opts(), imageLimits });
    expect(result).toMatchObject({ name: 'RootfsError', reason: 'TooLarge' });
    expect((result as Error).message).toMatch(/more than 67108864 bytes unpacked/);
    expect(ms).toBeLessThan(30_000);
    await expectCacheEmpty();
  }, 60_000);

  it('stops an archive that is mostly junk at the read cap', async () => {
    const mib = gzip(Buffer.alloc(MiB));
    const parts = [gzip(fileHeader('junk', 1024 * MiB))];
    for (let i = 0; i < 1024; i++) parts.push(mib);
    parts.push(gzip(Buffer.alloc(1024)));
    const image = join(work.dir, 'junk.tar.gz');
    await writeFile(image, Buffer.concat(parts));
    const { result, ms } = await measured({ image }, { ...work.opts(), imageLimits: { maxReadBytes: 128 * MiB } });
    expect(result).toMatchObject({ name: 'RootfsError', reason: 'TooLarge' });
    expect((result as Error).message).toMatch(/more than 134217728 bytes read from its files \(after decompression\)/);
    expect(ms).toBeLessThan(3000);
  }, 30_000);

  it('stops a layer with more entries than the cap allows', async () => {
    const entries: LayerEntry[] = Array.from({ length: 1500 }, (_, i) => ({ name: `f${i}`, content: '' }));
    const image = join(work.dir, 'image');
    await ociLayout(image, [{ layers: [await layerTar(entries)] }]);
    const { result } = await measured({ image }, { ...work.opts(), imageLimits: { maxEntries: 1000 } });
    expect(result).toMatchObject({ name: 'RootfsError', reason: 'TooLarge' });
    expect((result as Error).message).toMatch(
      /more than 1000 tar entries, this host's limit \(CELLOS_IMAGE_MAX_ENTRIES\)/,
    );
    await expectCacheEmpty();
  });

  it('stops deep distinct names before they fill the worker memory', async () => {
    // 200 entries of 12 distinct 250-byte folders each: kept as a tree, 600 KB of names.
    const seg = (i: number, d: number) => `${String(i).padStart(4, '0')}-${d}-`.padEnd(250, 'x');
    const entries: LayerEntry[] = Array.from({ length: 200 }, (_, i) => ({
      name: Array.from({ length: 12 }, (_, d) => seg(i, d)).join('/'),
      content: '',
    }));
    const image = join(work.dir, 'image');
    await ociLayout(image, [{ layers: [await layerTar(entries)] }]);
    const { result } = await measured({ image }, { ...work.opts(), imageLimits: { maxNameBytes: 256 * 1024 } });
    expect(result).toMatchObject({ name: 'RootfsError', reason: 'TooLarge' });
    expect((result as Error).message).toMatch(/bytes of entry names held while unpacking/);
    await expectCacheEmpty();
  });
});

describe('limits', () => {
  it('refuses a limit that is not a positive whole number, naming it', async () => {
    await expect(
      resolveRootfs({ image: join(work.dir, 'x') }, { ...work.opts(), imageLimits: { maxEntries: 0 } }),
    ).rejects.toThrow(/image limit maxEntries must be a positive whole number, got 0/);
  });
});
