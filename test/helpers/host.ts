// A real cell host for tests: its own runsc root, state and bundle folders under /tmp, and a
// check that nothing is left behind.
import { mkdtemp, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { CellDocument } from '../../src/document/schema.ts';
import { createCellHost, type CellHandle, type CellHost } from '../../src/host/cell-host.ts';
import type { HostConfigInput } from '../../src/host/config.ts';
import { cellDocument } from './documents.ts';

export const repoRoot = resolve(import.meta.dirname, '..', '..');

export function defaultRootfs(): string {
  return process.env.CELLOS_DEFAULT_ROOTFS ?? join(repoRoot, '.tools', 'rootfs', 'busybox');
}

export async function makeTestHost(
  overrides: HostConfigInput = {},
): Promise<CellHost & { cleanupDir(): Promise<void> }> {
  const stateDir = await mkdtemp(join(tmpdir(), 'cellos-test-'));
  const host = await createCellHost({
    hostId: `t${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    stateDir,
    defaultRootfs: defaultRootfs(),
    ...overrides,
  });
  return Object.assign(host, {
    async cleanupDir() {
      host.close();
      await rm(stateDir, { recursive: true, force: true });
      for (const controller of await readdir('/sys/fs/cgroup').catch(() => [] as string[])) {
        await rmdir(join('/sys/fs/cgroup', controller, host.config.cgroupParent)).catch(() => undefined);
      }
    },
  });
}

export type TestHost = Awaited<ReturnType<typeof makeTestHost>>;

/**
 * The host of a file (or describe block): made before its tests, removed after them, and checked to
 * have nothing left after each test (unless `checkLeftovers` is false). Its fields can be read once
 * it has been made.
 */
export function useTestHost(opts: { checkLeftovers?: boolean } = {}): TestHost {
  const host = {} as TestHost;
  let made = false;
  beforeAll(async () => {
    Object.assign(host, await makeTestHost());
    made = true;
  });
  if (opts.checkLeftovers !== false) {
    afterEach(async () => {
      await expectNoLeftovers(host);
    });
  }
  afterAll(async () => {
    if (made) await host.cleanupDir();
  });
  return host;
}

/** cellDocument with the arguments test/host passes: `run` merged into spec.run, `spec` into spec. */
export function cellDoc(
  argv: string[],
  run: Record<string, unknown> = {},
  spec: Record<string, unknown> = {},
): CellDocument {
  return cellDocument(argv, { run, spec });
}

/** Sandboxes, records, bundles, cgroups and supervisors of this host: all must be gone. */
export async function leftovers(host: CellHost): Promise<string[]> {
  const found: string[] = [];
  const containers = await host.runsc.list();
  found.push(...containers.map((c) => `container ${c.id} (${c.status})`));
  found.push(...(await readdir(host.config.cellsDir).catch(() => [])).map((d) => `cell record ${d}`));
  found.push(...(await readdir(host.config.bundleDir).catch(() => [])).map((d) => `bundle ${d}`));
  for (const controller of await readdir('/sys/fs/cgroup').catch(() => [] as string[])) {
    const dir = join('/sys/fs/cgroup', controller, host.config.cgroupParent);
    found.push(
      ...(await readdir(dir, { withFileTypes: true }).catch(() => []))
        .filter((e) => e.isDirectory())
        .map((e) => `cgroup ${controller}/${e.name}`),
    );
  }
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(host.config.stateDir)) found.push(`process ${pid}: ${cmd.replace(/\0/g, ' ').slice(0, 120)}`);
  }
  return found;
}

export async function expectNoLeftovers(host: CellHost): Promise<void> {
  expect(await leftovers(host)).toEqual([]);
}

/** Ends a cell a test left running (kill, wait for its record) and removes everything of it. */
export async function discardCell(host: CellHost, handle: CellHandle): Promise<void> {
  await host.kill(handle, { reason: 'request', message: 'test over' });
  await host.wait(handle);
  await host.remove(handle);
}
