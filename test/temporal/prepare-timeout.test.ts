// Issue 9, item 2 (the activity's side): a prepare that never ends (an image that blocks, an unpack
// that goes on and on) cannot hold one of the host's run slots forever. It is given up after the
// host's prepareTimeoutMs, the cell is refused (CellRejectedByHost), and the slot serves the next
// cell. The hang is put in front of the real host: what makes prepare hang is the rootfs's business.
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CellFailedError } from '../../src/client/cell-client.ts';
import type { CellHost } from '../../src/host/cell-host.ts';
import { closeTestClient, connectTestClient } from '../helpers/client.ts';
import { shDocument } from '../helpers/documents.ts';
import { expectNoLeftovers, makeTestHost } from '../helpers/host.ts';
import { startTestWorker, type TestWorker } from '../helpers/temporal.ts';
import { sleep, until } from '../helpers/wait.ts';

const PREPARE_TIMEOUT_MS = 2000;

let realHost: Awaited<ReturnType<typeof makeTestHost>>;
let worker: TestWorker;
let client: Awaited<ReturnType<typeof connectTestClient>>;
/** Prepares of cells named `hang-*` never end; those of `late-*` end after the timeout. */
let hung = 0;

beforeAll(async () => {
  realHost = await makeTestHost({ prepareTimeoutMs: PREPARE_TIMEOUT_MS });
  const host: CellHost = {
    ...realHost,
    prepare(doc, runKey) {
      if (doc.spec.id.startsWith('hang-')) {
        hung += 1;
        return new Promise(() => undefined);
      }
      if (doc.spec.id.startsWith('late-')) {
        return sleep(PREPARE_TIMEOUT_MS + 1500).then(() => realHost.prepare(doc, runKey));
      }
      return realHost.prepare(doc, runKey);
    },
  };
  // One cell at a time: a prepare that held its slot would stop the host.
  worker = await startTestWorker(host, { worker: { maxConcurrentCells: 1 } });
  client = await connectTestClient({ taskQueue: worker.taskQueue });
});
afterAll(async () => {
  await worker?.close();
  if (client) await closeTestClient(client);
  await realHost?.cleanupDir();
});

describe('a prepare that does not end', () => {
  it('refuses the cell after the host prepare timeout, and the next cell runs in its slot', async () => {
    const t0 = Date.now();
    const stuck = client.run(shDocument('echo never', { prefix: 'hang' })).catch((e: unknown) => e);
    const innocent = client.run(shDocument('echo innocent', { prefix: 'ok' }));
    const err = await stuck;
    expect(err).toBeInstanceOf(CellFailedError);
    expect((err as CellFailedError).type).toBe('CellRejectedByHost');
    expect((err as Error).message).toMatch(/took longer than the host allows \(2 s, CELLOS_PREPARE_TIMEOUT_SECONDS\)/);
    expect(Date.now() - t0).toBeLessThan(PREPARE_TIMEOUT_MS + 5000);
    // Two prepares: the claim's (it starts one while its answer travels) and the run's, which is
    // refused for good: not retried.
    expect(hung).toBe(2);
    const r = await innocent;
    expect(r.outcome).toEqual({ kind: 'exited', code: 0 });
    expect(r.stdout.tail).toBe('innocent\n');
    await expectNoLeftovers(realHost);
  }, 60_000);

  it('removes what a prepare given up on makes when it ends after all', async () => {
    const err = await client.run(shDocument('echo late', { prefix: 'late' })).catch((e: unknown) => e);
    expect((err as CellFailedError).type).toBe('CellRejectedByHost');
    // The late prepare writes its record ~1.5 s after the refusal; then it is removed again.
    await sleep(2000);
    await until(
      'the late prepare removed',
      () => readdir(realHost.config.cellsDir),
      (entries) => entries.length === 0,
    );
    await expectNoLeftovers(realHost);
  }, 60_000);
});
