// Eager workflow start, as `cellos run` uses it with the worker inside the command: a CellClient on
// the worker's own NativeConnection asks the server to hand the cell's first workflow task back with
// the start response, straight to that worker. Real dev server, real worker, real runsc.
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CellClient } from '../../src/client/cell-client.ts';
import { createCellWorker, type CellWorker } from '../../src/worker/cell-worker.ts';
import { loadWorkflowBundle } from '../../src/worker/workflow-bundle.ts';
import { rawDocument } from '../helpers/documents.ts';
import { useTestHost } from '../helpers/host.ts';
// For its Runtime with quiet logs, installed before any connection is made.
import '../helpers/temporal.ts';

const host = useTestHost();
let native: NativeConnection;
let remote: Connection;
let worker: CellWorker;
let running: Promise<void>;
let taskQueue: string;

beforeAll(async () => {
  taskQueue = `test-eager-${host.config.hostId}`;
  native = await NativeConnection.connect({ address: inject('temporalAddress') });
  remote = await Connection.connect({ address: inject('temporalAddress') });
  worker = await createCellWorker({
    connection: native,
    taskQueue,
    host,
    workflowBundle: await loadWorkflowBundle(),
    reconcileIntervalMs: 0,
  });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await native?.close();
  await remote?.close();
});

const doc = () => rawDocument(['/bin/true'], { prefix: 'eager' });

/**
 * Who started the run, and who took its first workflow task. A task handed back with the start
 * response is written as started by the start request itself (the client's identity); a task
 * dispatched through the queue names the worker that polled it (a cell host's identity).
 */
async function firstTaskTaker(client: CellClient, workflowId: string, runId: string) {
  const events = (await client.temporal.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
  const starter = events.find(
    (e) => e.workflowExecutionStartedEventAttributes,
  )?.workflowExecutionStartedEventAttributes;
  const taken = events.find((e) => e.workflowTaskStartedEventAttributes)?.workflowTaskStartedEventAttributes;
  return { starter: starter?.identity, taker: taken?.identity };
}

describe('eager start', () => {
  it('hands the first workflow task to the worker on the same connection, and the cell runs', async () => {
    const client = new CellClient({ connection: native, taskQueue, eagerStart: true });
    const run = await client.start(doc());
    expect(run.eagerlyStarted).toBe(true);
    const r = await run.result();
    expect(r.outcome).toEqual({ kind: 'exited', code: 0 });
    expect(r.hostId).toBe(host.config.hostId);
    const { starter, taker } = await firstTaskTaker(client, run.workflowId, run.runId);
    expect(taker).toBe(starter);
    expect(taker).toBe(client.temporal.options.identity);
  });

  it('is off by default: a client on its own connection starts cells through the task queue', async () => {
    const client = new CellClient({ connection: remote, taskQueue });
    const run = await client.start(doc());
    expect(run.eagerlyStarted).toBe(false);
    expect((await run.result()).outcome).toEqual({ kind: 'exited', code: 0 });
    const { starter, taker } = await firstTaskTaker(client, run.workflowId, run.runId);
    expect(starter).toBe(client.temporal.options.identity);
    expect(taker).toMatch(new RegExp(`^cellos-host ${host.config.hostId} `));
  });

  it('refuses eagerStart on a connection no worker shares, and starts nothing', async () => {
    const client = new CellClient({ connection: remote, taskQueue, eagerStart: true });
    const d = doc();
    await expect(client.start(d)).rejects.toThrow(/NativeConnection/);
    await expect(client.temporal.workflow.getHandle(`cell-${d.spec.id}`).describe()).rejects.toThrow(/not found/i);
  });
});
