#!/usr/bin/env -S MALLOC_ARENA_MAX=2 MALLOC_TRIM_THRESHOLD_=131072 MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=2
// The `cellos` command for Node: runs the compiled CLI from dist/ (Node 20 cannot run the .ts
// sources). The shebang starts Node with a worker's memory settings (src/worker/memory-settings.ts);
// `node bin/cellos.js` runs without them. Deno runs the sources instead: `deno task worker`, `deno task cellos`
// (deno.json; docs/deno.md)
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);

if (!existsSync(entry)) {
  process.stderr.write('cellos: the compiled CLI is missing: run scripts/setup.sh (builds dist/)\n');
  process.exit(1);
}

const { runCli } = await import(entry.href);
await runCli(process.argv.slice(2));
