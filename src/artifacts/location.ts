// What an artifact's location says about where to read it: a host's folder store (only that host's
// worker can read it, through its control queue) or an S3 bucket (anyone with the bucket's
// credentials can). Pure: the client, the activity and the CLI share it.

export type ArtifactLocation =
  | { readonly kind: 'folder'; readonly hostId: string; readonly sha256: string }
  | { readonly kind: 's3'; readonly bucket: string; readonly key: string };

const FOLDER = /^folder:(\S+):([0-9a-f]{64})$/;
const S3 = /^s3:\/\/([^/]+)\/(.+)$/;

/** The parts of a location as the stores write them, or undefined for anything else. */
export function parseArtifactLocation(location: string): ArtifactLocation | undefined {
  const folder = FOLDER.exec(location);
  if (folder) return { kind: 'folder', hostId: folder[1]!, sha256: folder[2]! };
  const s3 = S3.exec(location);
  if (s3) return { kind: 's3', bucket: s3[1]!, key: s3[2]! };
  return undefined;
}
