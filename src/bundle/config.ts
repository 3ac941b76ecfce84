// CellDocument -> OCI runtime-spec 1.0.2 config.json. Pure and deterministic: the same
// document and host options give byte-identical JSON (see serializeBundleConfig).
import { artifactMounts, IMPLICIT_SCRATCH_BYTES } from '../document/artifacts.ts';
import type { CellDocument } from '../document/schema.ts';
import { BundleConfigError } from './errors.ts';
import type { OciConfig, OciHook, OciMount } from './oci.ts';

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
  /**
   * Which cells may use each secret: cell id patterns (`*` matches any run of characters) by secret
   * name. A secret with no entry is granted to no cell. Undefined: every secret to every cell (for
   * tools that only print a bundle; a host always passes its grants).
   */
  readonly secretGrants?: Readonly<Record<string, readonly string[]>>;
  /** Whether documents may run as uid 0 or with group 0 (the operator's CELLOS_ALLOW_ROOT_USER). */
  readonly allowRootUser?: boolean;
  /** The memory of a cell that names none, and the most a document may ask for. */
  readonly memory?: MemoryPolicy;
  /**
   * What the host resolved each spec.run.mounts[i].source to (its realpath, checked against
   * allowedMounts), in the document's order. The bundle names these, never the document's own
   * paths: a symlink swapped after the check cannot redirect the mount. Undefined: the document's.
   */
  readonly mountSources?: readonly string[];
  /** Programs runsc runs after it has mounted the cell's folders and before the workload starts. */
  readonly prestartHooks?: readonly OciHook[];
  /**
   * Host folders (each a size-limited host tmpfs) that replace tmpfs mounts holding exported
   * artifacts, bound read-write: by spec.run.tmpfs index, or 'tmp' for the /tmp the bundle adds.
   */
  readonly scratchSources?: Readonly<Record<string, string>>;
}

/** The options that decide whether a document may run on a host, apart from one sandbox's paths. */
export type HostPolicy = Omit<
  BundleHostOptions,
  'sandboxId' | 'rootfsPath' | 'cgroupsPath' | 'prestartHooks' | 'scratchSources'
>;

export interface MemoryPolicy {
  readonly defaultBytes: number;
  readonly maxBytes: number;
}

/** What a host grants when its configuration says nothing else. */
export const DEFAULT_MEMORY_POLICY: MemoryPolicy = { defaultBytes: 512 * MiB, maxBytes: 8 * 1024 * MiB };

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const DEFAULT_TMP_BYTES = 64 * MiB;
const DEV_TMPFS_BYTES = 64 * MiB;

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

/**
 * The memory a cell gets: its document's limit, else the host's default. Every cell has a limit; a
 * document over the host's maximum is refused. The host's per-cell cgroup holds exactly this.
 */
export function cellMemoryBytes(doc: CellDocument, policy: MemoryPolicy = DEFAULT_MEMORY_POLICY): number {
  const asked = doc.spec.run.limits.memoryMaxBytes;
  if (asked === undefined) return policy.defaultBytes;
  if (asked > policy.maxBytes) {
    throw new BundleConfigError(
      'MemoryNotAllowed',
      `cell ${doc.spec.id}: spec.run.limits.memoryMaxBytes ${asked} is over this host's maximum of ${policy.maxBytes} bytes per cell`,
    );
  }
  return asked;
}

/**
 * Every refusal that generateBundleConfig makes, without building a config: what a host checks
 * before it creates anything for a cell. Returns the memory the cell gets (see cellMemoryBytes).
 */
export function checkHostPolicy(doc: CellDocument, policy: HostPolicy): { readonly memoryBytes: number } {
  const { memoryBytes } = admit(doc, policy);
  return { memoryBytes };
}

interface Admitted {
  readonly id: string;
  readonly memoryBytes: number;
  readonly env: string[];
  readonly mountSources: readonly string[];
}

/** The checks of a document against a host's policy, in the order a person fixes them. */
function admit(doc: CellDocument, host: HostPolicy): Admitted {
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
  const allowed = host.allowedMounts ?? [];
  if (host.mountSources !== undefined && host.mountSources.length !== run.mounts.length) {
    throw new TypeError(
      `generateBundleConfig: mountSources has ${host.mountSources.length} entries for ${run.mounts.length} mounts`,
    );
  }
  for (const [i, m] of run.mounts.entries()) {
    // The document's path and the host's resolution of it: both must lie under the allowlist.
    for (const source of new Set([m.source, host.mountSources?.[i] ?? m.source])) {
      if (!isAllowedHostPath(source, allowed)) {
        throw new BundleConfigError(
          'MountNotAllowed',
          `cell ${id}: spec.run.mounts[${i}].source ${m.source} is not under a host path this worker allows (allowed: ${allowed.join(', ') || 'none'})`,
        );
      }
    }
  }
  checkUser(doc, host.allowRootUser ?? false);
  const memoryBytes = cellMemoryBytes(doc, host.memory);
  checkTmpfsSizes(doc, memoryBytes);
  const env = buildEnv(doc, host.secretEnv ?? {}, host.secretGrants);
  return { id, memoryBytes, env, mountSources: host.mountSources ?? run.mounts.map((m) => m.source) };
}

export function generateBundleConfig(doc: CellDocument, host: BundleHostOptions): OciConfig {
  const { id, memoryBytes, env, mountSources } = admit(doc, host);
  const spec = doc.spec;
  const run = spec.run;
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
    memory: { limit: memoryBytes + SANDBOX_MEMORY_HEADROOM },
  };
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
    mounts: buildMounts(doc, memoryBytes, mountSources, host.scratchSources ?? {}),
    ...(host.prestartHooks?.length ? { hooks: { prestart: host.prestartHooks.map(copyHook) } } : {}),
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

/**
 * The size of each writable mount that holds an exported artifact, by scratch key (spec.run.tmpfs
 * index, or 'tmp' for the /tmp the bundle adds): what the host's scratch tmpfs gets.
 */
export function scratchSizes(doc: CellDocument, memoryBytes: number, keys: Iterable<string>): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const key of keys) {
    sizes.set(
      key,
      key === 'tmp'
        ? implicitTmpBytes(doc, memoryBytes)!
        : key.startsWith('a')
          ? IMPLICIT_SCRATCH_BYTES
          : doc.spec.run.tmpfs[Number(key)]!.sizeBytes,
    );
  }
  return sizes;
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

/** uid 0 and group 0 are root's: only an operator grants them. */
function checkUser(doc: CellDocument, allowRoot: boolean): void {
  if (allowRoot) return;
  const { uid, gid, additionalGids } = doc.spec.run.user;
  const field =
    uid === 0
      ? 'spec.run.user.uid'
      : gid === 0
        ? 'spec.run.user.gid'
        : additionalGids.includes(0)
          ? `spec.run.user.additionalGids[${additionalGids.indexOf(0)}]`
          : undefined;
  if (field !== undefined) {
    throw new BundleConfigError(
      'RootUserNotAllowed',
      `cell ${doc.spec.id}: ${field} is 0 (root), which this host does not allow (its operator sets CELLOS_ALLOW_ROOT_USER to allow it)`,
    );
  }
}

/** A tmpfs lives in the sandbox's memory: together they cannot be larger than the cell's memory. */
function checkTmpfsSizes(doc: CellDocument, memoryBytes: number): void {
  let total = implicitTmpBytes(doc, memoryBytes) ?? 0;
  for (const [i, t] of doc.spec.run.tmpfs.entries()) {
    total += t.sizeBytes;
    if (total > memoryBytes) {
      throw new BundleConfigError(
        'TmpfsTooLarge',
        `cell ${doc.spec.id}: spec.run.tmpfs[${i}].sizeBytes: the tmpfs sizes add up to ${total} bytes${doc.spec.run.tmpfs.some((t) => t.path === '/tmp') ? '' : ' (with the default /tmp)'}, more than the cell's memory of ${memoryBytes} bytes (tmpfs contents are held in memory; declare a smaller /tmp in spec.run.tmpfs)`,
      );
    }
  }
}

/**
 * The size of the /tmp the bundle adds when the document declares none: 64 MiB, or what the cell's
 * memory leaves beside the document's own tmpfs, but never under 4 KiB (a tmpfs of size 0 would be
 * unlimited). Undefined when the document declares /tmp itself.
 */
function implicitTmpBytes(doc: CellDocument, memoryBytes: number): number | undefined {
  const tmpfs = doc.spec.run.tmpfs;
  if (tmpfs.some((t) => t.path === '/tmp')) return undefined;
  const declared = tmpfs.reduce((n, t) => n + t.sizeBytes, 0);
  return Math.max(4096, Math.min(DEFAULT_TMP_BYTES, memoryBytes - declared));
}

/** Whether a cell id matches a grant pattern: `*` is any run of characters, everything else itself. */
export function matchesCellPattern(cellId: string, pattern: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`);
  return re.test(cellId);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function buildEnv(
  doc: CellDocument,
  secrets: Readonly<Record<string, string>>,
  grants: Readonly<Record<string, readonly string[]>> | undefined,
): string[] {
  const vars = new Map<string, string>([
    ['PATH', DEFAULT_PATH],
    ['HOME', '/'],
  ]);
  const docEnv = doc.spec.run.env;
  for (const name of Object.keys(docEnv).sort()) vars.set(name, docEnv[name]!);
  for (const [i, name] of doc.spec.authority.secretRefs.entries()) {
    // Own keys only: a secret named toString or constructor must not resolve to Object.prototype's.
    const patterns = grants === undefined ? ['*'] : Object.hasOwn(grants, name) ? grants[name]! : [];
    if (!patterns.some((p) => matchesCellPattern(doc.spec.id, p))) {
      throw new BundleConfigError(
        'SecretNotGranted',
        `cell ${doc.spec.id}: secret ${name} (spec.authority.secretRefs[${i}]) is not granted to this cell on this host (its operator grants it with CELLOS_GRANT_${name})`,
      );
    }
    const value = Object.hasOwn(secrets, name) ? secrets[name] : undefined;
    if (value === undefined) {
      throw new BundleConfigError(
        'MissingSecret',
        `secret ${name} (spec.authority.secretRefs[${i}]) has no value on this host`,
      );
    }
    vars.set(name, value);
  }
  return [...vars].map(([k, v]) => `${k}=${v}`);
}

function copyHook(h: OciHook): OciHook {
  return {
    path: h.path,
    ...(h.args ? { args: [...h.args] } : {}),
    ...(h.env ? { env: [...h.env] } : {}),
    ...(h.timeout !== undefined ? { timeout: h.timeout } : {}),
  };
}

function buildMounts(
  doc: CellDocument,
  memoryBytes: number,
  sources: readonly string[],
  scratch: Readonly<Record<string, string>>,
): OciMount[] {
  const run = doc.spec.run;
  const docTmpIndex = run.tmpfs.findIndex((t) => t.path === '/tmp');
  const docTmp = run.tmpfs[docTmpIndex];
  // A tmpfs that holds an artifact is the host's scratch folder instead (same size, on the host).
  const writable = (key: string, destination: string, sizeBytes: number): OciMount =>
    Object.hasOwn(scratch, key)
      ? { destination, type: 'bind', source: scratch[key]!, options: ['rbind', 'rw', 'nosuid', 'nodev'] }
      : tmpfsMount(destination, sizeBytes);
  // /dev and /dev/shm are tmpfs too: never larger than the cell's memory.
  const devKiB = Math.floor(Math.min(DEV_TMPFS_BYTES, memoryBytes) / 1024);
  const mounts: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', `size=${devKiB}k`],
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
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${devKiB}k`],
    },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    // The default /tmp never outgrows the cell's memory; a document's own sizes were checked against it.
    writable(docTmp ? String(docTmpIndex) : 'tmp', '/tmp', docTmp?.sizeBytes ?? implicitTmpBytes(doc, memoryBytes)!),
  ];
  for (const [i, t] of run.tmpfs.entries())
    if (t.path !== '/tmp') mounts.push(writable(String(i), t.path, t.sizeBytes));
  // Scratch folders the host made for artifacts outside every tmpfs (document/artifacts.ts).
  for (const m of artifactMounts(run, doc.spec.export?.artifacts ?? []).implicit) {
    if (Object.hasOwn(scratch, m.scratch)) mounts.push(writable(m.scratch, m.mountPath, IMPLICIT_SCRATCH_BYTES));
  }
  for (const [i, m] of run.mounts.entries()) {
    mounts.push({
      destination: m.destination,
      type: 'bind',
      source: sources[i]!,
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
