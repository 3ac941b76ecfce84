#!/usr/bin/env node
// The `cellos` command for Node: runs the compiled CLI from dist/ (Node 20 cannot run the .ts
// sources). Deno runs the sources instead: deno run -A --node-modules-dir=manual src/cli/main.ts
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);

if (!existsSync(entry)) {
  process.stderr.write('cellos: the compiled CLI is missing: run scripts/setup.sh (builds dist/)\n');
  process.exit(1);
}

const { runCli } = await import(entry.href);
await runCli(process.argv.slice(2));
