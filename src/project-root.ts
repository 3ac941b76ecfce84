// The checkout's root, whether running from src/ (Deno, vitest) or from the compiled dist/.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

function find(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'workflows'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return resolve(start, '..');
    dir = parent;
  }
}

export const projectRoot = find(import.meta.dirname);
