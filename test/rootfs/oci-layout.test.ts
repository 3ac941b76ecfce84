import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveRootfs, RootfsError } from '../../src/rootfs/index.ts';
import { expectSampleRootfs, useSampleLayers, useWorkspace } from './helpers.ts';
import { gzip, layerTar, ociLayout, tarDirectory } from './images.ts';

const work = useWorkspace();
const layers = useSampleLayers();

describe('an OCI image layout', () => {
  it('unpacks a layout directory with two gzip layers, honouring whiteouts and an opaque directory', async () => {
    const image = join(work.dir, 'image');
    const [manifest] = await ociLayout(image, [{ layers }]);
    const result = await resolveRootfs({ image }, work.opts());
    expect(result).toEqual({
      path: join(work.cache, manifest!.digest.slice('sha256:'.length), 'rootfs'),
      source: 'image',
      digest: manifest!.digest,
    });
    await expectSampleRootfs(result.path);
  });

  it('unpacks the same layout from a plain tarball and from a gzip tarball', async () => {
    const image = join(work.dir, 'image');
    const [manifest] = await ociLayout(image, [{ layers }]);
    await tarDirectory(image, join(work.dir, 'image.tar'));
    await tarDirectory(image, join(work.dir, 'image.tar.gz'), true);
    const plain = await resolveRootfs({ image: join(work.dir, 'image.tar') }, work.opts());
    expect(plain.digest).toBe(manifest!.digest);
    await expectSampleRootfs(plain.path);

    const zipped = await resolveRootfs(
      { image: join(work.dir, 'image.tar.gz') },
      { ...work.opts(), imageCacheDir: join(work.dir, 'other-cache') },
    );
    expect(zipped.digest).toBe(manifest!.digest);
    await expectSampleRootfs(zipped.path);
  });

  it('accepts uncompressed layers', async () => {
    const image = join(work.dir, 'image');
    await ociLayout(image, [{ layers, gzipLayers: false }]);
    await expectSampleRootfs((await resolveRootfs({ image }, work.opts())).path);
  });

  it('picks the linux/amd64 image when the index lists several platforms', async () => {
    const image = join(work.dir, 'image');
    const arm = await layerTar([{ name: 'arch', content: 'arm64' }]);
    const amd = await layerTar([{ name: 'arch', content: 'amd64' }]);
    const manifests = await ociLayout(image, [
      { layers: [arm], architecture: 'arm64' },
      { layers: [amd], architecture: 'amd64' },
    ]);
    const result = await resolveRootfs({ image }, work.opts());
    expect(result.digest).toBe(manifests[1]!.digest);
    expect(await readFile(join(result.path, 'arch'), 'utf8')).toBe('amd64');
  });

  it('reads the platform from the image config when the index does not say it', async () => {
    const image = join(work.dir, 'image');
    const arm = await layerTar([{ name: 'arch', content: 'arm64' }]);
    const amd = await layerTar([{ name: 'arch', content: 'amd64' }]);
    await ociLayout(image, [{ layers: [amd] }, { layers: [arm], architecture: 'arm64' }], false);
    const result = await resolveRootfs({ image }, work.opts());
    expect(await readFile(join(result.path, 'arch'), 'utf8')).toBe('amd64');
  });

  it('refuses a layout with several images and no single linux/amd64 one, listing them', async () => {
    const image = join(work.dir, 'image');
    const a = await layerTar([{ name: 'a', content: 'a' }]);
    const b = await layerTar([{ name: 'b', content: 'b' }]);
    const manifests = await ociLayout(image, [{ layers: [a] }, { layers: [b] }]);
    const err = await resolveRootfs({ image }, work.opts()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RootfsError);
    expect((err as RootfsError).reason).toBe('AmbiguousImage');
    expect((err as RootfsError).message).toMatch(
      /^spec\.run\.rootfs\.image: .*lists 2 images and 2 of them are linux\/amd64/,
    );
    expect((err as RootfsError).message).toContain(manifests[0]!.digest);
    await expectCacheEmpty();
  });

  it('refuses a layer blob whose content does not match its digest, leaving nothing in the cache', async () => {
    const image = join(work.dir, 'image');
    const [manifest] = await ociLayout(image, [{ layers }]);
    const layer = manifest!.layers[1]!.digest.slice('sha256:'.length);
    const blob = join(image, 'blobs/sha256', layer);
    const bytes = await readFile(blob);
    bytes[bytes.length - 5]! ^= 0xff;
    await writeFile(blob, bytes);
    const err = await resolveRootfs({ image }, work.opts()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RootfsError);
    expect((err as RootfsError).reason).toBe('DigestMismatch');
    expect((err as RootfsError).message).toMatch(/^spec\.run\.rootfs\.image: .*digest mismatch for layer 2 \(sha256:/);
    await expectCacheEmpty();
  });

  it('refuses a layer blob replaced by another valid layer, checking the digest of the very bytes unpacked', async () => {
    const image = join(work.dir, 'image');
    const [manifest] = await ociLayout(image, [{ layers }]);
    const blob = join(image, 'blobs/sha256', manifest!.layers[1]!.digest.slice('sha256:'.length));
    await writeFile(blob, gzip(await layerTar([{ name: 'etc/motd', content: 'tampered\n' }])));
    const err = await resolveRootfs({ image }, work.opts()).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'RootfsError', reason: 'DigestMismatch' });
    expect((err as RootfsError).message).toMatch(/digest mismatch for layer 2 \(sha256:/);
    await expectCacheEmpty();
  });

  it('refuses a manifest blob whose content does not match the digest in index.json', async () => {
    const image = join(work.dir, 'image');
    const [manifest] = await ociLayout(image, [{ layers }]);
    const blob = join(image, 'blobs/sha256', manifest!.digest.slice('sha256:'.length));
    await writeFile(blob, (await readFile(blob, 'utf8')).replace('"schemaVersion":2', '"schemaVersion": 2'));
    await expect(resolveRootfs({ image }, work.opts())).rejects.toThrow(/digest mismatch for manifest sha256:/);
  });

  it('refuses a layout whose layer blob is missing', async () => {
    const image = join(work.dir, 'image');
    const [manifest] = await ociLayout(image, [{ layers }]);
    const layer = manifest!.layers[0]!.digest.slice('sha256:'.length);
    await rename(join(image, 'blobs/sha256', layer), join(work.dir, 'moved'));
    await expect(resolveRootfs({ image }, work.opts())).rejects.toThrow(/blobs\/sha256\/[0-9a-f]{64} is missing/);
    await expectCacheEmpty();
  });

  it('refuses a missing image file, naming the field', async () => {
    const image = join(work.dir, 'nope.tar');
    const err = await resolveRootfs({ image }, work.opts()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RootfsError);
    expect((err as RootfsError).reason).toBe('NotFound');
    expect((err as RootfsError).field).toBe('spec.run.rootfs.image');
    expect((err as RootfsError).message).toBe(`spec.run.rootfs.image: ${image} does not exist`);
  });

  it('refuses a file that is not an image', async () => {
    const image = join(work.dir, 'notes.txt');
    await writeFile(image, 'just some text, not a tar archive at all\n'.repeat(20));
    await expect(resolveRootfs({ image }, work.opts())).rejects.toMatchObject({
      name: 'RootfsError',
      reason: 'NotAnImage',
      message: expect.stringMatching(
        /^spec\.run\.rootfs\.image: .*notes\.txt: the image archive is not a readable tar archive/,
      ),
    });
  });

  it('refuses a directory that is neither an OCI layout nor a docker save', async () => {
    const image = join(work.dir, 'empty');
    await ociLayout(image, []);
    await rename(join(image, 'index.json'), join(image, 'index.json.bak'));
    await expect(resolveRootfs({ image }, work.opts())).rejects.toThrow(/is not an image: neither an OCI image layout/);
  });

  it('refuses zstd layers with a clear message', async () => {
    const image = join(work.dir, 'image');
    const [manifest] = await ociLayout(image, [{ layers: [layers[0]!] }]);
    const manifestPath = join(image, 'blobs/sha256', manifest!.digest.slice('sha256:'.length));
    const text = (await readFile(manifestPath, 'utf8')).replace('tar+gzip', 'tar+zstd');
    // Re-point index.json at the edited manifest.
    const { createHash } = await import('node:crypto');
    const hex = createHash('sha256').update(text).digest('hex');
    await writeFile(join(image, 'blobs/sha256', hex), text);
    await writeFile(
      join(image, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{ mediaType: manifest!.mediaType, digest: `sha256:${hex}`, size: text.length }],
      }),
    );
    await expect(resolveRootfs({ image }, work.opts())).rejects.toMatchObject({
      reason: 'Unsupported',
      message: expect.stringMatching(/zstd/),
    });
  });
});

async function expectCacheEmpty(): Promise<void> {
  const left = await readdir(work.cache).catch(() => []);
  expect(left).toEqual([]);
}
