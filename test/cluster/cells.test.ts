// The lifecycle of a cell on the production-shaped cluster (PostgreSQL, the real Temporal server):
// exit codes, the deadline, the kill signal, a cell a signal killed, and its logs while it runs.
import { describe, expect, it } from 'vitest';
import { runCluster } from '../helpers/cluster.ts';
import { deadlineDocument, shDocument } from '../helpers/documents.ts';
import { useTestBed } from '../helpers/temporal.ts';

const bed = useTestBed({ address: runCluster().address });

describe('cells on the cluster', () => {
  it('is the real server on PostgreSQL, with SQL visibility', async () => {
    const info = await bed.client.temporal.workflowService.getClusterInfo({});
    expect(info.persistenceStore).toBe('postgres12');
    expect(info.visibilityStore).toBe('postgres12');
    expect(info.serverVersion).toBe('1.32.2');
  });

  it('runs cells to their exit codes, instant or not, and returns their output', async () => {
    const ok = await bed.client.run(shDocument('echo hello from the cluster'));
    expect(ok.outcome).toEqual({ kind: 'exited', code: 0 });
    expect(ok.stdout.tail).toBe('hello from the cluster\n');
    expect(ok.hostId).toBe(bed.host.config.hostId);
    const three = await bed.client.run(shDocument('echo oops >&2; sleep 0.5; exit 3'));
    expect(three.outcome).toEqual({ kind: 'exited', code: 3 });
    expect(three.exitCode).toBe(3);
    expect(three.stderr.tail).toBe('oops\n');
    expect((await bed.client.run(shDocument('exit 0'))).outcome).toEqual({ kind: 'exited', code: 0 });
  });

  it('kills a TERM-trapping cell at its deadline with SIGTERM', async () => {
    const t0 = Date.now();
    const r = await bed.client.run(deadlineDocument(9, { ttlSeconds: 2, graceSeconds: 5 }));
    expect(r.outcome).toEqual({ kind: 'deadline', signal: 'SIGTERM', exitCode: 9 });
    expect(Date.now() - t0).toBeLessThan(2000 + 4000);
  });

  it('kills a running cell on the kill signal, with the reason', async () => {
    // The shell is the sandbox's init, which ignores a SIGTERM it has no trap for yet: kill once the
    // cell says its trap is set.
    const run = await bed.client.start(shDocument("trap 'exit 4' TERM; echo trapped; while true; do sleep 0.1; done"));
    for await (const chunk of bed.client.logs(run.cellId, { follow: true, pollMs: 200 })) {
      if (chunk.text.includes('trapped')) break;
    }
    await bed.client.kill(run.cellId, 'superseded on the cluster');
    const r = await run.result();
    expect(r.outcome).toEqual({ kind: 'killed', reason: 'superseded on the cluster', signal: 'SIGTERM' });
  });

  it('reports a cell that a signal killed with that signal', async () => {
    const r = await bed.client.run(shDocument('kill -KILL $$'));
    expect(r.outcome).toEqual({ kind: 'signaled', signal: 'SIGKILL', signalNumber: 9 });
  });

  it('follows the output of a running cell through the server, then ends with the cell', async () => {
    const run = await bed.client.start(
      shDocument('i=1; while [ $i -le 5 ]; do echo line$i; i=$((i+1)); sleep 0.5; done'),
    );
    const seen: { text: string; at: number }[] = [];
    for await (const chunk of bed.client.logs(run.cellId, { follow: true, pollMs: 200 })) {
      seen.push({ text: chunk.text, at: Date.now() });
    }
    const result = await run.result();
    expect(seen.map((c) => c.text).join('')).toBe('line1\nline2\nline3\nline4\nline5\n');
    // line1 arrived while the cell still ran, within 2 s of its start.
    const firstAt = seen.find((c) => c.text.includes('line1'))!.at;
    expect(firstAt - Date.parse(result.sandboxStartedAt!)).toBeLessThan(2000);
    expect(firstAt).toBeLessThan(Date.parse(result.sandboxEndedAt!));
  });
});
