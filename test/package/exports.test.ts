// The package as a Node 20 application installs it: `npm pack`, unpacked into a fresh project's
// node_modules (its dependencies linked from ours, so nothing is downloaded), then imported by
// plain Node and type-checked by tsc with NodeNext resolution. Needs dist/ (setup builds it).
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/host.ts';

const run = promisify(execFile);
let app: string;

beforeAll(async () => {
  app = await mkdtemp(join(tmpdir(), 'cellos-package-'));
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', app], {
    cwd: repoRoot,
  });
  const [{ filename }] = JSON.parse(stdout) as [{ filename: string }];
  const modules = join(app, 'node_modules');
  const pkg = join(modules, 'cellos-gvisor');
  await mkdir(pkg, { recursive: true });
  await run('tar', ['-xzf', join(app, filename), '-C', pkg, '--strip-components=1']);
  for (const dep of await readdir(join(repoRoot, 'node_modules'))) {
    if (dep.startsWith('.') || dep === 'cellos-gvisor') continue;
    await symlink(join(repoRoot, 'node_modules', dep), join(modules, dep));
  }
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', type: 'module', private: true }));
}, 120_000);

afterAll(async () => {
  if (app) await rm(app, { recursive: true, force: true });
});

describe('the installed package', () => {
  it('loads every entry point in plain Node, from compiled JavaScript', async () => {
    await writeFile(
      join(app, 'main.mjs'),
      `
      const core = await import('cellos-gvisor');
      const edge = await import('cellos-gvisor/edge');
      const client = await import('cellos-gvisor/client');
      const worker = await import('cellos-gvisor/worker');
      const doc = core.parseCellDocument({
        apiVersion: 'cellos.io/v1', kind: 'ExecutionCell',
        spec: { id: 'pkg', authority: { secretRefs: [] }, lifetime: { ttlSeconds: 5 }, run: { argv: ['/bin/true'] } },
      });
      console.log(JSON.stringify({
        id: doc.spec.id,
        workflowType: core.CELL_WORKFLOW_TYPE,
        edge: typeof edge.createCellHost,
        client: typeof client.CellClient,
        worker: typeof worker.createCellWorker,
        resolved: import.meta.resolve('cellos-gvisor'),
      }));
      `,
    );
    const { stdout } = await run('node', ['main.mjs'], { cwd: app });
    const out = JSON.parse(stdout) as Record<string, string>;
    expect(out).toMatchObject({
      id: 'pkg',
      workflowType: 'cellWorkflow',
      edge: 'function',
      client: 'function',
      worker: 'function',
    });
    expect(out.resolved).toMatch(/node_modules\/cellos-gvisor\/dist\/src\/index\.js$/);
  });

  it('type-checks an application against its declarations', async () => {
    await writeFile(
      join(app, 'app.ts'),
      `
      import { parseCellDocument, type CellResult } from 'cellos-gvisor';
      import { CellClient } from 'cellos-gvisor/client';
      export function idOf(r: CellResult): string { return r.cellId; }
      export const ttl: number = parseCellDocument({}).spec.lifetime.ttlSeconds;
      export type C = CellClient;
      // @ts-expect-error: a CellResult has no such field
      export const wrong = (r: CellResult) => r.noSuchField;
      `,
    );
    await writeFile(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
        },
        files: ['app.ts'],
      }),
    );
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run('node', [tsc, '-p', app]).then(
      () => ({ code: 0, out: '' }),
      (err: { code: number; stdout: string }) => ({ code: err.code, out: err.stdout }),
    );
    expect(result.out).toBe('');
    expect(result.code).toBe(0);
  });

  it('ships the workflow sources the worker bundles, and none of the tests', async () => {
    const pkg = join(app, 'node_modules', 'cellos-gvisor');
    expect(await readdir(join(pkg, 'workflows'))).toContain('index.ts');
    expect(await readdir(pkg)).not.toContain('test');
    expect(await readdir(join(pkg, 'dist'))).not.toContain('bench');
  });

  it('ships the contract JSON Schemas, resolvable by name', async () => {
    await writeFile(
      join(app, 'schemas.mjs'),
      `import { readFileSync } from 'node:fs';
      const path = new URL(import.meta.resolve('cellos-gvisor/schemas/cell-result.schema.json'));
      console.log(JSON.parse(readFileSync(path, 'utf8')).title);`,
    );
    const { stdout } = await run('node', ['schemas.mjs'], { cwd: app });
    expect(stdout.trim()).toBe('cellWorkflow result');
    expect((await readdir(join(app, 'node_modules', 'cellos-gvisor', 'schemas'))).sort()).toEqual([
      'cell-document.schema.json',
      'cell-input.schema.json',
      'cell-kill.schema.json',
      'cell-result.schema.json',
      'cell-status.schema.json',
      'contract.json',
    ]);
  });
});
