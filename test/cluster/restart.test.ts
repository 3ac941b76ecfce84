// The whole Temporal server (one process) restarted under running cells: the cells, the worker and
// the client carry on, and every cell ends with its true outcome.
import { describe, expect, it } from 'vitest';
import { runCluster } from '../helpers/cluster.ts';
import { deadlineDocument, shDocument } from '../helpers/documents.ts';
import { useTestBed, waitForPhase } from '../helpers/temporal.ts';

const cluster = runCluster();
const bed = useTestBed({ address: cluster.address });

describe('a restart of the whole server', () => {
  it('lets a running cell finish with its true outcome and output', async () => {
    const run = await bed.client.start(shDocument('echo before; sleep 8; echo after; exit 7'));
    await waitForPhase(() => run.status(), 'running');
    expect(await cluster.restart()).toMatch(/stopped server in \d+ ms/);
    // The server came back while the cell still ran.
    expect((await run.status()).phase).toBe('running');
    const r = await run.result();
    expect(r.outcome).toEqual({ kind: 'exited', code: 7 });
    expect(r.stdout.tail).toBe('before\nafter\n');
    expect((await bed.client.run(shDocument('exit 5'))).outcome).toEqual({ kind: 'exited', code: 5 });
  });

  it('kills a cell whose deadline fell while the server was down', async () => {
    const run = await bed.client.start(deadlineDocument(9, { ttlSeconds: 2, graceSeconds: 5 }));
    await waitForPhase(() => run.status(), 'running');
    await cluster.restart();
    const r = await run.result();
    expect(r.outcome).toEqual({ kind: 'deadline', signal: 'SIGTERM', exitCode: 9 });
  });
});
