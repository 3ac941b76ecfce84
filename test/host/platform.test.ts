import { afterEach, describe, expect, it } from 'vitest';

const realPlatform = process.platform;
afterEach(() => {
  Object.defineProperty(process, 'platform', { value: realPlatform });
});

describe('on a system that is not Linux', () => {
  it('imports the edge and refuses to run a cell with a clear unsupported-platform error', async () => {
    Object.defineProperty(process, 'platform', { value: 'darwin' });
    const edge = await import('../../src/edge.ts');
    await expect(edge.createCellHost({ stateDir: '/tmp/never-used', defaultRootfs: '/tmp' })).rejects.toThrow(
      edge.UnsupportedPlatformError,
    );
    await expect(edge.createCellHost({ stateDir: '/tmp/never-used', defaultRootfs: '/tmp' })).rejects.toThrow(
      /need Linux; this system is darwin/,
    );
  });

  it('still validates documents and generates bundles', async () => {
    Object.defineProperty(process, 'platform', { value: 'win32' });
    const core = await import('../../src/index.ts');
    const doc = core.parseCellDocument({
      apiVersion: 'cellos.io/v1',
      kind: 'ExecutionCell',
      spec: {
        id: 'portable',
        authority: { secretRefs: [] },
        lifetime: { ttlSeconds: 5 },
        run: { argv: ['/bin/true'] },
      },
    });
    const config = core.generateBundleConfig(doc, {
      sandboxId: core.sandboxIdFor('portable', 'k'),
      rootfsPath: '/r',
      cgroupsPath: '/c',
    });
    expect(config.process.args).toEqual(['/bin/true']);
  });
});
