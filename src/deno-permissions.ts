// Deno's permissions as cellos meets them. Deno refuses what its flags do not allow with a
// Deno.errors.NotCapable ("Requires net access to "host:port", run again with the --allow-net flag");
// Node has no such error, and there nothing here ever throws. The permission sets themselves are
// deno.json's tasks; docs/deno.md says why each entry is there.
import { stat } from 'node:fs/promises';

interface DenoErrors {
  readonly Deno?: { readonly errors?: { readonly NotCapable?: abstract new (...args: never[]) => Error } };
}

/** The permission error Deno raised in `err` or one of its causes, if any. */
export function deniedPermission(err: unknown): Error | undefined {
  const NotCapable = (globalThis as DenoErrors).Deno?.errors?.NotCapable;
  if (NotCapable === undefined) return undefined;
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 8; depth++) {
    if (e instanceof NotCapable) return e;
    e = (e as Error).cause;
  }
  return undefined;
}

/**
 * A command cannot run with the permissions Deno was given: the message says which one is missing,
 * why it is needed and the flag that grants it. The CLI exits 1 with it.
 */
export class DenoPermissionError extends Error {
  override readonly name = 'DenoPermissionError';
}

/**
 * A cell host reads /proc (its cells' supervisors, its mounts, its network namespace) and
 * /sys/fs/cgroup (its cells' memory limits and OOM counts). Deno lets a process touch either only
 * when it was started with --allow-all, whatever --allow-read and --allow-write say. Without it every
 * such read fails, which the host would take for "no supervisor" and "no cgroups", and run cells
 * without their memory limit; so it does not start. Checked first by the commands that run cells on
 * this host (worker, dev, exec, doctor, run without TEMPORAL_ADDRESS), before a narrower refusal (the whole
 * environment, say) hides the one that matters.
 */
export async function requireHostPermissions(): Promise<void> {
  for (const path of ['/proc/self/stat', '/sys/fs/cgroup']) {
    try {
      await stat(path);
    } catch (err) {
      const denied = deniedPermission(err);
      if (denied === undefined) continue; // absent (no cgroup file system): detectCgroupMode deals with it
      throw new DenoPermissionError(
        `Deno lets this process read ${path} only with --allow-all (-A), and running cells on this host needs /proc and /sys/fs/cgroup (their supervisors, their memory limits): start it with -A (as \`deno task worker\` does; docs/deno.md)`,
        { cause: denied },
      );
    }
  }
}
