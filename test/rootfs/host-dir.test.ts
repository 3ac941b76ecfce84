import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { resolveRootfs, RootfsError } from '../../src/rootfs/index.ts';
import { useWorkspace } from './helpers.ts';

const work = useWorkspace();
let rootfs: string;
const opts = (defaultRootfs = rootfs) => work.opts(defaultRootfs);

beforeEach(async () => {
  rootfs = join(work.dir, 'rootfs');
  await mkdir(join(rootfs, 'tmp'), { recursive: true });
});

describe('a host directory rootfs', () => {
  it('uses the default rootfs when the document names none', async () => {
    expect(await resolveRootfs(undefined, opts())).toEqual({ path: rootfs, source: 'default' });
  });

  it('refuses a default rootfs that does not exist, naming it', async () => {
    const missing = join(work.dir, 'gone');
    await expect(resolveRootfs(undefined, opts(missing))).rejects.toMatchObject({
      name: 'RootfsError',
      field: 'default rootfs',
      reason: 'NotFound',
      message: `default rootfs: ${missing} does not exist`,
    });
  });

  it('resolves { path } to its realpath', async () => {
    await symlink(rootfs, join(work.dir, 'via-link'));
    expect(await resolveRootfs({ path: join(work.dir, 'via-link') }, opts())).toEqual({ path: rootfs, source: 'path' });
  });

  it('refuses a path that does not exist', async () => {
    const missing = join(work.dir, 'missing');
    const err = await resolveRootfs({ path: missing }, opts()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RootfsError);
    expect(err).toMatchObject({ field: 'spec.run.rootfs.path', reason: 'NotFound' });
    expect((err as Error).message).toBe(`spec.run.rootfs.path: ${missing} does not exist`);
  });

  it('refuses a path that is a file', async () => {
    await writeFile(join(work.dir, 'file'), 'x');
    await expect(resolveRootfs({ path: join(work.dir, 'file') }, opts())).rejects.toMatchObject({
      reason: 'NotADirectory',
      message: expect.stringMatching(/^spec\.run\.rootfs\.path: .*file is not a directory$/),
    });
  });

  it('refuses a directory without /tmp, saying why it is needed', async () => {
    const bare = join(work.dir, 'bare');
    await mkdir(bare);
    await expect(resolveRootfs({ path: bare }, opts())).rejects.toMatchObject({
      reason: 'MissingTmp',
      message: expect.stringMatching(
        /^spec\.run\.rootfs\.path: .*bare has no \/tmp directory; the sandbox mounts a tmpfs at \/tmp/,
      ),
    });
  });

  it('refuses a directory whose /tmp is a symlink', async () => {
    const linked = join(work.dir, 'linked');
    await mkdir(linked);
    await symlink('/tmp', join(linked, 'tmp'));
    await expect(resolveRootfs({ path: linked }, opts())).rejects.toMatchObject({ reason: 'MissingTmp' });
  });

  it('refuses options that are not absolute paths', async () => {
    await expect(resolveRootfs(undefined, { defaultRootfs: 'relative', imageCacheDir: '/x' })).rejects.toThrow(
      /option defaultRootfs must be an absolute path, got "relative"/,
    );
  });
});
