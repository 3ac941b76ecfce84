// Temp folders and tar reading for the artifact tests.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extract, type Header } from 'tar-stream';
import { afterAll, beforeAll } from 'vitest';

/** A temp folder for the file's tests, removed after them; `fresh()` gives a new folder inside it. */
export function useTempDir(prefix: string): { readonly dir: string; fresh(name?: string): Promise<string> } {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  return {
    get dir() {
      return dir;
    },
    fresh: (name = 'd-') => mkdtemp(join(dir, name)),
  };
}

export const sha256Of = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

export interface TarEntry {
  readonly header: Header;
  readonly body: string;
}

/** The entries of a tar file, in order, with their bodies as UTF-8. */
export async function readTar(file: string): Promise<TarEntry[]> {
  return readTarBytes(await readFile(file));
}

/** The entries of a tar held in memory. */
export async function readTarBytes(bytes: Uint8Array): Promise<TarEntry[]> {
  const ex = extract();
  ex.end(bytes);
  const entries: TarEntry[] = [];
  for await (const entry of ex) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    entries.push({ header: entry.header, body: Buffer.concat(chunks).toString('utf8') });
  }
  return entries;
}
