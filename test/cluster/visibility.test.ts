// Finding cells on the cluster: the cell search attributes in PostgreSQL (SQL advanced visibility),
// queried through CellClient.list, and a schedule that fires by itself.
import { describe, expect, it } from 'vitest';
import type { CellClient } from '../../src/client/cell-client.ts';
import type { CellSummary } from '../../src/client/visibility.ts';
import { SEARCH_ATTRIBUTES } from '../../src/contract/index.ts';
import { runCluster } from '../helpers/cluster.ts';
import { deadlineDocument, shDocument } from '../helpers/documents.ts';
import { useTestBed } from '../helpers/temporal.ts';
import { until } from '../helpers/wait.ts';

const schedules: string[] = [];
const bed = useTestBed(
  { address: runCluster().address },
  {
    async afterEach(bed) {
      for (const id of schedules.splice(0)) await bed.client.schedules.delete(id).catch(() => undefined);
      await until(
        'the cells of this file to end',
        () => bed.client.list({ running: true, hostId: bed.host.config.hostId }),
        (running) => running.length === 0,
        { ms: 30_000, everyMs: 250 },
      );
    },
  },
);

/** Visibility is eventually consistent: list until `ok` (15 s at most). */
function listUntil(
  client: CellClient,
  opts: Parameters<CellClient['list']>[0],
  ok: (found: CellSummary[]) => boolean,
): Promise<CellSummary[]> {
  return until(`list(${JSON.stringify(opts)}) matching`, () => client.list(opts), ok, { ms: 15_000, everyMs: 250 });
}

describe('visibility on the cluster', () => {
  it('has every cell search attribute registered with its type', async () => {
    const res = await bed.client.temporal.connection.operatorService.listSearchAttributes({ namespace: 'default' });
    const types = { Keyword: 2, Int: 3 } as const; // temporal.api.enums.v1.IndexedValueType
    for (const a of SEARCH_ATTRIBUTES) expect(res.customAttributes?.[a.name], a.name).toBe(types[a.type]);
  });

  it('finds cells by CellOutcome and CellExitCode, by query and by filter', async () => {
    const host = bed.host.config.hostId;
    const three = await bed.client.run(shDocument('exit 3'));
    const zero = await bed.client.run(shDocument('exit 0'));
    const late = await bed.client.run(deadlineDocument(5, { ttlSeconds: 1, graceSeconds: 5 }));
    expect(late.outcome.kind).toBe('deadline');

    const query = `CellOutcome = 'exited' AND CellExitCode = 3 AND CellHost = '${host}'`;
    const found = await listUntil(bed.client, { query }, (f) => f.some((c) => c.cellId === three.cellId));
    expect(found.map((c) => c.cellId)).toEqual([three.cellId]);
    expect(found[0]).toMatchObject({
      workflowId: three.workflowId,
      runId: three.runId,
      status: 'COMPLETED',
      phase: 'done',
      outcome: 'exited',
      exitCode: 3,
      hostId: host,
    });

    const exitedFromZero = await listUntil(bed.client, { outcome: 'exited', exitCode: 0, hostId: host }, (f) =>
      f.some((c) => c.cellId === zero.cellId),
    );
    expect(exitedFromZero.map((c) => c.cellId)).toEqual([zero.cellId]);
    const deadline = await listUntil(bed.client, { outcome: 'deadline', hostId: host }, (f) => f.length > 0);
    expect(deadline.map((c) => c.cellId)).toEqual([late.cellId]);
    // An Int attribute compares as a number.
    const nonZero = await listUntil(bed.client, { query: `CellExitCode > 0 AND CellHost = '${host}'` }, (f) =>
      f.some((c) => c.cellId === late.cellId),
    );
    expect(nonZero.map((c) => c.cellId).sort()).toEqual([three.cellId, late.cellId].sort());
  });

  it('lists a running cell with running: true, and no longer once it ended', async () => {
    const run = await bed.client.start(shDocument('sleep 2'));
    const found = await listUntil(bed.client, { running: true, hostId: bed.host.config.hostId }, (f) =>
      f.some((c) => c.cellId === run.cellId && c.phase === 'running'),
    );
    expect(found.every((c) => c.status === 'RUNNING')).toBe(true);
    await run.result();
    await listUntil(bed.client, { running: true, hostId: bed.host.config.hostId }, (f) =>
      f.every((c) => c.cellId !== run.cellId),
    );
  });

  it('serves the Temporal UI, whose API lists the cell', async () => {
    const ui = runCluster().uiUrl;
    const r = await bed.client.run(shDocument('exit 0'));
    expect((await fetch(ui)).status).toBe(200);
    const url = `${ui}/api/v1/namespaces/default/workflows?query=${encodeURIComponent(`WorkflowId = '${r.workflowId}'`)}`;
    const listed = await until(
      `the UI listing ${r.workflowId}`,
      async () => {
        const body = (await (await fetch(url)).json()) as { executions?: { execution?: { runId?: string } }[] };
        return (body.executions ?? []).map((e) => e.execution?.runId);
      },
      (runIds) => runIds.length > 0,
      { ms: 15_000, everyMs: 250 },
    );
    expect(listed).toEqual([r.runId]);
  });

  it('fires a schedule by itself: every run a real cell carrying the schedule id', async () => {
    const id = `cluster-sched-${process.pid}`;
    schedules.push(id);
    const doc = shDocument('echo tick');
    await bed.client.schedules.create(id, doc, { every: '2s' });
    const runs = await listUntil(
      bed.client,
      { scheduleId: id },
      (f) => f.filter((c) => c.status === 'COMPLETED').length >= 2,
    );
    await bed.client.schedules.delete(id);
    const done = runs.filter((c) => c.status === 'COMPLETED');
    expect(done.every((c) => c.cellId === doc.spec.id && c.outcome === 'exited' && c.exitCode === 0)).toBe(true);
    expect(new Set(done.map((c) => c.workflowId)).size).toBe(done.length);
    const described = await bed.client.describe(done[0]!.workflowId);
    expect(described).toMatchObject({ cellId: doc.spec.id, scheduleId: id, outcome: { kind: 'exited', code: 0 } });
  });
});
