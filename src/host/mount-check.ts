// A cell's host mounts (spec.run.mounts), checked twice. In prepare: each source is resolved with
// realpath, opened, and checked on its descriptor (the folder's own path under the allowlist, a
// folder or a regular file); the bundle then names the resolved path, never the document's. At
// launch: runsc runs mount-check.sh as a prestart hook, which compares the device and inode of what
// runsc's gofer mounted with those checked here, so a folder swapped for a symlink in between is
// refused before the workload starts.
import { constants } from 'node:fs';
import { open, readFile, readlink, realpath } from 'node:fs/promises';
import { isAllowedHostPath } from '../bundle/config.ts';
import { BundleConfigError } from '../bundle/errors.ts';
import type { OciHook } from '../bundle/oci.ts';
import type { CellDocument } from '../document/schema.ts';
import { sourceAsset } from '../source-asset.ts';

export interface CheckedMount {
  readonly destination: string;
  /** The source's realpath: what the bundle names. */
  readonly source: string;
  /** `<st_dev>:<st_ino>` of the folder or file checked, as `stat -c %d:%i` prints it. */
  readonly identity: string;
}

/** The PATH of the hook: runsc runs it with exactly the environment the config gives. */
const HOOK_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Seconds runsc gives the hook (it waits up to 5 s for the gofer's mounts). */
const HOOK_TIMEOUT_SECONDS = 15;

/** Reads mount-check.sh now, so that a missing program fails the host's creation, not a cell. */
export async function readMountCheckScript(): Promise<string> {
  const url = sourceAsset(import.meta.url, 'mount-check.sh');
  return readFile(url, 'utf8').catch((err: Error) => {
    throw new Error(`cannot read the mount check program ${url.pathname}: ${err.message}`, { cause: err });
  });
}

/**
 * The allowlist as written plus each prefix's own realpath: an operator may allow /data where /data
 * is a symlink, and what a source resolves to is compared with what the prefix resolves to.
 */
export async function realAllowlist(allowed: readonly string[]): Promise<string[]> {
  const real = await Promise.all(allowed.map((p) => realpath(p).catch(() => p)));
  return [...new Set([...allowed, ...real])];
}

/**
 * Resolves and checks each host mount of the document against `allowed` (see realAllowlist). The refusal does not say whether a path
 * outside the allowlist exists: "does not exist" and "leads outside" read the same.
 */
export async function checkMountSources(doc: CellDocument, allowed: readonly string[]): Promise<CheckedMount[]> {
  const checked: CheckedMount[] = [];
  for (const [i, m] of doc.spec.run.mounts.entries()) {
    const refuse = (why: string) =>
      new BundleConfigError('MountNotAllowed', `cell ${doc.spec.id}: spec.run.mounts[${i}].source ${m.source} ${why}`);
    const outside = () =>
      refuse(
        'does not exist on this host or leads (through a symlink) outside the host paths this worker allows; name a folder under an allowed path',
      );
    // The document's own path first: nothing outside the allowlist is looked at, not even resolved.
    if (!isAllowedHostPath(m.source, allowed)) {
      throw refuse(`is not under a host path this worker allows (allowed: ${allowed.join(', ') || 'none'})`);
    }
    const real = await realpath(m.source).catch(() => undefined);
    if (real === undefined || !isAllowedHostPath(real, allowed)) throw outside();
    // O_NONBLOCK: a FIFO put there must not block this process; O_NOFOLLOW: nor a symlink swapped in.
    const fh = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => {
      throw outside();
    });
    try {
      const st = await fh.stat({ bigint: true });
      if (!st.isDirectory() && !st.isFile()) throw refuse('is neither a folder nor a regular file');
      // Where the object opened is now: the descriptor, not the path, decides.
      const at = await readlink(`/proc/self/fd/${fh.fd}`).catch(() => undefined);
      if (at !== real || !isAllowedHostPath(at, allowed)) throw outside();
      checked.push({ destination: m.destination, source: real, identity: `${st.dev}:${st.ino}` });
    } finally {
      await fh.close();
    }
  }
  return checked;
}

/** The prestart hook that checks, at launch, that runsc mounted exactly the folders checked. */
export function mountCheckHook(script: string, bundleDir: string, mounts: readonly CheckedMount[]): OciHook {
  return {
    path: '/bin/sh',
    args: [
      'sh',
      '-c',
      script,
      'cellos-mount-check',
      bundleDir,
      ...mounts.flatMap((m) => [m.destination, mountinfoForm(m.destination), m.identity]),
    ],
    env: [HOOK_PATH],
    timeout: HOOK_TIMEOUT_SECONDS,
  };
}

/** A path as /proc/<pid>/mountinfo writes it: space, tab, newline and backslash as \ooo. */
export function mountinfoForm(path: string): string {
  return path.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}
