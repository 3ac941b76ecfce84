// A real cell host for tests: its own runsc root, state and bundle folders under /tmp, and a
// check that nothing is left behind.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { CellDocument } from '../../src/document/schema.ts';
import { createCellHost, type CellHandle, type CellHost, type CellHostOptions } from '../../src/host/cell-host.ts';
import { processToken } from '../../src/host/processes.ts';
import type { HostConfigInput } from '../../src/host/config.ts';
import { cellDocument } from './documents.ts';

export const repoRoot = resolve(import.meta.dirname, '..', '..');

export function defaultRootfs(): string {
  return process.env.CELLOS_DEFAULT_ROOTFS ?? join(repoRoot, '.tools', 'rootfs', 'busybox');
}

export async function makeTestHost(
  overrides: HostConfigInput = {},
  options: CellHostOptions = {},
): Promise<CellHost & { cleanupDir(): Promise<void> }> {
  const stateDir = await mkdtemp(join(tmpdir(), 'cellos-test-'));
  const host = await createCellHost(
    {
      hostId: `t${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
      stateDir,
      defaultRootfs: defaultRootfs(),
      ...overrides,
    },
    {},
    options,
  );
  return Object.assign(host, {
    async cleanupDir() {
      // shutdown() also removes the host's empty cgroup folders.
      await host.shutdown();
      await rm(stateDir, { recursive: true, force: true });
    },
  });
}

export type TestHost = Awaited<ReturnType<typeof makeTestHost>>;

/**
 * `host`, except that every cell that fits its warm shape runs in a warm sandbox: prepare (and so
 * launch and runCell) waits, one cell at a time, for a ready one, and throws if such a cell was
 * prepared cold anyway. Lets the edge's tests run unchanged against the warm path.
 */
export function warmOnly(host: TestHost): TestHost {
  let turn: Promise<unknown> = Promise.resolve();
  const prepare = async (doc: CellDocument, runKey: string): Promise<CellHandle> => {
    const misfit = await host.warmMisfit(doc).catch(() => 'refused by the host');
    if (misfit !== undefined) return host.prepare(doc, runKey);
    const mine = turn.then(async () => {
      const until = Date.now() + 20_000;
      while (host.warmPool!.stats().ready === 0) {
        if (Date.now() > until)
          throw new Error(`no warm sandbox ready in 20 s: ${JSON.stringify(host.warmPool!.stats())}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return host.prepare(doc, runKey);
    });
    turn = mine.catch(() => undefined);
    const handle = await mine;
    if (handle.runscId === undefined) throw new Error(`cell ${doc.spec.id} fits the warm shape but was prepared cold`);
    return handle;
  };
  return Object.assign(Object.create(host) as TestHost, {
    prepare,
    async launch(doc: CellDocument, runKey: string) {
      const handle = await prepare(doc, runKey);
      await host.start(handle);
      return handle;
    },
  });
}

/**
 * The host of a file (or describe block): made before its tests, removed after them, and checked to
 * have nothing left after each test (unless `checkLeftovers` is false). Its fields can be read once
 * it has been made.
 */
export function useTestHost(opts: { checkLeftovers?: boolean; warmPoolSize?: number } = {}): TestHost {
  const host = {} as TestHost;
  let made = false;
  beforeAll(async () => {
    const warm = opts.warmPoolSize ?? 0;
    const fresh = await makeTestHost({ warmPoolSize: warm });
    Object.assign(host, fresh);
    if (warm > 0) {
      const { prepare, launch } = warmOnly(fresh);
      Object.assign(host, { prepare, launch });
    }
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
  // Removals the host finishes after a result (warm sandboxes) first; the pool's own sandboxes are not leftovers.
  await host.flushRemovals();
  const pooled = (id: string) => host.warmPool?.owns(id) ?? false;
  const found: string[] = [];
  const containers = (await host.runsc.list()).filter((c) => !pooled(c.id));
  found.push(...containers.map((c) => `container ${c.id} (${c.status})`));
  found.push(
    ...(await readdir(host.config.cellsDir).catch(() => [])).filter((d) => !pooled(d)).map((d) => `cell record ${d}`),
  );
  found.push(
    ...(await readdir(host.config.bundleDir).catch(() => [])).filter((d) => !pooled(d)).map((d) => `bundle ${d}`),
  );
  for (const controller of await readdir('/sys/fs/cgroup').catch(() => [] as string[])) {
    const dir = join('/sys/fs/cgroup', controller, host.config.cgroupParent);
    found.push(
      ...(await readdir(dir, { withFileTypes: true }).catch(() => []))
        .filter((e) => e.isDirectory() && !pooled(e.name))
        .map((e) => `cgroup ${controller}/${e.name}`),
    );
  }
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (!cmd.includes(host.config.stateDir)) continue;
    const warmId = /cellos-warm_{5}-[0-9a-f]{24}/.exec(cmd)?.[0];
    if (warmId !== undefined && pooled(warmId)) continue;
    found.push(`process ${pid}: ${cmd.replace(/\0/g, ' ').slice(0, 120)}`);
  }
  // Scratch tmpfs of cells that export artifacts (src/host/scratch.ts).
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  for (const line of mountinfo.split('\n')) {
    const point = line.split(' ')[4];
    if (point?.startsWith(`${host.config.stateDir}/`)) found.push(`mount ${point}`);
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

/**
 * The unused warm sandboxes under a cells folder whose pool's process still runs (pool.json names
 * it): a running worker's pool, not leftovers.
 */
export async function livePoolSandboxes(cellsDir: string): Promise<Set<string>> {
  const live = new Set<string>();
  for (const name of await readdir(cellsDir).catch(() => [] as string[])) {
    const pool = await readFile(join(cellsDir, name, 'pool.json'), 'utf8').catch(() => undefined);
    const owner = pool === undefined ? undefined : (JSON.parse(pool) as { owner?: string }).owner;
    if (owner !== undefined && (await processToken(Number(owner.split(':')[0]))) === owner) live.add(name);
  }
  return live;
}
