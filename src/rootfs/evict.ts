// Keeping the image cache under its quota: least recently used entries go first, and an entry is
// never evicted while it may be in use. "In use" is, in order:
//   - handed out or being built by a resolve of this process right now (pinned, see cache.ts);
//   - named as the rootfs of a bundle that still exists (`rootfsInUse`, from the host's bundle
//     folder: a bundle lives from prepare to remove, so this covers every cell that may still run,
//     across worker restarts too, since sandboxes outlive the worker);
//   - used within the last `minIdleMs` (default 10 minutes): covers the moment between a resolve
//     and the bundle that names its result, and any user that the two checks above cannot see.
// The quota is a target, not a wall: entries in use are kept even when the cache is over it.
import { readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cachedRootfsPath, diskUsage, exclusive, heldHere, MARKER, RECORD, TEMP_PREFIX } from './cache.ts';

export const DEFAULT_MIN_IDLE_MS = 10 * 60 * 1000;
const ENTRY = /^[a-f0-9]{64}$/;

export interface EvictOptions {
  /** The most the cache should hold, in bytes of disk. */
  maxBytes: number;
  /** Entries used more recently than this are kept. */
  minIdleMs: number;
  /** Rootfs paths that cells use (their bundles' root.path). */
  rootfsInUse?: (() => Promise<Iterable<string>>) | undefined;
  /** Time source, for tests. */
  now?: () => number;
}

interface Entry {
  hex: string;
  bytes: number;
  lastUsedMs: number;
}

/** Evicts least recently used entries not in use until the cache is under `maxBytes`; returns the evicted keys. */
export async function evictToQuota(cacheDir: string, options: EvictOptions): Promise<string[]> {
  const now = options.now ?? Date.now;
  const entries = await listEntries(cacheDir);
  let total = entries.reduce((sum, e) => sum + e.bytes, 0);
  if (total <= options.maxBytes) return [];
  const inUse = new Set(options.rootfsInUse === undefined ? [] : await options.rootfsInUse());
  const evicted: string[] = [];
  for (const e of entries.sort((a, b) => a.lastUsedMs - b.lastUsedMs)) {
    if (total <= options.maxBytes) break;
    if (inUse.has(cachedRootfsPath(cacheDir, e.hex))) continue;
    const gone = await exclusive(async () => {
      // Checked again inside the lock: a lookup may have used it since the listing.
      if (heldHere(cacheDir, e.hex) || now() - (await lastUsedMs(join(cacheDir, e.hex))) < options.minIdleMs) {
        return undefined;
      }
      const away = join(cacheDir, `${TEMP_PREFIX}${process.pid}-evict-${e.hex.slice(0, 12)}-${now()}`);
      await rename(join(cacheDir, e.hex), away);
      return away;
    });
    if (gone === undefined) continue;
    await rm(gone, { recursive: true, force: true });
    total -= e.bytes;
    evicted.push(e.hex);
  }
  return evicted;
}

async function listEntries(cacheDir: string): Promise<Entry[]> {
  const names = await readdir(cacheDir).catch(() => [] as string[]);
  const entries: Entry[] = [];
  for (const hex of names.filter((n) => ENTRY.test(n))) {
    const dir = join(cacheDir, hex);
    const record = await readFile(join(dir, RECORD), 'utf8')
      .then((text) => JSON.parse(text) as Record<string, unknown>)
      .catch(() => ({}) as Record<string, unknown>);
    const recorded = record.bytes;
    const lastUsed = await lastUsedMs(dir);
    // Entries made before sizes were recorded are measured, once: the size is written back (and
    // the time of last use kept in a marker, since the record's own mtime changes).
    let bytes = typeof recorded === 'number' && Number.isFinite(recorded) ? recorded : undefined;
    if (bytes === undefined) {
      bytes = await diskUsage(join(dir, 'rootfs')).catch(() => 0);
      await keepLastUse(dir, lastUsed);
      await writeFile(join(dir, RECORD), `${JSON.stringify({ digest: `sha256:${hex}`, ...record, bytes })}\n`).catch(
        () => undefined,
      );
    }
    entries.push({ hex, bytes, lastUsedMs: lastUsed });
  }
  return entries;
}

async function keepLastUse(dir: string, ms: number): Promise<void> {
  const marker = join(dir, MARKER);
  const at = new Date(ms);
  await writeFile(marker, '', { flag: 'a' })
    .then(() => utimes(marker, at, at))
    .catch(() => undefined);
}

/** When an entry was last used: its marker's mtime (entries older than markers: their record's, else the folder's). */
async function lastUsedMs(dir: string): Promise<number> {
  for (const file of [MARKER, RECORD, '.']) {
    const st = await stat(join(dir, file)).catch(() => undefined);
    if (st !== undefined) return st.mtimeMs;
  }
  return 0;
}
