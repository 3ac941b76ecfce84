// Hostile layers: every one is refused with a RootfsError, nothing is written outside the
// rootfs, and nothing half-made stays in the cache.
import { chmod, lstat, mkdir, readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { resolveRootfs, RootfsError } from '../../src/rootfs/index.ts';
import { useWorkspace } from './helpers.ts';
import { layerTar, ociLayout, type LayerEntry } from './images.ts';

const work = useWorkspace();
let outside: string;

beforeEach(async () => {
  outside = join(work.dir, 'outside');
  await mkdir(outside);
  await writeFile(join(outside, 'keep'), 'host file\n');
});

/** Resolves an image of these layers; returns the RootfsError it must fail with. */
async function refuse(...layers: LayerEntry[][]): Promise<RootfsError> {
  const image = join(work.dir, 'image');
  const tars = await Promise.all(layers.map((entries) => layerTar(entries)));
  await ociLayout(image, [{ layers: tars }]);
  const err = await resolveRootfs({ image }, work.opts()).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RootfsError);
  expect(await readdir(outside)).toEqual(['keep']);
  expect(await readFile(join(outside, 'keep'), 'utf8')).toBe('host file\n');
  expect(await readdir(work.cache).catch(() => [])).toEqual([]);
  expect(await readdir(work.dir)).toEqual(expect.not.arrayContaining(['pwned']));
  return err as RootfsError;
}

const exists = (p: string) =>
  lstat(p).then(
    () => true,
    () => false,
  );

describe('a hostile layer', () => {
  it('refuses an entry that climbs out with ../', async () => {
    const err = await refuse([{ name: '../../outside/pwned', content: 'x' }]);
    expect(err.reason).toBe('UnsafePath');
    expect(err.message).toMatch(
      /^spec\.run\.rootfs\.image: .*unsafe path in layer 1 \(sha256:[0-9a-f]{12}\): "\.\.\/\.\.\/outside\/pwned" \(contains \.\.\)/,
    );
  });

  it('refuses a ../ hidden in the middle of a name', async () => {
    const err = await refuse([{ name: 'etc/../../pwned', content: 'x' }]);
    expect(err.reason).toBe('UnsafePath');
  });

  it('refuses an absolute entry', async () => {
    const err = await refuse([{ name: `${outside}/pwned`, content: 'x' }]);
    expect(err.reason).toBe('UnsafePath');
    expect(err.message).toMatch(/unsafe path in layer 1 .*\(absolute path\)/);
  });

  it('refuses writing through a symlink planted by the same layer', async () => {
    const err = await refuse([
      { name: 'a', type: 'symlink', linkname: outside },
      { name: 'a/pwned', content: 'x' },
    ]);
    expect(err.reason).toBe('UnsafePath');
    expect(err.message).toMatch(/unsafe path in layer 1 .*"a\/pwned" goes through symlink "a"/);
  });

  it('refuses writing through a symlink to /etc planted by a lower layer', async () => {
    const err = await refuse(
      [{ name: 'a', type: 'symlink', linkname: '/etc' }],
      [{ name: 'a/cellos-rootfs-test-pwned', content: 'x' }],
    );
    expect(err.reason).toBe('UnsafePath');
    expect(err.message).toMatch(/unsafe path in layer 2 /);
    expect(await exists('/etc/cellos-rootfs-test-pwned')).toBe(false);
  });

  it('refuses a relative symlink that climbs out, then a write through it', async () => {
    const err = await refuse([
      { name: 'x/', type: 'directory' },
      { name: 'x/up', type: 'symlink', linkname: '../../../outside' },
      { name: 'x/up/pwned', content: 'x' },
    ]);
    expect(err.reason).toBe('UnsafePath');
  });

  it('refuses a whiteout or an opaque marker under a symlink (no deleting host files)', async () => {
    let err = await refuse([{ name: 'a', type: 'symlink', linkname: outside }], [{ name: 'a/.wh.keep', content: '' }]);
    expect(err.reason).toBe('UnsafePath');
    err = await refuse([{ name: 'a', type: 'symlink', linkname: outside }], [{ name: 'a/.wh..wh..opq', content: '' }]);
    expect(err.reason).toBe('UnsafePath');
  });

  it('refuses a hardlink to a file outside the rootfs', async () => {
    const err = await refuse([{ name: 'steal', type: 'link', linkname: '../outside/keep' }]);
    expect(err.reason).toBe('UnsafePath');
    const abs = await refuse([{ name: 'steal', type: 'link', linkname: join(outside, 'keep') }]);
    expect(abs.reason).toBe('UnsafePath');
  });

  it('refuses a hardlink through a symlink to a host file', async () => {
    const err = await refuse([
      { name: 'a', type: 'symlink', linkname: outside },
      { name: 'steal', type: 'link', linkname: 'a/keep' },
    ]);
    expect(err.reason).toBe('UnsafePath');
  });

  it('stores a symlink to a host path as a link, and a file written over it replaces the link', async () => {
    const image = join(work.dir, 'image');
    const tars = [
      await layerTar([{ name: 'keep', type: 'symlink', linkname: join(outside, 'keep') }]),
      await layerTar([{ name: 'keep', content: 'inside\n' }]),
    ];
    await ociLayout(image, [{ layers: tars }]);
    const { path } = await resolveRootfs({ image }, work.opts());
    expect((await lstat(join(path, 'keep'))).isFile()).toBe(true);
    expect(await readFile(join(path, 'keep'), 'utf8')).toBe('inside\n');
    expect(await readFile(join(outside, 'keep'), 'utf8')).toBe('host file\n');
  });

  it('stores a hardlink to a symlink as a link to the link, never to the host file it names', async () => {
    const image = join(work.dir, 'image');
    const tars = [
      await layerTar([
        { name: 'sym', type: 'symlink', linkname: join(outside, 'keep') },
        { name: 'hard', type: 'link', linkname: 'sym' },
      ]),
    ];
    await ociLayout(image, [{ layers: tars }]);
    const { path } = await resolveRootfs({ image }, work.opts());
    const hard = await lstat(join(path, 'hard'));
    expect(hard.isSymbolicLink()).toBe(true);
    expect(hard.ino).not.toBe((await stat(join(outside, 'keep'))).ino);
    expect(await readlink(join(path, 'hard'))).toBe(join(outside, 'keep'));
  });

  it('removes only the link when a whiteout hides a symlink to a host folder', async () => {
    const image = join(work.dir, 'image');
    const tars = [
      await layerTar([{ name: 'a', type: 'symlink', linkname: outside }]),
      await layerTar([{ name: '.wh.a', content: '' }]),
    ];
    await ociLayout(image, [{ layers: tars }]);
    const { path } = await resolveRootfs({ image }, work.opts());
    expect(await exists(join(path, 'a'))).toBe(false);
    expect(await readdir(outside)).toEqual(['keep']);
  });

  it('replaces a symlink to a host folder by a directory entry, and never chmods the host folder', async () => {
    await chmod(outside, 0o750);
    const image = join(work.dir, 'image');
    const tars = [
      await layerTar([{ name: 'a', type: 'symlink', linkname: outside }]),
      await layerTar([{ name: 'a/', type: 'directory', mode: 0o777 }]),
      // A later layer turns a directory (whose mode is set last) back into a symlink to the host.
      await layerTar([
        { name: 'b/', type: 'directory', mode: 0o777 },
        { name: 'c/', type: 'directory', mode: 0o777 },
      ]),
      await layerTar([
        { name: '.wh.b', content: '' },
        { name: 'b', type: 'symlink', linkname: outside },
        { name: 'c', type: 'symlink', linkname: outside },
      ]),
    ];
    await ociLayout(image, [{ layers: tars }]);
    const { path } = await resolveRootfs({ image }, work.opts());
    expect((await lstat(join(path, 'a'))).isDirectory()).toBe(true);
    expect((await lstat(join(path, 'b'))).isSymbolicLink()).toBe(true);
    expect((await stat(outside)).mode & 0o777).toBe(0o750);
  });

  it('replaces a /tmp that is a symlink to / by a real directory', async () => {
    const image = join(work.dir, 'image');
    await ociLayout(image, [{ layers: [await layerTar([{ name: 'tmp', type: 'symlink', linkname: '/' }])] }]);
    const { path } = await resolveRootfs({ image }, work.opts());
    const tmp = await lstat(join(path, 'tmp'));
    expect(tmp.isDirectory()).toBe(true);
    expect(tmp.mode & 0o7777).toBe(0o1777);
  });

  it("refuses a name no filesystem takes as the image's fault, not a host failure to retry", async () => {
    const err = await refuse([{ name: `${'n'.repeat(300)}/f`, content: 'x' }]);
    expect(err).toMatchObject({ reason: 'UnsafePath', failureType: 'CellRejectedByHost' });
    expect(err.message).toMatch(/\(name too long\)$/);
    const deep = await refuse([{ name: Array(1600).fill('d').join('/'), content: 'x' }]);
    expect(deep).toMatchObject({ reason: 'UnsafePath', failureType: 'CellRejectedByHost' });
    const target = await refuse([{ name: 'l', type: 'symlink', linkname: 'x'.repeat(5000) }]);
    expect(target.message).toMatch(/\(link target too long\)$/);
  });

  it('refuses a hardlink to a directory (link(2) would fail with EPERM, a host error) as the image fault it is', async () => {
    const err = await refuse([
      { name: 'd/', type: 'directory' },
      { name: 'x', type: 'link', linkname: 'd' },
    ]);
    expect(err).toMatchObject({ reason: 'UnsafePath', failureType: 'CellRejectedByHost' });
  });
});
