// Configuration from environment variables (flags override them in the CLI). Every setting is in
// the README; a bad one stops the command or the worker at start with its name.
//
// Two layers: ClientConfig, what anything that talks to Temporal about cells needs (where the server
// is, how to reach it, the task queue, the host schedule-to-start timeout), and WorkerConfig, which
// adds what only a worker needs (this host, its limits, reconciler and metrics).
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism, hostname } from 'node:os';
import { resolve } from 'node:path';
import { ARTIFACT_DEFAULTS, type ArtifactSettings } from '../artifacts/limits.ts';
import { s3StoreConfigFromEnv, type S3StoreConfig } from '../artifacts/s3-config.ts';
import { DEFAULT_TASK_QUEUE } from '../contract/index.ts';
import { parsePayloadKeys, type PayloadKeyring } from '../codec/keys.ts';
import { compiled, compiledStateDir } from '../compiled.ts';
import { ConfigError } from '../config-error.ts';
import { HOST_DEFAULTS, MAX_WARM_POOL_SIZE, type HostConfigInput } from '../host/config.ts';
import { LIMITS } from '../document/limits.ts';
import { projectRoot } from '../project-root.ts';
import { IMAGE_LIMIT_DEFAULTS } from '../rootfs/limits.ts';
import { LabelSyntaxError, MAX_HOST_LABELS, parseLabels, type Labels } from '../placement/labels.ts';

export interface TemporalConnectionConfig {
  /** host:port; undefined means the embedded local dev server. */
  readonly address: string | undefined;
  readonly namespace: string;
  readonly apiKey: string | undefined;
  readonly tls:
    | boolean
    | { readonly certPath?: string; readonly keyPath?: string; readonly caPath?: string; readonly serverName?: string };
}

/** What a client of the cell workflow needs: the Temporal connection and the workflow's queues. */
export interface ClientConfig {
  readonly temporal: TemporalConnectionConfig;
  /** CELLOS_PAYLOAD_KEYS: payloads are encrypted with the first, decrypted with any (see src/codec). */
  readonly payloadKeys: PayloadKeyring | undefined;
  /** The shared task queue cells are started on (and workers poll). */
  readonly taskQueue: string;
  /** Seconds a host queue may hold a cell's work before the cell ends as host-lost. */
  readonly hostScheduleToStartSeconds: number;
}

/** A worker's configuration: the client's, and this host's. */
export interface WorkerConfig extends ClientConfig {
  readonly host: HostConfigInput & { hostId: string };
  readonly maxConcurrentCells: number;
  /** CELLOS_MEMORY_BUDGET_BYTES: the sum of the memory limits of the cells it runs at once; undefined: 80% of the machine's. */
  readonly memoryBudgetBytes: number | undefined;
  /** CELLOS_HOST_LABELS: what cells may ask of this host (spec.placement.labels). */
  readonly hostLabels: Labels;
  /** CELLOS_DRAIN_TIMEOUT_SECONDS: on SIGTERM, how long running cells get to finish before the worker leaves them. */
  readonly drainTimeoutSeconds: number;
  /** Reconciler rounds: at start, then every this many seconds (0: never). */
  readonly reconcileIntervalSeconds: number;
  /** Things without a cell record younger than this are left alone by the reconciler. */
  readonly orphanGraceSeconds: number;
  /** `ip:port` the worker serves Prometheus metrics on (`/metrics`); undefined: no metrics. */
  readonly metricsAddress: string | undefined;
  /** CELLOS_EVENTS_URL: where cells' CloudEvents are posted (an http: or https: URL); undefined: no events. */
  readonly eventsUrl: string | undefined;
  /**
   * CELLOS_EAGER_RUN: the server dispatches activities eagerly (system.enableActivityEagerExecution),
   * so a cell claimed at admission has its run handed back with the workflow task's completion.
   * Default: on with the embedded default (its dev server has it), off with TEMPORAL_ADDRESS.
   */
  readonly eagerRun: boolean;
  /** CELLOS_ARTIFACTS_S3_*: the bucket exported artifacts go to; undefined: the host's folder store. */
  readonly artifactsS3: S3StoreConfig | undefined;
}

export { projectRoot };

type Env = Readonly<Record<string, string | undefined>>;

/** State of the embedded default: project-local (<project>/.state), or a compiled binary's (see compiledStateDir). */
export function defaultStateDir(env: Env): string {
  return compiled ? compiledStateDir(env) : resolve(projectRoot, '.state');
}

/** TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY and TEMPORAL_TLS*: where the server is and how to reach it. */
export function temporalConfigFromEnv(env: Env): TemporalConnectionConfig {
  const certPath = env.TEMPORAL_TLS_CERT;
  const keyPath = env.TEMPORAL_TLS_KEY;
  if (Boolean(certPath) !== Boolean(keyPath)) {
    throw new ConfigError(
      'TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together (mTLS client certificate and key)',
    );
  }
  const apiKey = env.TEMPORAL_API_KEY || undefined;
  const tlsFlag = parseBool('TEMPORAL_TLS', env.TEMPORAL_TLS);
  const tls =
    certPath && keyPath
      ? {
          certPath,
          keyPath,
          caPath: env.TEMPORAL_TLS_CA || undefined,
          serverName: env.TEMPORAL_TLS_SERVER_NAME || undefined,
        }
      : (tlsFlag ?? Boolean(apiKey));
  const address = env.TEMPORAL_ADDRESS || undefined;
  if (address !== undefined && !/^[^\s:]+:\d+$/.test(address)) {
    throw new ConfigError(`TEMPORAL_ADDRESS ${JSON.stringify(address)} must be host:port`);
  }
  return { address, namespace: env.TEMPORAL_NAMESPACE || 'default', apiKey, tls };
}

/** TEMPORAL_*, CELLOS_TASK_QUEUE and CELLOS_HOST_TIMEOUT_SECONDS: enough to start and inspect cells. */
export function clientConfigFromEnv(env: Env): ClientConfig {
  return {
    temporal: temporalConfigFromEnv(env),
    payloadKeys: parsePayloadKeys(env.CELLOS_PAYLOAD_KEYS),
    taskQueue: env.CELLOS_TASK_QUEUE || DEFAULT_TASK_QUEUE,
    hostScheduleToStartSeconds: parseIntSetting(
      'CELLOS_HOST_TIMEOUT_SECONDS',
      env.CELLOS_HOST_TIMEOUT_SECONDS,
      120,
      5,
      86_400,
    ),
  };
}

/**
 * Warm sandboxes a host keeps unless CELLOS_WARM_POOL_SIZE says: two per core (a sandbox boots in
 * ~170 ms of mostly one core, so that many refill behind a burst), at least 2, never more than the
 * host runs cells at once. Each idle one holds ~12-15 MiB.
 */
export function defaultWarmPoolSize(maxCells: number, cores = availableParallelism()): number {
  return Math.min(maxCells, Math.max(2, 2 * cores), MAX_WARM_POOL_SIZE);
}

/** The client's settings, and CELLOS_* of the host and the worker. */
export function workerConfigFromEnv(env: Env): WorkerConfig {
  const maxConcurrentCells = parseIntSetting('CELLOS_MAX_CELLS', env.CELLOS_MAX_CELLS, 16, 1, 1000);
  const client = clientConfigFromEnv(env);
  const stateDir =
    env.CELLOS_STATE_DIR ||
    (client.temporal.address === undefined ? resolve(defaultStateDir(env), 'host') : '/var/lib/cellos');
  const host = {
    ...hostSettings(env, stateDir),
    warmPoolSize: parseIntSetting(
      'CELLOS_WARM_POOL_SIZE',
      env.CELLOS_WARM_POOL_SIZE,
      defaultWarmPoolSize(maxConcurrentCells),
      0,
      MAX_WARM_POOL_SIZE,
    ),
  };
  const artifactsS3 = s3StoreConfigFromEnv(env);
  if (artifactsS3 !== undefined) {
    const folderOnly = FOLDER_STORE_VARS.filter((name) => (env[name] ?? '') !== '');
    if (folderOnly.length > 0) {
      throw new ConfigError(
        `${folderOnly.join(', ')} set with CELLOS_ARTIFACTS_S3_BUCKET: they apply to the host's folder store, which is not used when artifacts go to S3 (expire objects with a lifecycle rule on the bucket); unset them`,
      );
    }
  }
  const memoryBudgetBytes = parseMemoryBudget(env.CELLOS_MEMORY_BUDGET_BYTES);
  if (memoryBudgetBytes !== undefined && memoryBudgetBytes < host.defaultMemoryBytes) {
    throw new ConfigError(
      `CELLOS_MEMORY_BUDGET_BYTES=${memoryBudgetBytes} must be at least one cell's default memory (CELLOS_DEFAULT_MEMORY_BYTES=${host.defaultMemoryBytes})`,
    );
  }
  return {
    ...client,
    maxConcurrentCells,
    memoryBudgetBytes,
    hostLabels: parseHostLabels(env.CELLOS_HOST_LABELS),
    drainTimeoutSeconds: parseIntSetting(
      'CELLOS_DRAIN_TIMEOUT_SECONDS',
      env.CELLOS_DRAIN_TIMEOUT_SECONDS,
      30,
      0,
      86_400,
    ),
    reconcileIntervalSeconds: parseIntSetting('CELLOS_RECONCILE_SECONDS', env.CELLOS_RECONCILE_SECONDS, 60, 0, 86_400),
    orphanGraceSeconds: parseIntSetting('CELLOS_ORPHAN_GRACE_SECONDS', env.CELLOS_ORPHAN_GRACE_SECONDS, 60, 1, 86_400),
    metricsAddress: parseListenAddress('CELLOS_METRICS_ADDRESS', env.CELLOS_METRICS_ADDRESS),
    eventsUrl: parseEventsUrl(env.CELLOS_EVENTS_URL),
    eagerRun: parseBool('CELLOS_EAGER_RUN', env.CELLOS_EAGER_RUN) ?? client.temporal.address === undefined,
    artifactsS3,
    host,
  };
}

function hostSettings(env: Env, stateDir: string): HostConfigInput & { hostId: string; defaultMemoryBytes: number } {
  return {
    hostId: env.CELLOS_HOST_ID || machineHostId(),
    runscPath: env.CELLOS_RUNSC || 'runsc',
    stateDir,
    bundleDir: env.CELLOS_BUNDLE_DIR || undefined,
    // A compiled binary has no .tools/ beside it: without CELLOS_DEFAULT_ROOTFS the host says so at start.
    defaultRootfs: env.CELLOS_DEFAULT_ROOTFS || (compiled ? '' : resolve(projectRoot, '.tools', 'rootfs', 'busybox')),
    imageCacheDir: env.CELLOS_IMAGE_CACHE_DIR || undefined,
    artifactsDir: parseAbsolutePath('CELLOS_ARTIFACTS_DIR', env.CELLOS_ARTIFACTS_DIR),
    artifacts: artifactSettings(env),
    allowedMounts: pathList(env.CELLOS_ALLOWED_MOUNTS),
    allowSandboxNetwork: parseBool('CELLOS_ALLOW_SANDBOX_NETWORK', env.CELLOS_ALLOW_SANDBOX_NETWORK) ?? false,
    platform: parsePlatform(env.CELLOS_PLATFORM),
    allowedRootfs: pathList(env.CELLOS_ALLOWED_ROOTFS),
    allowedImages: pathList(env.CELLOS_ALLOWED_IMAGES),
    allowRootUser: parseBool('CELLOS_ALLOW_ROOT_USER', env.CELLOS_ALLOW_ROOT_USER) ?? false,
    defaultMemoryBytes: parseIntSetting(
      'CELLOS_DEFAULT_MEMORY_BYTES',
      env.CELLOS_DEFAULT_MEMORY_BYTES,
      HOST_DEFAULTS.defaultMemoryBytes,
      16 * MiB,
      LIMITS.memoryMaxBytes,
    ),
    maxMemoryBytes: parseIntSetting(
      'CELLOS_MAX_MEMORY_BYTES',
      env.CELLOS_MAX_MEMORY_BYTES,
      HOST_DEFAULTS.maxMemoryBytes,
      16 * MiB,
      LIMITS.memoryMaxBytes,
    ),
    prepareTimeoutMs:
      1000 *
      parseIntSetting(
        'CELLOS_PREPARE_TIMEOUT_SECONDS',
        env.CELLOS_PREPARE_TIMEOUT_SECONDS,
        HOST_DEFAULTS.prepareTimeoutMs / 1000,
        1,
        3600,
      ),
    imageCacheMaxBytes: parseIntSetting(
      'CELLOS_IMAGE_CACHE_MAX_BYTES',
      env.CELLOS_IMAGE_CACHE_MAX_BYTES,
      HOST_DEFAULTS.imageCacheMaxBytes,
      0,
      Number.MAX_SAFE_INTEGER,
    ),
    imageLimits: {
      maxUnpackedBytes: parseIntSetting(
        'CELLOS_IMAGE_MAX_UNPACKED_BYTES',
        env.CELLOS_IMAGE_MAX_UNPACKED_BYTES,
        IMAGE_LIMIT_DEFAULTS.maxUnpackedBytes,
        1,
        Number.MAX_SAFE_INTEGER,
      ),
      maxEntries: parseIntSetting(
        'CELLOS_IMAGE_MAX_ENTRIES',
        env.CELLOS_IMAGE_MAX_ENTRIES,
        IMAGE_LIMIT_DEFAULTS.maxEntries,
        1,
        1_000_000_000,
      ),
    },
  };
}

/** The variables of the artifact settings, each a whole number from 1 to its most. */
const ARTIFACT_VARS: readonly (readonly [keyof ArtifactSettings, string, number])[] = [
  ['maxBytesPerArtifact', 'CELLOS_ARTIFACT_MAX_BYTES', Number.MAX_SAFE_INTEGER],
  ['maxBytesPerCell', 'CELLOS_ARTIFACTS_MAX_CELL_BYTES', Number.MAX_SAFE_INTEGER],
  ['maxFilesPerArtifact', 'CELLOS_ARTIFACT_MAX_FILES', 10_000_000],
  // Ten years: longer is a store that never forgets, which the quota then decides for.
  ['retentionSeconds', 'CELLOS_ARTIFACTS_RETENTION_SECONDS', 10 * 365 * 86_400],
  ['quotaBytes', 'CELLOS_ARTIFACTS_QUOTA_BYTES', Number.MAX_SAFE_INTEGER],
];

/** The settings of the host's folder store alone: meaningless with the S3 store. */
const FOLDER_STORE_VARS = [
  'CELLOS_ARTIFACTS_DIR',
  'CELLOS_ARTIFACTS_RETENTION_SECONDS',
  'CELLOS_ARTIFACTS_QUOTA_BYTES',
];

/** The artifact settings the environment gives; the host's defaults (ARTIFACT_DEFAULTS) fill in the rest. */
function artifactSettings(env: Env): Partial<ArtifactSettings> {
  const settings: Partial<Record<keyof ArtifactSettings, number>> = {};
  for (const [key, name, max] of ARTIFACT_VARS) {
    if (env[name] === undefined || env[name] === '') continue;
    settings[key] = parseIntSetting(name, env[name], ARTIFACT_DEFAULTS[key], 1, max);
  }
  return settings;
}

function parseAbsolutePath(name: string, value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!value.startsWith('/')) throw new ConfigError(`${name}=${JSON.stringify(value)} must be an absolute path`);
  return value;
}

function parseMemoryBudget(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  return parseIntSetting('CELLOS_MEMORY_BUDGET_BYTES', value, 0, 16 * MiB, Number.MAX_SAFE_INTEGER);
}

function parseHostLabels(value: string | undefined): Labels {
  let labels: Labels;
  try {
    labels = parseLabels(value ?? '');
  } catch (err) {
    if (err instanceof LabelSyntaxError)
      throw new ConfigError(`CELLOS_HOST_LABELS=${JSON.stringify(value)}: ${err.message}`);
    throw err;
  }
  if (Object.keys(labels).length > MAX_HOST_LABELS) {
    throw new ConfigError(
      `CELLOS_HOST_LABELS=${JSON.stringify(value)}: at most ${MAX_HOST_LABELS} labels (a host polls one launch queue per subset of its labels)`,
    );
  }
  return labels;
}

/** Host path prefixes, `,` or `:` separated. */
function pathList(value: string | undefined): string[] {
  return (value ?? '').split(/[,:]/).filter(Boolean);
}

const MiB = 1024 * 1024;

/** Stable across worker restarts: the machine id, else the hostname. */
export function machineHostId(): string {
  try {
    const id = readFileSync('/etc/machine-id', 'utf8').trim();
    if (/^[0-9a-f]{32}$/.test(id)) return id.slice(0, 12);
  } catch {
    // no machine id: fall back to the hostname
  }
  return (
    hostname()
      .replace(/[^A-Za-z0-9_.-]/g, '-')
      .slice(0, 63) || 'local'
  );
}

function parseBool(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new ConfigError(`${name}=${JSON.stringify(value)} must be true or false`);
}

function parseIntSetting(name: string, value: string | undefined, dflt: number, min: number, max: number): number {
  if (value === undefined || value === '') return dflt;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name}=${JSON.stringify(value)} must be a whole number from ${min} to ${max}`);
  }
  return n;
}

/**
 * An address to listen on, as Temporal's Prometheus exporter takes it: an IP literal and a port
 * (`127.0.0.1:9464`, `0.0.0.0:9464`, `[::1]:9464`). A host name is refused: the exporter cannot bind it.
 */
function parseListenAddress(name: string, value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const ip = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  const ipOk = ip !== undefined && isIP(ip) === (m?.[1] === undefined ? 4 : 6);
  if (!ipOk || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError(
      `${name}=${JSON.stringify(value)} must be ip:port with an IP address, not a host name (e.g. 127.0.0.1:9464, 0.0.0.0:9464 or [::1]:9464)`,
    );
  }
  return value;
}

/**
 * An http: or https: URL. One with a user name or password is refused, without echoing it: fetch
 * will not send such a URL, and the value would be a secret printed in the message.
 */
function parseEventsUrl(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    // not a URL: the message below says what is wanted
  }
  if (url && (url.username !== '' || url.password !== '')) {
    throw new ConfigError('CELLOS_EVENTS_URL must not carry a user name or password (fetch refuses such URLs)');
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new ConfigError(
      `CELLOS_EVENTS_URL=${JSON.stringify(value)} must be an http: or https: URL (e.g. https://events.example.com/cellos)`,
    );
  }
  return url.href;
}

function parsePlatform(value: string | undefined): 'systrap' | 'ptrace' | 'kvm' | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'systrap' || value === 'ptrace' || value === 'kvm') return value;
  throw new ConfigError(`CELLOS_PLATFORM=${JSON.stringify(value)} must be systrap, ptrace or kvm`);
}
