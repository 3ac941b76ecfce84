// Copies a cell's artifacts out of its scratch mount into host files, after the workload has ended
// and before its sandbox is deleted. Every name, kind, size and byte in that folder was chosen by a
// hostile workload, so:
// - nothing is followed: each step is an lstat of a name inside a directory this process holds
//   open (`/proc/self/fd/<fd>/<name>`, an openat that Node and Deno both reach), then an open with
//   O_NOFOLLOW|O_NONBLOCK whose fstat must show the very file the lstat saw (dev and inode), on the
//   mount's own filesystem; a fifo, socket or device is refused before it is ever opened;
// - every cost has a cap (bytes, entries, depth), checked before the work: a file's size is known
//   before it is read, so a sparse 1 TiB file is refused without a read.
// Collection runs as root on the host (the sandbox's files belong to its uid): permission bits,
// 000 included, do not stop it; run as another user, an unreadable entry is refused, not skipped.
import { createHash } from 'node:crypto';
import { constants, type BigIntStats } from 'node:fs';
import { lstat, mkdir, open, opendir, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { pack as tarPack, type Pack } from 'tar-stream';
import type { ArtifactLimits } from './limits.ts';
import type { ArtifactKind, ArtifactRecord, RefusedArtifact } from './store.ts';

const { O_RDONLY, O_WRONLY, O_CREAT, O_TRUNC, O_NOFOLLOW, O_NONBLOCK, O_NOCTTY, O_DIRECTORY, S_IFMT } = constants;
// O_NONBLOCK: a fifo swapped in after the lstat must not block the open (nor the libuv pool).
const OPEN_FILE = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;
const OPEN_DIR = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK;
const CREATE_OUT = O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW;
const CHUNK = 64 * 1024;
const TAR_BLOCK = 512;
/** The ustar mtime field holds 11 octal digits, and tar-stream truncates it to 32 bits. */
const MAX_TAR_SECONDS = 2 ** 31 - 1;

export interface CollectOptions {
  /** The host folder of the cell's scratch mount. */
  readonly mountRoot: string;
  /** The artifact's path below the mount point, normalised (`a/b`, no `.` or `..`); '' is the mount itself. */
  readonly relativePath: string;
  /** A host file to write the artifact into (created or truncated; removed when refused). */
  readonly outFile: string;
  readonly limits: ArtifactLimits;
  /** Bytes the cell's earlier artifacts already took of `limits.maxBytesPerCell`. */
  readonly cellBytesUsed?: number | undefined;
}

export type CollectResult =
  | { readonly ok: true; readonly kind: ArtifactKind; readonly bytes: number; readonly sha256: string }
  | { readonly ok: false; readonly reason: string };

/**
 * Writes one artifact into `outFile`: a regular file as it is, a directory as a tar of it. Answers
 * what it wrote, with its sha256, or why it refused (then `outFile` is gone). Throws only for the
 * host's own failures (the mount root missing, a write to `outFile`), which a retry may cure.
 */
export async function collectArtifact(opts: CollectOptions): Promise<CollectResult> {
  const { mountRoot, relativePath, outFile, limits, cellBytesUsed = 0 } = opts;
  const components = componentsOf(relativePath);
  if (!Number.isSafeInteger(cellBytesUsed) || cellBytesUsed < 0) {
    throw new TypeError(`cellBytesUsed must be a whole number >= 0, got ${JSON.stringify(cellBytesUsed)}`);
  }
  const out = new Output(await open(outFile, CREATE_OUT, 0o600), budgetOf(limits, cellBytesUsed));
  let result: CollectResult;
  try {
    const kind = await collectInto(mountRoot, components, out, limits);
    result = { ok: true, kind, bytes: out.bytes, sha256: out.digest() };
  } catch (err) {
    await out.close().catch(() => undefined);
    await unlink(outFile).catch(() => undefined);
    if (err instanceof Refused) return { ok: false, reason: err.reason };
    throw err;
  }
  await out.close();
  return result;
}

/** One artifact of a cell: where it is in the document, and where its bytes are on the host. */
export interface ArtifactSource {
  /** spec.export.artifacts[].name */
  readonly name: string;
  /** spec.export.artifacts[].path, inside the sandbox. */
  readonly path: string;
  readonly mountRoot: string;
  readonly relativePath: string;
}

/** An artifact collected into a host file: its ArtifactRecord once a store gives it a location. */
export interface CollectedArtifact extends Omit<ArtifactRecord, 'location'> {
  /** `<outDir>/artifact-<index>`: what ArtifactPut.file takes. */
  readonly file: string;
}

export interface CollectedArtifacts {
  readonly collected: readonly CollectedArtifact[];
  readonly refused: readonly RefusedArtifact[];
}

/**
 * Collects a cell's artifacts in document order into `outDir` (made if missing; the caller removes
 * it). The per-cell byte limit counts what was collected before: an artifact refused takes nothing
 * from it, so a smaller one after it may still fit.
 */
export async function collectArtifacts(opts: {
  readonly artifacts: readonly ArtifactSource[];
  readonly outDir: string;
  readonly limits: ArtifactLimits;
}): Promise<CollectedArtifacts> {
  const { artifacts, outDir, limits } = opts;
  await mkdir(outDir, { recursive: true, mode: 0o700 });
  const collected: CollectedArtifact[] = [];
  const refused: RefusedArtifact[] = [];
  let used = 0;
  for (const [i, artifact] of artifacts.entries()) {
    const { name, path, mountRoot, relativePath } = artifact;
    // Named by index: the artifact's name is the document's and may not be a file name.
    const file = join(outDir, `artifact-${i}`);
    const got = await collectArtifact({ mountRoot, relativePath, outFile: file, limits, cellBytesUsed: used });
    if (got.ok) {
      used += got.bytes;
      collected.push({ name, path, kind: got.kind, bytes: got.bytes, sha256: got.sha256, file });
    } else {
      refused.push({ name, path, reason: got.reason });
    }
  }
  return { collected, refused };
}

/** Why an artifact is not exported; the message is RefusedArtifact.reason. */
class Refused extends Error {
  readonly reason: string;
  constructor(reason: string) {
    super(reason);
    this.reason = reason;
  }
}

/** Where a refusal is: the artifact itself, a folder on its path, or an entry inside it. */
type Where = { readonly at: 'artifact' } | { readonly at: 'path' | 'inside'; readonly shown: string };

const ARTIFACT: Where = { at: 'artifact' };

/** "a symlink", `a symlink on its path: "out"`, `a symlink inside: "sub/link"`. */
function refuse(what: string, where: Where): Refused {
  if (where.at === 'artifact') return new Refused(what);
  const place = where.at === 'path' ? 'on its path' : 'inside';
  return new Refused(`${what} ${place}: ${quote(where.shown)}`);
}

/** A name for a message: JSON-quoted (newlines and control bytes escaped), cut if long. */
function quote(name: string): string {
  const quoted = JSON.stringify(name);
  return quoted.length > 200 ? `${quoted.slice(0, 200)}...` : quoted;
}

function componentsOf(relativePath: string): string[] {
  if (relativePath === '') return [];
  const parts = relativePath.split('/');
  for (const part of parts) {
    if (part === '' || part === '.' || part === '..' || part.includes('\0')) {
      throw new TypeError(`relativePath must be a normalised relative path, got ${JSON.stringify(relativePath)}`);
    }
  }
  return parts;
}

interface Budget {
  readonly max: number;
  /** The refusal when `max` is passed: the limit that binds, by name. */
  readonly over: string;
}

function budgetOf(limits: ArtifactLimits, cellBytesUsed: number): Budget {
  const cellLeft = Math.max(0, limits.maxBytesPerCell - cellBytesUsed);
  return cellLeft < limits.maxBytesPerArtifact
    ? { max: cellLeft, over: `over ${limits.maxBytesPerCell} bytes per cell` }
    : { max: limits.maxBytesPerArtifact, over: `over ${limits.maxBytesPerArtifact} bytes per artifact` };
}

/** A directory this process holds open, and the filesystem every entry must be on. */
interface Dir {
  readonly fh: FileHandle;
  readonly dev: bigint;
}

/** A name inside an open directory, reached through the descriptor, never through a path that could change. */
const at = (dir: Dir, name: string): string => `/proc/self/fd/${dir.fh.fd}/${name}`;

async function collectInto(
  mountRoot: string,
  components: readonly string[],
  out: Output,
  limits: ArtifactLimits,
): Promise<ArtifactKind> {
  // The mount root is the host's own folder: a failure to open it is the host's, and thrown.
  const rootFh = await open(mountRoot, OPEN_DIR);
  const held: FileHandle[] = [rootFh];
  try {
    const root: Dir = { fh: rootFh, dev: (await rootFh.stat({ bigint: true })).dev };
    let dir = root;
    for (const [i, name] of components.slice(0, -1).entries()) {
      const where: Where = { at: 'path', shown: components.slice(0, i + 1).join('/') };
      const st = await lookAt(dir, name, where);
      if (st === undefined) throw new Refused('missing');
      if (!st.isDirectory()) throw refuse(st.isSymbolicLink() ? 'a symlink' : 'not a directory', where);
      dir = await openAt(dir, name, st, OPEN_DIR, where, root.dev);
      held.push(dir.fh);
    }
    const last = components.at(-1);
    if (last === undefined) {
      await writeTar(root, out, limits);
      return 'directory';
    }
    const st = await lookAt(dir, last, ARTIFACT);
    if (st === undefined) throw new Refused('missing');
    if (st.isFile()) {
      const file = await openAt(dir, last, st, OPEN_FILE, ARTIFACT, root.dev);
      held.push(file.fh);
      await copyFile(file.fh, st.size, out);
      return 'file';
    }
    if (st.isDirectory()) {
      const sub = await openAt(dir, last, st, OPEN_DIR, ARTIFACT, root.dev);
      held.push(sub.fh);
      await writeTar(sub, out, limits);
      return 'directory';
    }
    throw refuse(kindOf(st), ARTIFACT);
  } finally {
    for (const fh of held.reverse()) await fh.close();
  }
}

/** The lstat of a name in `dir`; undefined when there is none. */
async function lookAt(dir: Dir, name: string, where: Where): Promise<BigIntStats | undefined> {
  try {
    return await lstat(at(dir, name), { bigint: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw cellCaused(err, where);
  }
}

/** Opens what the lstat `seen` showed, or refuses: a swap after the lstat shows in the fstat. */
async function openAt(
  dir: Dir,
  name: string,
  seen: BigIntStats,
  flags: number,
  where: Where,
  dev: bigint,
): Promise<Dir> {
  if (seen.dev !== dev) throw refuse('on another filesystem', where);
  let fh: FileHandle;
  try {
    fh = await open(at(dir, name), flags);
  } catch (err) {
    throw cellCaused(err, where);
  }
  try {
    const st = await fh.stat({ bigint: true });
    const sameKind = (st.mode & BigInt(S_IFMT)) === (seen.mode & BigInt(S_IFMT));
    if (!sameKind || st.dev !== seen.dev || st.ino !== seen.ino) throw refuse('changed while it was collected', where);
    return { fh, dev: st.dev };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** What the workload's files cause, as a refusal; anything else (EIO, EMFILE, ...) is the host's, thrown. */
function cellCaused(err: unknown, where: Where): unknown {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ELOOP': // O_NOFOLLOW met a symlink swapped in
      return refuse('a symlink', where);
    case 'EACCES':
    case 'EPERM':
      return refuse('not readable', where);
    case 'ENOENT':
    case 'ENOTDIR':
      return refuse('changed while it was collected', where);
    default:
      return err;
  }
}

function kindOf(st: BigIntStats): string {
  if (st.isSymbolicLink()) return 'a symlink';
  if (st.isFIFO()) return 'a fifo';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file or directory';
}

/** The artifact's bytes as they go to `outFile`: counted against the budget, hashed, written. */
class Output {
  bytes = 0;
  readonly budget: Budget;
  readonly #fh: FileHandle;
  readonly #hash = createHash('sha256');

  constructor(fh: FileHandle, budget: Budget) {
    this.#fh = fh;
    this.budget = budget;
  }

  /** Refuses before writing anything past the budget. */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.bytes + chunk.byteLength > this.budget.max) throw new Refused(this.budget.over);
    this.#hash.update(chunk);
    this.bytes += chunk.byteLength;
    for (let done = 0; done < chunk.byteLength;) {
      done += (await this.#fh.write(chunk, done, chunk.byteLength - done)).bytesWritten;
    }
  }

  digest(): string {
    return this.#hash.digest('hex');
  }

  close(): Promise<void> {
    return this.#fh.close();
  }
}

/** A regular file as it is; never more than the budget plus one byte is read. */
async function copyFile(fh: FileHandle, size: bigint, out: Output): Promise<void> {
  if (size > BigInt(out.budget.max)) throw new Refused(out.budget.over);
  for (let position = 0; ;) {
    // One byte past the budget tells a file that grew after its fstat from one that fits exactly.
    const buf = new Uint8Array(Math.min(CHUNK, out.budget.max - out.bytes + 1));
    const { bytesRead } = await fh.read(buf, 0, buf.length, position);
    if (bytesRead === 0) return;
    position += bytesRead;
    await out.write(buf.subarray(0, bytesRead));
  }
}

/**
 * A directory as a tar of its regular files and directories, depth first, each directory's names in
 * byte order, with metadata that says nothing of the host: uid/gid 0, no owner names, mode 0755
 * (directories, files with an execute bit) or 0644, the mtime of each entry. Entry names are
 * relative to the directory (`sub/`, `sub/file`); the directory itself has no entry.
 *
 * Anything else inside (a symlink, fifo, socket, device) refuses the whole artifact, naming it:
 * skipping it would hand the user a directory that is silently not what the cell left, and a
 * symlink would mean nothing (or something else) wherever the tar is unpacked. Names that are not
 * UTF-8 are refused too: a tar name from a lossy decoding would name a file that never existed.
 */
async function writeTar(root: Dir, out: Output, limits: ArtifactLimits): Promise<void> {
  const tar = new TarWriter(out);
  try {
    await addChildren(root, '', 1, { entries: 0 }, tar, limits);
  } catch (err) {
    throw await tar.abort(err);
  }
  await tar.finish();
}

async function addChildren(
  dir: Dir,
  prefix: string,
  depth: number,
  count: { entries: number },
  tar: TarWriter,
  limits: ArtifactLimits,
): Promise<void> {
  const names = await listNames(dir, prefix, count, limits);
  if (names.length > 0 && depth > limits.maxDepth) throw new Refused(`over ${limits.maxDepth} levels deep`);
  for (const name of names) {
    const shown = prefix + name;
    const where: Where = { at: 'inside', shown };
    const st = await lookAt(dir, name, where);
    if (st === undefined) throw refuse('changed while it was collected', where);
    if (st.isDirectory()) {
      const sub = await openAt(dir, name, st, OPEN_DIR, where, dir.dev);
      try {
        await tar.directory(`${shown}/`, st);
        await addChildren(sub, `${shown}/`, depth + 1, count, tar, limits);
      } finally {
        await sub.fh.close();
      }
    } else if (st.isFile()) {
      const file = await openAt(dir, name, st, OPEN_FILE, where, dir.dev);
      try {
        await tar.file(shown, st, file.fh, where);
      } finally {
        await file.fh.close();
      }
    } else {
      throw refuse(kindOf(st), where);
    }
  }
}

/** The names in `dir`, in byte order; stops reading as soon as the artifact has too many entries. */
async function listNames(
  dir: Dir,
  prefix: string,
  count: { entries: number },
  limits: ArtifactLimits,
): Promise<string[]> {
  const names: { name: string; key: Uint8Array }[] = [];
  const encoder = new TextEncoder();
  // Deno needs bufferSize spelled out.
  const handle = await opendir(`/proc/self/fd/${dir.fh.fd}`, { bufferSize: 32 }).catch((err: unknown) => {
    throw cellCaused(err, prefix === '' ? ARTIFACT : { at: 'inside', shown: prefix });
  });
  try {
    for await (const entry of handle) {
      if (++count.entries > limits.maxFilesPerArtifact) {
        throw new Refused(`over ${limits.maxFilesPerArtifact} files per artifact`);
      }
      // Node and Deno both decode names as UTF-8, bad bytes as U+FFFD (a real U+FFFD is refused too).
      if (entry.name.includes('\uFFFD')) {
        throw refuse('a name that is not UTF-8', { at: 'inside', shown: prefix + entry.name });
      }
      names.push({ name: entry.name, key: encoder.encode(entry.name) });
    }
  } finally {
    // Node closes it at the end of the loop, Deno does not.
    await handle.close().catch(() => undefined);
  }
  return names.sort((a, b) => compareBytes(a.key, b.key)).map((n) => n.name);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

const tarTime = (st: BigIntStats): Date =>
  new Date(Math.min(MAX_TAR_SECONDS, Math.max(0, Number(st.mtimeMs / 1000n))) * 1000);

const padded = (size: number): number => Math.ceil(size / TAR_BLOCK) * TAR_BLOCK;

/**
 * tar-stream's pack, with its output pumped into the Output as it comes (so a full budget stops the
 * entries being added) and the entries added one at a time, each body read in chunks.
 */
class TarWriter {
  readonly #pack: Pack = tarPack();
  readonly #out: Output;
  /** Settles with the pump's failure (a refusal at the budget, a write error) or undefined. */
  readonly #pumped: Promise<unknown>;
  /** The least the tar will take so far: headers, padded bodies and the two closing blocks. */
  #projected = 2 * TAR_BLOCK;

  constructor(out: Output) {
    this.#out = out;
    this.#pumped = this.#pump().then(
      () => undefined,
      (err: unknown) => {
        this.#pack.destroy(err as Error);
        return err;
      },
    );
  }

  async #pump(): Promise<void> {
    for await (const chunk of this.#pack) await this.#out.write(chunk as Uint8Array);
  }

  async directory(name: string, st: BigIntStats): Promise<void> {
    this.#reserve(0);
    const { done } = this.#entry({ name, type: 'directory', mode: 0o755, mtime: tarTime(st) });
    await done;
  }

  /** Adds a regular file of the size its lstat gave, refused at once when the tar could not hold it. */
  async file(name: string, st: BigIntStats, fh: FileHandle, where: Where): Promise<void> {
    if (st.size > BigInt(this.#out.budget.max)) throw new Refused(this.#out.budget.over);
    const size = Number(st.size);
    this.#reserve(size);
    const mode = (st.mode & 0o111n) !== 0n ? 0o755 : 0o644;
    const { sink, done } = this.#entry({ name, type: 'file', size, mode, mtime: tarTime(st) });
    for (let position = 0; position < size;) {
      // A fresh buffer per chunk: the pack keeps it until it is read out.
      const buf = new Uint8Array(Math.min(CHUNK, size - position));
      const { bytesRead } = await fh.read(buf, 0, buf.length, position);
      // Shorter than its fstat said: nothing writes there once the workload is gone.
      if (bytesRead === 0) throw refuse('changed while it was collected', where);
      position += bytesRead;
      if (!sink.write(buf.subarray(0, bytesRead))) await Promise.race([drained(sink), done]);
    }
    sink.end(undefined); // streamx's types want an argument; undefined adds no data
    await done;
  }

  async finish(): Promise<void> {
    this.#pack.finalize();
    const err = await this.#pumped;
    if (err !== undefined) throw err;
  }

  /** Stops the tar; answers the failure to report: the pump's when it failed first (the budget). */
  async abort(err: unknown): Promise<unknown> {
    this.#pack.destroy(err as Error);
    return (await this.#pumped) ?? err;
  }

  #reserve(size: number): void {
    this.#projected += TAR_BLOCK + padded(size);
    if (this.#projected > this.#out.budget.max) throw new Refused(this.#out.budget.over);
  }

  #entry(header: Parameters<Pack['entry']>[0]): { sink: ReturnType<Pack['entry']>; done: Promise<void> } {
    let finished!: (err?: Error | null) => void;
    const done = new Promise<void>((resolve, reject) => {
      finished = (err) => (err ? reject(err) : resolve());
    });
    // Awaited by the caller; a pump that fails first may reject it while a read is under way.
    done.catch(() => undefined);
    const sink = this.#pack.entry({ ...header, uid: 0, gid: 0, uname: '', gname: '' }, finished);
    return { sink, done };
  }
}

function drained(sink: ReturnType<Pack['entry']>): Promise<void> {
  return new Promise((resolve) => sink.once('drain', () => resolve()));
}
