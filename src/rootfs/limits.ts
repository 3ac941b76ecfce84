// How much work one image may cost the host: every byte of an image is the document's choice, so
// each kind of work has a cap. The defaults pass real images (a multi-arch index of a few dozen
// manifests, 100+ layers, a few GiB and a few hundred thousand files unpacked) by a wide margin.
// Pure: no node:*, so the host's and the worker's configuration can import it.

export interface ImageLimits {
  /** Bytes of one metadata document: index.json, a manifest, a config, manifest.json. */
  readonly maxJsonBytes: number;
  /** Bytes of all the metadata documents read for one image (each blob is read once). */
  readonly maxMetadataBytes: number;
  /** Descriptors visited: every entry of every index (repeats included), every layer and config. */
  readonly maxDescriptors: number;
  /** Bytes read through the image's files, after decompression: archive passes, layer checks and unpacking. */
  readonly maxReadBytes: number;
  /** Bytes the unpack writes to disk: layer files copied out of an archive, and the files of the rootfs. */
  readonly maxUnpackedBytes: number;
  /** Tar entries: the members of an image archive, and the entries of all layers together. */
  readonly maxEntries: number;
  /** Bytes of entry names held in memory while unpacking (what a layer put in place, directory modes). */
  readonly maxNameBytes: number;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export const IMAGE_LIMIT_DEFAULTS: ImageLimits = {
  maxJsonBytes: 4 * MiB,
  maxMetadataBytes: 32 * MiB,
  maxDescriptors: 4096,
  maxReadBytes: 32 * GiB,
  maxUnpackedBytes: 8 * GiB,
  maxEntries: 1_000_000,
  maxNameBytes: 256 * MiB,
};

/** Where an operator raises each limit (named in refusals, so the message says what to change). */
export const IMAGE_LIMIT_SETTINGS: Readonly<Record<keyof ImageLimits, string>> = {
  maxJsonBytes: 'imageLimits.maxJsonBytes',
  maxMetadataBytes: 'imageLimits.maxMetadataBytes',
  maxDescriptors: 'imageLimits.maxDescriptors',
  maxReadBytes: 'imageLimits.maxReadBytes',
  maxUnpackedBytes: 'CELLOS_IMAGE_MAX_UNPACKED_BYTES',
  maxEntries: 'CELLOS_IMAGE_MAX_ENTRIES',
  maxNameBytes: 'imageLimits.maxNameBytes',
};

/** The limits with defaults filled in; a limit that is not a positive whole number is a TypeError naming it. */
export function normalizeImageLimits(input: Partial<ImageLimits> = {}): ImageLimits {
  const limits = { ...IMAGE_LIMIT_DEFAULTS };
  for (const key of Object.keys(IMAGE_LIMIT_DEFAULTS) as (keyof ImageLimits)[]) {
    const value = input[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new TypeError(`image limit ${key} must be a positive whole number, got ${JSON.stringify(value)}`);
    }
    limits[key] = value;
  }
  return limits;
}
