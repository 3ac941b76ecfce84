// What a starting warm pool removes of the sandboxes earlier processes left on its state folder.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sandboxIdFor } from '../../src/bundle/ids.ts';
import { listCellCgroupDirs, prepareCellCgroup } from '../../src/host/cgroups.ts';
import { createCellHost } from '../../src/host/cell-host.ts';
import { processToken } from '../../src/host/processes.ts';
import { makeTestHost, type TestHost } from '../helpers/host.ts';

describe('a warm pool starting on a state folder', () => {
  let first: TestHost | undefined;
  afterAll(async () => {
    await first?.cleanupDir();
  });

  it('removes what dead pools left, boots cut short included, and leaves a live pool its own', async () => {
    first = await makeTestHost({ warmPoolSize: 0 });
    const { config, cgroupMode } = first;
    const warmId = (n: string) => sandboxIdFor('cellos-warm', n);
    // A boot cut short before its pool.json (as an older version wrote it last): folder, bundle, cgroup.
    const cutShort = warmId('cut-short');
    // A sandbox of a pool whose process is gone, and one of a pool whose process (init) still runs.
    const dead = warmId('dead');
    const live = warmId('live');
    const leave = async (id: string, owner?: string) => {
      await mkdir(join(config.cellsDir, id), { recursive: true });
      await mkdir(join(config.bundleDir, id), { recursive: true });
      await writeFile(join(config.bundleDir, id, 'config.json'), '{}');
      await prepareCellCgroup(cgroupMode, config.cgroupParent, id, 64 << 20);
      if (owner !== undefined)
        await writeFile(
          join(config.cellsDir, id, 'pool.json'),
          JSON.stringify({ sandboxId: id, hostId: config.hostId, owner, createdAtMs: Date.now() }),
        );
    };
    await leave(cutShort);
    await leave(dead, '2147483646:1');
    await leave(live, await processToken(1));

    // A second process's host on the same folders; its shutdown waits for the pool's removals.
    const second = await createCellHost({
      hostId: config.hostId,
      stateDir: config.stateDir,
      defaultRootfs: config.defaultRootfs,
      warmPoolSize: 1,
    });
    await second.shutdown();

    const cells = await readdir(config.cellsDir);
    const bundles = await readdir(config.bundleDir);
    expect(cells.filter((n) => [cutShort, dead, live].includes(n))).toEqual([live]);
    expect(bundles.filter((n) => [cutShort, dead, live].includes(n))).toEqual([live]);
    const cgroups = (await listCellCgroupDirs(cgroupMode, config.cgroupParent)).map((d) => d.sandboxId);
    expect(cgroups.filter((n) => [cutShort, dead].includes(n))).toEqual([]);
    if (cgroupMode !== 'none') expect(cgroups).toContain(live);
    await first.removeById(live);
  });
});
