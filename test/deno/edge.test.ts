// The edge under Deno 2: the schema, the bundle generator, the runsc driver and the activity
// functions load from the same sources as on Node and run a real cell through runsc.
import { MockActivityEnvironment } from '@temporalio/testing';
import { createCellActivities } from '../../activities/cell-activities.ts';
import { createAdmissionActivities } from '../../activities/admission.ts';
import type { Admission, SandboxExit } from '../../src/contract/index.ts';
import { generateBundleConfig, serializeBundleConfig } from '../../src/bundle/config.ts';
import { CellDocumentError } from '../../src/document/errors.ts';
import { parseCellDocument } from '../../src/document/parse.ts';
import { createCellHost } from '../../src/host/cell-host.ts';
import { runCell } from '../../src/host/run-cell.ts';
import { cellDocument, shDocument } from '../helpers/documents.ts';

const rootfs =
  Deno.env.get('CELLOS_DEFAULT_ROOTFS') ?? new URL('../../.tools/rootfs/busybox', import.meta.url).pathname;

function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

const doc = (id: string, argv: string[]) => cellDocument(argv, { id, ttlSeconds: 30 });

async function withHost<T>(fn: (host: Awaited<ReturnType<typeof createCellHost>>) => Promise<T>): Promise<T> {
  const stateDir = await Deno.makeTempDir({ prefix: 'cellos-deno-' });
  const host = await createCellHost({ hostId: `deno${Deno.pid}`, stateDir, defaultRootfs: rootfs });
  let result: T;
  try {
    result = await fn(host);
    assert((await host.runsc.list()).length === 0, 'a container was left in the runsc root');
    assert([...Deno.readDirSync(host.config.cellsDir)].length === 0, 'a cell record was left behind');
    assert([...Deno.readDirSync(host.config.bundleDir)].length === 0, 'a bundle was left behind');
  } finally {
    await host.shutdown();
    await Deno.remove(stateDir, { recursive: true });
  }
  // The host's own cgroup folders go with it (close() alone left them, one per run of this suite).
  const controllers = [...Deno.readDirSync('/sys/fs/cgroup')].map((e) => e.name);
  const left = controllers.filter((c) => exists(`/sys/fs/cgroup/${c}/${host.config.cgroupParent}`));
  assert(left.length === 0, `cgroup folders left: ${left.join(', ')}`);
  return result;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test('the schema reports every problem with its path under Deno', () => {
  try {
    parseCellDocument({
      apiVersion: 'cellos.io/v1',
      kind: 'ExecutionCell',
      spec: { id: '', authority: {}, lifetime: { ttlSeconds: 0 }, run: { argv: [] } },
    });
    throw new Error('accepted an invalid document');
  } catch (err) {
    assert(err instanceof CellDocumentError, `expected CellDocumentError, got ${err}`);
    const paths = err.problems.map((p) => p.path);
    for (const p of ['spec.id', 'spec.lifetime.ttlSeconds', 'spec.run.argv'])
      assert(paths.includes(p), `missing problem at ${p}: ${paths}`);
  }
});

Deno.test('the bundle generator is deterministic under Deno', () => {
  const d = doc('deno-bundle', ['/bin/true']);
  const host = { sandboxId: 'x'.repeat(41), rootfsPath: rootfs, cgroupsPath: '/cellos/d/x/sandbox' };
  assert(
    serializeBundleConfig(generateBundleConfig(d, host)) === serializeBundleConfig(generateBundleConfig(d, host)),
    'not deterministic',
  );
});

Deno.test('a real cell runs through runsc under Deno with its exact exit code and output', async () => {
  await withHost(async (host) => {
    const exit = await runCell(host, doc('deno-cell', ['/bin/sh', '-c', 'echo from-deno; exit 3']));
    assert(exit.outcome.kind === 'exited' && exit.outcome.code === 3, `outcome ${JSON.stringify(exit.outcome)}`);
    assert(exit.stdout.tail === 'from-deno\n', `stdout ${JSON.stringify(exit.stdout.tail)}`);
  });
});

Deno.test('the activity functions run a cell under Deno in a mock activity environment', async () => {
  await withHost(async (host) => {
    // Deno's checker does not infer MockActivityEnvironment.run's result type: name it.
    const document = shDocument('echo act', { id: 'deno-act', ttlSeconds: 30 });
    const admitted: Admission = await new MockActivityEnvironment().run(
      createAdmissionActivities({ hostId: host.config.hostId }).admitCell,
      { document },
    );
    assert(
      admitted.cellId === 'deno-act' && admitted.hostId === host.config.hostId,
      `admitted ${JSON.stringify(admitted)}`,
    );
    const acts = createCellActivities({ host });
    const env = new MockActivityEnvironment();
    const exit: SandboxExit = await env.run(acts.runSandbox, { cellId: admitted.cellId, document, runKey: 'deno-run' });
    assert(exit.outcome.kind === 'exited' && exit.outcome.code === 0, `outcome ${JSON.stringify(exit.outcome)}`);
    assert(exit.stdout.tail === 'act\n' && exit.removed, `exit ${JSON.stringify(exit)}`);
  });
});

Deno.test('a cell exports an artifact under Deno: collected from its scratch tmpfs, stored, unmounted', async () => {
  await withHost(async (host) => {
    const d = cellDocument(['/bin/sh', '-c', 'mkdir /tmp/o && echo built > /tmp/o/report && exit 2'], {
      id: `deno-artifact-${Deno.pid}`,
      ttlSeconds: 30,
      spec: { export: { artifacts: [{ name: 'report', path: '/tmp/o/report' }] } },
    });
    const exit = await runCell(host, d);
    assert(exit.outcome.kind === 'exited' && exit.outcome.code === 2, `outcome ${JSON.stringify(exit.outcome)}`);
    const [a] = exit.artifacts ?? [];
    assert(a?.name === 'report' && a.kind === 'file' && a.bytes === 6, `artifacts ${JSON.stringify(exit.artifacts)}`);
    const bytes = await host.artifactStore.read(a.location, 0, a.bytes);
    assert(new TextDecoder().decode(bytes) === 'built\n', 'the stored artifact differs from what the cell wrote');
    const mounts = await Deno.readTextFile('/proc/self/mountinfo');
    assert(!mounts.includes(host.config.stateDir), 'a scratch mount was left behind');
  });
});
