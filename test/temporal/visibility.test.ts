// Finding cells after they ran: the search attributes the workflow keeps current, queried through
// CellClient.list, and CellClient.describe (document, phases, outcome) by cell id or workflow id.
import { describe, expect, it } from 'vitest';
import { CellClient } from '../../src/client/cell-client.ts';
import type { CellSummary } from '../../src/client/visibility.ts';
import { cellDocument } from '../helpers/documents.ts';
import { useTestBed, waitForPhase } from '../helpers/temporal.ts';
import { until } from '../helpers/wait.ts';

const schedules: string[] = [];
const bed = useTestBed(
  {},
  {
    async afterEach(bed) {
      for (const id of schedules.splice(0)) await bed.client.schedules.delete(id).catch(() => undefined);
    },
  },
);

const sh = (script: string) => cellDocument(['/bin/sh', '-c', script]);

/** Visibility is eventually consistent: list until `ok` (15 s at most). */
function listUntil(
  client: CellClient,
  opts: Parameters<CellClient['list']>[0],
  ok: (found: CellSummary[]) => boolean,
): Promise<CellSummary[]> {
  return until(`list(${JSON.stringify(opts)}) matching`, () => client.list(opts), ok, { ms: 15_000, everyMs: 250 });
}

describe('search attributes', () => {
  it("finds a cell that exited 3 with CellOutcome = 'exited' AND CellExitCode = 3", async () => {
    const three = await bed.client.run(sh('exit 3'));
    const zero = await bed.client.run(sh('exit 0'));
    const query = `CellOutcome = 'exited' AND CellExitCode = 3 AND TaskQueue = '${bed.taskQueue}'`;
    const found = await listUntil(bed.client, { query }, (f) => f.some((c) => c.cellId === three.cellId));
    expect(found.map((c) => c.cellId)).not.toContain(zero.cellId);
    expect(found.find((c) => c.cellId === three.cellId)).toMatchObject({
      workflowId: three.workflowId,
      runId: three.runId,
      status: 'COMPLETED',
      phase: 'done',
      outcome: 'exited',
      exitCode: 3,
      hostId: bed.host.config.hostId,
      scheduleId: undefined,
    });
    // The same through the filter options.
    const viaFilter = await bed.client.list({ outcome: 'exited', exitCode: 3, hostId: bed.host.config.hostId });
    expect(viaFilter.map((c) => c.cellId)).toContain(three.cellId);
  });

  it("finds the cells that ran on a host with CellHost = '<host id>'", async () => {
    const a = await bed.client.run(sh('true'));
    const b = await bed.client.run(sh('exit 1'));
    const found = await listUntil(bed.client, { query: `CellHost = '${bed.host.config.hostId}'` }, (f) =>
      [a.cellId, b.cellId].every((id) => f.some((c) => c.cellId === id && c.outcome === 'exited')),
    );
    expect(found.every((c) => c.hostId === bed.host.config.hostId)).toBe(true);
    expect(await bed.client.list({ query: `CellHost = 'no-such-host-${process.pid}'` })).toEqual([]);
  });

  it('lists a running cell with its phase, and only running cells with running: true', async () => {
    const run = await bed.client.start(sh('sleep 3'));
    await waitForPhase(() => run.status(), 'running');
    const found = await listUntil(bed.client, { running: true, hostId: bed.host.config.hostId }, (f) =>
      f.some((c) => c.cellId === run.cellId && c.phase === 'running'),
    );
    expect(found.every((c) => c.status === 'RUNNING')).toBe(true);
    await run.result();
    await listUntil(bed.client, { running: true, hostId: bed.host.config.hostId }, (f) =>
      f.every((c) => c.cellId !== run.cellId),
    );
  });

  it("falls back to Temporal's own attributes when the namespace lacks the cell ones", async () => {
    const plain = new CellClient({ connection: bed.client.temporal.connection as never, taskQueue: bed.taskQueue });
    Object.assign(plain, { hasSearchAttributes: () => Promise.resolve(false) });
    const r = await bed.client.run(sh('true'));
    const found = await listUntil(plain, { cellId: r.cellId }, (f) => f.length === 1);
    expect(found[0]).toMatchObject({ cellId: r.cellId, workflowId: r.workflowId });
    await expect(plain.list({ outcome: 'exited' })).rejects.toThrow(
      /filtering by outcome needs the cell search attributes/,
    );

    const id = `vis-${process.pid}`;
    schedules.push(id);
    const doc = sh('true');
    await bed.client.schedules.create(id, doc, { every: '1h', paused: true });
    await bed.client.schedules.trigger(id);
    // TemporalScheduledById stands in for CellScheduleId; the memo for CellId.
    const scheduled = await listUntil(plain, { scheduleId: id }, (f) => f.length === 1 && f[0]!.status === 'COMPLETED');
    expect(scheduled[0]).toMatchObject({ cellId: doc.spec.id, scheduleId: id });
  });
});

describe('describe', () => {
  it('gives the document as given, the phases with their durations, the outcome, host and sandbox', async () => {
    const doc = sh('echo x; exit 4');
    const result = await bed.client.run(doc);
    const d = await bed.client.describe(doc.spec.id);
    expect(d).toMatchObject({
      cellId: doc.spec.id,
      workflowId: `cell-${doc.spec.id}`,
      runId: result.runId,
      workflowStatus: 'COMPLETED',
      taskQueue: bed.taskQueue,
      document: JSON.parse(JSON.stringify(doc)),
      phase: 'done',
      hostId: bed.host.config.hostId,
      sandboxId: result.sandboxId,
      outcome: { kind: 'exited', code: 4 },
      exitCode: 4,
      failure: undefined,
    });
    expect(d!.phases).toEqual(result.phases);
    expect(Object.keys(d!.phases)).toEqual(expect.arrayContaining(['placing', 'running', 'starting']));
    // By workflow id too.
    expect((await bed.client.describe(`cell-${doc.spec.id}`))?.runId).toBe(result.runId);
    expect(await bed.client.describe(`no-such-cell-${process.pid}`)).toBeUndefined();
  });

  it('gives the live phase, host and sandbox of a running cell', async () => {
    const doc = sh('sleep 2');
    const run = await bed.client.start(doc);
    await waitForPhase(() => run.status(), 'running');
    const d = await bed.client.describe(doc.spec.id);
    expect(d).toMatchObject({
      workflowStatus: 'RUNNING',
      phase: 'running',
      hostId: bed.host.config.hostId,
      sandboxId: expect.any(String) as string,
      outcome: undefined,
    });
    await run.result();
  });

  it('finds the newest run a schedule started by the cell id', async () => {
    const id = `vis-describe-${process.pid}`;
    schedules.push(id);
    const doc = sh('echo from-schedule');
    await bed.client.schedules.create(id, doc, { every: '1h', paused: true });
    await bed.client.schedules.trigger(id);
    const d = await until(
      'the scheduled run completing',
      () => bed.client.describe(doc.spec.id),
      (d) => d?.workflowStatus === 'COMPLETED',
      { ms: 15_000, everyMs: 250 },
    );
    expect(d).toMatchObject({ cellId: doc.spec.id, scheduleId: id, outcome: { kind: 'exited', code: 0 } });
    expect(d!.workflowId.startsWith(`cell-${doc.spec.id}-`)).toBe(true);
    const chunks = [];
    for await (const c of (await bed.client.findRun(doc.spec.id))!.run.logs()) chunks.push(c);
    expect(chunks).toEqual([{ stream: 'stdout', text: 'from-schedule\n' }]);
  });
});
