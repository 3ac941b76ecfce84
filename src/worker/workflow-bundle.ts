// The workflow bundle, built once per source version and cached on disk: bundling takes
// seconds, which `cellos run` on the embedded default should not pay every time.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { projectRoot } from './config.ts';

export const workflowsPath = resolve(projectRoot, 'workflows', 'index.ts');

export interface WorkflowBundleOptions {
  readonly cacheDir?: string;
  /** The failure converter the workflow code uses (the data converter's failureConverterPath). */
  readonly failureConverterPath?: string | undefined;
}

export async function loadWorkflowBundle(opts: WorkflowBundleOptions = {}): Promise<{ code: string }> {
  const cacheDir = opts.cacheDir ?? resolve(projectRoot, '.state', 'cache');
  const { failureConverterPath } = opts;
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
