// An image stored as one tar file (plain or gzip): an OCI layout or a `docker save` archive.
// A first pass records the members and keeps the small ones (index, manifests, configs) in
// memory; layers are copied out only when the image is not cached yet.
import { mkdir, open } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { ImageProblem } from './errors.ts';
import { METADATA_LIMIT, type ImageSource } from './image-source.ts';
import { memberSegments, safeMemberName } from './safe-path.ts';
import { forEachTarEntry, readBody } from './tar-entries.ts';

/** At most this much of the archive is kept in memory by the first pass. */
const CAPTURE_LIMIT = 32 * 1024 * 1024;
const WHAT = 'the image archive';

export async function openImageTarball(file: string): Promise<ImageSource> {
  // name -> the member it links to (symlink or hardlink), or null for a regular file.
  const members = new Map<string, string | null>();
  const small = new Map<string, Uint8Array>();
  let captured = 0;

  await forEachTarEntry(file, WHAT, async (header, body) => {
    const segments = memberSegments(header.name);
    if (!Array.isArray(segments) || segments.length === 0) return; // never looked up
    const name = segments.join('/');
    small.delete(name);
    if (header.type === 'file' || header.type === 'contiguous-file') {
      members.set(name, null);
      if (header.size <= METADATA_LIMIT && captured + header.size <= CAPTURE_LIMIT) {
        small.set(name, await readBody(body, METADATA_LIMIT, name));
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
    forEachTarEntry(file, WHAT, async (header, body) => {
      if (header.type !== 'file' && header.type !== 'contiguous-file') return;
      const segments = memberSegments(header.name);
      if (!Array.isArray(segments)) return;
      const path = wanted.get(segments.join('/'));
      if (path === undefined) return;
      await writeBody(path, body);
    });

  return {
    async read(name) {
      const real = resolve(name);
      if (real === undefined) return undefined;
      const kept = small.get(real);
      if (kept !== undefined) return kept;
      const data: Uint8Array[] = [];
      await forEachTarEntry(file, WHAT, async (header, body) => {
        const segments = memberSegments(header.name);
        if (Array.isArray(segments) && segments.join('/') === real) {
          data.length = 0;
          data.push(await readBody(body, METADATA_LIMIT, name));
        }
      });
      return data[0];
    },

    async files(names, scratch) {
      await mkdir(scratch, { recursive: true, mode: 0o700 });
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
        if (kept !== undefined) await writeBody(path, [kept]);
        else rest.set(real, path);
      }
      if (rest.size > 0) await copyOut(rest);
      return paths;
    },
  };
}

async function writeBody(path: string, body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<void> {
  const fh = await open(path, 'w', 0o600);
  try {
    for await (const chunk of body) await fh.write(chunk);
  } finally {
    await fh.close();
  }
}
