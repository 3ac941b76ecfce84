// The host's folder store on a real temp folder, with an injected clock.
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArtifactNotStored, ArtifactOnAnotherHost, ArtifactQuotaExceeded } from '../../src/artifacts/errors.ts';
import { createFolderStore, type FolderStoreOptions } from '../../src/artifacts/folder-store.ts';
import type { ArtifactPut } from '../../src/artifacts/store.ts';
import { sha256Of, useTempDir } from './helpers.ts';

const tmp = useTempDir('cellos-artifacts-store-');
const DAY_MS = 24 * 60 * 60 * 1000;
const T0 = Date.parse('2026-12-01T00:00:00Z');

/** A store on a fresh folder whose clock the test moves; `files` holds the collector's files. */
async function setup(opts: Partial<FolderStoreOptions> = {}) {
  const dir = await tmp.fresh('store-');
  const files = await tmp.fresh('files-');
  const clock = { now: T0 };
  const options = { dir, hostId: 'host-a', retentionSeconds: 86_400, quotaBytes: 1024, now: () => clock.now, ...opts };
  const store = createFolderStore(options);
  let n = 0;
  /** Writes `content` as a collected artifact and describes it as a put. */
  const artifact = async (content: string, cellId = 'cell-1'): Promise<ArtifactPut> => {
    const file = join(files, `f${n++}`);
    await writeFile(file, content);
    return {
      cellId,
      runId: 'run-1',
      name: 'report',
      kind: 'file',
      bytes: content.length,
      sha256: sha256Of(content),
      file,
    };
  };
  return { dir, store, clock, artifact, options };
}

const blobsIn = async (dir: string): Promise<string[]> => {
  const found: string[] = [];
  for (const prefix of await readdir(join(dir, 'sha256'))) {
    for (const name of await readdir(join(dir, 'sha256', prefix))) found.push(`${prefix}/${name}`);
  }
  return found.sort();
};

describe('createFolderStore', () => {
  it('stores a file under its sha256 and reads it back by range', async () => {
    const { dir, store, artifact } = await setup();
    const put = await artifact('hello, artifact');
    const location = await store.put(put);
    expect(location).toBe(`folder:host-a:${put.sha256}`);
    expect(await blobsIn(dir)).toEqual([`${put.sha256.slice(0, 2)}/${put.sha256}`]);
    expect(await store.size(location)).toBe(15);
    expect(new TextDecoder().decode(await store.read(location, 0, 5))).toBe('hello');
    expect(new TextDecoder().decode(await store.read(location, 7, 100))).toBe('artifact');
    expect(await store.read(location, 15, 10)).toHaveLength(0);
    expect(await store.read(location, 99, 10)).toHaveLength(0);
    await expect(store.read(location, -1, 10)).rejects.toThrow(RangeError);
    // Nothing is left half-written beside it.
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);
  });

  it('keeps identical content once, with one index record per artifact', async () => {
    const { dir, store, artifact } = await setup();
    const first = await store.put(await artifact('same bytes', 'cell-1'));
    const second = await store.put(await artifact('same bytes', 'cell-2'));
    expect(second).toBe(first);
    const sha = sha256Of('same bytes');
    expect(await blobsIn(dir)).toHaveLength(1);
    const records = await readdir(join(dir, 'index', sha));
    expect(records).toHaveLength(2);
    const cells = await Promise.all(
      records.map(
        async (r) => (JSON.parse(await readFile(join(dir, 'index', sha, r), 'utf8')) as { cellId: string }).cellId,
      ),
    );
    expect(cells.sort()).toEqual(['cell-1', 'cell-2']);
    expect(await store.usedBytes()).toBe(10);
  });

  it('stores content put twice at the same moment once, and counts it once', async () => {
    const { dir, store, artifact } = await setup();
    const puts = await Promise.all([artifact('racing'), artifact('racing')]);
    const locations = await Promise.all(puts.map((p) => store.put(p)));
    expect(new Set(locations).size).toBe(1);
    expect(await blobsIn(dir)).toHaveLength(1);
    expect(await readdir(join(dir, 'index', sha256Of('racing')))).toHaveLength(2);
    expect(await store.usedBytes()).toBe(6);
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);
  });

  it('refuses a file that does not hold the bytes it was put with, and stores nothing under the hash', async () => {
    const { dir, store, artifact } = await setup();
    const put = await artifact('original');
    await writeFile(put.file, 'tampered');
    await expect(store.put(put)).rejects.toThrow(/does not hold what it was put with/);
    await writeFile(put.file, 'original and more');
    await expect(store.put(put)).rejects.toThrow(/it is longer/);
    expect(await blobsIn(dir)).toEqual([]);
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);
    expect(await store.usedBytes()).toBe(0);
  });

  it('refuses a put past the quota, naming it, and takes it once expired artifacts are swept', async () => {
    const { dir, store, clock, artifact } = await setup({ quotaBytes: 10 });
    const old = await store.put(await artifact('123456'));
    const next = await artifact('abcdef');
    const err = await store.put(next).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ArtifactQuotaExceeded);
    expect((err as Error).message).toMatch(
      /quota of 10 bytes would be exceeded: 6 bytes kept or being stored, 6 more asked/,
    );
    expect(await blobsIn(dir)).toHaveLength(1);
    // Content already kept costs nothing more.
    await store.put(await artifact('123456', 'cell-2'));
    // A day later the first has expired: the put sweeps it and fits.
    clock.now = T0 + DAY_MS;
    const location = await store.put(next);
    expect(await store.size(location)).toBe(6);
    expect(await store.size(old)).toBeUndefined();
    expect(await blobsIn(dir)).toEqual([`${next.sha256.slice(0, 2)}/${next.sha256}`]);
  });

  it('counts what is stored again after a restart, and keeps to the quota', async () => {
    const { store, artifact, options } = await setup({ quotaBytes: 10 });
    await store.put(await artifact('1234567'));
    const restarted = createFolderStore(options);
    expect(await restarted.usedBytes()).toBe(7);
    await expect(restarted.put(await artifact('abcd'))).rejects.toThrow(ArtifactQuotaExceeded);
  });

  it('treats an artifact past its retention as gone, and sweep removes it and says what it removed', async () => {
    const { dir, store, clock, artifact } = await setup();
    const put = await artifact('short-lived');
    const location = await store.put(put);
    clock.now = T0 + DAY_MS - 1;
    expect(await store.size(location)).toBe(11);
    expect(await store.sweep()).toEqual({ expired: [], blobs: [], temps: 0, bytesFreed: 0 });

    clock.now = T0 + DAY_MS;
    expect(await store.size(location)).toBeUndefined();
    await expect(store.read(location, 0, 1)).rejects.toThrow(ArtifactNotStored);
    const swept = await store.sweep();
    expect(swept).toEqual({
      expired: [
        {
          cellId: 'cell-1',
          runId: 'run-1',
          name: 'report',
          kind: 'file',
          bytes: 11,
          sha256: put.sha256,
          storedAtMs: T0,
          expiresAtMs: T0 + DAY_MS,
        },
      ],
      blobs: [{ location, bytes: 11 }],
      temps: 0,
      bytesFreed: 11,
    });
    expect(await blobsIn(dir)).toEqual([]);
    expect(await readdir(join(dir, 'index'))).toEqual([]);
    expect(await store.usedBytes()).toBe(0);
  });

  it('keeps content as long as its latest artifact is kept', async () => {
    const { store, clock, artifact } = await setup();
    const location = await store.put(await artifact('shared', 'cell-1'));
    clock.now = T0 + DAY_MS / 2;
    await store.put(await artifact('shared', 'cell-2'));
    const first = await store.sweep(T0 + DAY_MS);
    expect(first.expired.map((r) => r.cellId)).toEqual(['cell-1']);
    expect(first.blobs).toEqual([]);
    clock.now = T0 + DAY_MS;
    expect(await store.size(location)).toBe(6);
    const second = await store.sweep(T0 + DAY_MS + DAY_MS / 2);
    expect(second.expired.map((r) => r.cellId)).toEqual(['cell-2']);
    expect(second.blobs).toEqual([{ location, bytes: 6 }]);
  });

  it('sweeps what a crash left: temp copies, a record without its blob, a blob without a record', async () => {
    const { dir, store, artifact } = await setup();
    const kept = await store.put(await artifact('kept'));
    await writeFile(join(dir, 'tmp', 'half-copied'), 'partial');
    const lost = 'f'.repeat(64);
    await mkdir(join(dir, 'index', lost));
    await writeFile(join(dir, 'index', lost, `${T0 + DAY_MS}-00000000-0000-4000-8000-000000000000.json`), '{}');
    const orphan = 'e'.repeat(64);
    await mkdir(join(dir, 'sha256', 'ee'));
    await writeFile(join(dir, 'sha256', 'ee', orphan), 'orphan');
    const swept = await store.sweep();
    expect(swept).toEqual({
      expired: [],
      blobs: [{ location: `folder:host-a:${orphan}`, bytes: 6 }],
      temps: 1,
      bytesFreed: 6,
    });
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);
    expect(await readdir(join(dir, 'index'))).toEqual([sha256Of('kept')]);
    expect(await store.size(kept)).toBe(4);
  });

  it('refuses a location of another host, saying which host holds it', async () => {
    const { store, artifact } = await setup();
    const { sha256 } = await artifact('elsewhere');
    const location = `folder:host-b:${sha256}`;
    const err = await store.read(location, 0, 10).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ArtifactOnAnotherHost);
    expect(err).toMatchObject({ hostId: 'host-b', location });
    expect((err as Error).message).toMatch(/held by host "host-b", not this one \("host-a"\)/);
    await expect(store.size(location)).rejects.toThrow(ArtifactOnAnotherHost);
    await expect(store.size(`s3://bucket/${sha256}`)).rejects.toThrow(/not a folder store location/);
  });

  it('answers undefined for content it never stored', async () => {
    const { store } = await setup();
    expect(await store.size(`folder:host-a:${'0'.repeat(64)}`)).toBeUndefined();
    await expect(store.read(`folder:host-a:${'0'.repeat(64)}`, 0, 1)).rejects.toThrow(ArtifactNotStored);
  });

  it('refuses options that are not positive whole numbers, naming them', async () => {
    const dir = await tmp.fresh();
    expect(() => createFolderStore({ dir, hostId: 'h', retentionSeconds: 60, quotaBytes: 0 })).toThrow(
      /quotaBytes must be a positive whole number, got 0/,
    );
    expect(() => createFolderStore({ dir, hostId: 'h', retentionSeconds: 1.5, quotaBytes: 1 })).toThrow(
      /retentionSeconds/,
    );
    expect(() => createFolderStore({ dir, hostId: '', retentionSeconds: 60, quotaBytes: 1 })).toThrow(/hostId/);
  });

  it('writes blobs and records only the worker can read', async () => {
    const { dir, store, artifact } = await setup();
    const put = await artifact('private');
    await store.put(put);
    expect((await stat(join(dir, 'sha256', put.sha256.slice(0, 2), put.sha256))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'sha256'))).mode & 0o777).toBe(0o700);
  });
});
