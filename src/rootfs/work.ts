// The running account of one image's cost, checked against the host's limits at every step, and
// the two things every long loop does: stop when the prepare is aborted, and give the event loop
// back regularly so that one image cannot starve the other cells of this worker.
import { Transform } from 'node:stream';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { ImageProblem } from './errors.ts';
import { IMAGE_LIMIT_SETTINGS, type ImageLimits } from './limits.ts';

/** Longest stretch of synchronous work between two yields to the event loop. */
const SLICE_MS = 10;

export class ImageWork {
  readonly limits: ImageLimits;
  readonly signal: AbortSignal | undefined;
  private descriptors = 0;
  private metadataBytes = 0;
  private readBytes = 0;
  private written = 0;
  private entries = 0;
  private nameBytes = 0;
  private sliceStart = performance.now();

  constructor(limits: ImageLimits, signal?: AbortSignal) {
    this.limits = limits;
    this.signal = signal;
  }

  /** Throws the abort reason once the prepare is aborted. */
  checkAborted(): void {
    this.signal?.throwIfAborted();
  }

  /** Checks for abort, and yields to the event loop when this slice of work has run long enough. */
  async tick(): Promise<void> {
    this.checkAborted();
    if (performance.now() - this.sliceStart < SLICE_MS) return;
    await yieldToEventLoop();
    this.sliceStart = performance.now();
    this.checkAborted();
  }

  descriptor(n = 1): void {
    this.descriptors += n;
    this.over('maxDescriptors', this.descriptors, 'descriptors (index entries, manifests, configs and layers)');
  }

  /** One metadata document of `bytes` bytes, read whole. */
  metadata(bytes: number, what: string): void {
    if (bytes > this.limits.maxJsonBytes) throw this.jsonTooLarge(what);
    this.metadataBytes += bytes;
    this.over('maxMetadataBytes', this.metadataBytes, 'bytes of metadata (indexes, manifests, configs)');
  }

  /** The refusal of a metadata document over maxJsonBytes (for readers that stop before the end). */
  jsonTooLarge(what: string): ImageProblem {
    return tooLarge('maxJsonBytes', this.limits.maxJsonBytes, `${what} is larger than`, 'bytes');
  }

  read(bytes: number): void {
    this.readBytes += bytes;
    this.over('maxReadBytes', this.readBytes, 'bytes read from its files (after decompression)');
  }

  unpacked(bytes: number): void {
    this.written += bytes;
    this.over('maxUnpackedBytes', this.written, 'bytes unpacked');
  }

  entry(): void {
    this.entries += 1;
    this.over('maxEntries', this.entries, 'tar entries');
  }

  /** Bytes of entry names the unpack keeps in memory until the layer (or the image) is done. */
  names(bytes: number): void {
    this.nameBytes += bytes;
    this.over('maxNameBytes', this.nameBytes, 'bytes of entry names held while unpacking');
  }

  /** A pass-through stream stage that counts what flows through it as read bytes and stops on abort. */
  meter(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _enc, done) => {
        try {
          this.checkAborted();
          this.read(chunk.length);
          done(null, chunk);
        } catch (err) {
          done(err as Error);
        }
      },
    });
  }

  private over(key: keyof ImageLimits, count: number, what: string): void {
    const limit = this.limits[key];
    if (count > limit) throw tooLarge(key, limit, 'the image needs more than', what);
  }
}

function tooLarge(key: keyof ImageLimits, limit: number, lead: string, what: string): ImageProblem {
  return new ImageProblem(
    'TooLarge',
    `${lead} ${limit} ${what}, this host's limit (${IMAGE_LIMIT_SETTINGS[key]}); nothing was kept`,
  );
}
