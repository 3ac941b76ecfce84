// CellDocument -> OCI runtime-spec 1.0.2 config.json. Pure and deterministic: the same
// document and host options give byte-identical JSON (see serializeBundleConfig).
import type { CellDocument } from '../document/schema.ts';
import { BundleConfigError } from './errors.ts';
import type { OciConfig, OciMount } from './oci.ts';

const MiB = 1024 * 1024;

export interface BundleHostOptions {
  /** The runsc container id (see sandboxIdFor). */
  readonly sandboxId: string;
  /** Absolute host path of the rootfs the cell sees, read-only. */
  readonly rootfsPath: string;
  /** cgroup path of the sandbox, a child of the per-cell parent that holds the memory limit. */
  readonly cgroupsPath: string;
  /** Secret values resolved on the host, by name; never part of the document. */
  readonly secretEnv?: Readonly<Record<string, string>>;
  /** Host path prefixes that documents may bind read-only. Empty: no host mounts. */
  readonly allowedMounts?: readonly string[];
  /** Whether this host lets documents ask for `network: sandbox`. */
  readonly allowSandboxNetwork?: boolean;
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const DEFAULT_TMP_BYTES = 64 * MiB;

// runc's defaults: hide kernel interfaces, freeze the ones that configure the kernel.
export const MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
] as const;
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'] as const;

/**
 * runsc's cgroup for the sandbox gets this much above the cell's limit, so that the per-cell
 * parent cgroup (which holds the exact limit) is the one that hits it and keeps the OOM record
 * after runsc removes its own cgroup.
 */
export const SANDBOX_MEMORY_HEADROOM = 8 * MiB;

export function generateBundleConfig(doc: CellDocument, host: BundleHostOptions): OciConfig {
  const spec = doc.spec;
  const id = typeof spec.id === 'string' ? spec.id.trim() : '';
  if (id === '') throw new BundleConfigError('MissingCellId', 'spec.id is empty: a cell needs an id');
  const run = spec.run;
  if (!run || !Array.isArray(run.argv) || run.argv.length === 0) {
    throw new BundleConfigError('MissingArgv', `cell ${id}: spec.run.argv is empty: a cell needs a program to run`);
  }
  if (run.network === 'sandbox' && !host.allowSandboxNetwork) {
    throw new BundleConfigError(
      'NetworkNotAllowed',
      `cell ${id}: spec.run.network "sandbox" is not allowed on this host (its worker does not enable sandbox networking)`,
    );
  }
  for (const [i, m] of run.mounts.entries()) {
    if (!isAllowedHostPath(m.source, host.allowedMounts ?? [])) {
      throw new BundleConfigError(
        'MountNotAllowed',
        `cell ${id}: spec.run.mounts[${i}].source ${m.source} is not under a host path this worker allows (allowed: ${(host.allowedMounts ?? []).join(', ') || 'none'})`,
      );
    }
  }

  const env = buildEnv(run.env, host.secretEnv ?? {}, spec.authority.secretRefs);
  const rlimits = [
    { type: 'RLIMIT_NOFILE', hard: run.rlimits.openFiles, soft: run.rlimits.openFiles },
    { type: 'RLIMIT_NPROC', hard: run.rlimits.processes, soft: run.rlimits.processes },
    ...(run.rlimits.fileSizeBytes !== undefined
      ? [{ type: 'RLIMIT_FSIZE', hard: run.rlimits.fileSizeBytes, soft: run.rlimits.fileSizeBytes }]
      : []),
  ];

  const resources: NonNullable<NonNullable<OciConfig['linux']>['resources']> = {
    devices: [{ allow: false, access: 'rwm' }],
    // A backstop only: runsc's own threads count here (~25 idle, ~8 per process), so the
    // fork-bomb cap is RLIMIT_NPROC above.
    pids: { limit: 64 + run.rlimits.processes * 16 },
  };
  if (run.limits.memoryMaxBytes !== undefined) {
    resources.memory = { limit: run.limits.memoryMaxBytes + SANDBOX_MEMORY_HEADROOM };
  }
  if (run.limits.cpuMax !== undefined) {
    resources.cpu = { quota: run.limits.cpuMax.quotaMicros, period: run.limits.cpuMax.periodMicros };
  }

  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: run.user.uid, gid: run.user.gid, additionalGids: [...run.user.additionalGids] },
      args: [...run.argv],
      env,
      cwd: run.workingDirectory,
      capabilities: { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] },
      rlimits,
      noNewPrivileges: true,
    },
    root: { path: host.rootfsPath, readonly: true },
    hostname: id,
    mounts: buildMounts(doc),
    linux: {
      cgroupsPath: host.cgroupsPath,
      resources,
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
    },
    annotations: {
      'io.cellos.cell-id': id,
      'io.cellos.sandbox-id': host.sandboxId,
      ...(spec.correlation?.correlationId ? { 'io.cellos.correlation-id': spec.correlation.correlationId } : {}),
    },
  };
}

/** Stable JSON for a config: keys in insertion order, which generateBundleConfig fixes. */
export function serializeBundleConfig(config: OciConfig): string {
  return `${JSON.stringify(config, null, 2)}\n`;
}

export function isAllowedHostPath(path: string, allowed: readonly string[]): boolean {
  return allowed.some((prefix) => {
    // A prefix that is not absolute (an empty entry from splitting an empty setting) allows nothing:
    // '' would otherwise match every absolute path.
    if (!prefix.startsWith('/')) return false;
    const p = prefix.endsWith('/') && prefix !== '/' ? prefix.slice(0, -1) : prefix;
    return p === '/' || path === p || path.startsWith(`${p}/`);
  });
}

function buildEnv(
  docEnv: Readonly<Record<string, string>>,
  secrets: Readonly<Record<string, string>>,
  secretRefs: readonly string[],
): string[] {
  const vars = new Map<string, string>([
    ['PATH', DEFAULT_PATH],
    ['HOME', '/'],
  ]);
  for (const name of Object.keys(docEnv).sort()) vars.set(name, docEnv[name]!);
  for (const name of secretRefs) {
    // Own keys only: a secret named toString or constructor must not resolve to Object.prototype's.
    const value = Object.hasOwn(secrets, name) ? secrets[name] : undefined;
    if (value === undefined) {
      throw new BundleConfigError(
        'MissingSecret',
        `secret ${name} (spec.authority.secretRefs) has no value on this host`,
      );
    }
    vars.set(name, value);
  }
  return [...vars].map(([k, v]) => `${k}=${v}`);
}

function buildMounts(doc: CellDocument): OciMount[] {
  const run = doc.spec.run;
  const docTmp = run.tmpfs.find((t) => t.path === '/tmp');
  const mounts: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'],
    },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
    },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    tmpfsMount('/tmp', docTmp?.sizeBytes ?? DEFAULT_TMP_BYTES),
  ];
  for (const t of run.tmpfs) if (t.path !== '/tmp') mounts.push(tmpfsMount(t.path, t.sizeBytes));
  for (const m of run.mounts) {
    mounts.push({
      destination: m.destination,
      type: 'bind',
      source: m.source,
      options: ['rbind', 'ro', 'nosuid', 'nodev'],
    });
  }
  return mounts;
}

function tmpfsMount(destination: string, sizeBytes: number): OciMount {
  return {
    destination,
    type: 'tmpfs',
    source: 'tmpfs',
    options: ['nosuid', 'nodev', 'mode=1777', `size=${sizeBytes}`],
  };
}
