// Whether a host is draining: it takes no new cells, and lets the ones it runs finish. Kept in the
// host's state folder, so a drained host stays drained across worker restarts until undrained.
import { readFile, rm, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';

export interface DrainState {
  readonly since: string;
  readonly reason: string;
}

export interface HostDrain {
  /** The drain in force, or undefined. */
  current(): DrainState | undefined;
  /** Starts draining (keeps the first reason), or with `undefined`, stops. */
  set(reason: string | undefined): Promise<DrainState | undefined>;
  /** Called when draining starts or stops. */
  onChange(listener: (state: DrainState | undefined) => void): () => void;
}

const FILE = 'draining.json';

export async function loadHostDrain(stateDir: string): Promise<HostDrain> {
  const path = join(stateDir, FILE);
  let state = await readState(path);
  const listeners = new Set<(s: DrainState | undefined) => void>();
  return {
    current: () => state,
    async set(reason) {
      const before = state;
      if (reason === undefined) {
        await rm(path, { force: true });
        state = undefined;
      } else if (!state) {
        const next = { since: new Date().toISOString(), reason };
        await writeFile(`${path}.tmp`, `${JSON.stringify(next)}\n`, { mode: 0o600 });
        await rename(`${path}.tmp`, path);
        state = next;
      }
      if (before !== state) for (const l of listeners) l(state);
      return state;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

async function readState(path: string): Promise<DrainState | undefined> {
  try {
    const v = JSON.parse(await readFile(path, 'utf8')) as Partial<DrainState>;
    return { since: String(v.since ?? ''), reason: String(v.reason ?? 'drained') };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    // Unreadable: draining is the safe reading of a file that says so.
    return { since: '', reason: 'drained (unreadable draining.json)' };
  }
}
