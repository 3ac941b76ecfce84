// Files that block: a read of /proc/kmsg (a "regular file" to stat) or of a FIFO waits forever
// and holds one of libuv's few threads, stalling every file operation of the worker. Each must be
// refused at once, before a byte is read; and a resolve that runs too long ends at its deadline.
import { execFileSync } from 'node:child_process';
import { readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveRootfs, RootfsError, type ResolveRootfsOptions } from '../../src/rootfs/index.ts';
import { useSampleLayers, useWorkspace } from './helpers.ts';
import { ociLayout, tarDirectory, zeroBombLayer } from './images.ts';

const work = useWorkspace();
const layers = useSampleLayers();
const MiB = 1024 * 1024;

/** Resolves, returning the error and how long it took. */
async function timed(spec: { image: string }, opts: ResolveRootfsOptions) {
  const started = performance.now();
  const err = await resolveRootfs(spec, opts).catch((e: unknown) => e);
  return { err: err as RootfsError, ms: performance.now() - started };
}

const mkfifo = (path: string) => execFileSync('mkfifo', [path]);

describe('files that would block the worker', () => {
  it('refuses /proc/kmsg at once, even when the operator allowed /proc', async () => {
    const { err, ms } = await timed({ image: '/proc/kmsg' }, { ...work.opts(), allowedImages: ['/proc'] });
    expect(err).toBeInstanceOf(RootfsError);
    expect(err).toMatchObject({ reason: 'NotAnImage', failureType: 'CellRejectedByHost' });
    expect(err.message).toBe(
      'spec.run.rootfs.image: /proc/kmsg: the image is a kernel interface file (/proc, /sys, ...), not an image',
    );
    expect(ms).toBeLessThan(1000);
    // And without that mistake, it is simply not allowed.
    expect((await timed({ image: '/proc/kmsg' }, work.opts())).err.reason).toBe('NotAllowed');
  }, 10_000);

  it('refuses a FIFO named as the image at once', async () => {
    const fifo = join(work.dir, 'image.tar');
    mkfifo(fifo);
    const { err, ms } = await timed({ image: fifo }, work.opts());
    expect(err).toMatchObject({ name: 'RootfsError', reason: 'NotAnImage' });
    expect(err.message).toMatch(/is neither a regular file nor a directory/);
    expect(ms).toBeLessThan(1000);
  }, 10_000);

  it('refuses a FIFO planted as index.json or as a layer blob of a layout', async () => {
    const image = join(work.dir, 'image');
    const [manifest] = await ociLayout(image, [{ layers }]);
    const blob = join(image, 'blobs/sha256', manifest!.layers[0]!.digest.slice('sha256:'.length));
    await rm(blob);
    mkfifo(blob);
    const layer = await timed({ image }, work.opts());
    expect(layer.err).toMatchObject({ name: 'RootfsError', reason: 'NotAnImage' });
    expect(layer.ms).toBeLessThan(1000);

    await rm(join(image, 'index.json'));
    mkfifo(join(image, 'index.json'));
    const index = await timed({ image }, work.opts());
    expect(index.err).toMatchObject({ name: 'RootfsError', reason: 'NotAnImage' });
    expect(index.ms).toBeLessThan(1000);
    expect(await readdir(work.cache).catch(() => [])).toEqual([]);
  }, 10_000);

  it('refuses a layout member that is a symlink to a device, in the words used for any host file', async () => {
    const image = join(work.dir, 'image');
    await ociLayout(image, [{ layers }]);
    const refusalFor = async (target: string) => {
      await rm(join(image, 'index.json'), { force: true });
      await symlink(target, join(image, 'index.json'));
      const { err, ms } = await timed({ image }, work.opts());
      expect(ms).toBeLessThan(1000);
      return { reason: err.reason, message: err.message };
    };
    const device = await refusalFor('/dev/zero');
    expect(device).toEqual({
      reason: 'UnsafePath',
      message: `spec.run.rootfs.image: ${image}: index.json resolves outside the image directory`,
    });
    // A planted symlink cannot probe the host: a file, a missing path, a FIFO all read the same.
    expect(await refusalFor('/etc/passwd')).toEqual(device);
    expect(await refusalFor('/etc/cellos-no-such-file')).toEqual(device);
    expect(await refusalFor('/no-such-dir/x')).toEqual(device);
  });
});

describe('the deadline of a resolve', () => {
  /** A layout whose one layer is a 2 MB gzip of 2 GiB of zeros: seconds of work at least. */
  async function slowImage(): Promise<string> {
    const image = join(work.dir, 'slow');
    await ociLayout(image, [{ layers: [], gzippedLayers: [zeroBombLayer(2048 * MiB)] }]);
    return image;
  }

  it('refuses an image that takes longer than the deadline, and leaves nothing in the cache', async () => {
    const image = await slowImage();
    const { err, ms } = await timed({ image }, { ...work.opts(), signal: AbortSignal.timeout(300) });
    expect(err).toBeInstanceOf(RootfsError);
    expect(err).toMatchObject({ reason: 'TimedOut', failureType: 'CellRejectedByHost' });
    expect(err.message).toBe(
      `spec.run.rootfs.image: ${image}: preparing it took longer than this host allows (CELLOS_PREPARE_TIMEOUT_SECONDS); nothing was kept`,
    );
    expect(ms).toBeLessThan(1500);
    expect(await readdir(work.cache)).toEqual([]);
  }, 20_000);

  it('refuses at once when the deadline has already passed', async () => {
    const image = join(work.dir, 'image');
    await ociLayout(image, [{ layers }]);
    const { err } = await timed({ image }, { ...work.opts(), signal: AbortSignal.abort() });
    expect(err).toMatchObject({ name: 'RootfsError', reason: 'TimedOut' });
    expect(await readdir(work.cache).catch(() => [])).toEqual([]);
  });

  it('lets a second cell waiting on the same unpack finish under its own deadline', async () => {
    const image = join(work.dir, 'image');
    await ociLayout(image, [{ layers }]);
    await tarDirectory(image, join(work.dir, 'image.tar'));
    const controller = new AbortController();
    const first = resolveRootfs({ image }, { ...work.opts(), signal: controller.signal }).catch((e: unknown) => e);
    const second = resolveRootfs({ image: join(work.dir, 'image.tar') }, work.opts());
    setImmediate(() => controller.abort());
    expect(await first).toMatchObject({ name: 'RootfsError', reason: 'TimedOut' });
    expect((await second).source).toBe('image');
  });
});

describe('a refusal quotes no host file', () => {
  it('does not quote the bytes of an index.json that is not JSON', async () => {
    const image = join(work.dir, 'image');
    await ociLayout(image, [{ layers }]);
    await writeFile(join(image, 'index.json'), 'root:$6$secrethash:19000:0:99999:7:::\n');
    const err = (await timed({ image }, work.opts())).err;
    expect(err).toMatchObject({ name: 'RootfsError', reason: 'NotAnImage' });
    expect(err.message).toMatch(/index\.json is not valid JSON/);
    expect(err.message).not.toMatch(/\$6\$|secrethash|19000/);
  });

  it('does not quote a digest or a key of a JSON host file that is not an image', async () => {
    const image = join(work.dir, 'image');
    await ociLayout(image, [{ layers }]);
    await writeFile(join(image, 'index.json'), JSON.stringify({ manifests: [{ digest: 'sk-live-secret-token' }] }));
    let err = (await timed({ image }, work.opts())).err;
    expect(err).toMatchObject({ name: 'RootfsError' });
    expect(err.message).not.toContain('sk-live');
    await writeFile(
      join(image, 'index.json'),
      JSON.stringify({ manifests: [{ digest: 'x', annotations: { 'password=hunter2': 1 } }] }),
    );
    err = (await timed({ image }, work.opts())).err;
    expect(err).toMatchObject({ name: 'RootfsError', reason: 'NotAnImage' });
    expect(err.message).not.toContain('hunter2');
  });
});
