// The doctor's host checks on an in-memory host (./fake-host.ts): what each finds, and the fix it names.
import { describe, expect, it } from 'vitest';
import { checkHost, type HostProbe } from '../../src/doctor/host-checks.ts';
import type { CheckResult } from '../../src/doctor/result.ts';
import type { HostConfig } from '../../src/host/config.ts';
import { fakeHost, hostConfig, type FakeHost } from './fake-host.ts';

const PROBE = 'cellos-doctor-42';

async function run(host: HostProbe, config: HostConfig = hostConfig()): Promise<CheckResult[]> {
  return checkHost(host, config, { probeName: PROBE });
}

async function check(host: HostProbe, name: string, config?: HostConfig): Promise<CheckResult> {
  const found = (await run(host, config)).find((r) => r.name === name);
  if (!found) throw new Error(`no check named ${name}`);
  return found;
}

/** The cgroups the checks created and did not remove. */
function probeCgroupsLeft(host: FakeHost): string[] {
  return [...host.entries.keys()].filter((p) => p.includes(PROBE));
}

describe('the host checks', () => {
  it('are all ok on a healthy host, in a fixed order', async () => {
    const host = fakeHost();
    const results = await run(host);
    expect(results.map((r) => [r.name, r.status])).toEqual([
      ['root', 'ok'],
      ['runsc', 'ok'],
      ['platform', 'ok'],
      ['cgroups', 'ok'],
      ['network', 'ok'],
      ['default rootfs', 'ok'],
      ['warm sandboxes', 'skip'],
      ['state dir', 'ok'],
      ['bundle dir', 'ok'],
      ['image cache', 'ok'],
      ['state hidden', 'ok'],
    ]);
    expect(results.every((r) => r.fix === undefined)).toBe(true);
    expect(results.find((r) => r.name === 'image cache')?.detail).toBe(
      '/var/lib/cellos/images does not exist yet; the worker creates it',
    );
  });

  it('fails when not running as root', async () => {
    const r = await check(fakeHost({ euid: 1000 }), 'root');
    expect(r).toMatchObject({ status: 'fail', detail: 'running as uid 1000' });
    expect(r.fix).toMatch(/as root/);
  });
});

describe('runsc and its platform', () => {
  it('shows the version and the binary', async () => {
    expect(await check(fakeHost(), 'runsc')).toEqual({
      name: 'runsc',
      status: 'ok',
      detail: 'runsc version 0.0~20221219.0 (/usr/bin/runsc)',
    });
  });

  it('fails when runsc does not run, names CELLOS_RUNSC, and skips the platform', async () => {
    const host = fakeHost({ runscVersion: () => Promise.reject(new Error('spawn /usr/bin/runsc ENOENT\nmore')) });
    const results = await run(host);
    expect(results.find((r) => r.name === 'runsc')).toMatchObject({
      status: 'fail',
      detail: '/usr/bin/runsc does not run: spawn /usr/bin/runsc ENOENT',
      fix: expect.stringContaining('set CELLOS_RUNSC'),
    });
    expect(results.find((r) => r.name === 'platform')?.status).toBe('skip');
    expect(host.booted).toEqual([]);
  });

  it('boots a sandbox on the detected platform when CELLOS_PLATFORM is unset', async () => {
    const host = fakeHost({ detectPlatform: 'systrap' });
    expect((await check(host, 'platform')).detail).toBe(
      'systrap (detected): a sandbox booted and ran /bin/true in 150 ms',
    );
    expect(host.booted).toEqual(['systrap']);
  });

  it('fails when no sandbox boots on the configured platform, saying why and what to set', async () => {
    const host = fakeHost({
      bootSandbox: () => Promise.reject(new Error('runsc exited 128: unknown platform: systrap')),
    });
    const r = await check(host, 'platform', hostConfig({ platform: 'systrap' }));
    expect(r.status).toBe('fail');
    expect(r.detail).toBe('systrap (CELLOS_PLATFORM): no sandbox boots: runsc exited 128: unknown platform: systrap');
    expect(r.fix).toContain('set CELLOS_PLATFORM to another platform');
    expect(r.fix).toContain('/usr/bin/runsc --network=none --platform=systrap do /bin/true');
  });

  it('fails kvm without /dev/kvm, before trying to boot', async () => {
    const host = fakeHost();
    host.remove('/dev/kvm');
    const r = await check(host, 'platform', hostConfig({ platform: 'kvm' }));
    expect(r).toMatchObject({ status: 'fail', detail: 'kvm (CELLOS_PLATFORM): there is no /dev/kvm' });
    expect(host.booted).toEqual([]);
  });

  it('fails ptrace where Yama forbids ptrace altogether', async () => {
    const host = fakeHost();
    host.file('/proc/sys/kernel/yama/ptrace_scope', '3\n');
    const r = await check(host, 'platform');
    expect(r.status).toBe('fail');
    expect(r.detail).toContain('ptrace_scope = 3');
    expect(host.booted).toEqual([]);
  });
});

describe('cgroups', () => {
  it('v1: creates a probe cgroup in each controller, sets a memory limit, and removes them all', async () => {
    const host = fakeHost();
    expect((await check(host, 'cgroups')).status).toBe('ok');
    expect(host.changes).toEqual([
      `mkdir /sys/fs/cgroup/memory/${PROBE}`,
      `write /sys/fs/cgroup/memory/${PROBE}/memory.limit_in_bytes 536870912`,
      `rmdir /sys/fs/cgroup/memory/${PROBE}`,
      `mkdir /sys/fs/cgroup/cpu/${PROBE}`,
      `rmdir /sys/fs/cgroup/cpu/${PROBE}`,
      `mkdir /sys/fs/cgroup/pids/${PROBE}`,
      `rmdir /sys/fs/cgroup/pids/${PROBE}`,
    ]);
    expect(probeCgroupsLeft(host)).toEqual([]);
  });

  it('fails when there is no memory cgroup at all', async () => {
    const r = await check(fakeHost({ cgroupMode: 'none' }), 'cgroups');
    expect(r.status).toBe('fail');
    expect(r.detail).toContain('cells would get no memory limit');
    expect(r.fix).toContain('mount cgroup2 at /sys/fs/cgroup');
  });

  it('v1: fails when a cgroup cannot be created (read-only mount), leaving nothing behind', async () => {
    const host = fakeHost();
    host.readOnly.add('/sys/fs/cgroup');
    const r = await check(host, 'cgroups');
    expect(r.status).toBe('fail');
    expect(r.detail).toBe(
      `v1: cannot create a cgroup (/sys/fs/cgroup/memory/${PROBE}): EROFS: /sys/fs/cgroup/memory/${PROBE}`,
    );
    expect(r.fix).toContain('read-write');
    expect(probeCgroupsLeft(host)).toEqual([]);
  });

  it('v1: fails without a memory hierarchy, and warns without cpu', async () => {
    const noMemory = fakeHost();
    noMemory.remove('/sys/fs/cgroup/memory');
    expect(await check(noMemory, 'cgroups')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('v1 without a memory hierarchy'),
    });
    const noCpu = fakeHost();
    noCpu.remove('/sys/fs/cgroup/cpu');
    expect(await check(noCpu, 'cgroups')).toMatchObject({
      status: 'warn',
      detail: 'v1 without cpu: run.limits.cpuMax is not enforced',
    });
  });

  it('v2: enables memory for child cgroups as the host does, and sets memory.max on a probe', async () => {
    const host = fakeHost({ cgroupMode: 'v2' });
    expect((await check(host, 'cgroups')).status).toBe('ok');
    expect(host.changes).toEqual([
      'write /sys/fs/cgroup/cgroup.subtree_control +memory',
      `mkdir /sys/fs/cgroup/${PROBE}`,
      `write /sys/fs/cgroup/${PROBE}/memory.max 536870912`,
      `rmdir /sys/fs/cgroup/${PROBE}`,
    ]);
  });

  it('v2: fails when child cgroups get no memory controller, and says how to enable it', async () => {
    const host = fakeHost({ cgroupMode: 'v2' });
    host.readOnly.add('/sys/fs/cgroup/cgroup.subtree_control');
    const r = await check(host, 'cgroups');
    expect(r).toMatchObject({ status: 'fail', detail: 'v2: a new cgroup has no memory.max' });
    expect(r.fix).toContain('echo +memory > /sys/fs/cgroup/cgroup.subtree_control');
    expect(probeCgroupsLeft(host)).toEqual([]);
  });

  it('v2: fails without the memory controller', async () => {
    const host = fakeHost({ cgroupMode: 'v2' });
    host.file('/sys/fs/cgroup/cgroup.controllers', 'cpu pids\n');
    expect((await check(host, 'cgroups')).detail).toContain('v2 without the memory controller');
  });
});

describe('the default rootfs', () => {
  it('fails with what the host finds wrong with it', async () => {
    const host = fakeHost();
    host.remove('/srv/rootfs');
    const r = await check(host, 'default rootfs');
    expect(r).toMatchObject({ status: 'fail', detail: 'default rootfs: /srv/rootfs does not exist' });
    expect(r.fix).toContain('set CELLOS_DEFAULT_ROOTFS');
  });

  it('warns when others can write it, and shows its real path', async () => {
    const host = fakeHost({ resolveDefaultRootfs: async () => '/srv/real' });
    host.dir('/srv/real', 0o777);
    const r = await check(host, 'default rootfs');
    expect(r.status).toBe('warn');
    expect(r.detail).toBe(
      '/srv/rootfs (/srv/real) is writable by its group and everyone (mode 0777): whoever can change it changes what every cell runs',
    );
    expect(r.fix).toBe('chown root:root /srv/real && chmod go-w /srv/real');
  });
});

describe('the state folders', () => {
  it('fail when writable by everyone, naming the chmod', async () => {
    const host = fakeHost();
    host.dir('/var/lib/cellos', 0o777);
    expect(await check(host, 'state dir')).toEqual({
      name: 'state dir',
      status: 'fail',
      detail:
        '/var/lib/cellos is writable by its group and everyone (mode 0777): they could change what the worker runs',
      fix: 'chmod go-w /var/lib/cellos (the worker creates it with mode 700)',
    });
  });

  it('look at the runsc root and cell records inside the state folder too', async () => {
    const host = fakeHost();
    host.dir('/var/lib/cellos/runsc', 0o720);
    expect((await check(host, 'state dir')).detail).toContain('/var/lib/cellos/runsc is writable by its group');
  });

  it('fail when owned by another user, or not a folder', async () => {
    const host = fakeHost();
    host.dir('/var/lib/cellos/bundles', 0o700, 1000);
    expect(await check(host, 'bundle dir')).toMatchObject({
      status: 'fail',
      detail: '/var/lib/cellos/bundles is owned by uid 1000, not root',
      fix: 'chown root:root /var/lib/cellos/bundles',
    });
    host.file('/var/lib/cellos/images', 'x');
    expect(await check(host, 'image cache')).toMatchObject({
      status: 'fail',
      detail: '/var/lib/cellos/images is not a folder',
      fix: 'remove it, or set CELLOS_IMAGE_CACHE_DIR to a folder',
    });
  });

  it('are ok when missing but creatable, and fail when they cannot be created', async () => {
    const host = fakeHost();
    host.remove('/var/lib/cellos');
    const config = hostConfig();
    expect((await check(host, 'state dir', config)).detail).toBe(
      '/var/lib/cellos does not exist yet; the worker creates it',
    );
    host.readOnly.add('/var/lib');
    expect(await check(host, 'state dir', config)).toMatchObject({
      status: 'fail',
      detail: '/var/lib/cellos does not exist and cannot be created: /var/lib is not writable',
      fix: 'create it as root: mkdir -p -m 700 /var/lib/cellos',
    });
  });

  it('fail when a folder cells can see holds them', async () => {
    const host = fakeHost({
      checkStateHidden: () =>
        Promise.reject(new Error('allowed mount (CELLOS_ALLOWED_MOUNTS) /var would let a cell see ...')),
    });
    expect(await check(host, 'state hidden')).toMatchObject({
      status: 'fail',
      detail: 'allowed mount (CELLOS_ALLOWED_MOUNTS) /var would let a cell see ...',
    });
  });
});

describe('the network', () => {
  it('fails sandbox networking where runsc refuses it (the root network namespace)', async () => {
    const config = hostConfig({ allowSandboxNetwork: true });
    expect((await check(fakeHost({ inRootNetworkNamespace: true }), 'network', config)).status).toBe('fail');
    expect((await check(fakeHost({ inRootNetworkNamespace: false }), 'network', config)).status).toBe('ok');
  });
});

describe('warm sandboxes', () => {
  it('are skipped when the pool is off', async () => {
    expect(await check(fakeHost(), 'warm sandboxes')).toMatchObject({ status: 'skip', detail: /off/ });
  });

  it('fail when the default rootfs lacks a program a warm sandbox runs, naming both fixes', async () => {
    const host = fakeHost();
    host.file('/srv/rootfs/bin/sleep', '');
    const r = await check(host, 'warm sandboxes', hostConfig({ warmPoolSize: 2 }));
    expect(r).toMatchObject({
      status: 'fail',
      detail: 'the default rootfs /srv/rootfs has no /bin/sh, which a warm sandbox needs',
    });
    expect(r.fix).toMatch(/CELLOS_WARM_POOL_SIZE=0/);
  });

  it('are ok with all three programs there, and say how many', async () => {
    const host = fakeHost();
    host.dir('/srv/rootfs/bin');
    host.file('/srv/rootfs/bin/sh', '');
    host.file('/srv/rootfs/bin/sleep', '');
    host.file('/srv/rootfs/bin/hostname', '');
    expect(await check(host, 'warm sandboxes', hostConfig({ warmPoolSize: 3 }))).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(/^3 kept booted/),
    });
  });
});
