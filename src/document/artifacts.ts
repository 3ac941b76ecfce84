// Where an exported artifact lives: on a writable mount of the cell, since the rootfs and host
// mounts are read-only. That is, in this order: the deepest tmpfs the document declares
// (spec.run.tmpfs) that holds it; the /tmp every cell has; else a scratch folder the host creates
// for it at its parent folder (or at its own path when that is a top-level folder), shared by the
// artifacts under it, so that a CellOS document that writes /out/report.json runs as written. Each
// of these is backed by a host tmpfs instead of the sandbox's memory, so that the host can read the
// artifacts after the workload ends. Pure.
import { RESERVED_MOUNT_POINTS } from './reserved.ts';

/** Artifact names: they become file names (`cellos artifacts`) and object keys. */
export const ARTIFACT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Scratch folders a document may get without declaring a tmpfs (each MAX_IMPLICIT_SCRATCH_BYTES). */
export const MAX_IMPLICIT_SCRATCH = 4;

/** The size of a scratch folder the host makes for artifacts outside every declared tmpfs. */
export const IMPLICIT_SCRATCH_BYTES = 64 * 1024 * 1024;

/** The writable mount an artifact lies on, and its path inside it ('' for the mount itself). */
export interface ArtifactMount {
  readonly mountPath: string;
  /**
   * Which mount: a spec.run.tmpfs index, 'tmp' for the /tmp the bundle adds when the document
   * declares none, or `a<n>` for the scratch folder made for spec.export.artifacts[n].
   */
  readonly scratch: string;
  readonly relativePath: string;
}

export interface ArtifactMounts {
  /** By artifact index; undefined where `problems` says why. */
  readonly mounts: readonly (ArtifactMount | undefined)[];
  /** The scratch folders made for artifacts outside every declared mount: key and mount point. */
  readonly implicit: readonly { readonly scratch: string; readonly mountPath: string }[];
  readonly problems: readonly { readonly index: number; readonly message: string }[];
}

interface RunMounts {
  readonly tmpfs: readonly { readonly path: string }[];
  readonly mounts: readonly { readonly destination: string }[];
}

export function artifactMounts(run: RunMounts, artifacts: readonly { readonly path: string }[]): ArtifactMounts {
  const writable: { mountPath: string; scratch: string }[] = run.tmpfs.map((t, i) => ({
    mountPath: trimSlash(t.path),
    scratch: String(i),
  }));
  if (!writable.some((m) => m.mountPath === '/tmp')) writable.push({ mountPath: '/tmp', scratch: 'tmp' });
  const binds = run.mounts.map((m, i) => ({ path: trimSlash(m.destination), field: `spec.run.mounts[${i}]` }));
  const mounts: (ArtifactMount | undefined)[] = artifacts.map(() => undefined);
  const implicit: { scratch: string; mountPath: string }[] = [];
  const problems: { index: number; message: string }[] = [];
  // Shallow paths first: /out/a.json makes /out, which then holds /out/sub/b.json.
  const order = artifacts.map((a, i) => ({ path: trimSlash(a.path), i })).sort((x, y) => depth(x.path) - depth(y.path));
  for (const { path, i } of order) {
    const bind = binds.find((b) => within(path, b.path));
    if (bind) {
      problems.push({ index: i, message: `${path} lies on the read-only host mount ${bind.field}` });
      continue;
    }
    let on = deepest(writable, path);
    if (!on) {
      const parent = path.slice(0, path.lastIndexOf('/'));
      const mountPath = parent === '' ? path : parent;
      const refusal = implicitRefusal(mountPath, binds, run.tmpfs);
      if (refusal) {
        problems.push({ index: i, message: `${path} lies on no writable mount of the cell: ${refusal}` });
        continue;
      }
      if (implicit.length >= MAX_IMPLICIT_SCRATCH) {
        problems.push({
          index: i,
          message: `${path} would need a scratch folder at ${mountPath}, beyond the ${MAX_IMPLICIT_SCRATCH} a cell gets: declare a spec.run.tmpfs that holds these artifacts`,
        });
        continue;
      }
      on = { mountPath, scratch: `a${i}` };
      implicit.push(on);
      writable.push(on);
    }
    mounts[i] = { ...on, relativePath: path === on.mountPath ? '' : path.slice(on.mountPath.length + 1) };
  }
  return { mounts, implicit, problems: problems.sort((a, b) => a.index - b.index) };
}

/** Why no scratch folder can be made at `mountPath`; undefined when one can. */
function implicitRefusal(
  mountPath: string,
  binds: readonly { path: string; field: string }[],
  tmpfs: readonly { readonly path: string }[],
): string | undefined {
  if (mountPath === '/') return 'a scratch folder cannot replace the root: put it under /tmp or a folder';
  if (RESERVED_MOUNT_POINTS.some((r) => within(mountPath, r))) return `${mountPath} is the sandbox's own`;
  const inside = binds.find((b) => within(b.path, mountPath));
  if (inside) return `a scratch folder at ${mountPath} would hide the host mount ${inside.field}`;
  // Mounted after the document's tmpfs, it would hide one inside it (and the artifacts on it).
  const hidden = tmpfs.findIndex((t) => within(trimSlash(t.path), mountPath));
  if (hidden >= 0)
    return `a scratch folder at ${mountPath} would hide spec.run.tmpfs[${hidden}]: declare a tmpfs at ${mountPath} instead`;
  return undefined;
}

function deepest(mounts: readonly { mountPath: string; scratch: string }[], path: string) {
  let best: { mountPath: string; scratch: string } | undefined;
  for (const m of mounts)
    if (within(path, m.mountPath) && (!best || m.mountPath.length > best.mountPath.length)) best = m;
  return best;
}

/** Whether `path` is `dir` or lies inside it. */
function within(path: string, dir: string): boolean {
  return path === dir || dir === '/' || path.startsWith(`${dir}/`);
}

function depth(path: string): number {
  return path.split('/').length;
}

function trimSlash(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}
