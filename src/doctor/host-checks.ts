// The checks of this host that `cellos doctor` makes, against the configuration a worker here would
// use: root, runsc, its platform (a sandbox really boots), cgroups (a probe cgroup really takes a
// memory limit), the default rootfs, and the state folders and their permissions. Pure: the file
// system, runsc and cgroups come in through a HostProbe (./node-host.ts on a real host).
import type { CgroupMode } from '../host/cgroups.ts';
import type { HostConfig } from '../host/config.ts';
import type { RunscPlatform } from '../runsc/driver.ts';
import { fail, firstLine, ok, skip, warn, type CheckResult } from './result.ts';
import { WARM_PROGRAMS } from '../bundle/warm-shape.ts';

export interface FileInfo {
  readonly kind: 'dir' | 'file' | 'char-device' | 'other';
  readonly uid: number;
  /** Permission bits (mode & 0o7777). */
  readonly mode: number;
}

export interface HostProbe {
  /** Effective uid of this process. */
  readonly euid: number;
  /** Follows symlinks; undefined when nothing is there. */
  stat(path: string): Promise<FileInfo | undefined>;
  /** Whether this process may write `path` (create entries in it, for a folder). */
  writable(path: string): Promise<boolean>;
  /** The file's text; undefined when it cannot be read. */
  readText(path: string): Promise<string | undefined>;
  writeText(path: string, text: string): Promise<void>;
  mkdir(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  /** As the host detects it (src/host/cgroups.ts). */
  cgroupMode(): Promise<CgroupMode>;
  /** `runsc --version`'s first line; throws when runsc cannot run. */
  runscVersion(runscPath: string): Promise<string>;
  /** The platform the host picks when CELLOS_PLATFORM is unset. */
  detectPlatform(runscPath: string): Promise<RunscPlatform>;
  /** Boots a sandbox on `platform` that runs /bin/true, without network; its duration in ms, or throws why not. */
  bootSandbox(runscPath: string, platform: RunscPlatform, timeoutMs: number): Promise<number>;
  /** The default rootfs's realpath, checked as the host checks it; throws what is wrong with it. */
  resolveDefaultRootfs(path: string): Promise<string>;
  /** Throws when a folder cells can see holds a state folder or lies inside one (on the real paths). */
  checkStateHidden(config: HostConfig): Promise<void>;
  /** Whether this process shares the network namespace of pid 1 (runsc then refuses sandbox networking). */
  inRootNetworkNamespace(): Promise<boolean>;
}

export const CGROUP_ROOT = '/sys/fs/cgroup';
/** The longest a sandbox may take to boot and run /bin/true (measured: ~0.2 s; kvm hangs where it cannot run). */
export const BOOT_TIMEOUT_MS = 10_000;

export interface HostCheckOptions {
  /** Name of the throw-away cgroup the probe creates and removes (unique to this process). */
  readonly probeName: string;
}

/** Every host check, in the order they are printed. */
export async function checkHost(probe: HostProbe, config: HostConfig, opts: HostCheckOptions): Promise<CheckResult[]> {
  const runscAndPlatform = (async () => {
    const runsc = await checkRunsc(probe, config);
    return [runsc, await checkPlatform(probe, config, runsc.status === 'ok')];
  })();
  const results = await Promise.all([
    [checkRoot(probe)],
    runscAndPlatform,
    checkCgroups(probe, config, opts.probeName).then((r) => [r]),
    checkNetwork(probe, config).then((r) => [r]),
    checkDefaultRootfs(probe, config).then((r) => [r]),
    checkWarmPool(probe, config).then((r) => [r]),
    checkStateFolders(probe, config),
  ]);
  return results.flat();
}

export function checkRoot(probe: HostProbe): CheckResult {
  if (probe.euid === 0) return ok('root', 'running as root, as the worker must');
  return fail(
    'root',
    `running as uid ${probe.euid}`,
    'run `cellos doctor` and `cellos worker` as root: runsc, the cgroups and the state folders need it',
  );
}

export async function checkRunsc(probe: HostProbe, config: HostConfig): Promise<CheckResult> {
  try {
    return ok('runsc', `${await probe.runscVersion(config.runscPath)} (${config.runscPath})`);
  } catch (err) {
    return fail(
      'runsc',
      `${config.runscPath} does not run: ${firstLine(err)}`,
      "install Debian's package runsc, or set CELLOS_RUNSC to the path of a runsc binary",
    );
  }
}

export async function checkPlatform(probe: HostProbe, config: HostConfig, runscUsable: boolean): Promise<CheckResult> {
  const name = 'platform';
  if (!runscUsable) return skip(name, 'not checked: runsc does not run');
  const source = config.platform === undefined ? 'detected' : 'CELLOS_PLATFORM';
  let platform: RunscPlatform;
  try {
    platform = config.platform ?? (await probe.detectPlatform(config.runscPath));
  } catch (err) {
    return fail(
      name,
      `cannot tell which platforms ${config.runscPath} has: ${firstLine(err)}`,
      'set CELLOS_PLATFORM (ptrace works on most hosts)',
    );
  }
  const otherPlatform =
    source === 'detected'
      ? `set CELLOS_PLATFORM to a platform this host supports (ptrace works on most hosts)`
      : `set CELLOS_PLATFORM to another platform (ptrace works on most hosts), or unset it to detect one`;
  if (platform === 'kvm') {
    const kvm = await probe.stat('/dev/kvm');
    if (kvm?.kind !== 'char-device') {
      return fail(name, `kvm (${source}): there is no /dev/kvm`, `load the kvm module, or ${otherPlatform}`);
    }
  }
  if (platform === 'ptrace') {
    const scope = (await probe.readText('/proc/sys/kernel/yama/ptrace_scope'))?.trim();
    if (scope === '3') {
      return fail(
        name,
        `ptrace (${source}): ptrace is disabled on this host (kernel.yama.ptrace_scope = 3, which only a reboot undoes)`,
        `boot with kernel.yama.ptrace_scope at most 2, or ${otherPlatform}`,
      );
    }
  }
  try {
    const ms = await probe.bootSandbox(config.runscPath, platform, BOOT_TIMEOUT_MS);
    return ok(name, `${platform} (${source}): a sandbox booted and ran /bin/true in ${Math.round(ms)} ms`);
  } catch (err) {
    return fail(
      name,
      `${platform} (${source}): no sandbox boots: ${firstLine(err)}`,
      `${otherPlatform}; to see why, run ${config.runscPath} --network=none --platform=${platform} do /bin/true`,
    );
  }
}

export async function checkNetwork(probe: HostProbe, config: HostConfig): Promise<CheckResult> {
  const name = 'network';
  if (!config.allowSandboxNetwork) return ok(name, 'cells get no network (CELLOS_ALLOW_SANDBOX_NETWORK is off)');
  if (await probe.inRootNetworkNamespace()) {
    return fail(
      name,
      'CELLOS_ALLOW_SANDBOX_NETWORK is on, but runsc refuses sandbox networking in the root network namespace, where this process runs',
      'unset CELLOS_ALLOW_SANDBOX_NETWORK, or run the worker in a network namespace of its own',
    );
  }
  return ok(
    name,
    'documents may ask for network: sandbox (CELLOS_ALLOW_SANDBOX_NETWORK), outside the root network namespace',
  );
}

/** v1: the controllers runsc puts a cell in; memory holds its limit and tells OOM apart. */
const V1_REQUIRED = ['memory'] as const;
const V1_WANTED = ['cpu', 'pids'] as const;

export async function checkCgroups(probe: HostProbe, config: HostConfig, probeName: string): Promise<CheckResult> {
  const name = 'cgroups';
  const mode = await probe.cgroupMode();
  const noAccess =
    'run the worker as root with /sys/fs/cgroup mounted read-write (in a container: privileged, or a writable cgroup mount)';
  if (mode === 'none') {
    return fail(
      name,
      `no memory cgroup under ${CGROUP_ROOT} (neither cgroup v2 nor a v1 memory hierarchy): cells would get no memory limit`,
      `mount cgroup2 at ${CGROUP_ROOT}, or the v1 memory controller at ${CGROUP_ROOT}/memory`,
    );
  }
  const limit = String(config.memory.defaultBytes);
  if (mode === 'v1') {
    const missing: string[] = [];
    for (const c of [...V1_REQUIRED, ...V1_WANTED]) {
      if ((await probe.stat(`${CGROUP_ROOT}/${c}`))?.kind !== 'dir') {
        missing.push(c);
        continue;
      }
      const problem = await probeCgroup(
        probe,
        `${CGROUP_ROOT}/${c}/${probeName}`,
        c === 'memory' ? ['memory.limit_in_bytes', limit] : undefined,
      );
      if (problem) return fail(name, `v1: ${problem}`, noAccess);
    }
    if (missing.includes('memory')) {
      return fail(
        name,
        `v1 without a memory hierarchy at ${CGROUP_ROOT}/memory: cells would get no memory limit`,
        `mount the v1 memory controller at ${CGROUP_ROOT}/memory, or use cgroup v2`,
      );
    }
    if (missing.length > 0) return warn(name, `v1 without ${missing.join(', ')}: ${unenforced(missing)}`, mountHint);
    return ok(name, `v1: a probe cgroup took a memory limit (${V1_WANTED.join(', ')} mounted too)`);
  }
  const controllers = ((await probe.readText(`${CGROUP_ROOT}/cgroup.controllers`)) ?? '').split(/\s+/).filter(Boolean);
  if (!controllers.includes('memory')) {
    return fail(
      name,
      `v2 without the memory controller (${CGROUP_ROOT}/cgroup.controllers: ${controllers.join(' ') || 'empty'}): cells would get no memory limit`,
      'use a kernel with memory cgroups (not booted with cgroup_disable=memory)',
    );
  }
  // As the host does before each cell: enable the memory controller for child cgroups.
  await probe.writeText(`${CGROUP_ROOT}/cgroup.subtree_control`, '+memory').catch(() => undefined);
  const problem = await probeCgroup(probe, `${CGROUP_ROOT}/${probeName}`, ['memory.max', limit]);
  if (problem) {
    return fail(
      name,
      `v2: ${problem}`,
      problem.includes('memory.max')
        ? `enable the memory controller for child cgroups: echo +memory > ${CGROUP_ROOT}/cgroup.subtree_control (in a container, move its processes into a child cgroup first)`
        : noAccess,
    );
  }
  const missing = V1_WANTED.filter((c) => !controllers.includes(c));
  if (missing.length > 0) return warn(name, `v2 without ${missing.join(', ')}: ${unenforced(missing)}`, mountHint);
  return ok(name, `v2: a probe cgroup took a memory limit (controllers: ${controllers.join(' ')})`);
}

const mountHint = 'enable the cpu and pids cgroup controllers on this host';

function unenforced(controllers: readonly string[]): string {
  const effects: Record<string, string> = {
    cpu: 'run.limits.cpuMax is not enforced',
    pids: 'the processes of a cell are not counted in a pids cgroup',
  };
  return controllers.map((c) => effects[c] ?? `no ${c} cgroup for cells`).join('; ');
}

/** Creates a cgroup, sets its memory limit, removes it; what went wrong, if anything. */
async function probeCgroup(
  probe: HostProbe,
  dir: string,
  setting: readonly [file: string, value: string] | undefined,
): Promise<string | undefined> {
  try {
    await probe.mkdir(dir);
  } catch (err) {
    return `cannot create a cgroup (${dir}): ${firstLine(err)}`;
  }
  try {
    if (setting === undefined) return undefined;
    const [file, value] = setting;
    if ((await probe.stat(`${dir}/${file}`)) === undefined) return `a new cgroup has no ${file}`;
    await probe.writeText(`${dir}/${file}`, value);
    return undefined;
  } catch (err) {
    return `cannot set ${setting?.[0]} of a new cgroup (${dir}): ${firstLine(err)}`;
  } finally {
    await probe.rmdir(dir).catch(() => undefined);
  }
}

export async function checkDefaultRootfs(probe: HostProbe, config: HostConfig): Promise<CheckResult> {
  const name = 'default rootfs';
  const path = config.defaultRootfs;
  let real: string;
  try {
    real = await probe.resolveDefaultRootfs(path);
  } catch (err) {
    return fail(
      name,
      firstLine(err),
      'set CELLOS_DEFAULT_ROOTFS to a folder that holds a root file system with a /tmp folder (bash scripts/setup.sh builds one at .tools/rootfs/busybox)',
    );
  }
  const shown = real === path ? path : `${path} (${real})`;
  const st = await probe.stat(real);
  if (st && (st.uid !== 0 || (st.mode & 0o022) !== 0)) {
    const who = st.uid !== 0 ? `owned by uid ${st.uid}` : `writable by ${writers(st.mode)} (mode ${octal(st.mode)})`;
    return warn(
      name,
      `${shown} is ${who}: whoever can change it changes what every cell runs`,
      `chown root:root ${real} && chmod go-w ${real}`,
    );
  }
  return ok(name, shown);
}

/** Warm sandboxes boot from the default rootfs: its init's programs must be there. */
export async function checkWarmPool(probe: HostProbe, config: HostConfig): Promise<CheckResult> {
  const name = 'warm sandboxes';
  if (config.warmPoolSize === 0) return skip(name, 'off (CELLOS_WARM_POOL_SIZE=0): every cell boots its own sandbox');
  const real = await probe.resolveDefaultRootfs(config.defaultRootfs).catch(() => undefined);
  if (real === undefined) return skip(name, 'the default rootfs is not usable (see above)');
  for (const program of WARM_PROGRAMS) {
    const st = await probe.stat(`${real}${program}`);
    if (st?.kind !== 'file') {
      return fail(
        name,
        `the default rootfs ${real} has no ${program}, which a warm sandbox needs`,
        'use a default rootfs with /bin/sh, /bin/sleep and /bin/hostname (busybox has them), or set CELLOS_WARM_POOL_SIZE=0',
      );
    }
  }
  return ok(name, `${config.warmPoolSize} kept booted for cells that fit their shape (~15 MiB each while idle)`);
}

interface Folder {
  readonly path: string;
  /** The setting that names it. */
  readonly setting: string;
}

/** The state folder (with the runsc root and cell records in it), the bundle folder, the image cache. */
export async function checkStateFolders(probe: HostProbe, config: HostConfig): Promise<CheckResult[]> {
  const state = 'CELLOS_STATE_DIR';
  return Promise.all([
    checkFolders(probe, 'state dir', [
      { path: config.stateDir, setting: state },
      { path: config.runscRoot, setting: state },
      { path: config.cellsDir, setting: state },
    ]),
    checkFolders(probe, 'bundle dir', [{ path: config.bundleDir, setting: 'CELLOS_BUNDLE_DIR' }]),
    checkFolders(probe, 'image cache', [{ path: config.imageCacheDir, setting: 'CELLOS_IMAGE_CACHE_DIR' }]),
    checkStateHidden(probe, config),
  ]);
}

/** The first folder's verdict, unless one of the others (inside it) has a problem. */
async function checkFolders(probe: HostProbe, name: string, folders: readonly Folder[]): Promise<CheckResult> {
  const [main] = folders;
  let mainExists = false;
  for (const folder of folders) {
    const found = await inspectFolder(probe, folder);
    if ('problem' in found) return fail(name, found.problem, found.fix);
    if (folder === main) mainExists = found.exists;
  }
  return ok(
    name,
    mainExists
      ? `${main!.path} (owned by root, not writable by others)`
      : `${main!.path} does not exist yet; the worker creates it`,
  );
}

async function inspectFolder(
  probe: HostProbe,
  { path, setting }: Folder,
): Promise<{ readonly problem: string; readonly fix: string } | { readonly exists: boolean }> {
  const st = await probe.stat(path);
  if (st === undefined) {
    const [parent, parentInfo] = await nearestExisting(probe, path);
    if (parentInfo.kind !== 'dir') {
      return { problem: `${path} cannot be created: ${parent} is not a folder`, fix: `set ${setting} to another path` };
    }
    if (!(await probe.writable(parent))) {
      return {
        problem: `${path} does not exist and cannot be created: ${parent} is not writable`,
        fix: `create it as root: mkdir -p -m 700 ${path}`,
      };
    }
    return { exists: false };
  }
  if (st.kind !== 'dir') return { problem: `${path} is not a folder`, fix: `remove it, or set ${setting} to a folder` };
  if (st.uid !== 0) return { problem: `${path} is owned by uid ${st.uid}, not root`, fix: `chown root:root ${path}` };
  if ((st.mode & 0o022) !== 0) {
    return {
      problem: `${path} is writable by ${writers(st.mode)} (mode ${octal(st.mode)}): they could change what the worker runs`,
      fix: `chmod go-w ${path} (the worker creates it with mode 700)`,
    };
  }
  if (!(await probe.writable(path))) {
    return {
      problem: `${path} is not writable (a read-only file system?)`,
      fix: `make it writable, or set ${setting} to a writable folder`,
    };
  }
  return { exists: true };
}

async function checkStateHidden(probe: HostProbe, config: HostConfig): Promise<CheckResult> {
  const name = 'state hidden';
  try {
    await probe.checkStateHidden(config);
    return ok(name, 'no folder a cell can see (allowed mounts and rootfs, the default rootfs) holds a state folder');
  } catch (err) {
    return fail(
      name,
      firstLine(err),
      'keep CELLOS_ALLOWED_MOUNTS, CELLOS_ALLOWED_ROOTFS and CELLOS_DEFAULT_ROOTFS apart from the state, bundle and image cache folders',
    );
  }
}

/** The deepest existing folder on the way to `path` (`/` at worst) and what it is. */
async function nearestExisting(probe: HostProbe, path: string): Promise<[string, FileInfo]> {
  for (let p = parentOf(path); ; p = parentOf(p)) {
    const st = await probe.stat(p);
    if (st !== undefined) return [p, st];
    if (p === '/') return [p, { kind: 'dir', uid: 0, mode: 0o755 }];
  }
}

function parentOf(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  const i = trimmed.lastIndexOf('/');
  return i <= 0 ? '/' : trimmed.slice(0, i);
}

function writers(mode: number): string {
  const group = (mode & 0o020) !== 0;
  const others = (mode & 0o002) !== 0;
  return group && others ? 'its group and everyone' : group ? 'its group' : 'everyone';
}

function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;
}
