// Exporting artifacts through the run activity when the store is slow: the run heartbeats while it
// exports, so a put longer than the 10 s heartbeat timeout is not taken for a dead worker (which
// would retry the run and export again).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFolderStore } from '../../src/artifacts/folder-store.ts';
import type { ArtifactStore } from '../../src/artifacts/store.ts';
import { rawDocument } from '../helpers/documents.ts';
import { expectNoLeftovers, makeTestHost, type TestHost } from '../helpers/host.ts';
import { connectTestClient } from '../helpers/client.ts';
import { startTestWorker, type TestWorker } from '../helpers/temporal.ts';
import type { CellClient } from '../../src/client/cell-client.ts';

const PUT_MS = 15_000;
let host: TestHost;
let worker: TestWorker;
let client: CellClient;
let puts = 0;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cellos-slow-store-'));
  const hostId = `slow${process.pid}`;
  const folder = createFolderStore({
    dir,
    hostId,
    retentionSeconds: 3600,
    quotaBytes: 1 << 30,
  });
  const slow: ArtifactStore = {
    kind: 'folder',
    async put(a) {
      puts++;
      await sleep(PUT_MS);
      return folder.put(a);
    },
    read: (l, o, n) => folder.read(l, o, n),
    size: (l) => folder.size(l),
  };
  host = await makeTestHost({ hostId }, { artifactStore: slow });
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  worker = await startTestWorker(host);
  client = await connectTestClient({ taskQueue: worker.taskQueue });
});
afterAll(async () => {
  await worker?.close();
  await host?.cleanupDir();
  for (const c of cleanups) await c();
});

describe('a slow artifact store', () => {
  it('exports once, within one run attempt, while the run heartbeats', async () => {
    const doc = rawDocument(['/bin/sh', '-c', 'echo done > /tmp/r'], {
      prefix: 'slow',
      spec: { export: { artifacts: [{ name: 'r', path: '/tmp/r' }] } },
    });
    const result = await client.run(doc);
    expect(result.outcome).toEqual({ kind: 'exited', code: 0 });
    expect(result.artifacts.map((a) => [a.name, a.bytes])).toEqual([['r', 5]]);
    expect(puts).toBe(1);
    const history = await client.temporal.workflow.getHandle(result.workflowId, result.runId).fetchHistory();
    // A timed-out attempt leaves no event of its own: the started event carries the attempt that completed.
    const attempts = (history.events ?? []).flatMap((e) =>
      e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt] : [],
    );
    expect(attempts.every((a) => a === 1)).toBe(true);
    await expectNoLeftovers(host);
  }, 60_000);
});
