// OCI image layout: oci-layout + index.json + blobs/sha256/<hex>. Reads the index (following
// nested indexes), picks one image manifest, and verifies every metadata blob it reads.
import { z } from 'zod';
import { digestHex, verifyBytes } from './digest.ts';
import { ImageProblem } from './errors.ts';
import type { ImageSource } from './image-source.ts';
import { parseJson } from './json.ts';
import { pickImage, type Candidate, type Platform } from './platform.ts';
import { shortDigest, type ImagePlan, type LayerPlan } from './plan.ts';
import type { ImageWork } from './work.ts';

const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;
const INDEX_TYPES: readonly string[] = [MEDIA.ociIndex, MEDIA.dockerList];
const MANIFEST_TYPES: readonly string[] = [MEDIA.ociManifest, MEDIA.dockerManifest];
const MAX_INDEX_DEPTH = 4;

const PlatformSchema = z.looseObject({
  os: z.string().optional(),
  architecture: z.string().optional(),
  variant: z.string().optional(),
});

const Descriptor = z.looseObject({
  mediaType: z.string().optional(),
  digest: z.string(),
  size: z.number().int().nonnegative().optional(),
  platform: PlatformSchema.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
type Descriptor = z.infer<typeof Descriptor>;

const Index = z.looseObject({ mediaType: z.string().optional(), manifests: z.array(Descriptor) });
const Manifest = z.looseObject({
  mediaType: z.string().optional(),
  config: Descriptor,
  layers: z.array(Descriptor),
});
const Peek = z.looseObject({ mediaType: z.string().optional(), manifests: z.unknown().optional() });
const Config = z.looseObject({
  os: z.string().optional(),
  architecture: z.string().optional(),
  variant: z.string().optional(),
});

const blobName = (hex: string) => `blobs/sha256/${hex}`;

/**
 * Blobs by digest, each read and verified once however often the image names it: a hostile index
 * may list the same nested index many times at every level (a fan-out that, read again at each
 * mention, costs the product of the fan-outs).
 */
class Blobs {
  readonly work: ImageWork;
  private readonly source: ImageSource;
  private readonly read = new Map<string, Promise<Uint8Array>>();

  constructor(source: ImageSource, work: ImageWork) {
    this.source = source;
    this.work = work;
  }

  /** Reads a blob named by a descriptor, refusing it when missing or when its digest or size differ. */
  get(d: Descriptor, what: string): Promise<Uint8Array> {
    const hex = digestHex(d.digest, what);
    let pending = this.read.get(hex);
    if (pending === undefined) {
      pending = this.load(hex, d.size, what);
      this.read.set(hex, pending);
    }
    return pending;
  }

  private async load(hex: string, size: number | undefined, what: string): Promise<Uint8Array> {
    const digest = `sha256:${hex}`;
    if (size !== undefined && size > this.work.limits.maxJsonBytes)
      throw this.work.jsonTooLarge(`${what} (blob ${digest})`);
    const bytes = await this.source.read(blobName(hex));
    if (bytes === undefined) throw new ImageProblem('NotAnImage', `${what} (blob ${digest}) is missing from the image`);
    verifyBytes(bytes, { hex, size }, `${what} (blob ${digest})`);
    await this.work.tick();
    return bytes;
  }
}

/** The plan for an OCI layout, or undefined when the source has no index.json. */
export async function planOciLayout(source: ImageSource, work: ImageWork): Promise<ImagePlan | undefined> {
  const indexBytes = await source.read('index.json');
  if (indexBytes === undefined) return undefined;
  const layoutBytes = await source.read('oci-layout');
  if (layoutBytes !== undefined) {
    parseJson(layoutBytes, z.looseObject({ imageLayoutVersion: z.string() }), 'oci-layout');
  }
  const index = parseJson(indexBytes, Index, 'index.json');
  const blobs = new Blobs(source, work);

  const candidates = new Map<string, Candidate<Descriptor>>();
  /** Digests already expanded (indexes) or listed (manifests): each is looked at once. */
  const visited = new Set<string>();
  const collect = async (manifests: Descriptor[], depth: number, where: string): Promise<void> => {
    for (const d of manifests) {
      // Every mention counts, repeats included: they cost a loop turn even when memoized.
      work.descriptor();
      await work.tick();
      const what = `manifest ${shown(d)} in ${where}`;
      const hex = digestHex(d.digest, what);
      if (visited.has(hex)) continue;
      visited.add(hex);
      let kind = d.mediaType;
      if (kind === undefined) {
        // Older layouts omit mediaType on descriptors: look at the blob itself.
        const peek = parseJson(await blobs.get(d, what), Peek, `blob sha256:${hex}`);
        kind = peek.mediaType ?? (peek.manifests === undefined ? MEDIA.ociManifest : MEDIA.ociIndex);
      }
      if (INDEX_TYPES.includes(kind)) {
        if (depth >= MAX_INDEX_DEPTH)
          throw new ImageProblem('NotAnImage', `indexes nested deeper than ${MAX_INDEX_DEPTH}`);
        const nested = parseJson(await blobs.get(d, `index sha256:${hex} in ${where}`), Index, `index sha256:${hex}`);
        await collect(nested.manifests, depth + 1, `index sha256:${hex}`);
      } else if (MANIFEST_TYPES.includes(kind)) {
        candidates.set(hex, {
          label: describe(d),
          platform: async () => d.platform ?? (await configPlatform(blobs, d)),
          value: d,
        });
      }
      // Other media types (signatures, SBOMs, artifacts) are not images: left out.
    }
  };
  await collect(index.manifests, 0, 'index.json');

  const chosen = await pickImage([...candidates.values()], 'index.json');
  const hex = digestHex(chosen.digest, 'the image manifest');
  const manifest = await readManifest(blobs, chosen);
  work.descriptor(manifest.layers.length + 1);
  const layers = manifest.layers.map((layer, i): LayerPlan => {
    const label = `layer ${i + 1}`;
    if (layer.mediaType?.includes('zstd')) {
      throw new ImageProblem('Unsupported', `${label} is zstd-compressed; only tar and tar+gzip layers are supported`);
    }
    const layerHex = digestHex(layer.digest, label);
    return {
      name: blobName(layerHex),
      label: `${label} (${shortDigest(layerHex)})`,
      expect: { hex: layerHex, size: layer.size, decompressed: false },
    };
  });
  await blobs.get(manifest.config, 'the image config');
  return { digest: `sha256:${hex}`, hex, layers };
}

async function readManifest(blobs: Blobs, d: Descriptor) {
  return parseJson(await blobs.get(d, `manifest ${shown(d)}`), Manifest, `manifest ${shown(d)}`);
}

async function configPlatform(blobs: Blobs, d: Descriptor): Promise<Platform> {
  const manifest = await readManifest(blobs, d);
  blobs.work.descriptor();
  return parseJson(await blobs.get(manifest.config, `config of ${shown(d)}`), Config, `config of ${shown(d)}`);
}

/** A descriptor's digest when it is one (anything else from a host file is not quoted). */
const shown = (d: Descriptor) => (/^sha256:[a-f0-9]{64}$/.test(d.digest) ? d.digest : 'with an invalid digest');

function describe(d: Descriptor): string {
  const ref = d.annotations?.['org.opencontainers.image.ref.name'];
  return ref === undefined ? shown(d) : `${shown(d)} "${ref}"`;
}
