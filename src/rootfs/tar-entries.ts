// Streams the entries of a tar file (plain or gzip) to a handler, one at a time, in archive order.
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { extract, type Header } from 'tar-stream';
import { decompressor } from './compression.ts';
import { ImageProblem } from './errors.ts';

export type TarHeader = Header;

export async function forEachTarEntry(
  path: string,
  what: string,
  handle: (header: TarHeader, body: AsyncIterable<Uint8Array>) => Promise<void>,
): Promise<void> {
  const stages = await decompressor(path);
  const parser = extract();
  const feeding = pipeline([createReadStream(path), ...stages, parser]);
  let failure: unknown;
  try {
    for await (const entry of parser) {
      await handle(entry.header, entry as unknown as AsyncIterable<Uint8Array>);
      entry.resume();
    }
  } catch (err) {
    failure = err;
    parser.destroy(err as Error);
  }
  const fed = await feeding.then(
    () => undefined,
    (err: unknown) => err as Error,
  );
  if (failure === undefined && fed === undefined) return;
  if (failure instanceof ImageProblem) throw failure;
  // Host I/O errors (they carry a syscall) and programming errors pass through as they are;
  // anything else came from the bytes: the tar parser or zlib.
  if (
    failure !== undefined &&
    ((failure as NodeJS.ErrnoException).syscall !== undefined || failure instanceof TypeError)
  ) {
    throw failure;
  }
  const err = (failure ?? fed) as Error;
  throw new ImageProblem('NotAnImage', `${what} is not a readable tar archive: ${err.message}`, { cause: err });
}

/** Reads a whole entry body into memory, refusing more than `limit` bytes. */
export async function readBody(body: AsyncIterable<Uint8Array>, limit: number, what: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) throw new ImageProblem('NotAnImage', `${what} is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
