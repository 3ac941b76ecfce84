// Which rootfs folders cells use: the root.path of every OCI bundle (<bundleDir>/<id>/config.json)
// that still exists. A host writes a cell's bundle when it prepares it and deletes it when it
// removes the cell, so an image named here may still run and is never evicted.
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** A bundle's config.json is small; a larger one is no bundle of ours and is skipped. */
const MAX_CONFIG_BYTES = 1024 * 1024;

export async function rootfsPathsInBundles(bundleDir: string): Promise<string[]> {
  const names = await readdir(bundleDir).catch(() => [] as string[]);
  const paths: string[] = [];
  for (const name of names) {
    const path = await rootPath(join(bundleDir, name, 'config.json'));
    if (path !== undefined) paths.push(path);
  }
  return paths;
}

async function rootPath(configPath: string): Promise<string | undefined> {
  try {
    const fh = await open(configPath, 'r');
    try {
      if ((await fh.stat()).size > MAX_CONFIG_BYTES) return undefined;
      const config = JSON.parse(await fh.readFile('utf8')) as { root?: { path?: unknown } };
      return typeof config.root?.path === 'string' ? config.root.path : undefined;
    } finally {
      await fh.close();
    }
  } catch {
    // Missing, half-written or being removed: not a bundle that names a rootfs.
    return undefined;
  }
}
