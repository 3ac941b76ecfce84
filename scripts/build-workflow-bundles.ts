// Builds the workflow bundles a compiled cellos embeds (scripts/compile.sh runs it):
//   deno run -A --node-modules-dir=manual scripts/build-workflow-bundles.ts [folder]
// The folder defaults to the one the binary reads them from (EMBEDDED_BUNDLE_DIR).
import { EMBEDDED_BUNDLE_DIR, writePrebuiltBundles } from '../src/worker/workflow-bundle.ts';

async function main(): Promise<void> {
  const dir = process.argv[2] ?? EMBEDDED_BUNDLE_DIR;
  for (const path of await writePrebuiltBundles(dir)) console.log(path);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
