// The host reconciler against real runsc and real cgroups, with the workflow state faked: what it
// removes, what it leaves alone, and that it never reaches into another host's state.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sandboxIdFor } from '../../src/bundle/ids.ts';
import type { CellHandle } from '../../src/host/cell-host.ts';
import { createReconciler, type CellRunState } from '../../src/host/reconciler.ts';
import { cellDoc, expectNoLeftovers, leftovers, makeTestHost } from '../helpers/host.ts';

type TestHost = Awaited<ReturnType<typeof makeTestHost>>;

let a: TestHost;
let b: TestHost;
beforeAll(async () => {
  [a, b] = await Promise.all([makeTestHost(), makeTestHost()]);
});
afterEach(async () => {
  await expectNoLeftovers(a);
  await expectNoLeftovers(b);
});
afterAll(async () => {
  await a?.cleanupDir();
  await b?.cleanupDir();
});

interface LogLine {
  message: string;
  fields: Record<string, unknown>;
}

function reconcilerFor(
  host: TestHost,
  state: CellRunState | ((cellId: string, runKey: string) => Promise<CellRunState>),
  orphanGraceMs = 60_000,
) {
  const logs: LogLine[] = [];
  const asked: [string, string][] = [];
  const reconciler = createReconciler({
    host,
    isCellRunning: async (cellId, runKey) => {
      asked.push([cellId, runKey]);
      return typeof state === 'function' ? state(cellId, runKey) : state;
    },
    log: (message, fields) => logs.push({ message, fields }),
    orphanGraceMs,
  });
  return { reconcile: () => reconciler.reconcile(), logs, asked };
}

let runs = 0;
async function startSleeping(host: TestHost): Promise<CellHandle> {
  const handle = await host.launch(cellDoc(['/bin/sh', '-c', 'sleep 60']), `run-${process.pid}-${++runs}`);
  const until = Date.now() + 20_000;
  while ((await host.runsc.state(handle.sandboxId))?.status !== 'running') {
    if (Date.now() > until) throw new Error(`sandbox ${handle.sandboxId} never started`);
    await sleep(50);
  }
  return handle;
}

/** Folders a prepare makes before it writes the record: a bundle and a cgroup per controller. */
async function makeOrphan(host: TestHost, name: string): Promise<{ sandboxId: string; paths: string[] }> {
  const sandboxId = sandboxIdFor(`orphan-${process.pid}-${name}`, 'run');
  const bundle = join(host.config.bundleDir, sandboxId);
  await mkdir(bundle, { recursive: true });
  const cgroups = cgroupDirs(host, sandboxId);
  for (const dir of cgroups) {
    await mkdir(dir, { recursive: true });
    // cgroupfs gives a folder's inode its times when it is first looked up (as a prepare writing
    // memory.limit_in_bytes does), not at mkdir: look it up now, or it seems younger than it is.
    await stat(dir);
  }
  return { sandboxId, paths: [bundle, ...cgroups] };
}

function cgroupDirs(host: TestHost, sandboxId: string): string[] {
  if (host.cgroupMode === 'v2') return [join('/sys/fs/cgroup', host.config.cgroupParent, sandboxId)];
  if (host.cgroupMode === 'v1') {
    return ['memory', 'pids'].map((c) => join('/sys/fs/cgroup', c, host.config.cgroupParent, sandboxId));
  }
  return [];
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

describe('cells with a record', () => {
  it.each(['closed', 'not-found'] as const)(
    'kills and removes a running cell whose workflow is %s',
    async (state) => {
      const h = await startSleeping(a);
      if (state === 'not-found') {
        // Not found is weaker evidence than closed: a record younger than the grace is kept.
        expect(await reconcilerFor(a, state).reconcile()).toEqual([]);
        expect((await a.runsc.state(h.sandboxId))?.status).toBe('running');
      }
      const t0 = Date.now();
      const r = reconcilerFor(a, state, state === 'not-found' ? 0 : undefined);
      const actions = await r.reconcile();
      expect(r.asked).toEqual([[h.cellId, h.runKey]]);
      expect(actions).toEqual([
        {
          sandboxId: h.sandboxId,
          cellId: h.cellId,
          action: 'remove',
          why: expect.stringMatching(state === 'closed' ? /is closed/ : /does not exist/),
        },
      ]);
      expect(actions[0]!.why).toMatch(
        /runsc container \(running\).*supervisor pid \d+|supervisor pid \d+.*runsc container/,
      );
      expect(r.logs).toContainEqual({
        message: 'reconcile: removing sandbox',
        fields: expect.objectContaining({ sandboxId: h.sandboxId, cellId: h.cellId, why: actions[0]!.why }),
      });
      // Killed with SIGKILL, so runsc run cleans up after itself (no 5 s delete timeout).
      expect(Date.now() - t0).toBeLessThan(8000);
      expect(await leftovers(a)).toEqual([]);
    },
    30_000,
  );

  it('leaves a running cell alone while its workflow runs, however old it is', async () => {
    const h = await startSleeping(a);
    const r = reconcilerFor(a, 'running', 0);
    expect(await r.reconcile()).toEqual([]);
    expect(r.asked).toEqual([[h.cellId, h.runKey]]);
    expect((await a.runsc.state(h.sandboxId))?.status).toBe('running');
    expect(await a.state(h)).toBe('running');
    await a.remove(h);
  });

  it('leaves a cell alone when its workflow cannot be looked up, and removes a prepared cell once it is over', async () => {
    const h = await a.prepare(cellDoc(['/bin/true'], { limits: { memoryMaxBytes: 64 * 1024 * 1024 } }), 'prepared');
    const failing = reconcilerFor(a, () => Promise.reject(new Error('Temporal unreachable')), 0);
    expect(await failing.reconcile()).toEqual([]);
    expect(failing.logs).toContainEqual({
      message: 'reconcile: could not look up the cell workflow; leaving the cell alone this round',
      fields: expect.objectContaining({ sandboxId: h.sandboxId, cellId: h.cellId, error: 'Temporal unreachable' }),
    });
    expect(await exists(join(h.cellDir, 'cell.json'))).toBe(true);
    const closed = reconcilerFor(a, 'closed');
    expect(await closed.reconcile()).toMatchObject([{ sandboxId: h.sandboxId, action: 'remove' }]);
  });

  it('leaves alone a cell record written for another host id', async () => {
    const sandboxId = sandboxIdFor(`foreign-${process.pid}`, 'run');
    const dir = join(a.config.cellsDir, sandboxId);
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'cell.json'),
      JSON.stringify({
        cellId: `foreign-${process.pid}`,
        sandboxId,
        runKey: 'run',
        hostId: 'some-other-host',
        network: 'none',
        bundleDir: join(a.config.bundleDir, sandboxId),
        gracefulShutdownSeconds: 1,
        createdAtMs: 0,
      }),
    );
    const r = reconcilerFor(a, 'closed', 0);
    expect(await r.reconcile()).toEqual([]);
    expect(r.asked).toEqual([]);
    expect(r.logs.map((l) => l.message)).toContain(
      'reconcile: leaving alone a cell record written for another host id',
    );
    expect(await exists(join(dir, 'cell.json'))).toBe(true);
    await rm(dir, { recursive: true });
  });
});

describe('things without a record', () => {
  it('removes an orphan bundle and cgroup older than the grace and keeps younger ones', async () => {
    const old = await makeOrphan(a, 'old');
    await sleep(1500);
    const young = await makeOrphan(a, 'young');
    const r = reconcilerFor(a, 'closed', 1000);
    const actions = await r.reconcile();
    expect(actions).toEqual([
      { sandboxId: old.sandboxId, action: 'remove-orphan', why: expect.stringMatching(/^no cell record; found: /) },
    ]);
    expect(actions[0]!.why).toContain('bundle');
    expect(actions[0]!.why).toContain(`cgroup ${cgroupDirs(a, old.sandboxId)[0]}`);
    expect(r.asked).toEqual([]);
    for (const p of old.paths) expect(await exists(p)).toBe(false);
    for (const p of young.paths) expect(await exists(p)).toBe(true);
    // Once it is old enough, the next round takes it too.
    await sleep(1200);
    expect(await r.reconcile()).toMatchObject([{ sandboxId: young.sandboxId, action: 'remove-orphan' }]);
  });

  it('leaves alone a folder without a record that a prepare took up after the round looked', async () => {
    // A worker killed mid-prepare leaves a cell folder without a record; the run, retried on the
    // restarted worker, prepares the cell again in that folder. A round that read the folder before
    // that used to remove it anyway, killing the cell that was running by then (seen in chaos).
    const first = await makeOrphan(a, 'first');
    const doc = cellDoc(['/bin/true'], {}, { id: `zz-revived-${process.pid}` });
    const revived = await a.prepare(doc, 'run');
    await rm(join(revived.cellDir, 'cell.json'));
    expect(first.sandboxId < revived.sandboxId).toBe(true); // removed in this order
    let handle: CellHandle | undefined;
    const host = Object.assign(Object.create(a) as TestHost, {
      // The prepare comes back while the round removes the first orphan.
      async removeById(id: string) {
        if (id === first.sandboxId) handle = await a.prepare(doc, 'run');
        return a.removeById(id);
      },
    });
    const reconciler = createReconciler({ host, isCellRunning: async () => 'running', orphanGraceMs: 1000 });
    await sleep(1100);
    const actions = await reconciler.reconcile();
    expect(actions.map((x) => x.sandboxId)).toEqual([first.sandboxId]);
    expect(handle?.sandboxId).toBe(revived.sandboxId);
    expect(await exists(join(revived.cellDir, 'cell.json'))).toBe(true);
    await a.remove(handle!);
  });

  it('kills a supervisor and a sandbox whose cell record is gone', async () => {
    const h = await startSleeping(a);
    await rm(h.cellDir, { recursive: true, force: true });
    const r = reconcilerFor(a, 'closed', 0);
    const actions = await r.reconcile();
    expect(actions).toEqual([
      {
        sandboxId: h.sandboxId,
        cellId: h.cellId,
        action: 'remove-orphan',
        why: expect.stringMatching(/^no cell record; found: /),
      },
    ]);
    expect(actions[0]!.why).toMatch(/supervisor pid \d+/);
    expect(actions[0]!.why).toMatch(/runsc-sandbox pid \d+/);
    expect(actions[0]!.why).toContain('runsc container (running)');
  });

  it('removes a runsc lock file left without its state once it is older than the grace', async () => {
    const sandboxId = sandboxIdFor(`lock-${process.pid}`, 'run');
    const lock = join(a.config.runscRoot, `${sandboxId}_sandbox:${sandboxId}.lock`);
    await writeFile(lock, '');
    const r = reconcilerFor(a, 'closed');
    expect(await r.reconcile()).toEqual([]);
    const old = new Date(Date.now() - 120_000);
    await utimes(lock, old, old);
    expect(await r.reconcile()).toMatchObject([{ sandboxId, action: 'remove-orphan' }]);
    expect(await readdir(a.config.runscRoot)).toEqual([]);
  });

  it('reports a removal that fails, without throwing, and retries it in the next round', async () => {
    const orphan = await makeOrphan(a, 'busy');
    // A process inside the cgroup makes rmdir fail (EBUSY).
    const busy = spawn('sleep', ['30'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => busy.once('exit', resolve));
    const procs = a.cgroupMode === 'v1' ? 'tasks' : 'cgroup.procs';
    await writeFile(join(cgroupDirs(a, orphan.sandboxId)[0]!, procs), String(busy.pid));
    const r = reconcilerFor(a, 'closed', 0);
    const first = await r.reconcile();
    expect(first).toEqual([
      expect.objectContaining({ sandboxId: orphan.sandboxId, action: 'remove-orphan', error: expect.any(String) }),
    ]);
    expect(r.logs.map((l) => l.message)).toContain('reconcile: removal failed; the next round tries again');
    busy.kill('SIGKILL');
    await exited;
    const second = await r.reconcile();
    expect(second).toEqual([expect.objectContaining({ sandboxId: orphan.sandboxId, action: 'remove-orphan' })]);
    expect(second[0]!.error).toBeUndefined();
  });
});

describe('the artifact folder store', () => {
  it('removes artifacts past their retention in its round, and keeps younger ones', async () => {
    const host = await makeTestHost({ artifacts: { retentionSeconds: 1 } });
    try {
      const put = async (name: string, text: string) => {
        const file = join(host.config.stateDir, `${name}.in`);
        await writeFile(file, text);
        const sha256 = createHash('sha256').update(text).digest('hex');
        const location = await host.folderStore!.put({
          cellId: 'c1',
          runId: 'r1',
          name,
          kind: 'file',
          bytes: text.length,
          sha256,
          file,
        });
        return { location, blob: join(host.config.artifactsDir, 'sha256', sha256.slice(0, 2), sha256) };
      };
      const old = await put('old', 'expires\n');
      expect(await exists(old.blob)).toBe(true);
      await sleep(1100);
      const young = await put('young', 'stays\n');
      const r = reconcilerFor(host, 'running');
      await r.reconcile();
      expect(await exists(old.blob)).toBe(false);
      expect(await exists(young.blob)).toBe(true);
      expect(r.logs).toContainEqual({
        message: 'reconcile: expired artifacts removed',
        fields: expect.objectContaining({ artifacts: 1, bytesFreed: 8 }),
      });
    } finally {
      await host.cleanupDir();
    }
  });
});

describe('other hosts on the same machine', () => {
  it("never touches another host's cells, bundles or cgroups", async () => {
    const theirs = await startSleeping(b);
    const orphan = await makeOrphan(b, 'theirs');
    const r = reconcilerFor(a, 'closed', 0);
    expect(await r.reconcile()).toEqual([]);
    expect(r.asked).toEqual([]);
    expect((await b.runsc.state(theirs.sandboxId))?.status).toBe('running');
    expect(await b.state(theirs)).toBe('running');
    for (const p of orphan.paths) expect(await exists(p)).toBe(true);
    // Their own reconciler, told the workflow is over, does remove them.
    const own = await reconcilerFor(b, 'closed', 0).reconcile();
    expect(own.map((x) => x.sandboxId).sort()).toEqual([theirs.sandboxId, orphan.sandboxId].sort());
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
