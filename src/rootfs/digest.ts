// Content digests: parsing `sha256:<hex>` and hashing files on the host.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { ImageProblem } from './errors.ts';
import { decompressor } from './compression.ts';

const SHA256 = /^sha256:([a-f0-9]{64})$/;

/** The hex part of a sha256 digest; refuses other algorithms and anything that is not a digest. */
export function digestHex(digest: unknown, what: string): string {
  if (typeof digest !== 'string') throw new ImageProblem('NotAnImage', `${what} has no digest`);
  const m = SHA256.exec(digest);
  if (!m) {
    const reason =
      /^[a-z0-9]+([+._-][a-z0-9]+)*:/.test(digest) && !digest.startsWith('sha256:') ? 'Unsupported' : 'NotAnImage';
    throw new ImageProblem(reason, `${what} has digest ${JSON.stringify(digest)}: only sha256:<64 hex> is supported`);
  }
  return m[1]!;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Hashes a file (its decompressed content when `decompressed`), returning hex digest and byte count. */
export async function hashFile(path: string, decompressed = false): Promise<{ hex: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done();
    },
  });
  const stages = decompressed ? await decompressor(path) : [];
  await pipeline([createReadStream(path), ...stages, sink]);
  return { hex: hash.digest('hex'), size };
}

/** Refuses a blob whose bytes do not hash to the digest (and size) that names it. */
export async function verifyFile(
  path: string,
  expect: { hex: string; size?: number | undefined; decompressed?: boolean },
  what: string,
): Promise<void> {
  const got = await hashFile(path, expect.decompressed ?? false);
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

export function verifyBytes(data: Uint8Array, expect: { hex: string; size?: number | undefined }, what: string): void {
  const hex = sha256Hex(data);
  if (hex !== expect.hex) {
    throw new ImageProblem(
      'DigestMismatch',
      `digest mismatch for ${what}: expected sha256:${expect.hex}, content hashes to sha256:${hex}`,
    );
  }
  if (expect.size !== undefined && data.length !== expect.size) {
    throw new ImageProblem(
      'DigestMismatch',
      `size mismatch for ${what}: expected ${expect.size} bytes, found ${data.length}`,
    );
  }
}
