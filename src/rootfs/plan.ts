// What to unpack: the image chosen from a layout or archive, reduced to verified layer files.

export interface LayerPlan {
  /** Member name inside the image source. */
  name: string;
  /** "layer 2 (sha256:0123456789ab)", for messages. */
  label: string;
  /** The digest the file must hash to: of its bytes (OCI blob) or of its tar once decompressed (docker diff id). */
  expect: { hex: string; size?: number | undefined; decompressed: boolean };
}

export interface ImagePlan {
  /** The cache key and the digest reported: the manifest digest (OCI) or the image id (docker save). */
  digest: string;
  hex: string;
  layers: LayerPlan[];
}

export const shortDigest = (hex: string) => `sha256:${hex.slice(0, 12)}`;
