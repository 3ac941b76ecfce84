import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveRootfs, RootfsError } from '../../src/rootfs/index.ts';
import { expectSampleRootfs, useSampleLayers, useWorkspace } from './helpers.ts';
import { dockerSave, gzip, layerTar } from './images.ts';

const work = useWorkspace();
const layers = useSampleLayers();

describe('a docker-save archive', () => {
  it('unpacks a docker save tarball, keyed by its image id', async () => {
    const image = join(work.dir, 'saved.tar');
    const { digest } = await dockerSave(image, layers);
    const result = await resolveRootfs({ image }, work.opts());
    expect(result).toEqual({ path: join(work.cache, digest.slice(7), 'rootfs'), source: 'image', digest });
    await expectSampleRootfs(result.path);
  });

  it('unpacks a gzip-compressed docker save', async () => {
    const image = join(work.dir, 'saved.tar');
    await dockerSave(image, layers);
    const { readFile } = await import('node:fs/promises');
    await writeFile(join(work.dir, 'saved.tar.gz'), gzip(await readFile(image)));
    const result = await resolveRootfs({ image: join(work.dir, 'saved.tar.gz') }, work.opts());
    await expectSampleRootfs(result.path);
  });

  it('refuses a layer that does not match the diff id in the config', async () => {
    const image = join(work.dir, 'saved.tar');
    const { configName, layerNames } = await dockerSave(image, layers);
    // Rebuild the archive with the same manifest and config but a different second layer.
    const { readFile } = await import('node:fs/promises');
    const { extract } = await import('tar-stream');
    const members: { name: string; content: Buffer }[] = [];
    const ex = extract();
    const done = (async () => {
      for await (const entry of ex) {
        const chunks: Buffer[] = [];
        for await (const c of entry) chunks.push(c as Buffer);
        if (entry.header.type === 'file') members.push({ name: entry.header.name, content: Buffer.concat(chunks) });
      }
    })();
    ex.end(await readFile(image));
    await done;
    const evil = await layerTar([{ name: 'etc/motd', content: 'tampered\n' }]);
    const rebuilt = await layerTar(
      members.map((m) => ({ name: m.name, content: m.name === layerNames[1] ? evil : m.content })),
    );
    await writeFile(image, rebuilt);
    const err = await resolveRootfs({ image }, work.opts()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RootfsError);
    expect((err as RootfsError).reason).toBe('DigestMismatch');
    expect((err as RootfsError).message).toMatch(/digest mismatch for layer 2 \(sha256:[0-9a-f]{12}\)/);
    expect(configName).toMatch(/^[0-9a-f]{64}\.json$/);
    expect(await readdir(work.cache).catch(() => [])).toEqual([]);
  });

  it('refuses a manifest.json whose Layers point outside the archive', async () => {
    const image = join(work.dir, 'saved.tar');
    const config = JSON.stringify({
      os: 'linux',
      architecture: 'amd64',
      rootfs: { type: 'layers', diff_ids: [`sha256:${'0'.repeat(64)}`] },
    });
    await writeFile(
      image,
      await layerTar([
        { name: 'config.json', content: config },
        { name: 'manifest.json', content: JSON.stringify([{ Config: 'config.json', Layers: ['../../etc/passwd'] }]) },
      ]),
    );
    await expect(resolveRootfs({ image }, work.opts())).rejects.toMatchObject({
      reason: 'UnsafePath',
      message: expect.stringMatching(/manifest\.json Layers\[0\] names "\.\.\/\.\.\/etc\/passwd" \(contains \.\.\)/),
    });
  });
});
