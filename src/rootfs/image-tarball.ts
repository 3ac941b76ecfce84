// An image stored as one tar file (plain or gzip): an OCI layout or a `docker save` archive.
// A first pass records the members and keeps the small ones (index, manifests, configs) in
// memory; layers are copied out only when the image is not cached yet.
import { mkdir, open, realpath, type FileHandle } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { ImageProblem } from './errors.ts';
import type { ImageSource } from './image-source.ts';
import { IMAGE_LIMIT_SETTINGS } from './limits.ts';
import { memberSegments, safeMemberName } from './safe-path.ts';
import { forEachTarEntry, readBody } from './tar-entries.ts';
import type { ImageWork } from './work.ts';

const WHAT = 'the image archive';
/** Longer member names are never looked up (blob and layer names are short), so never recorded. */
const MAX_MEMBER_NAME = 4096;
/**
 * Members an archive may hold: a few per descriptor (docker save has a folder, layer.tar, json and
 * VERSION per layer), so the member table stays small whatever the archive claims.
 */
const MEMBERS_PER_DESCRIPTOR = 4;

/** `file` is the descriptor of the checked archive: every pass reads it, never its path again. */
export async function openImageTarball(file: FileHandle, work: ImageWork): Promise<ImageSource> {
  const { maxJsonBytes, maxMetadataBytes, maxDescriptors } = work.limits;
  const maxMembers = MEMBERS_PER_DESCRIPTOR * maxDescriptors;
  // name -> the member it links to (symlink or hardlink), or null for a regular file.
  const members = new Map<string, string | null>();
  const small = new Map<string, Uint8Array>();
  let captured = 0;
  let seen = 0;

  await forEachTarEntry(file, WHAT, work, async (header, body) => {
    if (++seen > maxMembers) {
      throw new ImageProblem(
        'TooLarge',
        `${WHAT} has more than ${maxMembers} members, ${MEMBERS_PER_DESCRIPTOR} per descriptor this host allows (${IMAGE_LIMIT_SETTINGS.maxDescriptors})`,
      );
    }
    if (header.name.length > MAX_MEMBER_NAME) return;
    const segments = memberSegments(header.name);
    if (!Array.isArray(segments) || segments.length === 0) return; // never looked up
    const name = segments.join('/');
    small.delete(name);
    if (header.type === 'file' || header.type === 'contiguous-file') {
      members.set(name, null);
      if (header.size <= maxJsonBytes && captured + header.size <= maxMetadataBytes) {
        small.set(name, await readBody(body, maxJsonBytes, () => work.jsonTooLarge(name)));
        captured += header.size;
      }
    } else if (header.type === 'symlink' || header.type === 'link') {
      // docker save links repeated layers: "<id>/layer.tar -> ../<other>/layer.tar".
      const linkname = header.linkname ?? '';
      const target = header.type === 'symlink' ? posix.normalize(posix.join(posix.dirname(name), linkname)) : linkname;
      const targetSegments = memberSegments(target);
      if (Array.isArray(targetSegments) && targetSegments.length > 0) members.set(name, targetSegments.join('/'));
      else members.delete(name);
    } else {
      members.delete(name);
    }
  });

  const resolve = (name: string): string | undefined => {
    let current = safeMemberName(name, WHAT);
    for (let hops = 0; hops < 16; hops++) {
      const link = members.get(current);
      if (link === undefined) return undefined;
      if (link === null) return current;
      current = link;
    }
    throw new ImageProblem('NotAnImage', `${name} is a loop of links in ${WHAT}`);
  };

  /** One more pass over the archive, copying each wanted member to its path. */
  const copyOut = async (wanted: Map<string, string>) =>
    forEachTarEntry(file, WHAT, work, async (header, body) => {
      if (header.type !== 'file' && header.type !== 'contiguous-file') return;
      const segments = memberSegments(header.name);
      if (!Array.isArray(segments)) return;
      const path = wanted.get(segments.join('/'));
      if (path === undefined) return;
      await writeBody(path, body, work);
    });

  return {
    async read(name) {
      const real = resolve(name);
      if (real === undefined) return undefined;
      let data = small.get(real);
      if (data === undefined) {
        // Not kept by the first pass (past the capture limit): one more pass, counted as reads.
        await forEachTarEntry(file, WHAT, work, async (header, body) => {
          const segments = memberSegments(header.name);
          if (Array.isArray(segments) && segments.join('/') === real) {
            data = await readBody(body, maxJsonBytes, () => work.jsonTooLarge(name));
          }
        });
      }
      if (data !== undefined) work.metadata(data.length, name);
      return data;
    },

    async files(names, scratchDir) {
      await mkdir(scratchDir, { recursive: true, mode: 0o700 });
      // Realpaths: the layers are read back through checked opens that compare paths.
      const scratch = await realpath(scratchDir);
      const wanted = new Map<string, string>();
      const paths = names.map((name) => {
        const real = resolve(name);
        if (real === undefined) throw new ImageProblem('NotAnImage', `${name} is missing from ${WHAT}`);
        let path = wanted.get(real);
        if (path === undefined) {
          path = join(scratch, `member-${wanted.size}`);
          wanted.set(real, path);
        }
        return path;
      });
      const rest = new Map<string, string>();
      for (const [real, path] of wanted) {
        const kept = small.get(real);
        if (kept !== undefined) await writeBody(path, [kept], work);
        else rest.set(real, path);
      }
      if (rest.size > 0) await copyOut(rest);
      return paths;
    },

    async close() {
      small.clear();
      members.clear();
    },
  };
}

/** Copies a member to scratch: bytes on disk, counted against the unpack limit. */
async function writeBody(
  path: string,
  body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  work: ImageWork,
): Promise<void> {
  const fh = await open(path, 'w', 0o600);
  try {
    for await (const chunk of body) {
      work.unpacked(chunk.length);
      await fh.write(chunk);
    }
  } finally {
    await fh.close();
  }
}
