// A document names host paths; only the operator's allowlists grant them. Each test is an
// attack: a host folder as rootfs, a symlink out of an allowed folder, an image outside the
// allowlist, and probing which host paths exist through the refusals.
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { resolveRootfs, RootfsError, type ResolveRootfsOptions } from '../../src/rootfs/index.ts';
import { useSampleLayers, useWorkspace } from './helpers.ts';
import { ociLayout, tarDirectory } from './images.ts';

const work = useWorkspace();
const layers = useSampleLayers();
let allowed: string;
let outside: string;
let defaultRootfs: string;

/** Rootfs paths and images may come from `<dir>/allowed` only; `<dir>/outside` stands for the host's state. */
const opts = (): ResolveRootfsOptions => ({
  defaultRootfs,
  imageCacheDir: work.cache,
  allowedRootfs: [allowed],
  allowedImages: [allowed],
});

beforeEach(async () => {
  allowed = join(work.dir, 'allowed');
  outside = join(work.dir, 'outside');
  defaultRootfs = join(work.dir, 'default-rootfs');
  for (const d of [allowed, outside, defaultRootfs]) await mkdir(join(d, 'tmp'), { recursive: true });
  await writeFile(join(outside, 'secret'), "another cell's secret\n");
});

async function refusal(spec: { path: string } | { image: string }, o = opts()): Promise<RootfsError> {
  const err = await resolveRootfs(spec, o).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RootfsError);
  return err as RootfsError;
}

describe('rootfs paths a document may name', () => {
  it("refuses the host's / as a rootfs, naming the field and the rule", async () => {
    const err = await refusal({ path: '/' });
    expect(err).toMatchObject({
      field: 'spec.run.rootfs.path',
      reason: 'NotAllowed',
      failureType: 'CellRejectedByHost',
    });
    expect(err.message).toBe(
      'spec.run.rootfs.path: / is not an allowed rootfs: this host allows its default rootfs and folders under CELLOS_ALLOWED_ROOTFS',
    );
  });

  it('refuses every path when the operator allows none, except the default rootfs itself', async () => {
    const none = { ...opts(), allowedRootfs: [] };
    expect((await refusal({ path: join(allowed) }, none)).reason).toBe('NotAllowed');
    expect(await resolveRootfs({ path: defaultRootfs }, none)).toEqual({ path: defaultRootfs, source: 'path' });
    // Under the default rootfs is not the default rootfs (it may be /).
    await mkdir(join(defaultRootfs, 'sub', 'tmp'), { recursive: true });
    expect((await refusal({ path: join(defaultRootfs, 'sub') }, none)).reason).toBe('NotAllowed');
  });

  it('uses a folder under the allowlist, resolved to its realpath', async () => {
    await mkdir(join(allowed, 'alpine', 'tmp'), { recursive: true });
    await symlink('alpine', join(allowed, 'current'));
    expect(await resolveRootfs({ path: join(allowed, 'current') }, opts())).toEqual({
      path: join(allowed, 'alpine'),
      source: 'path',
    });
  });

  it('refuses a symlink inside an allowed folder that leads to the state folder', async () => {
    await symlink(outside, join(allowed, 'escape'));
    const err = await refusal({ path: join(allowed, 'escape') });
    expect(err.reason).toBe('NotAllowed');
    expect(err.message).not.toContain(outside);
  });

  it("refuses a folder that holds or lies in the host's own state, even under an allowed folder", async () => {
    const state = join(allowed, 'state'); // an operator's mistake: the state folder under an allowed one
    await mkdir(join(state, 'bundles', 'other-cell', 'tmp'), { recursive: true });
    const o = { ...opts(), hostDirs: [state] };
    expect((await refusal({ path: allowed }, o)).reason).toBe('NotAllowed');
    expect((await refusal({ path: join(state, 'bundles', 'other-cell') }, o)).reason).toBe('NotAllowed');
    expect((await refusal({ path: join(state, 'bundles', 'no-such-cell') }, o)).reason).toBe('NotAllowed');
    // The image cache is always one of them: a symlink to an unpacked image is no rootfs path.
    await mkdir(join(work.cache, 'ab'.repeat(32), 'rootfs', 'tmp'), { recursive: true });
    await symlink(join(work.cache, 'ab'.repeat(32), 'rootfs'), join(allowed, 'cached'));
    expect((await refusal({ path: join(allowed, 'cached') })).reason).toBe('NotAllowed');
  });

  it('refuses a sibling folder whose name starts like the allowed one', async () => {
    await mkdir(join(`${allowed}-evil`, 'tmp'), { recursive: true });
    expect((await refusal({ path: `${allowed}-evil` })).reason).toBe('NotAllowed');
  });

  it('refuses . and .. segments before looking at the disk', async () => {
    const err = await refusal({ path: `${allowed}/../outside` });
    expect(err.reason).toBe('NotAllowed');
    expect(err.message).toMatch(/must be an absolute path without \. or \.\. segments/);
    expect((await refusal({ path: 'relative/rootfs' })).reason).toBe('NotAllowed');
  });
});

describe('refusals reveal nothing about host paths outside the allowlists', () => {
  /** The refusal's message with the document's own path taken out. */
  const words = async (spec: { path: string } | { image: string }) => {
    const err = await refusal(spec);
    const named = 'path' in spec ? spec.path : spec.image;
    return { reason: err.reason, message: err.message.replace(named, '<path>') };
  };

  it('words the refusal of an existing and of a missing host folder the same', async () => {
    expect(await words({ path: outside })).toEqual(await words({ path: join(work.dir, 'no-such-folder') }));
    expect(await words({ path: '/etc' })).toEqual(await words({ path: '/etc-cellos-no-such' }));
  });

  it('words them the same through a symlink in an allowed folder that leads out', async () => {
    await symlink(outside, join(allowed, 'out'));
    const existing = await words({ path: join(allowed, 'out', 'secret') });
    const missing = await words({ path: join(allowed, 'out', 'no-such-file') });
    const deeper = await words({ path: join(allowed, 'out', 'no', 'such', 'path') });
    const throughFile = await words({ path: join(allowed, 'out', 'secret', 'below-a-file') });
    expect(existing).toMatchObject({ reason: 'NotAllowed' });
    expect([missing, deeper, throughFile]).toEqual([existing, existing, existing]);
    // A symlink straight to a host path: existing, missing, or a loop.
    await symlink(join(outside, 'secret'), join(allowed, 'to-file'));
    await symlink(join(outside, 'no-such-file'), join(allowed, 'dangling'));
    await symlink('loop-b', join(allowed, 'loop-a'));
    await symlink('loop-a', join(allowed, 'loop-b'));
    for (const link of ['to-file', 'dangling', 'loop-a']) {
      expect(await words({ path: join(allowed, link) })).toEqual(existing);
      expect(await words({ path: join(allowed, link, 'below') })).toEqual(existing);
    }
  });

  it('words them the same for images', async () => {
    await writeFile(join(outside, 'image.tar'), 'x');
    const existing = await words({ image: join(outside, 'image.tar') });
    expect(existing).toMatchObject({ reason: 'NotAllowed' });
    expect(await words({ image: join(outside, 'missing.tar') })).toEqual(existing);
    expect(await words({ image: '/etc/shadow' })).toEqual(existing);
    expect(await words({ image: '/etc/no-such-shadow' })).toEqual(existing);
  });

  it('says "does not exist" only inside an allowed folder', async () => {
    const err = await refusal({ path: join(allowed, 'missing') });
    expect(err).toMatchObject({
      reason: 'NotFound',
      message: `spec.run.rootfs.path: ${join(allowed, 'missing')} does not exist`,
    });
  });
});

describe('images a document may name', () => {
  it('refuses a valid image outside the allowlist', async () => {
    const image = join(outside, 'image');
    await ociLayout(image, [{ layers }]);
    const err = await refusal({ image });
    expect(err).toMatchObject({ field: 'spec.run.rootfs.image', reason: 'NotAllowed' });
    expect(err.message).toBe(
      `spec.run.rootfs.image: ${image} is not an allowed image: this host allows images under CELLOS_ALLOWED_IMAGES and its image cache`,
    );
  });

  it('refuses an image reached through a symlink in an allowed folder that leads out', async () => {
    await ociLayout(join(outside, 'image'), [{ layers }]);
    await tarDirectory(join(outside, 'image'), join(outside, 'image.tar'));
    await symlink(join(outside, 'image'), join(allowed, 'dir-link'));
    await symlink(join(outside, 'image.tar'), join(allowed, 'tar-link'));
    expect((await refusal({ image: join(allowed, 'dir-link') })).reason).toBe('NotAllowed');
    expect((await refusal({ image: join(allowed, 'tar-link') })).reason).toBe('NotAllowed');
  });

  it('unpacks an image under an allowed folder, and one under the image cache', async () => {
    await ociLayout(join(allowed, 'image'), [{ layers }]);
    const first = await resolveRootfs({ image: join(allowed, 'image') }, opts());
    expect(first.source).toBe('image');
    await ociLayout(join(work.cache, 'imports', 'image'), [{ layers }]);
    const second = await resolveRootfs({ image: join(work.cache, 'imports', 'image') }, opts());
    expect(second).toEqual(first);
  });

  it('refuses a blob of an allowed layout that is a symlink to a host file, without naming the target', async () => {
    const image = join(allowed, 'image');
    const [manifest] = await ociLayout(image, [{ layers }]);
    const blob = join(image, 'blobs/sha256', manifest!.digest.slice('sha256:'.length));
    await rm(blob);
    await symlink(join(outside, 'secret'), blob);
    const err = await refusal({ image });
    expect(err.reason).toBe('UnsafePath');
    expect(err.message).toMatch(/resolves outside the image directory$/);
    expect(err.message).not.toContain(outside);
  });
});
