// An in-memory host for the doctor's host checks: files and folders with owners and modes, cgroup
// hierarchies whose new cgroups get their control files, and runsc answers a test chooses.
import type { CgroupMode } from '../../src/host/cgroups.ts';
import { normalizeHostConfig, type HostConfig, type HostConfigInput } from '../../src/host/config.ts';
import type { FileInfo, HostProbe } from '../../src/doctor/host-checks.ts';
import type { RunscPlatform } from '../../src/runsc/driver.ts';

interface Entry extends FileInfo {
  text?: string;
}

export interface FakeHostOptions {
  euid?: number;
  cgroupMode?: CgroupMode;
  runscVersion?: () => Promise<string>;
  detectPlatform?: RunscPlatform;
  bootSandbox?: (platform: RunscPlatform) => Promise<number>;
  resolveDefaultRootfs?: (path: string) => Promise<string>;
  checkStateHidden?: () => Promise<void>;
  inRootNetworkNamespace?: boolean;
}

export interface FakeHost extends HostProbe {
  readonly entries: Map<string, Entry>;
  /** What the checks did that changes the host: mkdir, rmdir and writes, in order. */
  readonly changes: string[];
  /** Paths that refuse to be written or to get new entries (a read-only mount). */
  readonly readOnly: Set<string>;
  readonly booted: RunscPlatform[];
  dir(path: string, mode?: number, uid?: number): void;
  file(path: string, text: string, kind?: FileInfo['kind']): void;
  remove(path: string): void;
}

export const HOST_INPUT: HostConfigInput = {
  hostId: 'h1',
  stateDir: '/var/lib/cellos',
  defaultRootfs: '/srv/rootfs',
  runscPath: '/usr/bin/runsc',
};

export function hostConfig(input: HostConfigInput = {}): HostConfig {
  return normalizeHostConfig({ ...HOST_INPUT, ...input });
}

const errno = (code: string, path: string) => Object.assign(new Error(`${code}: ${path}`), { code });

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** A healthy host: cgroup v1 with memory, cpu and pids; the state folders of HOST_INPUT; a rootfs. */
export function fakeHost(opts: FakeHostOptions = {}): FakeHost {
  const entries = new Map<string, Entry>();
  const changes: string[] = [];
  const readOnly = new Set<string>();
  const booted: RunscPlatform[] = [];
  const mode = opts.cgroupMode ?? 'v1';
  const isReadOnly = (path: string) => [...readOnly].some((p) => path === p || path.startsWith(`${p}/`));

  const host: FakeHost = {
    entries,
    changes,
    readOnly,
    booted,
    dir(path, m = 0o755, uid = 0) {
      entries.set(path, { kind: 'dir', uid, mode: m });
    },
    file(path, text, kind = 'file') {
      entries.set(path, { kind, uid: 0, mode: 0o644, text });
    },
    remove(path) {
      for (const p of [...entries.keys()]) if (p === path || p.startsWith(`${path}/`)) entries.delete(p);
    },
    euid: opts.euid ?? 0,
    async stat(path) {
      const e = entries.get(path);
      return e && { kind: e.kind, uid: e.uid, mode: e.mode };
    },
    async writable(path) {
      return entries.has(path) && !isReadOnly(path);
    },
    async readText(path) {
      return entries.get(path)?.text;
    },
    async writeText(path, text) {
      if (isReadOnly(path) || entries.get(parentOf(path))?.kind !== 'dir') throw errno('EACCES', path);
      changes.push(`write ${path} ${text}`);
      const e = entries.get(path);
      entries.set(path, { kind: 'file', uid: 0, mode: 0o644, ...e, text });
    },
    async mkdir(path) {
      if (entries.has(path)) throw errno('EEXIST', path);
      if (entries.get(parentOf(path))?.kind !== 'dir') throw errno('ENOENT', path);
      if (isReadOnly(parentOf(path))) throw errno('EROFS', path);
      changes.push(`mkdir ${path}`);
      host.dir(path);
      // A new cgroup comes with its control files.
      if (path.startsWith('/sys/fs/cgroup/memory/')) host.file(`${path}/memory.limit_in_bytes`, 'max');
      if (mode === 'v2' && parentOf(path) === '/sys/fs/cgroup') {
        const enabled = entries.get('/sys/fs/cgroup/cgroup.subtree_control')?.text ?? '';
        if (enabled.includes('memory')) host.file(`${path}/memory.max`, 'max');
      }
    },
    async rmdir(path) {
      if (entries.get(path)?.kind !== 'dir') throw errno('ENOENT', path);
      changes.push(`rmdir ${path}`);
      host.remove(path);
    },
    async cgroupMode() {
      return mode;
    },
    runscVersion: opts.runscVersion ?? (async () => 'runsc version 0.0~20221219.0'),
    async detectPlatform() {
      return opts.detectPlatform ?? 'ptrace';
    },
    async bootSandbox(_runsc, platform) {
      booted.push(platform);
      return opts.bootSandbox ? opts.bootSandbox(platform) : 150;
    },
    resolveDefaultRootfs:
      opts.resolveDefaultRootfs ??
      (async (path) => {
        if (entries.get(path)?.kind !== 'dir') throw new Error(`default rootfs: ${path} does not exist`);
        return path;
      }),
    checkStateHidden: opts.checkStateHidden ?? (async () => undefined),
    async inRootNetworkNamespace() {
      return opts.inRootNetworkNamespace ?? true;
    },
  };

  for (const d of ['/', '/sys', '/sys/fs', '/sys/fs/cgroup', '/var', '/var/lib', '/srv', '/dev', '/proc']) host.dir(d);
  if (mode === 'v1') for (const c of ['memory', 'cpu', 'pids']) host.dir(`/sys/fs/cgroup/${c}`);
  if (mode === 'v2') {
    host.file('/sys/fs/cgroup/cgroup.controllers', 'cpuset cpu io memory pids\n');
    host.file('/sys/fs/cgroup/cgroup.subtree_control', '');
  }
  for (const d of ['/var/lib/cellos', '/var/lib/cellos/runsc', '/var/lib/cellos/cells', '/var/lib/cellos/bundles']) {
    host.dir(d, 0o700);
  }
  host.dir('/srv/rootfs');
  host.file('/proc/sys/kernel/yama/ptrace_scope', '1\n');
  host.file('/dev/kvm', '', 'char-device');
  changes.length = 0;
  return host;
}
