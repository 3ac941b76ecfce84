// Streams the entries of a tar file (plain or gzip) to a handler, one at a time, in archive order.
// Every byte after decompression is counted against the image's read limit, and the pass stops
// as soon as the prepare is aborted.
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract, type Header } from 'tar-stream';
import { decompressor } from './compression.ts';
import { ImageProblem } from './errors.ts';
import { withFile, type FileSource } from './open-file.ts';
import type { ImageWork } from './work.ts';

export type TarHeader = Header;

/** The digest of the bytes a pass read: of the file as it is, or of its tar once decompressed. */
export type PassDigest = 'file' | 'tar';

/**
 * Calls `handle` for each entry, in order. With `digest`, also hashes the very bytes the entries
 * were read from and returns their sha256 and size: a check made in the same pass cannot be
 * fooled by a file that changes between a first read and a second.
 */
export async function forEachTarEntry(
  file: FileSource,
  what: string,
  work: ImageWork,
  handle: (header: TarHeader, body: AsyncIterable<Uint8Array>) => Promise<void>,
  digest?: PassDigest,
): Promise<{ hex: string; size: number }> {
  work.checkAborted();
  return withFile(file, what, (fh) => entriesOf(fh, what, work, handle, digest));
}

async function entriesOf(
  fh: FileHandle,
  what: string,
  work: ImageWork,
  handle: (header: TarHeader, body: AsyncIterable<Uint8Array>) => Promise<void>,
  digest?: PassDigest,
): Promise<{ hex: string; size: number }> {
  const stages = await decompressor(fh);
  const parser = extract();
  const hasher = new Hasher();
  // Its outcome is taken at once (a rejection while the entries are still being handled must not
  // count as unhandled) and looked at once the entries are done.
  const feeding = pipeline(
    [
      // Positional reads from the start: the same descriptor may serve several passes.
      fh.createReadStream({ start: 0, autoClose: false }),
      ...(digest === 'file' ? [hasher] : []),
      ...stages,
      ...(digest === 'tar' ? [hasher] : []),
      work.meter(),
      parser,
    ],
    { signal: work.signal },
  ).then(
    () => undefined,
    (err: unknown) => err as Error,
  );
  let failure: unknown;
  try {
    for await (const entry of parser) {
      await work.tick();
      await handle(entry.header, entry as unknown as AsyncIterable<Uint8Array>);
      entry.resume();
    }
  } catch (err) {
    failure = err;
    parser.destroy(err as Error);
  }
  const fed = await feeding;
  if (failure === undefined && fed === undefined) return hasher.result();
  work.checkAborted();
  for (const err of [failure, fed]) if (err instanceof ImageProblem) throw err;
  // Host I/O errors (they carry a syscall) and programming errors pass through as they are;
  // anything else came from the bytes: the tar parser or zlib (their messages quote no content).
  if (
    failure !== undefined &&
    ((failure as NodeJS.ErrnoException).syscall !== undefined || failure instanceof TypeError)
  ) {
    throw failure;
  }
  const err = (failure ?? fed) as Error;
  if ((err as NodeJS.ErrnoException).syscall !== undefined) throw err;
  throw new ImageProblem('NotAnImage', `${what} is not a readable tar archive: ${err.message}`, { cause: err });
}

/** Reads a whole entry body into memory, refusing more than `limit` bytes. */
export async function readBody(
  body: AsyncIterable<Uint8Array>,
  limit: number,
  tooLarge: () => Error,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

class Hasher extends Transform {
  private readonly hash = createHash('sha256');
  private size = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null, data?: Buffer) => void): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    done(null, chunk);
  }

  result(): { hex: string; size: number } {
    return { hex: this.hash.digest('hex'), size: this.size };
  }
}
