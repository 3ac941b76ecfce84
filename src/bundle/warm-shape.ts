// Which cells can run in a pre-booted ("warm") sandbox, and what is run in it. Pure.
//
// A warm sandbox is booted from the bundle of the host's shape document: the default rootfs,
// mounts and limits. A cell fits it when the bundle the same generator makes for the cell differs
// from the shape's only in what `runsc exec` sets per process (argv, env, cwd, user, rlimits) or
// what the host sets after boot (the hostname, the memory and pids limits of the cell's cgroups,
// its annotations). Everything else (rootfs, mounts, tmpfs sizes, cpu quota, hooks, namespaces)
// is fixed when the sandbox boots, so a cell that differs there runs cold.
import type { CellDocument } from '../document/schema.ts';
import type { OciConfig } from './oci.ts';

/** The warm sandbox's own process: it only keeps the sandbox up until a cell is exec'd into it. */
export const WARM_INIT_ARGV: readonly string[] = ['/bin/sleep', '2147483647'];

/** The program that gives a warm sandbox the cell's hostname (busybox and coreutils both have it). */
export const HOSTNAME_PROGRAM = '/bin/hostname';

/** The longest hostname Linux takes (HOST_NAME_MAX). */
const HOSTNAME_MAX = 64;

/**
 * The document a host boots its warm sandboxes from, before parsing (which fills in every default):
 * nothing but the idle init.
 */
export function warmShapeInput(id: string): unknown {
  return {
    apiVersion: 'cellos.io/v1',
    kind: 'ExecutionCell',
    spec: { id, authority: { secretRefs: [] }, lifetime: { ttlSeconds: 1 }, run: { argv: [...WARM_INIT_ARGV] } },
  };
}

/**
 * What a sandbox fixes at boot, as a string: two configs with the same key can host each other's
 * process. The per-process part, the hostname, the annotations, the cgroup path and the memory and
 * pids limits (which the host rewrites in the cell's cgroups) are left out.
 */
export function sandboxShapeKey(config: OciConfig): string {
  const { memory: _memory, pids: _pids, ...resources } = config.linux.resources;
  return JSON.stringify({
    // runsc exec ignores a process's rlimits (measured: the sandbox's own apply), so they are the shape's.
    rlimits: config.process.rlimits,
    root: config.root,
    mounts: config.mounts,
    hooks: config.hooks ?? null,
    linux: { ...config.linux, cgroupsPath: null, resources },
  });
}

/** Why a cell cannot run warm on a sandbox of `shapeKey`, or undefined when it can. */
export function warmMisfit(doc: CellDocument, config: OciConfig, shapeKey: string): string | undefined {
  const run = doc.spec.run;
  if (run.rootfs !== undefined) return 'it names its own rootfs';
  if (run.network !== 'none') return `its network is ${run.network}`;
  if (run.mounts.length > 0) return 'it mounts host folders';
  if (doc.spec.id.length > HOSTNAME_MAX) return `its id is longer than a hostname (${HOSTNAME_MAX})`;
  if (sandboxShapeKey(config) !== shapeKey) {
    return 'its sandbox differs from the warm shape (rlimits, tmpfs, cpu quota, or memory under the default /tmp and /dev sizes)';
  }
  return undefined;
}

/** The OCI process `runsc exec --process` runs for the cell: the bundle's own, unchanged. */
export function cellProcessOf(config: OciConfig): OciConfig['process'] {
  return config.process;
}

/**
 * The process that sets the cell's hostname in a warm sandbox before the cell runs: root with
 * CAP_SYS_ADMIN only, from the host's default rootfs, with an argv the host chose (a cell id is
 * letters, digits and `_.-`, starting with a letter or digit: never read as an option).
 */
export function hostnameProcessOf(config: OciConfig): OciConfig['process'] {
  const caps = ['CAP_SYS_ADMIN'];
  return {
    terminal: false,
    user: { uid: 0, gid: 0, additionalGids: [] },
    args: [HOSTNAME_PROGRAM, config.hostname],
    env: ['PATH=/bin:/usr/bin'],
    cwd: '/',
    capabilities: { bounding: caps, effective: caps, inheritable: [], permitted: caps, ambient: [] },
    rlimits: [],
    noNewPrivileges: true,
  };
}
