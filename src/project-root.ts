// The checkout's root, whether running from src/ (Deno, vitest) or from the compiled dist/.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

function find(start: string): string {
  let dir = start;
  for (;;) {
    if (exists(join(dir, 'package.json')) && exists(join(dir, 'workflows'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return resolve(start, '..');
    dir = parent;
  }
}

/**
 * Runs when this module loads, before the CLI can report anything: a path Deno may not read (no
 * --allow-read) counts as absent here, and the first read that matters says what is missing.
 */
function exists(path: string): boolean {
  try {
    return existsSync(path);
  } catch {
    return false;
  }
}

// Set for every file: module; Deno types it as possibly undefined (for remote modules), and type-checks
// this file when a Deno test imports it.
export const projectRoot = find(import.meta.dirname as string);
