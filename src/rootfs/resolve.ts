// resolveRootfs: from the document's spec.run.rootfs (or its absence) to a directory on the host.
import { realpath, stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { ensureCached, lookupCache } from './cache.ts';
import { planDockerArchive } from './docker-archive.ts';
import { ImageProblem, RootfsError } from './errors.ts';
import { resolveHostDir } from './host-dir.ts';
import type { ImageSource } from './image-source.ts';
import { openImageTarball } from './image-tarball.ts';
import { planOciLayout } from './layout.ts';
import { openImageDir } from './layout-dir.ts';
import type { ImagePlan } from './plan.ts';
import { unpackImage } from './unpack-image.ts';

export type RootfsSpec = { path: string } | { image: string } | undefined;

export interface ResolveRootfsOptions {
  /** The host's rootfs for cells that name none (an existing directory with /tmp). */
  defaultRootfs: string;
  /** Where unpacked images are kept, one folder per image digest. */
  imageCacheDir: string;
}

export interface ResolvedRootfs {
  /** Absolute host path of the rootfs directory; the sandbox uses it read-only. */
  path: string;
  source: 'default' | 'path' | 'image';
  /** For an image: its manifest digest (OCI) or image id (docker save), `sha256:<hex>`. */
  digest?: string;
}

const IMAGE_FIELD = 'spec.run.rootfs.image';

/** Tarballs already read by this process, by file identity, so a repeat resolve skips the scan. */
const tarballDigests = new Map<string, string>();

export async function resolveRootfs(spec: RootfsSpec, options: ResolveRootfsOptions): Promise<ResolvedRootfs> {
  const { defaultRootfs, imageCacheDir } = normalizeOptions(options);
  if (spec === undefined) return { path: await resolveHostDir(defaultRootfs, 'default rootfs'), source: 'default' };
  if ('path' in spec) return { path: await resolveHostDir(spec.path, 'spec.run.rootfs.path'), source: 'path' };
  if ('image' in spec) return resolveImage(spec.image, imageCacheDir);
  throw new TypeError('resolveRootfs: spec must be undefined, { path } or { image }');
}

function normalizeOptions(options: ResolveRootfsOptions): ResolveRootfsOptions {
  const { defaultRootfs, imageCacheDir } = options;
  for (const [name, value] of Object.entries({ defaultRootfs, imageCacheDir })) {
    if (typeof value !== 'string' || !isAbsolute(value)) {
      throw new TypeError(`resolveRootfs: option ${name} must be an absolute path, got ${JSON.stringify(value)}`);
    }
  }
  return { defaultRootfs, imageCacheDir };
}

async function resolveImage(image: string, cacheDir: string): Promise<ResolvedRootfs> {
  if (typeof image !== 'string' || !isAbsolute(image)) {
    throw new RootfsError(IMAGE_FIELD, 'NotFound', `${JSON.stringify(image)} is not an absolute path`);
  }
  try {
    const real = await realpath(image).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR')
        throw new ImageProblem('NotFound', 'no such file or directory');
      throw err;
    });
    const st = await stat(real);
    let source: ImageSource;
    let identity: string | undefined;
    if (st.isDirectory()) {
      source = openImageDir(real);
    } else if (st.isFile()) {
      identity = [real, st.dev, st.ino, st.size, st.mtimeMs, st.ctimeMs].join('\0');
      const known = tarballDigests.get(identity);
      const hit = known === undefined ? undefined : await lookupCache(cacheDir, known.slice('sha256:'.length));
      if (hit !== undefined) return { path: hit, source: 'image', digest: known };
      source = await openImageTarball(real);
    } else {
      throw new ImageProblem('NotAnImage', 'is neither a directory nor a regular file');
    }
    const plan = await planImage(source);
    if (identity !== undefined) tarballDigests.set(identity, plan.digest);
    const path =
      (await lookupCache(cacheDir, plan.hex)) ??
      (await ensureCached(cacheDir, plan.hex, (scratch, rootfs) => unpackImage(source, plan, scratch, rootfs)));
    return { path, source: 'image', digest: plan.digest };
  } catch (err) {
    if (err instanceof ImageProblem) {
      throw new RootfsError(IMAGE_FIELD, err.reason, `${image}: ${err.message}`, { cause: err });
    }
    if (isHostError(err)) throw new RootfsError(IMAGE_FIELD, 'HostError', `${image}: ${err.message}`, { cause: err });
    throw err;
  }
}

const isHostError = (err: unknown): err is NodeJS.ErrnoException =>
  err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string';

async function planImage(source: ImageSource): Promise<ImagePlan> {
  const plan = (await planOciLayout(source)) ?? (await planDockerArchive(source));
  if (plan === undefined) {
    throw new ImageProblem(
      'NotAnImage',
      'is not an image: neither an OCI image layout (index.json) nor a docker-save archive (manifest.json) at its top level',
    );
  }
  return plan;
}
