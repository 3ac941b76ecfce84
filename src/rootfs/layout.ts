// OCI image layout: oci-layout + index.json + blobs/sha256/<hex>. Reads the index (following
// nested indexes), picks one image manifest, and verifies every metadata blob it reads.
import { z } from 'zod';
import { digestHex, verifyBytes } from './digest.ts';
import { ImageProblem } from './errors.ts';
import type { ImageSource } from './image-source.ts';
import { parseJson } from './json.ts';
import { pickImage, type Candidate, type Platform } from './platform.ts';
import { shortDigest, type ImagePlan, type LayerPlan } from './plan.ts';

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

/** Reads a blob named by a descriptor, refusing it when missing or when its digest or size differ. */
async function readBlob(source: ImageSource, d: Descriptor, what: string): Promise<Uint8Array> {
  const hex = digestHex(d.digest, what);
  const bytes = await source.read(blobName(hex));
  if (bytes === undefined) throw new ImageProblem('NotAnImage', `${what} (blob ${d.digest}) is missing from the image`);
  verifyBytes(bytes, { hex, size: d.size }, `${what} (blob ${d.digest})`);
  return bytes;
}

/** The plan for an OCI layout, or undefined when the source has no index.json. */
export async function planOciLayout(source: ImageSource): Promise<ImagePlan | undefined> {
  const indexBytes = await source.read('index.json');
  if (indexBytes === undefined) return undefined;
  const layoutBytes = await source.read('oci-layout');
  if (layoutBytes !== undefined) {
    parseJson(layoutBytes, z.looseObject({ imageLayoutVersion: z.string() }), 'oci-layout');
  }
  const index = parseJson(indexBytes, Index, 'index.json');

  const candidates = new Map<string, Candidate<Descriptor>>();
  const collect = async (manifests: Descriptor[], depth: number, where: string): Promise<void> => {
    for (const d of manifests) {
      let kind = d.mediaType;
      let bytes: Uint8Array | undefined;
      if (kind === undefined) {
        // Older layouts omit mediaType on descriptors: look at the blob itself.
        bytes = await readBlob(source, d, `manifest ${d.digest} in ${where}`);
        const peek = parseJson(bytes, Peek, `blob ${d.digest}`);
        kind = peek.mediaType ?? (peek.manifests === undefined ? MEDIA.ociManifest : MEDIA.ociIndex);
      }
      if (INDEX_TYPES.includes(kind)) {
        if (depth >= MAX_INDEX_DEPTH)
          throw new ImageProblem('NotAnImage', `indexes nested deeper than ${MAX_INDEX_DEPTH}`);
        bytes ??= await readBlob(source, d, `index ${d.digest} in ${where}`);
        const nested = parseJson(bytes, Index, `index ${d.digest}`);
        await collect(nested.manifests, depth + 1, `index ${d.digest}`);
      } else if (MANIFEST_TYPES.includes(kind) && !candidates.has(d.digest)) {
        candidates.set(d.digest, {
          label: describe(d),
          platform: async () => d.platform ?? (await configPlatform(source, d)),
          value: d,
        });
      }
      // Other media types (signatures, SBOMs, artifacts) are not images: left out.
    }
  };
  await collect(index.manifests, 0, 'index.json');

  const chosen = await pickImage([...candidates.values()], 'index.json');
  const hex = digestHex(chosen.digest, 'the image manifest');
  const manifest = await readManifest(source, chosen);
  const layers = manifest.layers.map((layer, i): LayerPlan => {
    const label = `layer ${i + 1}`;
    if (layer.mediaType?.includes('zstd')) {
      throw new ImageProblem(
        'Unsupported',
        `${label} is zstd-compressed (${layer.mediaType}); only tar and tar+gzip layers are supported`,
      );
    }
    const layerHex = digestHex(layer.digest, label);
    return {
      name: blobName(layerHex),
      label: `${label} (${shortDigest(layerHex)})`,
      expect: { hex: layerHex, size: layer.size, decompressed: false },
    };
  });
  await readBlob(source, manifest.config, 'the image config');
  return { digest: `sha256:${hex}`, hex, layers };
}

async function readManifest(source: ImageSource, d: Descriptor) {
  return parseJson(await readBlob(source, d, `manifest ${d.digest}`), Manifest, `manifest ${d.digest}`);
}

async function configPlatform(source: ImageSource, d: Descriptor): Promise<Platform> {
  const manifest = await readManifest(source, d);
  return parseJson(await readBlob(source, manifest.config, `config of ${d.digest}`), Config, `config of ${d.digest}`);
}

function describe(d: Descriptor): string {
  const ref = d.annotations?.['org.opencontainers.image.ref.name'];
  return ref === undefined ? d.digest : `${d.digest} "${ref}"`;
}
