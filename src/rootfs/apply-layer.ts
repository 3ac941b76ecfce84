// Applies one layer tar to a rootfs directory, as an overlay would: entries replace what lower
// layers left, `.wh.<name>` deletes <name> from lower layers, `.wh..wh..opq` hides everything a
// lower layer put in its directory. Nothing is ever written outside `root`: names with `..` or
// a leading `/` are refused, parents are walked with lstat and a symlink among them is refused,
// files are created with O_EXCL|O_NOFOLLOW, and symlinks are stored, never followed.
import { constants } from 'node:fs';
import {
  chmod,
  lchown,
  link,
  lstat,
  lutimes,
  mkdir,
  open,
  readdir,
  rm,
  symlink,
  unlink,
  utimes,
} from 'node:fs/promises';
import { join } from 'node:path';
import { checkDigest, verifyFile } from './digest.ts';
import { ImageProblem } from './errors.ts';
import { PathTree } from './path-tree.ts';
import type { LayerPlan } from './plan.ts';
import { memberSegments, walkDirs } from './safe-path.ts';
import { forEachTarEntry, type TarHeader } from './tar-entries.ts';
import type { ImageWork } from './work.ts';

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';
const CREATE_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
/** A name component longer than this fails on any Linux filesystem (NAME_MAX). */
const MAX_COMPONENT_BYTES = 255;
/** Names (and link targets) longer than this would pass PATH_MAX (4096) once under the cache folder. */
const MAX_NAME_BYTES = 3072;
/**
 * Errors that a layer's own entries cause (a name too long, a directory where the image says a
 * file, too many links to one file): the image's fault, refused, not retried as a host failure.
 */
const IMAGE_CAUSED = new Set(['ENAMETOOLONG', 'EMLINK', 'ELOOP', 'ENOTDIR', 'EISDIR', 'EEXIST', 'ENOTEMPTY', 'EINVAL']);

/** Directory modes and times, applied once all layers are in (a 0555 dir must still take children). */
export type DirectoryTimes = Map<string, { mode: number; mtime: Date }>;

export interface ApplyContext {
  root: string;
  /** "layer 2 (sha256:0123456789ab)" */
  label: string;
  directories: DirectoryTimes;
  /** Keep the uid/gid of entries (needs root). */
  chown: boolean;
  /** Counts entries and bytes written against the image's limits; aborts with the prepare. */
  work: ImageWork;
  /** The digest the layer file must have: of its bytes (OCI blob), or of its tar once decompressed (docker). */
  expect: LayerPlan['expect'];
}

export async function applyLayer(tarPath: string, ctx: ApplyContext): Promise<void> {
  // Paths this layer has put in place (and their parents): whiteouts apply to lower layers only.
  const mine = new PathTree();
  const claim = (segments: readonly string[]) => ctx.work.names(mine.add(segments));

  const apply = async (header: TarHeader, body: AsyncIterable<Uint8Array>) => {
    ctx.work.entry();
    try {
      await applyEntry(header, body, ctx, mine, claim);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === undefined || !IMAGE_CAUSED.has(code)) throw err;
      const shown =
        header.name.length > 200 ? `${JSON.stringify(header.name.slice(0, 200))}...` : JSON.stringify(header.name);
      throw new ImageProblem('NotAnImage', `${ctx.label}: entry ${shown} cannot be applied (${code})`, { cause: err });
    }
  };
  // The digest is taken from the very bytes applied (a file swapped after a first check would
  // otherwise put unverified content into the cache, under a digest other cells trust).
  const got = await forEachTarEntry(
    tarPath,
    ctx.label,
    ctx.work,
    apply,
    ctx.expect.decompressed ? 'tar' : 'file',
  ).catch(async (err: unknown) => {
    // Corrupt bytes fail the tar parser or an entry first: say what is wrong with them, if it is that.
    if (err instanceof ImageProblem && err.reason !== 'TooLarge') {
      await verifyFile(tarPath, ctx.expect, ctx.label, ctx.work);
    }
    throw err;
  });
  checkDigest(got, ctx.expect, ctx.label);
}

async function applyEntry(
  header: TarHeader,
  body: AsyncIterable<Uint8Array>,
  ctx: ApplyContext,
  mine: PathTree,
  claim: (segments: readonly string[]) => void,
): Promise<void> {
  const name = header.name;
  const segments = checked(memberSegments(name), ctx, name);
  const unsafe = () => `unsafe path in ${ctx.label}: ${JSON.stringify(name)}`;
  checkLengths(header, segments, unsafe);
  if (segments.length === 0) {
    if (header.type !== 'directory') throw new ImageProblem('UnsafePath', `${unsafe()} (not a directory)`);
    setDirectory(ctx, '', header);
    return;
  }
  const base = segments[segments.length - 1]!;
  const parents = segments.slice(0, -1);

  if (base.startsWith(WHITEOUT)) {
    const dir = await walkDirs(ctx.root, parents, false, unsafe);
    if (dir === undefined) return; // nothing below to hide
    if (base === OPAQUE) {
      await makeOpaque(dir, parents, mine, ctx.work);
    } else {
      const hidden = base.slice(WHITEOUT.length);
      if (hidden === '' || hidden === '.' || hidden === '..')
        throw new ImageProblem('UnsafePath', `${unsafe()} (bad whiteout)`);
      if (!mine.has([...parents, hidden])) await rm(join(dir, hidden), { recursive: true, force: true });
    }
    return;
  }

  const dir = (await walkDirs(ctx.root, parents, true, unsafe))!;
  const path = join(dir, base);
  const rel = segments.join('/');
  claim(segments);

  switch (header.type) {
    case 'directory': {
      const existing = await lstatOrUndefined(path);
      if (existing !== undefined && !existing.isDirectory()) await unlink(path);
      if (existing === undefined || !existing.isDirectory()) {
        await mkdir(path, { mode: 0o700 });
        await chmod(path, 0o700);
      }
      if (ctx.chown) await lchown(path, header.uid, header.gid);
      setDirectory(ctx, rel, header);
      return;
    }
    case 'file':
    case 'contiguous-file':
      await removeExisting(path);
      await writeFile(path, header, body, ctx);
      return;
    case 'symlink':
      await removeExisting(path);
      await symlink(header.linkname ?? '', path);
      if (ctx.chown) await lchown(path, header.uid, header.gid);
      await lutimes(path, header.mtime, header.mtime);
      return;
    case 'link': {
      const target = await hardlinkTarget(header, ctx, unsafe);
      if (target === path) return;
      await removeExisting(path);
      await link(target, path);
      return;
    }
    case 'character-device':
    case 'block-device':
    case 'fifo':
      // Skipped: the sandbox has its own /dev, and a cell cannot use host devices anyway.
      await removeExisting(path);
      mine.delete(segments);
      return;
    default:
      throw new ImageProblem('Unsupported', `${ctx.label}: entry ${JSON.stringify(name)} has an unsupported type`);
  }
}

/** Names and link targets that no filesystem takes are the image's fault: refused before any syscall. */
function checkLengths(header: TarHeader, segments: readonly string[], unsafe: () => string): void {
  const long = (s: string, max: number) => Buffer.byteLength(s) > max;
  if (segments.some((s) => long(s, MAX_COMPONENT_BYTES)) || long(segments.join('/'), MAX_NAME_BYTES)) {
    throw new ImageProblem('UnsafePath', `${unsafe().slice(0, 300)} (name too long)`);
  }
  if (header.linkname != null && long(header.linkname, MAX_NAME_BYTES)) {
    throw new ImageProblem('UnsafePath', `${unsafe().slice(0, 300)} (link target too long)`);
  }
}

/** Sets directory modes and times, deepest first, once every layer is in. */
export async function finishDirectories(root: string, directories: DirectoryTimes, work: ImageWork): Promise<void> {
  // Bucketed by depth rather than sorted: no long synchronous step, whatever the number of folders.
  const byDepth: string[][] = [];
  for (const rel of directories.keys()) {
    const depth = rel === '' ? 0 : rel.split('/').length;
    (byDepth[depth] ??= []).push(rel);
  }
  for (let depth = byDepth.length - 1; depth >= 0; depth--) {
    for (const rel of byDepth[depth] ?? []) {
      await work.tick();
      const { mode, mtime } = directories.get(rel)!;
      const segments = rel === '' ? [] : rel.split('/');
      // Walk again: a later layer may have replaced a parent with a symlink.
      const parent = await walkDirs(root, segments.slice(0, -1), false, () => rel).catch(() => undefined);
      if (parent === undefined) continue;
      const path = segments.length === 0 ? root : join(parent, segments[segments.length - 1]!);
      const st = await lstatOrUndefined(path);
      if (st === undefined || !st.isDirectory()) continue;
      await chmod(path, mode & 0o7777);
      await utimes(path, mtime, mtime);
    }
  }
}

function checked(segments: string[] | { unsafe: string }, ctx: ApplyContext, name: string): string[] {
  if (Array.isArray(segments)) return segments;
  throw new ImageProblem('UnsafePath', `unsafe path in ${ctx.label}: ${JSON.stringify(name)} (${segments.unsafe})`);
}

async function writeFile(path: string, header: TarHeader, body: AsyncIterable<Uint8Array>, ctx: ApplyContext) {
  const fh = await open(path, CREATE_FILE, 0o600);
  try {
    for await (const chunk of body) {
      ctx.work.unpacked(chunk.length);
      await fh.write(chunk);
    }
    if (ctx.chown) await fh.chown(header.uid, header.gid); // before chmod: chown clears setuid bits
    await fh.chmod(header.mode & 0o7777);
    await fh.utimes(header.mtime, header.mtime);
  } finally {
    await fh.close();
  }
}

async function hardlinkTarget(header: TarHeader, ctx: ApplyContext, unsafe: () => string): Promise<string> {
  const linkname = header.linkname ?? '';
  const segments = memberSegments(linkname);
  if (!Array.isArray(segments) || segments.length === 0) {
    const why = Array.isArray(segments) ? 'empty' : segments.unsafe;
    throw new ImageProblem('UnsafePath', `${unsafe()} is a hardlink to ${JSON.stringify(linkname)} (${why})`);
  }
  const dir = await walkDirs(ctx.root, segments.slice(0, -1), false, unsafe);
  const target = dir === undefined ? undefined : join(dir, segments[segments.length - 1]!);
  const st = target === undefined ? undefined : await lstatOrUndefined(target);
  if (target === undefined || st === undefined) {
    throw new ImageProblem(
      'NotAnImage',
      `${ctx.label}: hardlink ${JSON.stringify(header.name)} points to missing ${JSON.stringify(linkname)}`,
    );
  }
  if (st.isDirectory()) throw new ImageProblem('UnsafePath', `${unsafe()} is a hardlink to a directory`);
  return target;
}

/** Deletes what lower layers left in `dir`, keeping what this layer put there. */
async function makeOpaque(dir: string, rel: readonly string[], mine: PathTree, work: ImageWork): Promise<void> {
  for (const name of await readdir(dir)) {
    await work.tick();
    const childRel = [...rel, name];
    const child = join(dir, name);
    if (!mine.has(childRel)) {
      await rm(child, { recursive: true, force: true });
    } else if ((await lstat(child)).isDirectory()) {
      await makeOpaque(child, childRel, mine, work);
    }
  }
}

function setDirectory(ctx: ApplyContext, rel: string, header: TarHeader): void {
  if (!ctx.directories.has(rel)) ctx.work.names(rel.length);
  ctx.directories.set(rel, { mode: header.mode, mtime: header.mtime });
}

async function removeExisting(path: string): Promise<void> {
  const st = await lstatOrUndefined(path);
  if (st === undefined) return;
  if (st.isDirectory()) await rm(path, { recursive: true, force: true });
  else await unlink(path);
}

async function lstatOrUndefined(path: string) {
  return lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
}
