// A cold cell claimed by the admitting worker's host boots at its claim: by the time its run
// activity starts it, the supervisor has been launched and the sandbox is on its way to the gate
// (gate-hook.ts), and the cell's process has not run. Through a real dev server and real runsc.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CellHandle, CellHost } from '../../src/host/cell-host.ts';
import { closeTestClient, connectTestClient } from '../helpers/client.ts';
import { shDocument } from '../helpers/documents.ts';
import { expectNoLeftovers, gateHookWaits, makeTestHost } from '../helpers/host.ts';
import { startTestWorker, type TestWorker } from '../helpers/temporal.ts';

interface AtStart {
  readonly gated: boolean;
  readonly launchedBefore: boolean;
  readonly hookWaits: boolean;
  readonly stdout: string;
}

let realHost: Awaited<ReturnType<typeof makeTestHost>>;
let worker: TestWorker;
let client: Awaited<ReturnType<typeof connectTestClient>>;
const atStart = new Map<string, AtStart>();

beforeAll(async () => {
  realHost = await makeTestHost();
  const host: CellHost = {
    ...realHost,
    // What the host holds when the run activity starts the cell, before the real start.
    async start(handle: CellHandle) {
      const launchedBefore = await stat(join(handle.cellDir, 'launch.requested')).then(
        () => true,
        () => false,
      );
      const hookWaits = await gateHookWaits(handle, 10_000);
      const stdout = await readFile(join(handle.cellDir, 'stdout'), 'utf8').catch(() => '');
      atStart.set(handle.cellId, { gated: handle.gated === true, launchedBefore, hookWaits, stdout });
      return realHost.start(handle);
    },
  };
  worker = await startTestWorker(host);
  client = await connectTestClient({ taskQueue: worker.taskQueue });
});
afterAll(async () => {
  await worker?.close();
  if (client) await closeTestClient(client);
  await realHost?.cleanupDir();
});

describe('a cold cell claimed through Temporal', () => {
  it('has its sandbox booted from its claim, waiting at the gate, and runs it once at the start', async () => {
    for (let i = 0; i < 3; i++) {
      const doc = shDocument('echo ran; exit 6', { prefix: 'claimboot' });
      const r = await client.run(doc);
      expect(r.outcome).toEqual({ kind: 'exited', code: 6 });
      expect(r.stdout.tail).toBe('ran\n');
      expect(atStart.get(doc.spec.id)).toEqual({ gated: true, launchedBefore: true, hookWaits: true, stdout: '' });
    }
    await expectNoLeftovers(realHost);
  }, 60_000);
});
