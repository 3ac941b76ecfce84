// The host's own settings: what a document may see never holds the host's state, secrets are
// granted per cell, memory has a default and a maximum, supervisors get no secrets in their environment.
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MEMORY_POLICY } from '../../src/bundle/config.ts';
import { createCellHost } from '../../src/host/cell-host.ts';
import { HostConfigError, normalizeHostConfig, type HostConfigInput } from '../../src/host/config.ts';
import { childEnv } from '../../src/runsc/child-env.ts';
import { defaultRootfs } from '../helpers/host.ts';

const MiB = 1024 * 1024;
const base: HostConfigInput = { stateDir: '/var/lib/cellos', defaultRootfs: '/srv/rootfs/busybox' };

function refusal(input: HostConfigInput): string {
  try {
    normalizeHostConfig({ ...base, ...input });
  } catch (err) {
    expect(err).toBeInstanceOf(HostConfigError);
    return (err as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(input)}`);
}

describe('the state, bundle and image cache folders are never where a cell can look', () => {
  it.each([
    [{ allowedMounts: ['/'] }, /allowed mount \(CELLOS_ALLOWED_MOUNTS\) \/ would let a cell see the state directory/],
    [
      { allowedMounts: ['/srv', '/var/lib'] },
      /allowed mount .* \/var\/lib would let a cell see the state directory \/var\/lib\/cellos/,
    ],
    [{ allowedMounts: ['/var/lib/cellos/'] }, /would let a cell see the state directory/],
    // Inside the state folder is as bad: the bundles are there.
    [{ allowedMounts: ['/var/lib/cellos/bundles'] }, /would let a cell see the state directory/],
    [
      { allowedRootfs: ['/var'] },
      /allowed rootfs \(CELLOS_ALLOWED_ROOTFS\) \/var would let a cell see the state directory/,
    ],
    [{ defaultRootfs: '/' }, /default rootfs \(CELLOS_DEFAULT_ROOTFS\) \/ would let a cell see/],
    [
      { bundleDir: '/srv/data/bundles', allowedMounts: ['/srv/data'] },
      /would let a cell see the bundle directory \/srv\/data\/bundles/,
    ],
    [
      { imageCacheDir: '/srv/images', allowedRootfs: ['/srv'] },
      /would let a cell see the image cache directory \/srv\/images/,
    ],
  ] as const)('refuses %j at start', (input, message) => {
    expect(refusal(input)).toMatch(message);
  });

  it('accepts folders beside the state folder, also one that only shares a prefix with it', () => {
    const config = normalizeHostConfig({
      ...base,
      allowedMounts: ['/srv/data', '/var/lib/cellos2'],
      allowedRootfs: ['/srv/rootfs'],
    });
    expect(config.allowedMounts).toEqual(['/srv/data', '/var/lib/cellos2']);
  });

  describe('on the host, through symlinks', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'cellos-hostcfg-'));
      await mkdir(join(dir, 'data', 'state'), { recursive: true });
      await symlink(join(dir, 'data', 'state'), join(dir, 'state-link'));
      await symlink(join(dir, 'data'), join(dir, 'data-link'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('refuses a state folder that a symlink puts inside an allowed folder', async () => {
      const input = {
        stateDir: join(dir, 'state-link'),
        defaultRootfs: defaultRootfs(),
        allowedMounts: [join(dir, 'data')],
      };
      // The paths as written do not overlap; their real paths do.
      expect(() => normalizeHostConfig(input)).not.toThrow();
      await expect(createCellHost(input)).rejects.toThrow(
        /allowed mount \(CELLOS_ALLOWED_MOUNTS\) .*\/data would let a cell see the state directory .*state-link \(/,
      );
    });

    it('refuses an allowed folder that is a symlink to a folder holding the state folder', async () => {
      const input = {
        stateDir: join(dir, 'data', 'state'),
        defaultRootfs: defaultRootfs(),
        allowedMounts: [join(dir, 'data-link')],
      };
      expect(() => normalizeHostConfig(input)).not.toThrow();
      await expect(createCellHost(input)).rejects.toBeInstanceOf(HostConfigError);
    });
  });
});

describe('secret grants', () => {
  it('reads CELLOS_GRANT_<NAME> as comma-separated cell id patterns', () => {
    const config = normalizeHostConfig(base, {
      CELLOS_SECRET_DB: 'pw',
      CELLOS_GRANT_DB: ' team-a-* , exact-id,,',
      CELLOS_GRANT_EMPTY: '',
    });
    expect(config.secretGrants).toEqual({ DB: ['team-a-*', 'exact-id'], EMPTY: [] });
    expect(config.secrets).toEqual({ DB: 'pw' });
  });

  it('grants nothing by default', () => {
    expect(normalizeHostConfig(base, { CELLOS_SECRET_DB: 'pw' }).secretGrants).toEqual({});
  });

  it('takes the grants given over those of the environment', () => {
    const config = normalizeHostConfig({ ...base, secretGrants: { DB: ['x'] } }, { CELLOS_GRANT_DB: '*' });
    expect(config.secretGrants).toEqual({ DB: ['x'] });
  });
});

describe('memory per cell', () => {
  it('defaults to the bundle generator policy', () => {
    expect(normalizeHostConfig(base).memory).toEqual(DEFAULT_MEMORY_POLICY);
  });

  it.each([
    [
      { defaultMemoryBytes: 256 * MiB, maxMemoryBytes: 128 * MiB },
      /default memory per cell 268435456 must not be more than the maximum 134217728/,
    ],
    [{ defaultMemoryBytes: MiB }, /default memory per cell 1048576 must be a whole number of bytes, at least 16777216/],
    [
      { defaultMemoryBytes: 16 * MiB, maxMemoryBytes: 16 * MiB + 0.5 },
      /maximum memory per cell 16777216.5 must be a whole number/,
    ],
  ] as const)('refuses %j', (input, message) => {
    expect(refusal(input)).toMatch(message);
  });
});

describe('root users', () => {
  it('are not allowed unless the operator says so', () => {
    expect(normalizeHostConfig(base).allowRootUser).toBe(false);
    expect(normalizeHostConfig({ ...base, allowRootUser: true }).allowRootUser).toBe(true);
  });
});

describe('childEnv: what supervisors and runsc inherit', () => {
  it("keeps the worker's environment without its secrets, payload keys and Temporal credentials", () => {
    const env = childEnv(
      {
        PATH: '/usr/bin:/bin',
        LANG: 'C.UTF-8',
        CELLOS_SECRET_DB: 'pw-1',
        CELLOS_PAYLOAD_KEYS: 'k1:base64',
        TEMPORAL_API_KEY: 'api',
        TEMPORAL_TLS_KEY: '/etc/tls/key.pem',
        TEMPORAL_ADDRESS: 'localhost:7233',
        // Any variable holding a secret's value, whatever its name.
        COPY_OF_SECRET: 'held-secret-value',
        UNSET: undefined,
      },
      ['held-secret-value', ''],
    );
    expect(env).toEqual({ PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', TEMPORAL_ADDRESS: 'localhost:7233' });
  });
});
