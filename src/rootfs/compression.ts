// Layer and archive compression, detected from the first bytes rather than trusted from a media type.
import type { FileHandle } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import type { Transform } from 'node:stream';
import { ImageProblem } from './errors.ts';

export type Compression = 'none' | 'gzip' | 'zstd' | 'bzip2' | 'xz';

export function sniffCompression(head: Uint8Array): Compression {
  const [a, b, c, d, e, f] = head;
  if (a === 0x1f && b === 0x8b) return 'gzip';
  if (a === 0x28 && b === 0xb5 && c === 0x2f && d === 0xfd) return 'zstd';
  if (a === 0x42 && b === 0x5a && c === 0x68) return 'bzip2';
  if (a === 0xfd && b === 0x37 && c === 0x7a && d === 0x58 && e === 0x5a && f === 0x00) return 'xz';
  return 'none';
}

export async function fileCompression(fh: FileHandle): Promise<Compression> {
  const head = new Uint8Array(6);
  const { bytesRead } = await fh.read(head, 0, head.length, 0);
  return sniffCompression(head.subarray(0, bytesRead));
}

/** The stream stages that turn the file's bytes into a plain tar (none, or one gunzip). */
export async function decompressor(fh: FileHandle): Promise<Transform[]> {
  const kind = await fileCompression(fh);
  if (kind === 'none') return [];
  if (kind === 'gzip') return [createGunzip()];
  throw new ImageProblem('Unsupported', `${kind}-compressed data is not supported (only plain tar and gzip)`);
}
