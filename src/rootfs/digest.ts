// Content digests: parsing `sha256:<hex>` and hashing files on the host.
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { ImageProblem } from './errors.ts';
import { decompressor } from './compression.ts';
import { withFile, type FileSource } from './open-file.ts';
import type { ImageWork } from './work.ts';

const SHA256 = /^sha256:([a-f0-9]{64})$/;

/** The hex part of a sha256 digest; refuses other algorithms and anything that is not a digest. */
export function digestHex(digest: unknown, what: string): string {
  if (typeof digest !== 'string') throw new ImageProblem('NotAnImage', `${what} has no digest`);
  const m = SHA256.exec(digest);
  if (!m) {
    const reason =
      /^[a-z0-9]+([+._-][a-z0-9]+)*:/.test(digest) && !digest.startsWith('sha256:') ? 'Unsupported' : 'NotAnImage';
    // The digest is not quoted: it came from a host file that may be no image at all.
    throw new ImageProblem(reason, `${what} has a digest that is not sha256:<64 hex>, the only kind supported`);
  }
  return m[1]!;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Hashes a file (its decompressed content when `decompressed`), returning hex digest and byte count;
 * what it reads counts against the image's read limit.
 */
export async function hashFile(
  file: FileSource,
  work: ImageWork,
  decompressed = false,
): Promise<{ hex: string; size: number }> {
  return withFile(file, 'a layer', (fh) => hashOpen(fh, work, decompressed));
}

async function hashOpen(
  fh: FileHandle,
  work: ImageWork,
  decompressed: boolean,
): Promise<{ hex: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done();
    },
  });
  const stages = decompressed ? await decompressor(fh) : [];
  await pipeline([fh.createReadStream({ start: 0, autoClose: false }), ...stages, work.meter(), sink], {
    signal: work.signal,
  });
  return { hex: hash.digest('hex'), size };
}

/** Refuses bytes that do not hash to the digest (and size) that names them. */
export function checkDigest(
  got: { hex: string; size: number },
  expect: { hex: string; size?: number | undefined },
  what: string,
): void {
  if (got.hex !== expect.hex) {
    throw new ImageProblem(
      'DigestMismatch',
      `digest mismatch for ${what}: expected sha256:${expect.hex}, content hashes to sha256:${got.hex}`,
    );
  }
  if (expect.size !== undefined && got.size !== expect.size) {
    throw new ImageProblem(
      'DigestMismatch',
      `size mismatch for ${what}: expected ${expect.size} bytes, found ${got.size}`,
    );
  }
}

/** Refuses a blob file whose bytes (or decompressed tar) do not hash to the digest that names it. */
export async function verifyFile(
  path: FileSource,
  expect: { hex: string; size?: number | undefined; decompressed?: boolean },
  what: string,
  work: ImageWork,
): Promise<void> {
  const got = await hashFile(path, work, expect.decompressed ?? false).catch((err: unknown) => {
    work.checkAborted();
    if (err instanceof ImageProblem || (err as NodeJS.ErrnoException).syscall !== undefined) throw err;
    // zlib's own errors: the bytes are not what their name says (zlib's messages quote no content).
    throw new ImageProblem('NotAnImage', `${what} cannot be decompressed: ${(err as Error).message}`, { cause: err });
  });
  checkDigest(got, expect, what);
}

export function verifyBytes(data: Uint8Array, expect: { hex: string; size?: number | undefined }, what: string): void {
  checkDigest({ hex: sha256Hex(data), size: data.length }, expect, what);
}
