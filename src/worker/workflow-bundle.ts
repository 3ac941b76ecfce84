// The workflow bundle, built once per source version and cached on disk: bundling takes
// seconds, which `cellos run` on the embedded default should not pay every time.
//
// A compiled cellos (src/compiled.ts) has no sources to hash, no webpack to run and no cache to
// write: scripts/compile.sh builds its bundles ahead (writePrebuiltBundles) and embeds them, and
// loadWorkflowBundle reads them from there.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENCRYPTED_FAILURE_CONVERTER_PATH } from '../codec/data-converter.ts';
import { compiled } from '../compiled.ts';
import { projectRoot } from './config.ts';

export const workflowsPath = resolve(projectRoot, 'workflows', 'index.ts');

/**
 * Where scripts/compile.sh writes the bundles it embeds, and where a compiled cellos finds them: the
 * binary's virtual folder mirrors the checkout, so the path is taken from this module's own place.
 */
export const EMBEDDED_BUNDLE_DIR = fileURLToPath(new URL('../../.tools/cellos-bin/workflow-bundles/', import.meta.url));

/** The bundles built ahead: one per failure converter a data converter may name (src/codec/data-converter.ts). */
const PREBUILT_BUNDLES = [
  { file: 'workflows.js', failureConverterPath: undefined },
  { file: 'workflows-encrypted-failures.js', failureConverterPath: ENCRYPTED_FAILURE_CONVERTER_PATH },
] as const;

export interface WorkflowBundleOptions {
  readonly cacheDir?: string;
  /** The failure converter the workflow code uses (the data converter's failureConverterPath). */
  readonly failureConverterPath?: string | undefined;
  /**
   * A folder of bundles built ahead (writePrebuiltBundles): the bundle is read from there, never
   * built. Default: the embedded one in a compiled cellos, none otherwise.
   */
  readonly prebuiltDir?: string | undefined;
}

export async function loadWorkflowBundle(opts: WorkflowBundleOptions = {}): Promise<{ code: string }> {
  const { failureConverterPath, prebuiltDir = compiled ? EMBEDDED_BUNDLE_DIR : undefined } = opts;
  if (prebuiltDir !== undefined) return readPrebuiltBundle(prebuiltDir, failureConverterPath);
  const cacheDir = opts.cacheDir ?? resolve(projectRoot, '.state', 'cache');
  const key = await sourceHash([resolve(projectRoot, 'workflows'), resolve(projectRoot, 'src')], failureConverterPath);
  const file = join(cacheDir, `workflow-bundle-${key}.js`);
  try {
    return { code: await readFile(file, 'utf8') };
  } catch {
    // not cached yet
  }
  const { bundleWorkflowCode } = await import('@temporalio/worker');
  const bundle = await bundleWorkflowCode({ workflowsPath, failureConverterPath, logger: quietLogger });
  await mkdir(cacheDir, { recursive: true });
  await writeFile(`${file}.${process.pid}.tmp`, bundle.code);
  await rename(`${file}.${process.pid}.tmp`, file);
  return bundle;
}

/**
 * Builds every bundle a compiled cellos may need into `dir` (scripts/compile.sh runs it through
 * scripts/build-workflow-bundles.ts) and returns their paths.
 */
export async function writePrebuiltBundles(dir: string): Promise<string[]> {
  const { bundleWorkflowCode } = await import('@temporalio/worker');
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const { file, failureConverterPath } of PREBUILT_BUNDLES) {
    const bundle = await bundleWorkflowCode({ workflowsPath, failureConverterPath, logger: quietLogger });
    const path = join(dir, file);
    await writeFile(`${path}.${process.pid}.tmp`, bundle.code);
    await rename(`${path}.${process.pid}.tmp`, path);
    written.push(path);
  }
  return written;
}

async function readPrebuiltBundle(dir: string, failureConverterPath: string | undefined): Promise<{ code: string }> {
  const entry = PREBUILT_BUNDLES.find((b) => b.failureConverterPath === failureConverterPath);
  if (entry === undefined) {
    throw new Error(`no workflow bundle is built ahead for the failure converter ${failureConverterPath}`);
  }
  const path = join(dir, entry.file);
  try {
    return { code: await readFile(path, 'utf8') };
  } catch (err) {
    const why = compiled ? ': this binary was built without it; rebuild it with scripts/compile.sh' : '';
    throw new Error(`cannot read the prebuilt workflow bundle ${path}${why} (${(err as Error).message})`, {
      cause: err,
    });
  }
}

async function sourceHash(dirs: string[], failureConverterPath: string | undefined): Promise<string> {
  const hash = createHash('sha256').update(failureConverterPath ?? '');
  const walk = async (dir: string): Promise<void> => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name.endsWith('.ts') || e.name.endsWith('.cjs')) hash.update(p).update(await readFile(p));
    }
  };
  for (const d of dirs) await walk(d);
  // Where npm put the SDK: in this checkout's node_modules, or hoisted beside an installed package.
  const workerMain = createRequire(import.meta.url).resolve('@temporalio/worker');
  const pkg = JSON.parse(await readFile(join(workerMain, '..', '..', 'package.json'), 'utf8')) as { version: string };
  hash.update(pkg.version);
  return hash.digest('hex').slice(0, 16);
}

const quietLogger = {
  log() {},
  trace() {},
  debug() {},
  info() {},
  warn(message: string) {
    console.warn(message);
  },
  error(message: string) {
    console.error(message);
  },
};
