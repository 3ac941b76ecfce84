// Archive member names, checked before anything touches the host. Paths are walked one
// component at a time with lstat, so a symlink planted by a layer is never followed.
import { lstat, mkdir, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { ImageProblem } from './errors.ts';

/**
 * The path segments of an archive member name, or why the name is unsafe. `./a/b/`, `a//b`
 * and `a/./b` all give ["a", "b"]; the archive root gives []. Absolute names and any `..`
 * segment are refused (not stripped), so a hostile archive fails loudly.
 */
export function memberSegments(name: string): string[] | { unsafe: string } {
  if (name.includes('\0')) return { unsafe: 'contains NUL' };
  if (name.startsWith('/')) return { unsafe: 'absolute path' };
  const segments = name.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) return { unsafe: 'contains ..' };
  return segments;
}

/** Like memberSegments, but throws: for names inside image metadata (manifest.json Layers, ...). */
export function safeMemberName(name: string, what: string): string {
  const segments = memberSegments(name);
  if (!Array.isArray(segments) || segments.length === 0) {
    const why = Array.isArray(segments) ? 'empty' : segments.unsafe;
    throw new ImageProblem('UnsafePath', `${what} names ${JSON.stringify(name)} (${why})`);
  }
  return segments.join('/');
}

/**
 * Walks `segments` down from `root`, each component an existing real directory (never a
 * symlink). Missing components are created (mode 0755) when `create`; otherwise the walk
 * returns undefined. `describe` words the refusal for the entry being applied.
 */
export async function walkDirs(
  root: string,
  segments: readonly string[],
  create: boolean,
  describe: () => string,
): Promise<string | undefined> {
  let dir = root;
  for (let i = 0; i < segments.length; i++) {
    const next = join(dir, segments[i]!);
    const st = await lstat(next).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (st === undefined) {
      if (!create) return undefined;
      await mkdir(next, { mode: 0o755 });
      await chmod(next, 0o755);
    } else if (st.isSymbolicLink()) {
      const at = segments.slice(0, i + 1).join('/');
      throw new ImageProblem('UnsafePath', `${describe()} goes through symlink ${JSON.stringify(at)}`);
    } else if (!st.isDirectory()) {
      const at = segments.slice(0, i + 1).join('/');
      throw new ImageProblem(
        'UnsafePath',
        `${describe()} goes through ${JSON.stringify(at)}, which is not a directory`,
      );
    }
    dir = next;
  }
  return dir;
}
