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

/** What a warm sandbox's init runs from the host's default rootfs (busybox and Debian both have them). */
export const WARM_PROGRAMS: readonly string[] = ['/bin/sh', '/bin/hostname', WARM_INIT_ARGV[0]!];

/**
 * The init's program: read the cell's hostname from stdin (a fifo of the host's), set it, say so on
 * stdout (a file of the host's), then close all three and idle. No cell code runs before it has read
 * its one line, and none can reach it afterwards: it is root and cells in warm sandboxes are not.
 */
const WARM_INIT_SCRIPT =
  'if read -r name && /bin/hostname "$name"; then echo "named $name"; else echo unnamed; fi; exec "$@" < /dev/null > /dev/null 2>&1';

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
  // A warm sandbox's init is root: no cell that could signal or trace it shares its sandbox.
  if (config.process.user.uid === 0) return 'it runs as root (uid 0)';
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
 * The process a warm sandbox boots with (in place of the shape's): root with CAP_SYS_ADMIN only, so
 * that it can give the sandbox the hostname of the cell it gets (sethostname), then idle. The
 * sandbox-wide part (rlimits) stays the shape's.
 */
export function warmInitProcessOf(config: OciConfig): OciConfig['process'] {
  const caps = ['CAP_SYS_ADMIN'];
  return {
    terminal: false,
    user: { uid: 0, gid: 0, additionalGids: [] },
    args: ['/bin/sh', '-c', WARM_INIT_SCRIPT, 'cellos-warm-init', ...WARM_INIT_ARGV],
    env: ['PATH=/bin:/usr/bin'],
    cwd: '/',
    capabilities: { bounding: caps, effective: caps, inheritable: [], permitted: caps, ambient: [] },
    rlimits: config.process.rlimits,
    noNewPrivileges: true,
  };
}
