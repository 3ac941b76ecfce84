// The first check of a cell's host mounts, in prepare: realpath, the descriptor, the allowlist.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BundleConfigError } from '../../src/bundle/errors.ts';
import { checkMountSources, mountCheckHook, mountinfoForm, realAllowlist } from '../../src/host/mount-check.ts';
import { cellDoc } from '../helpers/host.ts';

let dir: string;
let allowed: string;
beforeAll(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'cellos-mountcheck-')));
  allowed = join(dir, 'allowed');
  await mkdir(join(allowed, 'folder'), { recursive: true });
  await mkdir(join(dir, 'outside'));
  await writeFile(join(allowed, 'file'), 'x');
  execFileSync('mkfifo', [join(allowed, 'fifo')]);
  await symlink(join(allowed, 'folder'), join(allowed, 'to-folder'));
  await symlink(join(dir, 'outside'), join(allowed, 'to-outside'));
  await symlink(join(allowed, 'loop'), join(allowed, 'loop'));
  await symlink(allowed, join(dir, 'allowed-link'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const docWith = (...sources: string[]) =>
  cellDoc(['true'], { mounts: sources.map((source, i) => ({ source, destination: `/m${i}` })) });

async function refusal(source: string, allow: readonly string[] = [allowed]): Promise<BundleConfigError> {
  const err = await checkMountSources(docWith(source), allow).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BundleConfigError);
  expect((err as BundleConfigError).code).toBe('MountNotAllowed');
  return err as BundleConfigError;
}

describe('checkMountSources', () => {
  it('gives each source resolved, with the device and inode of what it opened', async () => {
    const checked = await checkMountSources(docWith(join(allowed, 'to-folder'), join(allowed, 'file')), [allowed]);
    const st = await stat(join(allowed, 'folder'));
    expect(checked).toEqual([
      { destination: '/m0', source: join(allowed, 'folder'), identity: `${st.dev}:${st.ino}` },
      expect.objectContaining({ destination: '/m1', source: join(allowed, 'file') }),
    ]);
  });

  it('refuses a path outside the allowlist without looking at it', async () => {
    const err = await refusal('/etc');
    expect(err.message).toMatch(/spec\.run\.mounts\[0\]\.source \/etc is not under a host path this worker allows/);
  });

  it('refuses symlinks out, to nowhere and in a loop alike', async () => {
    const messages = await Promise.all(
      ['to-outside', 'loop', 'no-such-thing'].map(async (name) =>
        (await refusal(join(allowed, name))).message.replace(name, 'X').replace(/^cell \S+: /, ''),
      ),
    );
    expect(new Set(messages).size).toBe(1);
    expect(messages[0]).toMatch(/does not exist on this host or leads \(through a symlink\) outside/);
  });

  it('refuses a FIFO without blocking on it', async () => {
    const started = Date.now();
    const err = await refusal(join(allowed, 'fifo'));
    expect(err.message).toMatch(/is neither a folder nor a regular file/);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('compares what a source resolves to with what an allowed prefix that is a symlink resolves to', async () => {
    const viaLink = join(dir, 'allowed-link');
    await refusal(join(viaLink, 'folder'), [viaLink]);
    const checked = await checkMountSources(docWith(join(viaLink, 'folder')), await realAllowlist([viaLink]));
    expect(checked[0]!.source).toBe(join(allowed, 'folder'));
  });
});

describe('the prestart hook', () => {
  it('writes destinations as mountinfo does', () => {
    expect(mountinfoForm('/plain/path')).toBe('/plain/path');
    expect(mountinfoForm('/a b\tc\nd\\e')).toBe('/a\\040b\\011c\\012d\\134e');
  });

  it('runs sh with its own PATH only, the bundle and one triple per mount', () => {
    const hook = mountCheckHook('echo script', '/state/bundles/x', [
      { destination: '/a b', source: '/srv/a', identity: '1:2' },
    ]);
    expect(hook).toEqual({
      path: '/bin/sh',
      args: ['sh', '-c', 'echo script', 'cellos-mount-check', '/state/bundles/x', '/a b', '/a\\040b', '1:2'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      timeout: 15,
    });
  });
});
