// resolveRootfs: from the document's spec.run.rootfs (or its absence) to a directory on the host.
// Every byte of an image and every path a document names is hostile; only the operator's
// options grant anything: which folders a rootfs path or an image may come from, how much work an
// image may cost, and how long the whole resolve may take.
import { isAbsolute } from 'node:path';
import type { Allowlist } from './allowlist.ts';
import { allowedRealpath } from './allowlist.ts';
import { ensureCached, lookupCache, pin } from './cache.ts';
import { planDockerArchive } from './docker-archive.ts';
import { ImageProblem, RootfsError, type RootfsField } from './errors.ts';
import { DEFAULT_MIN_IDLE_MS, evictToQuota } from './evict.ts';
import { resolveAllowedDir, resolveHostDir } from './host-dir.ts';
import type { ImageSource } from './image-source.ts';
import { openImageTarball } from './image-tarball.ts';
import { planOciLayout } from './layout.ts';
import { openImageDir } from './layout-dir.ts';
import { normalizeImageLimits, type ImageLimits } from './limits.ts';
import { openUntrusted } from './open-file.ts';
import type { ImagePlan } from './plan.ts';
import { unpackImage } from './unpack-image.ts';
import { ImageWork } from './work.ts';

export type RootfsSpec = { path: string } | { image: string } | undefined;

export interface ResolveRootfsOptions {
  /** The host's rootfs for cells that name none (an existing directory with /tmp); always allowed. */
  defaultRootfs: string;
  /** Where unpacked images are kept, one folder per image digest; images under it are always allowed. */
  imageCacheDir: string;
  /** Folders that spec.run.rootfs.path may be or lie under (CELLOS_ALLOWED_ROOTFS). Default: none. */
  allowedRootfs?: readonly string[] | undefined;
  /** Folders or files that spec.run.rootfs.image may be or lie under (CELLOS_ALLOWED_IMAGES). Default: none. */
  allowedImages?: readonly string[] | undefined;
  /**
   * The host's own folders (state, bundles, image cache): a rootfs path that holds one of them or
   * lies inside one is refused, whatever the allowlist says (a symlink in it may lead there).
   */
  hostDirs?: readonly string[] | undefined;
  /**
   * Ends the resolve (the caller passes AbortSignal.timeout(prepareTimeoutMs)): partial work is
   * removed and the cell refused with reason TimedOut.
   */
  signal?: AbortSignal | undefined;
  /** Caps on the work one image may cost (IMAGE_LIMIT_DEFAULTS for those not given). */
  imageLimits?: Partial<ImageLimits> | undefined;
  /** The image cache's quota in bytes of disk; past it, least recently used images not in use are evicted. */
  imageCacheMaxBytes?: number | undefined;
  /** Images used more recently than this are never evicted (default 10 minutes). */
  imageCacheMinIdleMs?: number | undefined;
  /** Rootfs paths that cells use (rootfsPathsInBundles(bundleDir)): never evicted. */
  rootfsInUse?: (() => Promise<Iterable<string>>) | undefined;
}

export interface ResolvedRootfs {
  /** Absolute host path of the rootfs directory; the sandbox uses it read-only. */
  path: string;
  source: 'default' | 'path' | 'image';
  /** For an image: its manifest digest (OCI) or image id (docker save), `sha256:<hex>`. */
  digest?: string;
}

type Options = Required<Omit<ResolveRootfsOptions, 'signal' | 'rootfsInUse' | 'imageLimits'>> & {
  signal: AbortSignal | undefined;
  rootfsInUse: ResolveRootfsOptions['rootfsInUse'];
  limits: ImageLimits;
};

const PATH_FIELD = 'spec.run.rootfs.path';
const IMAGE_FIELD = 'spec.run.rootfs.image';
const DEFAULT_CACHE_MAX_BYTES = 8 * 1024 * 1024 * 1024;

/** Tarballs already read by this process, by file identity, so a repeat resolve skips the scan. */
const tarballDigests = new Map<string, string>();
const TARBALLS_REMEMBERED = 1024;

export async function resolveRootfs(spec: RootfsSpec, options: ResolveRootfsOptions): Promise<ResolvedRootfs> {
  const o = normalizeOptions(options);
  if (spec === undefined) return { path: await resolveHostDir(o.defaultRootfs, 'default rootfs'), source: 'default' };
  if ('path' in spec) {
    const allow: Allowlist = {
      under: o.allowedRootfs,
      exactly: [o.defaultRootfs],
      never: o.hostDirs,
      rule: 'an allowed rootfs: this host allows its default rootfs and folders under CELLOS_ALLOWED_ROOTFS',
    };
    return bounded(PATH_FIELD, spec.path, o.signal, async () => ({
      path: await resolveAllowedDir(spec.path, PATH_FIELD, allow),
      source: 'path',
    }));
  }
  if ('image' in spec) return bounded(IMAGE_FIELD, spec.image, o.signal, () => resolveImage(spec.image, o));
  throw new TypeError('resolveRootfs: spec must be undefined, { path } or { image }');
}

function normalizeOptions(options: ResolveRootfsOptions): Options {
  const {
    defaultRootfs,
    imageCacheDir,
    allowedRootfs = [],
    allowedImages = [],
    hostDirs = [],
    signal,
    imageLimits,
    imageCacheMaxBytes = DEFAULT_CACHE_MAX_BYTES,
    imageCacheMinIdleMs = DEFAULT_MIN_IDLE_MS,
    rootfsInUse,
  } = options;
  for (const [name, value] of Object.entries({ defaultRootfs, imageCacheDir })) {
    if (typeof value !== 'string' || !isAbsolute(value)) {
      throw new TypeError(`resolveRootfs: option ${name} must be an absolute path, got ${JSON.stringify(value)}`);
    }
  }
  for (const [name, list] of Object.entries({ allowedRootfs, allowedImages, hostDirs })) {
    const bad = list.find((p) => typeof p !== 'string' || !isAbsolute(p));
    if (bad !== undefined) {
      throw new TypeError(`resolveRootfs: option ${name} must list absolute paths, got ${JSON.stringify(bad)}`);
    }
  }
  for (const [name, n] of Object.entries({ imageCacheMaxBytes, imageCacheMinIdleMs })) {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new TypeError(`resolveRootfs: option ${name} must be a whole number >= 0, got ${JSON.stringify(n)}`);
    }
  }
  return {
    defaultRootfs,
    imageCacheDir,
    allowedRootfs,
    allowedImages,
    hostDirs: [...hostDirs, imageCacheDir],
    signal,
    limits: normalizeImageLimits(imageLimits),
    imageCacheMaxBytes,
    imageCacheMinIdleMs,
    rootfsInUse,
  };
}

/** Runs a resolve under the abort signal: once it fires, whatever failed is reported as TimedOut. */
async function bounded<T>(
  field: RootfsField,
  shown: string,
  signal: AbortSignal | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    signal?.throwIfAborted();
    return await fn();
  } catch (err) {
    if (signal?.aborted !== true || (err instanceof RootfsError && err.reason !== 'HostError')) throw err;
    throw new RootfsError(
      field,
      'TimedOut',
      `${shown}: preparing it took longer than this host allows (CELLOS_PREPARE_TIMEOUT_SECONDS); nothing was kept`,
      { cause: err },
    );
  }
}

async function resolveImage(image: string, o: Options): Promise<ResolvedRootfs> {
  const allow: Allowlist = {
    under: [...o.allowedImages, o.imageCacheDir],
    exactly: [],
    never: [],
    rule: 'an allowed image: this host allows images under CELLOS_ALLOWED_IMAGES and its image cache',
  };
  const real = await allowedRealpath(image, IMAGE_FIELD, allow);
  const work = new ImageWork(o.limits, o.signal);
  try {
    const opened = await openUntrusted(real, {
      accept: (actual) => actual === real,
      moved: () => new ImageProblem('NotAllowed', 'changed while it was being checked'),
      what: 'the image',
    });
    try {
      return await fromOpenedImage(real, opened, o, work);
    } finally {
      await opened.fh.close();
    }
  } catch (err) {
    if (err instanceof ImageProblem) {
      throw new RootfsError(IMAGE_FIELD, err.reason, `${image}: ${err.message}`, { cause: err });
    }
    // The image went away, or a symlink appeared in its path, after it was checked: a refusal.
    if (isHostError(err) && ['ENOENT', 'ENOTDIR', 'ELOOP'].includes(err.code!)) {
      const what = 'a file of the image vanished or changed while it was read';
      throw new RootfsError(IMAGE_FIELD, 'NotFound', `${image}: ${what}`, { cause: err });
    }
    if (isHostError(err)) throw new RootfsError(IMAGE_FIELD, 'HostError', `${image}: ${err.message}`, { cause: err });
    throw err;
  }
}

async function fromOpenedImage(
  real: string,
  opened: Awaited<ReturnType<typeof openUntrusted>>,
  o: Options,
  work: ImageWork,
): Promise<ResolvedRootfs> {
  const { stats } = opened;
  let source: ImageSource;
  let identity: string | undefined;
  if (stats.isDirectory()) {
    source = openImageDir(real, work);
  } else {
    identity = [real, stats.dev, stats.ino, stats.size, stats.mtimeMs, stats.ctimeMs].join('\0');
    const known = tarballDigests.get(identity);
    if (known !== undefined) {
      const hit = await lookupCache(o.imageCacheDir, known.slice('sha256:'.length));
      if (hit !== undefined) return { path: hit, source: 'image', digest: known };
    }
    // Read through the descriptor that was checked, never the path again.
    source = await openImageTarball(opened.fh, work);
  }
  try {
    const plan = await planImage(source, work);
    if (identity !== undefined) {
      tarballDigests.set(identity, plan.digest);
      // Oldest first out: a host that sees many archives does not keep them all in memory.
      if (tarballDigests.size > TARBALLS_REMEMBERED) tarballDigests.delete(tarballDigests.keys().next().value!);
    }
    // Pinned until returned: no eviction of this process takes it meanwhile (see evict.ts).
    const unpin = pin(o.imageCacheDir, plan.hex);
    try {
      const path = (await lookupCache(o.imageCacheDir, plan.hex)) ?? (await buildImage(source, plan, o, work));
      return { path, source: 'image', digest: plan.digest };
    } finally {
      unpin();
    }
  } finally {
    await source.close();
  }
}

async function buildImage(source: ImageSource, plan: ImagePlan, o: Options, work: ImageWork): Promise<string> {
  for (;;) {
    try {
      const path = await ensureCached(o.imageCacheDir, plan.hex, work, (scratch, rootfs) =>
        unpackImage(source, plan, scratch, rootfs, work),
      );
      // Making room is the cache's business, not this cell's: a failure to evict does not refuse it.
      await evictToQuota(o.imageCacheDir, {
        maxBytes: o.imageCacheMaxBytes,
        minIdleMs: o.imageCacheMinIdleMs,
        rootfsInUse: o.rootfsInUse,
      }).catch(() => undefined);
      return path;
    } catch (err) {
      // A build shared with another resolve that was aborted: build again under our own time.
      if (work.signal?.aborted !== true && isAbort(err)) continue;
      throw err;
    }
  }
}

const isAbort = (err: unknown) => err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');

const isHostError = (err: unknown): err is NodeJS.ErrnoException =>
  err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string';

async function planImage(source: ImageSource, work: ImageWork): Promise<ImagePlan> {
  const plan = (await planOciLayout(source, work)) ?? (await planDockerArchive(source, work));
  if (plan === undefined) {
    throw new ImageProblem(
      'NotAnImage',
      'is not an image: neither an OCI image layout (index.json) nor a docker-save archive (manifest.json) at its top level',
    );
  }
  return plan;
}
