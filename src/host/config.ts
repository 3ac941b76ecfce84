// Host configuration for the edge: where state lives, which runsc, what documents may ask for.
// Normalised in one place; each check names the setting and the bad value.
import { ConfigError } from '../config-error.ts';
import type { RunscPlatform } from '../runsc/driver.ts';

export interface HostConfigInput {
  hostId?: string | undefined;
  runscPath?: string | undefined;
  /** Per-host state: runsc --root, cell records, supervisor files. */
  stateDir?: string | undefined;
  bundleDir?: string | undefined;
  defaultRootfs?: string | undefined;
  imageCacheDir?: string | undefined;
  allowedMounts?: readonly string[] | undefined;
  allowSandboxNetwork?: boolean | undefined;
  platform?: RunscPlatform | undefined;
  /** Bytes of stdout/stderr returned as tails in results (the files keep up to the document's cap). */
  outputTailBytes?: number | undefined;
  /** Secret values by name, for spec.authority.secretRefs; by default CELLOS_SECRET_<NAME> from the environment. */
  secrets?: Readonly<Record<string, string>> | undefined;
}

export interface HostConfig {
  readonly hostId: string;
  readonly runscPath: string;
  readonly stateDir: string;
  readonly runscRoot: string;
  readonly cellsDir: string;
  readonly bundleDir: string;
  readonly defaultRootfs: string;
  readonly imageCacheDir: string;
  readonly allowedMounts: readonly string[];
  readonly allowSandboxNetwork: boolean;
  readonly platform: RunscPlatform | undefined;
  readonly outputTailBytes: number;
  /** cgroup parent for this host's cells, relative to each controller's root. */
  readonly cgroupParent: string;
  readonly secrets: Readonly<Record<string, string>>;
}

/** A host setting that is wrong (see ConfigError); thrown by normalizeHostConfig and createCellHost. */
export class HostConfigError extends ConfigError {
  override readonly name: string = 'HostConfigError';
}

const HOST_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export function normalizeHostConfig(
  input: HostConfigInput,
  env: Readonly<Record<string, string | undefined>> = {},
): HostConfig {
  const {
    hostId = 'local',
    runscPath = 'runsc',
    stateDir = '/var/lib/cellos',
    defaultRootfs = '',
    allowedMounts = [],
    allowSandboxNetwork = false,
    platform,
    outputTailBytes = 8192,
  } = input;
  if (!HOST_ID.test(hostId)) {
    throw new HostConfigError(
      `host id ${JSON.stringify(hostId)} is invalid: use 1-63 letters, digits, _ . - starting with a letter or digit`,
    );
  }
  for (const [name, value] of [
    ['state directory', stateDir],
    ['bundle directory', input.bundleDir],
    ['image cache directory', input.imageCacheDir],
  ] as const) {
    if (value !== undefined && !value.startsWith('/')) {
      throw new HostConfigError(`${name} ${JSON.stringify(value)} must be an absolute path`);
    }
  }
  if (defaultRootfs !== '' && !defaultRootfs.startsWith('/')) {
    throw new HostConfigError(`default rootfs ${JSON.stringify(defaultRootfs)} must be an absolute path`);
  }
  for (const m of allowedMounts) {
    if (!m.startsWith('/') || m.split('/').includes('..')) {
      throw new HostConfigError(`allowed mount ${JSON.stringify(m)} must be an absolute path without ..`);
    }
  }
  if (platform !== undefined && !['systrap', 'ptrace', 'kvm'].includes(platform)) {
    throw new HostConfigError(`runsc platform ${JSON.stringify(platform)} must be systrap, ptrace or kvm`);
  }
  if (!Number.isInteger(outputTailBytes) || outputTailBytes < 0 || outputTailBytes > 1024 * 1024) {
    throw new HostConfigError(`output tail bytes ${outputTailBytes} must be a whole number from 0 to 1048576`);
  }
  const secrets: Record<string, string> = { ...(input.secrets ?? {}) };
  if (input.secrets === undefined) {
    for (const [k, v] of Object.entries(env)) {
      if (k.startsWith('CELLOS_SECRET_') && v !== undefined) secrets[k.slice('CELLOS_SECRET_'.length)] = v;
    }
  }
  return {
    hostId,
    runscPath,
    stateDir,
    runscRoot: `${stateDir}/runsc`,
    cellsDir: `${stateDir}/cells`,
    bundleDir: input.bundleDir ?? `${stateDir}/bundles`,
    defaultRootfs,
    imageCacheDir: input.imageCacheDir ?? `${stateDir}/images`,
    allowedMounts,
    allowSandboxNetwork,
    platform,
    outputTailBytes,
    cgroupParent: `cellos/${hostId}`,
    secrets,
  };
}
