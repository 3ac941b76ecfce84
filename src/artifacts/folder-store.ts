// The host's own artifact store: a folder, content-addressed by sha256.
//   <dir>/sha256/<2 hex>/<sha256>                the bytes, once per content
//   <dir>/index/<sha256>/<expiresAtMs>-<uuid>.json one small record per artifact stored
//   <dir>/tmp/                                    copies and records being written
// A blob appears under its hash only by a rename of a complete, fsynced, verified copy, so a crash
// never leaves a partial blob there; a record is written before its blob, so a blob always has one.
// A blob lives while any of its records has not expired: identical content stored by a later cell
// keeps it longer. The reconciler calls sweep(); a put that would pass the quota sweeps first.
// One process (the host's worker) uses a folder at a time: puts and sweeps are serialised in it.
import { createHash, randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ArtifactNotStored, ArtifactOnAnotherHost, ArtifactQuotaExceeded } from './errors.ts';
import { parseArtifactLocation } from './location.ts';
import type { ArtifactPut, ArtifactStore } from './store.ts';

export interface FolderStoreOptions {
  readonly dir: string;
  /** This host's id: it is part of every location, and a location of another host is refused. */
  readonly hostId: string;
  readonly retentionSeconds: number;
  readonly quotaBytes: number;
  /** The clock, in milliseconds since the epoch (tests inject one). */
  readonly now?: (() => number) | undefined;
}

/** The index record of one artifact stored. */
export interface StoredArtifact extends Omit<ArtifactPut, 'file'> {
  readonly storedAtMs: number;
  readonly expiresAtMs: number;
}

export interface SweepResult {
  /** Records of artifacts past their retention, removed (unreadable ones as far as known). */
  readonly expired: readonly Partial<StoredArtifact>[];
  /** Blobs removed: no artifact still kept has their content. */
  readonly blobs: readonly { readonly location: string; readonly bytes: number }[];
  /** Files of puts that never finished (a crash mid-copy). */
  readonly temps: number;
  readonly bytesFreed: number;
}

export interface FolderStore extends ArtifactStore {
  readonly kind: 'folder';
  /** Removes expired records, the blobs no record keeps, and temp leftovers; answers what it removed. */
  sweep(nowMs?: number): Promise<SweepResult>;
  /** Bytes the blobs hold. */
  usedBytes(): Promise<number>;
}

const SHA256 = /^[0-9a-f]{64}$/;
const RECORD = /^(\d+)-[0-9a-f-]{36}\.json$/;
const CHUNK = 1024 * 1024;
const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

export function createFolderStore(opts: FolderStoreOptions): FolderStore {
  const { dir, hostId, retentionSeconds, quotaBytes, now = Date.now } = opts;
  if (typeof dir !== 'string' || dir === '')
    throw new TypeError(`dir must be a folder path, got ${JSON.stringify(dir)}`);
  if (typeof hostId !== 'string' || hostId === '' || /\s/.test(hostId)) {
    throw new TypeError(`hostId must be a non-empty id without spaces, got ${JSON.stringify(hostId)}`);
  }
  for (const [option, value] of [
    ['retentionSeconds', retentionSeconds],
    ['quotaBytes', quotaBytes],
  ] as const) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new TypeError(`${option} must be a positive whole number, got ${JSON.stringify(value)}`);
    }
  }
  return new Folder(dir, hostId, retentionSeconds * 1000, quotaBytes, now);
}

class Folder implements FolderStore {
  readonly kind = 'folder' as const;
  readonly #dir: string;
  readonly #hostId: string;
  readonly #retentionMs: number;
  readonly #quotaBytes: number;
  readonly #now: () => number;
  /** Bytes of the blobs, counted once from the folder, then kept up to date; undefined until then. */
  #used: number | undefined;
  /** Bytes of puts copying now, not yet in `#used`. */
  #reserved = 0;
  /** Temp files of puts under way: a sweep leaves them alone. */
  readonly #inFlight = new Set<string>();
  #queue: Promise<unknown> = Promise.resolve();
  #made: Promise<unknown> | undefined;

  constructor(dir: string, hostId: string, retentionMs: number, quotaBytes: number, now: () => number) {
    this.#dir = dir;
    this.#hostId = hostId;
    this.#retentionMs = retentionMs;
    this.#quotaBytes = quotaBytes;
    this.#now = now;
  }

  async put(artifact: ArtifactPut): Promise<string> {
    const { sha256, bytes } = artifact;
    if (!SHA256.test(sha256)) {
      throw new TypeError(`sha256 must be 64 lowercase hex digits, got ${JSON.stringify(sha256)}`);
    }
    if (!Number.isSafeInteger(bytes) || bytes < 0) {
      throw new TypeError(`bytes must be a whole number >= 0, got ${JSON.stringify(bytes)}`);
    }
    await this.#ready();
    const storedAtMs = this.#now();
    const record: StoredArtifact = {
      cellId: artifact.cellId,
      runId: artifact.runId,
      name: artifact.name,
      kind: artifact.kind,
      bytes,
      sha256,
      storedAtMs,
      expiresAtMs: storedAtMs + this.#retentionMs,
    };
    // Content already kept: one more record keeps it longer; nothing is copied.
    const fresh = await this.#locked(async () => {
      if ((await this.#blobSize(sha256)) !== undefined) {
        await this.#writeRecord(record);
        return false;
      }
      await this.#reserve(bytes);
      return true;
    });
    if (fresh) {
      const tmp = join(this.#dir, 'tmp', randomUUID());
      this.#inFlight.add(tmp);
      try {
        await copyVerified(artifact, tmp);
        await this.#locked(async () => {
          await this.#writeRecord(record);
          // The same content may have come in from another put meanwhile.
          if ((await this.#blobSize(sha256)) !== undefined) return unlink(tmp);
          await mkdir(join(this.#dir, 'sha256', sha256.slice(0, 2)), { recursive: true, mode: 0o700 });
          await rename(tmp, this.#blobPath(sha256));
          this.#used = (this.#used ?? 0) + bytes;
        });
      } finally {
        this.#reserved -= bytes;
        this.#inFlight.delete(tmp);
        await unlink(tmp).catch(() => undefined);
      }
    }
    return this.#locationOf(sha256);
  }

  async read(location: string, offset: number, length: number): Promise<Uint8Array> {
    for (const [name, value] of [
      ['offset', offset],
      ['length', length],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < 0) {
        throw new RangeError(`${name} must be a whole number >= 0, got ${JSON.stringify(value)}`);
      }
    }
    const sha256 = this.#parse(location);
    if (!(await this.#kept(sha256))) throw new ArtifactNotStored(location);
    let fh;
    try {
      fh = await open(this.#blobPath(sha256), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ArtifactNotStored(location);
      throw err;
    }
    try {
      const { size } = await fh.stat();
      const buf = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
      let got = 0;
      while (got < buf.length) {
        const { bytesRead } = await fh.read(buf, got, buf.length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return buf.subarray(0, got);
    } finally {
      await fh.close();
    }
  }

  async size(location: string): Promise<number | undefined> {
    const sha256 = this.#parse(location);
    if (!(await this.#kept(sha256))) return undefined;
    return this.#blobSize(sha256);
  }

  async sweep(nowMs: number = this.#now()): Promise<SweepResult> {
    await this.#ready();
    return this.#locked(() => this.#sweepNow(nowMs));
  }

  async usedBytes(): Promise<number> {
    await this.#ready();
    return this.#locked(() => this.#countUsed());
  }

  /** Runs `fn` after every earlier locked call has settled. */
  #locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #ready(): Promise<unknown> {
    this.#made ??= Promise.all(
      ['sha256', 'index', 'tmp'].map((sub) => mkdir(join(this.#dir, sub), { recursive: true, mode: 0o700 })),
    ).catch((err: unknown) => {
      this.#made = undefined;
      throw err;
    });
    return this.#made;
  }

  #locationOf(sha256: string): string {
    return `folder:${this.#hostId}:${sha256}`;
  }

  #parse(location: string): string {
    const where = parseArtifactLocation(location);
    if (where?.kind !== 'folder') {
      throw new TypeError(`${JSON.stringify(location)} is not a folder store location (folder:<host id>:<sha256>)`);
    }
    if (where.hostId !== this.#hostId) throw new ArtifactOnAnotherHost(location, where.hostId, this.#hostId);
    return where.sha256;
  }

  #blobPath(sha256: string): string {
    return join(this.#dir, 'sha256', sha256.slice(0, 2), sha256);
  }

  async #blobSize(sha256: string): Promise<number | undefined> {
    return stat(this.#blobPath(sha256)).then(
      (s) => s.size,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      },
    );
  }

  /** Whether a record of this content has not expired (a sweep may not have come by yet). */
  async #kept(sha256: string): Promise<boolean> {
    const nowMs = this.#now();
    return (await this.#records(sha256)).some((r) => r.expiresAtMs > nowMs);
  }

  /** The record files of a content, with the expiry their names carry. */
  async #records(sha256: string): Promise<{ file: string; expiresAtMs: number }[]> {
    const names = await readdir(join(this.#dir, 'index', sha256)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw err;
    });
    return names.flatMap((file) => {
      const m = RECORD.exec(file);
      return m ? [{ file, expiresAtMs: Number(m[1]) }] : [];
    });
  }

  async #writeRecord(record: StoredArtifact): Promise<void> {
    const folder = join(this.#dir, 'index', record.sha256);
    await mkdir(folder, { recursive: true, mode: 0o700 });
    const tmp = join(this.#dir, 'tmp', `${randomUUID()}.json`);
    this.#inFlight.add(tmp);
    try {
      await writeFile(tmp, `${JSON.stringify(record)}\n`, { mode: 0o600 });
      await rename(tmp, join(folder, `${record.expiresAtMs}-${randomUUID()}.json`));
    } finally {
      this.#inFlight.delete(tmp);
    }
  }

  async #countUsed(): Promise<number> {
    if (this.#used !== undefined) return this.#used;
    let used = 0;
    for (const { path } of await this.#blobs()) used += (await stat(path)).size;
    this.#used = used;
    return used;
  }

  /** Every blob in the folder (files of another shape are left alone). */
  async #blobs(): Promise<{ sha256: string; path: string }[]> {
    const found: { sha256: string; path: string }[] = [];
    const root = join(this.#dir, 'sha256');
    for (const prefix of await readdir(root)) {
      if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
      for (const name of await readdir(join(root, prefix)).catch(() => [])) {
        if (SHA256.test(name) && name.startsWith(prefix)) found.push({ sha256: name, path: join(root, prefix, name) });
      }
    }
    return found;
  }

  async #reserve(bytes: number): Promise<void> {
    const fits = async () => (await this.#countUsed()) + this.#reserved + bytes <= this.#quotaBytes;
    if (!(await fits())) {
      await this.#sweepNow(this.#now());
      if (!(await fits())) {
        throw new ArtifactQuotaExceeded(this.#quotaBytes, (await this.#countUsed()) + this.#reserved, bytes);
      }
    }
    this.#reserved += bytes;
  }

  async #sweepNow(nowMs: number): Promise<SweepResult> {
    await this.#countUsed();
    const expired: Partial<StoredArtifact>[] = [];
    const blobs: { location: string; bytes: number }[] = [];
    let temps = 0;
    const tmpDir = join(this.#dir, 'tmp');
    for (const name of await readdir(tmpDir)) {
      if (this.#inFlight.has(join(tmpDir, name))) continue;
      await rm(join(tmpDir, name), { force: true, recursive: true });
      temps++;
    }
    const indexDir = join(this.#dir, 'index');
    const kept = new Set<string>();
    for (const sha256 of await readdir(indexDir)) {
      if (!SHA256.test(sha256)) continue;
      let live = 0;
      for (const { file, expiresAtMs } of await this.#records(sha256)) {
        if (expiresAtMs > nowMs) {
          live++;
          continue;
        }
        const path = join(indexDir, sha256, file);
        expired.push(await readRecord(path));
        await unlink(path);
      }
      // A record whose blob never came (a crash between the two) keeps nothing: it goes.
      if (live > 0 && (await this.#blobSize(sha256)) !== undefined) kept.add(sha256);
      else await rm(join(indexDir, sha256), { recursive: true, force: true });
    }
    for (const { sha256, path } of await this.#blobs()) {
      if (kept.has(sha256)) continue;
      const { size } = await stat(path);
      await unlink(path);
      this.#used = (this.#used ?? size) - size;
      blobs.push({ location: this.#locationOf(sha256), bytes: size });
    }
    return { expired, blobs, temps, bytesFreed: blobs.reduce((sum, b) => sum + b.bytes, 0) };
  }
}

async function readRecord(path: string): Promise<Partial<StoredArtifact>> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as StoredArtifact;
  } catch {
    return {};
  }
}

/**
 * Copies the collector's file to `tmp`, hashing as it goes: a store keyed by hash must never keep
 * bytes under a hash they do not have (every later put of that hash would share them). The copy is
 * fsynced before it is renamed into place.
 */
async function copyVerified(artifact: ArtifactPut, tmp: string): Promise<void> {
  const src = await open(artifact.file, 'r');
  try {
    const dst = await open(tmp, CREATE_NEW, 0o600);
    try {
      const hash = createHash('sha256');
      let bytes = 0;
      for (;;) {
        // Never more than one byte past what the put says.
        const buf = new Uint8Array(Math.min(CHUNK, artifact.bytes - bytes + 1));
        const { bytesRead } = await src.read(buf, 0, buf.length, bytes);
        if (bytesRead === 0) break;
        bytes += bytesRead;
        if (bytes > artifact.bytes) break;
        const chunk = buf.subarray(0, bytesRead);
        hash.update(chunk);
        for (let done = 0; done < chunk.length;) {
          done += (await dst.write(chunk, done, chunk.length - done)).bytesWritten;
        }
      }
      const sha256 = hash.digest('hex');
      if (bytes !== artifact.bytes || sha256 !== artifact.sha256) {
        throw new Error(
          `artifact file ${artifact.file} does not hold what it was put with ` +
            `(${artifact.bytes} bytes, sha256 ${artifact.sha256}): ` +
            (bytes > artifact.bytes ? 'it is longer' : `${bytes} bytes, sha256 ${sha256}`),
        );
      }
      await dst.sync();
    } finally {
      await dst.close();
    }
  } finally {
    await src.close();
  }
}
