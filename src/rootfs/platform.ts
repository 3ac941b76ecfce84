// Choosing the one image to run when an archive holds several.
import { ImageProblem } from './errors.ts';

export interface Platform {
  os?: string | undefined;
  architecture?: string | undefined;
  variant?: string | undefined;
}

/** The only platform this backend runs (runsc here is amd64, ptrace). */
export const HOST_PLATFORM = { os: 'linux', architecture: 'amd64' } as const;

export interface Candidate<T> {
  /** How the image is named in a refusal: its digest or tags. */
  label: string;
  /** Loaded lazily: only asked for when there is more than one candidate. */
  platform: () => Promise<Platform>;
  value: T;
}

/** The single candidate, or the single linux/amd64 one among several; else a clear refusal. */
export async function pickImage<T>(candidates: readonly Candidate<T>[], where: string): Promise<T> {
  if (candidates.length === 0) throw new ImageProblem('NotAnImage', `${where} lists no image`);
  if (candidates.length === 1) return candidates[0]!.value;
  // One at a time: each may read blobs, and a hostile index may list thousands of candidates.
  const described: { c: Candidate<T>; p: Platform }[] = [];
  for (const c of candidates) described.push({ c, p: await c.platform() });
  const matches = described.filter(
    ({ p }) => p.os === HOST_PLATFORM.os && p.architecture === HOST_PLATFORM.architecture,
  );
  if (matches.length === 1) return matches[0]!.c.value;
  const list = described
    .map(({ c, p }) => `${c.label} (${p.os ?? '?'}/${p.architecture ?? '?'}${p.variant ? `/${p.variant}` : ''})`)
    .join(', ');
  throw new ImageProblem(
    'AmbiguousImage',
    `${where} lists ${candidates.length} images and ${matches.length} of them are ` +
      `${HOST_PLATFORM.os}/${HOST_PLATFORM.architecture}; expected exactly one: ${list}`,
  );
}
