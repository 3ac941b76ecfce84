// The workflow bundles built ahead for a compiled cellos (scripts/compile.sh): written one per failure
// converter, read back without bundling, and a missing one named. Also where a compiled cellos keeps
// the embedded default's state.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ENCRYPTED_FAILURE_CONVERTER_PATH } from '../../src/codec/data-converter.ts';
import { compiled, compiledStateDir } from '../../src/compiled.ts';
import { defaultStateDir, projectRoot } from '../../src/worker/config.ts';
import { loadWorkflowBundle, writePrebuiltBundles } from '../../src/worker/workflow-bundle.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cellos-bundles-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('prebuilt workflow bundles', () => {
  it('are written one per failure converter, and each is real workflow code', async () => {
    const written = await writePrebuiltBundles(dir);
    expect((await readdir(dir)).sort()).toEqual(['workflows-encrypted-failures.js', 'workflows.js']);
    expect(written.map((p) => p.slice(dir.length + 1)).sort()).toEqual((await readdir(dir)).sort());
    const plain = await loadWorkflowBundle({ prebuiltDir: dir });
    const encrypted = await loadWorkflowBundle({
      prebuiltDir: dir,
      failureConverterPath: ENCRYPTED_FAILURE_CONVERTER_PATH,
    });
    expect(plain.code).toContain('cellWorkflow');
    expect(encrypted.code).toContain('failure-converter.cjs');
    expect(plain.code).not.toContain('failure-converter.cjs');
  }, 120_000);

  it('are read as they are, never bundled', async () => {
    await writeFile(join(dir, 'workflows.js'), '/* plain */');
    await writeFile(join(dir, 'workflows-encrypted-failures.js'), '/* encrypted */');
    expect(await loadWorkflowBundle({ prebuiltDir: dir })).toEqual({ code: '/* plain */' });
    expect(
      await loadWorkflowBundle({ prebuiltDir: dir, failureConverterPath: ENCRYPTED_FAILURE_CONVERTER_PATH }),
    ).toEqual({ code: '/* encrypted */' });
  });

  it('name the file that is missing', async () => {
    await expect(loadWorkflowBundle({ prebuiltDir: dir })).rejects.toThrow(
      `cannot read the prebuilt workflow bundle ${join(dir, 'workflows.js')}`,
    );
  });

  it('refuse a failure converter that no bundle was built for', async () => {
    await expect(loadWorkflowBundle({ prebuiltDir: dir, failureConverterPath: '/elsewhere.cjs' })).rejects.toThrow(
      'no workflow bundle is built ahead for the failure converter /elsewhere.cjs',
    );
  });
});

describe('the state of the embedded default', () => {
  it('is the checkout .state/ when not compiled', () => {
    expect(compiled).toBe(false);
    expect(defaultStateDir({ HOME: '/root' })).toBe(join(projectRoot, '.state'));
  });

  it('is $XDG_STATE_HOME/cellos, ~/.local/state/cellos, else /var/lib/cellos-embedded in a compiled binary', () => {
    expect(compiledStateDir({ XDG_STATE_HOME: '/s', HOME: '/root' })).toBe('/s/cellos');
    expect(compiledStateDir({ HOME: '/root' })).toBe('/root/.local/state/cellos');
    expect(compiledStateDir({ XDG_STATE_HOME: 'relative', HOME: '' })).toBe('/var/lib/cellos-embedded');
    expect(compiledStateDir({})).toBe('/var/lib/cellos-embedded');
  });
});
