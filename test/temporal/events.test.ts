// Lifecycle events through a real worker and dev server to a real HTTP receiver: CellOS's CloudEvents
// in order per cell, and a receiver that is down delays the events, never the cell.
import { afterAll, describe, expect, it } from 'vitest';
import { CellFailedError } from '../../src/client/cell-client.ts';
import { cellEventTypes, type CellEvent } from '../../src/events/cloudevents.ts';
import { cellDocument } from '../helpers/documents.ts';
import { accept, startEventReceiver, type Responder } from '../helpers/event-receiver.ts';
import { useTestBed } from '../helpers/temporal.ts';
import { until } from '../helpers/wait.ts';

let respond: Responder = accept;
const receiver = await startEventReceiver((req, n) => respond(req, n));
afterAll(() => receiver.close());

const bed = useTestBed({ worker: { eventsUrl: receiver.url } });

const sh = (script: string, correlationId?: string) =>
  cellDocument(['/bin/sh', '-c', script], correlationId ? { spec: { correlation: { correlationId } } } : {});

/** The accepted events of one cell, once per id (receivers de-duplicate on source + id), in arrival order. */
function eventsOf(cellId: string): CellEvent[] {
  const seen = new Set<string>();
  return receiver.accepted().filter((e) => e.subject === cellId && !seen.has(e.id) && seen.add(e.id));
}

/** The three events of a cell that cellEventsWorkflow delivered after it, in order. */
async function expectLateEvents(cellId: string): Promise<void> {
  const events = await until(
    'the events delivered by cellEventsWorkflow',
    () => Promise.resolve(eventsOf(cellId)),
    (e) => e.length >= 3,
    { ms: 30_000, everyMs: 250 },
  );
  expect(events.map((e) => e.type)).toEqual([
    cellEventTypes.started,
    cellEventTypes.commandCompleted,
    cellEventTypes.destroyed,
  ]);
}

describe('lifecycle events', () => {
  it('posts started, command.completed and destroyed in order as structured CloudEvents', async () => {
    respond = accept;
    const result = await bed.client.run(sh('exit 3', 'pipeline-9'));
    const hostId = bed.host.config.hostId;
    const events = await until(
      'three events of the cell',
      () => Promise.resolve(eventsOf(result.cellId)),
      (e) => e.length >= 3,
    );
    expect(events.map((e) => e.type)).toEqual([
      cellEventTypes.started,
      cellEventTypes.commandCompleted,
      cellEventTypes.destroyed,
    ]);
    expect(events.map((e) => e.id)).toEqual([0, 1, 2].map((n) => `${result.runId}:${n}`));
    for (const e of events) {
      expect(e).toMatchObject({
        specversion: '1.0',
        source: `/cellos/hosts/${hostId}`,
        subject: result.cellId,
        datacontenttype: 'application/json',
      });
      expect(Date.parse(e.time)).toBeGreaterThan(0);
    }
    expect(events[0]!.data).toEqual({
      cellId: result.cellId,
      runId: result.runId,
      hostId,
      sandboxId: result.sandboxId,
      correlationId: 'pipeline-9',
    });
    expect(events[1]!.data).toMatchObject({ argv: ['/bin/sh', '-c', 'exit 3'], exitCode: 3 });
    expect(events[2]!.data).toMatchObject({ outcome: 'succeeded', terminalState: 'clean', outcomeKind: 'exited' });
    const request = receiver.requests.find((r) => r.body.includes(events[0]!.id))!;
    expect(request.method).toBe('POST');
    expect(request.headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');
  });

  it('a receiver that is down delays the events, not the cell; they follow in order once it is back', async () => {
    const from = receiver.requests.length;
    // Down for this cell's first three requests (the quick try and two retries), then back.
    respond = (_req, n) => (n - from < 3 ? { status: 503, body: 'down' } : { status: 202 });
    const t0 = Date.now();
    const result = await bed.client.run(sh('exit 0'));
    const cellMs = Date.now() - t0;
    expect(eventsOf(result.cellId)).toEqual([]);
    // No retry wait on the cell's path: its one quick try was answered 503 at once.
    expect(cellMs).toBeLessThan(5_000);
    await expectLateEvents(result.cellId);
    expect(receiver.requests.slice(from).filter((r) => r.status === 503)).toHaveLength(3);
    const child = bed.client.temporal.workflow.getHandle(`cell-events-${result.runId}`);
    expect((await child.describe()).status.name).toBe('COMPLETED');
    respond = accept;
  });

  it('a receiver that hangs costs the cell one short quick try, and still gets every event', async () => {
    respond = accept;
    const t0 = Date.now();
    await bed.client.run(sh('exit 0'));
    const baselineMs = Date.now() - t0;
    const from = receiver.requests.length;
    // This cell's first request (the quick try of "started") is never answered; the rest are.
    respond = (_req, n) => (n === from ? { status: 202, delayMs: Infinity } : { status: 202 });
    const t1 = Date.now();
    const result = await bed.client.run(sh('exit 0'));
    const cellMs = Date.now() - t1;
    // The quick try gives up after 0.5 s; it waited 2 s per try before.
    expect(cellMs - baselineMs).toBeLessThan(1_200);
    await expectLateEvents(result.cellId);
    respond = accept;
  });

  it('sends failed with the failure type as its reason when the host refuses the cell', async () => {
    respond = accept;
    const doc = cellDocument(['/bin/true'], { run: { mounts: [{ source: '/etc', destination: '/tmp' }] } });
    const err = await bed.client.run(doc).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CellFailedError);
    const events = await until(
      'the failed event',
      () => Promise.resolve(eventsOf(doc.spec.id)),
      (e) => e.some((x) => x.type === cellEventTypes.failed),
    );
    const failed = events.find((e) => e.type === cellEventTypes.failed)!;
    expect(failed.data).toMatchObject({ cellId: doc.spec.id, reason: 'CellRejectedByHost' });
    expect(String((failed.data as { message?: string }).message)).toMatch(/not under a host path this worker allows/);
  });

  it('says a cell killed at its deadline was destroyed for ttl_exceeded', async () => {
    respond = accept;
    const doc = cellDocument(['/bin/sh', '-c', 'sleep 30'], {
      ttlSeconds: 1,
      run: { limits: { gracefulShutdownSeconds: 1 } },
    });
    const result = await bed.client.run(doc);
    expect(result.outcome.kind).toBe('deadline');
    const events = await until(
      'the events of the cell',
      () => Promise.resolve(eventsOf(result.cellId)),
      (e) => e.some((x) => x.type === cellEventTypes.destroyed),
    );
    expect(events.at(-1)!.data).toMatchObject({ outcome: 'failed', reason: 'ttl_exceeded', outcomeKind: 'deadline' });
  });
});
