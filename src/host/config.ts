// Host configuration for the edge: where state lives, which runsc, what documents may ask for.
// Normalised in one place; each check names the setting and the bad value.
import { realpath } from 'node:fs/promises';
import { normalize } from 'node:path';
import { normalizeArtifactSettings, type ArtifactSettings } from '../artifacts/limits.ts';
import { DEFAULT_MEMORY_POLICY } from '../bundle/config.ts';
import { ConfigError } from '../config-error.ts';
import { normalizeImageLimits, type ImageLimits } from '../rootfs/limits.ts';
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
  /**
   * Which cells may use each secret: cell id patterns (`*` is any run of characters) by secret name;
   * by default CELLOS_GRANT_<NAME>=pattern,pattern from the environment. A secret without a grant
   * is usable by no cell.
   */
  secretGrants?: Readonly<Record<string, readonly string[]>> | undefined;
  /** Host directories a document may name as spec.run.rootfs.path (the default rootfs is always allowed). */
  allowedRootfs?: readonly string[] | undefined;
  /** Host paths a document may name as spec.run.rootfs.image (the image cache is always allowed). */
  allowedImages?: readonly string[] | undefined;
  /** Whether documents may run as uid 0 or with group 0. */
  allowRootUser?: boolean | undefined;
  /** Memory of a cell whose document names none, and the most a document may ask for. */
  defaultMemoryBytes?: number | undefined;
  maxMemoryBytes?: number | undefined;
  /** How long preparing one cell (image unpack, bundle) may take before it is refused. */
  prepareTimeoutMs?: number | undefined;
  /** The most the image cache may hold; least recently used images are evicted past it. */
  imageCacheMaxBytes?: number | undefined;
  /** Caps on the work one image may cost (IMAGE_LIMIT_DEFAULTS for those not given). */
  imageLimits?: Partial<ImageLimits> | undefined;
  /** Warm sandboxes the host keeps booted for cells that fit their shape (see warm-pool.ts); 0: none. */
  warmPoolSize?: number | undefined;
  /** The host's artifact folder store (default <stateDir>/artifacts). */
  artifactsDir?: string | undefined;
  /** What exporting artifacts may cost, and what the folder store keeps (ARTIFACT_DEFAULTS for those not given). */
  artifacts?: Partial<ArtifactSettings> | undefined;
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
  readonly secretGrants: Readonly<Record<string, readonly string[]>>;
  readonly allowedRootfs: readonly string[];
  readonly allowedImages: readonly string[];
  readonly allowRootUser: boolean;
  readonly memory: { readonly defaultBytes: number; readonly maxBytes: number };
  readonly prepareTimeoutMs: number;
  readonly imageCacheMaxBytes: number;
  readonly imageLimits: ImageLimits;
  readonly warmPoolSize: number;
  readonly artifactsDir: string;
  readonly artifacts: ArtifactSettings;
}

const MiB = 1024 * 1024;
export const HOST_DEFAULTS = {
  defaultMemoryBytes: DEFAULT_MEMORY_POLICY.defaultBytes,
  maxMemoryBytes: DEFAULT_MEMORY_POLICY.maxBytes,
  prepareTimeoutMs: 120_000,
  imageCacheMaxBytes: 8 * 1024 * MiB,
} as const;

/** The most warm sandboxes one host keeps (each holds ~12-15 MiB while idle). */
export const MAX_WARM_POOL_SIZE = 64;

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
    ['artifacts directory', input.artifactsDir],
  ] as const) {
    if (value !== undefined && !value.startsWith('/')) {
      throw new HostConfigError(`${name} ${JSON.stringify(value)} must be an absolute path`);
    }
  }
  if (defaultRootfs !== '' && !defaultRootfs.startsWith('/')) {
    throw new HostConfigError(`default rootfs ${JSON.stringify(defaultRootfs)} must be an absolute path`);
  }
  const { allowedRootfs = [], allowedImages = [] } = input;
  for (const [what, list] of [
    ['allowed mount', allowedMounts],
    ['allowed rootfs', allowedRootfs],
    ['allowed image', allowedImages],
  ] as const) {
    for (const m of list) {
      if (!m.startsWith('/') || m.split('/').includes('..')) {
        throw new HostConfigError(`${what} ${JSON.stringify(m)} must be an absolute path without ..`);
      }
    }
  }
  const memory = {
    defaultBytes: input.defaultMemoryBytes ?? HOST_DEFAULTS.defaultMemoryBytes,
    maxBytes: input.maxMemoryBytes ?? HOST_DEFAULTS.maxMemoryBytes,
  };
  for (const [what, n] of [
    ['default memory per cell', memory.defaultBytes],
    ['maximum memory per cell', memory.maxBytes],
  ] as const) {
    if (!Number.isSafeInteger(n) || n < 16 * MiB) {
      throw new HostConfigError(`${what} ${n} must be a whole number of bytes, at least ${16 * MiB}`);
    }
  }
  if (memory.defaultBytes > memory.maxBytes) {
    throw new HostConfigError(
      `default memory per cell ${memory.defaultBytes} must not be more than the maximum ${memory.maxBytes}`,
    );
  }
  const warmPoolSize = input.warmPoolSize ?? 0;
  if (!Number.isInteger(warmPoolSize) || warmPoolSize < 0 || warmPoolSize > MAX_WARM_POOL_SIZE) {
    throw new HostConfigError(
      `warm pool size ${warmPoolSize} must be a whole number from 0 (no warm sandboxes) to ${MAX_WARM_POOL_SIZE}`,
    );
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
  const secretGrants: Record<string, readonly string[]> = { ...(input.secretGrants ?? {}) };
  if (input.secretGrants === undefined) {
    for (const [k, v] of Object.entries(env)) {
      if (k.startsWith('CELLOS_GRANT_') && v !== undefined) {
        secretGrants[k.slice('CELLOS_GRANT_'.length)] = v
          .split(',')
          .map((p) => p.trim())
          .filter(Boolean);
      }
    }
  }
  const bundleDir = input.bundleDir ?? `${stateDir}/bundles`;
  const imageCacheDir = input.imageCacheDir ?? `${stateDir}/images`;
  const artifactsDir = input.artifactsDir ?? `${stateDir}/artifacts`;
  let artifacts: ArtifactSettings;
  try {
    artifacts = normalizeArtifactSettings(input.artifacts);
  } catch (err) {
    throw new HostConfigError(`artifact settings: ${(err as Error).message}`);
  }
  checkStateHidden(
    { stateDir, bundleDir, imageCacheDir, artifactsDir },
    { allowedMounts, allowedRootfs, defaultRootfs: defaultRootfs === '' ? [] : [defaultRootfs] },
    (p) => p,
  );
  return {
    hostId,
    runscPath,
    stateDir,
    runscRoot: `${stateDir}/runsc`,
    cellsDir: `${stateDir}/cells`,
    bundleDir,
    defaultRootfs,
    imageCacheDir,
    allowedMounts,
    allowSandboxNetwork,
    platform,
    outputTailBytes,
    cgroupParent: `cellos/${hostId}`,
    secrets,
    secretGrants,
    allowedRootfs,
    allowedImages,
    allowRootUser: input.allowRootUser ?? false,
    memory,
    prepareTimeoutMs: input.prepareTimeoutMs ?? HOST_DEFAULTS.prepareTimeoutMs,
    imageCacheMaxBytes: input.imageCacheMaxBytes ?? HOST_DEFAULTS.imageCacheMaxBytes,
    imageLimits: normalizeImageLimits(input.imageLimits),
    warmPoolSize,
    artifactsDir,
    artifacts,
  };
}

type StateDirs = Pick<HostConfig, 'stateDir' | 'bundleDir' | 'imageCacheDir' | 'artifactsDir'>;
type Exposures = { readonly [setting: string]: readonly string[] };

const DIR_WORDS: Record<keyof StateDirs, string> = {
  stateDir: 'state directory',
  bundleDir: 'bundle directory',
  imageCacheDir: 'image cache directory',
  artifactsDir: 'artifacts directory',
};
const SETTING_WORDS: Record<string, string> = {
  allowedMounts: 'allowed mount (CELLOS_ALLOWED_MOUNTS)',
  allowedRootfs: 'allowed rootfs (CELLOS_ALLOWED_ROOTFS)',
  defaultRootfs: 'default rootfs (CELLOS_DEFAULT_ROOTFS)',
};

/**
 * What a cell can see must never hold this host's state (another cell's bundle has its secrets),
 * nor lie inside it: no folder a document may name (an allowed mount or rootfs prefix, the default
 * rootfs) may contain the state, bundle or image cache folder or be inside one. `resolve` maps a
 * path to what it is compared as (itself, or its realpath on the host).
 */
function checkStateHidden(dirs: StateDirs, exposures: Exposures, resolve: (p: string) => string): void {
  for (const key of Object.keys(DIR_WORDS) as (keyof StateDirs)[]) {
    const dir = resolve(dirs[key]);
    for (const [setting, list] of Object.entries(exposures)) {
      for (const prefix of list) {
        const seen = resolve(prefix);
        if (overlaps(dir, seen)) {
          const via = seen === prefix && dir === dirs[key] ? '' : ` (${seen} and ${dir} on this host)`;
          throw new HostConfigError(
            `${SETTING_WORDS[setting] ?? setting} ${prefix} would let a cell see the ${DIR_WORDS[key]} ${dirs[key]}${via}: allow a folder that neither contains it nor lies inside it`,
          );
        }
      }
    }
  }
}

/**
 * checkStateHidden again on the host's real paths, once the folders exist: a symlink (the state
 * folder reached through one, or an allowed folder that is one) must not hide an overlap that the
 * paths as written do not show. Paths that do not exist are compared as written.
 */
export async function checkStateHiddenOnHost(config: HostConfig): Promise<void> {
  const paths = [
    config.stateDir,
    config.bundleDir,
    config.imageCacheDir,
    config.artifactsDir,
    ...config.allowedMounts,
    ...config.allowedRootfs,
    ...(config.defaultRootfs === '' ? [] : [config.defaultRootfs]),
  ];
  const real = new Map(await Promise.all(paths.map(async (p) => [p, await realpath(p).catch(() => p)] as const)));
  checkStateHidden(
    config,
    {
      allowedMounts: config.allowedMounts,
      allowedRootfs: config.allowedRootfs,
      defaultRootfs: config.defaultRootfs === '' ? [] : [config.defaultRootfs],
    },
    (p) => real.get(p) ?? p,
  );
}

/** Whether one of two absolute paths is the other or lies inside it. */
function overlaps(a: string, b: string): boolean {
  const x = withoutTrailingSlash(normalize(a));
  const y = withoutTrailingSlash(normalize(b));
  return x === y || isUnder(x, y) || isUnder(y, x);
}

function withoutTrailingSlash(p: string): string {
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

/** Whether `path` lies strictly inside the folder `prefix`. */
function isUnder(path: string, prefix: string): boolean {
  const p = prefix.endsWith('/') ? prefix : `${prefix}/`;
  return path.startsWith(p);
}
