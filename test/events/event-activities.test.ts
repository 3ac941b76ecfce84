// deliverCellEvents against a real HTTP receiver, under MockActivityEnvironment. Temporal's retries
// are played by hand: each attempt runs with the heartbeat details the one before recorded.
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  CELL_EVENT_DELIVERY_FAILED,
  createEventActivities,
  type CellEventsDelivery,
  type EventActivities,
  type EventDeliveryProgress,
} from '../../activities/events.ts';
import {
  cellEvent,
  cellEventId,
  cellEventSource,
  cellEventTypes,
  type CellEvent,
} from '../../src/events/cloudevents.ts';
import { accept, startEventReceiver, type EventReceiver, type Responder } from '../helpers/event-receiver.ts';

const RUN_ID = 'run-1';

function events(n: number): CellEvent[] {
  return Array.from({ length: n }, (_, seq) =>
    cellEvent(
      cellEventTypes.started,
      { id: cellEventId(RUN_ID, seq), source: cellEventSource({ hostId: 'h1' }), time: new Date(seq).toISOString() },
      { cellId: 'c1', runId: RUN_ID, hostId: 'h1' },
    ),
  );
}

const receivers: EventReceiver[] = [];
async function receiver(respond: Responder = accept): Promise<EventReceiver> {
  const r = await startEventReceiver(respond);
  receivers.push(r);
  return r;
}
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

interface Attempt {
  readonly result?: CellEventsDelivery;
  readonly error?: unknown;
  /** Every heartbeat's details, in order. */
  readonly heartbeats: unknown[];
  /** What Temporal would hand the next attempt. */
  readonly lastDetails: unknown;
}

/** One attempt of the activity, as Temporal runs it: `attempt` and the last attempt's heartbeat details. */
async function attempt(
  activities: EventActivities,
  batch: CellEvent[],
  info: { attempt?: number; heartbeatDetails?: unknown } = {},
  whileRunning?: (env: MockActivityEnvironment) => void,
): Promise<Attempt> {
  // Failed attempts are expected here: keep the SDK's warnings out of the test output.
  const env = new MockActivityEnvironment({ attempt: 1, ...info }, { logger: new DefaultLogger('ERROR') });
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => heartbeats.push(d));
  whileRunning?.(env);
  let result: CellEventsDelivery | undefined;
  let error: unknown;
  try {
    result = await env.run(activities.deliverCellEvents, batch);
  } catch (err) {
    error = err;
  }
  return { result, error, heartbeats, lastDetails: heartbeats.at(-1) ?? info.heartbeatDetails };
}

const ids = (list: readonly { body: string }[]) => list.map((r) => (JSON.parse(r.body) as CellEvent).id);

describe('deliverCellEvents', () => {
  it('is not registered when CELLOS_EVENTS_URL is unset', () => {
    expect(createEventActivities({ eventsUrl: undefined })).toEqual({});
  });

  it('delivers a batch in order, each event with its exact body, and heartbeats its progress', async () => {
    const r = await receiver();
    const batch = events(4);
    const run = await attempt(createEventActivities({ eventsUrl: r.url }), batch);
    expect(run.error).toBeUndefined();
    expect(run.result).toEqual({ delivered: 4, refused: 0, resumedAt: 0 });
    expect(r.requests.map((q) => q.body)).toEqual(batch.map((e) => JSON.stringify(e)));
    expect(r.requests.every((q) => q.headers['content-type'] === 'application/cloudevents+json; charset=utf-8')).toBe(
      true,
    );
    expect(run.heartbeats).toEqual([{ next: 1 }, { next: 2 }, { next: 3 }, { next: 4 }]);
  });

  it('survives a receiver that answers 503 for a while: each retry resumes at the first undelivered event', async () => {
    // The first event gets through, then the receiver is down for two requests.
    const r = await receiver((_req, n) => (n === 1 || n === 2 ? { status: 503, body: 'down' } : { status: 202 }));
    const log = vi.fn();
    const activities = createEventActivities({ eventsUrl: r.url, log });
    const batch = events(3);

    const first = await attempt(activities, batch);
    expect(first.error).toBeInstanceOf(ApplicationFailure);
    const failure = first.error as ApplicationFailure;
    expect(failure.type).toBe(CELL_EVENT_DELIVERY_FAILED);
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toContain(`event ${cellEventId(RUN_ID, 1)}`);
    expect(failure.message).toContain('503');
    expect(first.lastDetails).toEqual({ next: 1 } satisfies EventDeliveryProgress);

    const second = await attempt(activities, batch, { attempt: 2, heartbeatDetails: first.lastDetails });
    expect((second.error as ApplicationFailure).type).toBe(CELL_EVENT_DELIVERY_FAILED);
    expect(second.lastDetails).toEqual({ next: 1 });

    const third = await attempt(activities, batch, { attempt: 3, heartbeatDetails: second.lastDetails });
    expect(third.error).toBeUndefined();
    expect(third.result).toEqual({ delivered: 2, refused: 0, resumedAt: 1 });

    // Each event was taken once, in order; the first was never sent again.
    expect(r.accepted().map((e) => e.id)).toEqual(batch.map((e) => e.id));
    expect(ids(r.requests)).toEqual([batch[0]!.id, batch[1]!.id, batch[1]!.id, batch[1]!.id, batch[2]!.id]);
    expect(log).toHaveBeenCalledWith(
      'event not delivered: retried later',
      expect.objectContaining({ cellId: 'c1', eventId: batch[1]!.id, status: 503, attempt: 2 }),
    );
  });

  it('logs and skips an event the receiver refuses with a 400, and goes on with the rest', async () => {
    const r = await receiver((_req, n) => (n === 1 ? { status: 400, body: 'unknown type' } : { status: 202 }));
    const log = vi.fn();
    const batch = events(3);
    const run = await attempt(createEventActivities({ eventsUrl: r.url, log }), batch);
    expect(run.error).toBeUndefined();
    expect(run.result).toEqual({ delivered: 2, refused: 1, resumedAt: 0 });
    expect(ids(r.requests)).toEqual(batch.map((e) => e.id));
    expect(log).toHaveBeenCalledTimes(1);
    expect(log).toHaveBeenCalledWith(
      'event refused by its receiver: skipped',
      expect.objectContaining({
        cellId: 'c1',
        eventId: batch[1]!.id,
        type: cellEventTypes.started,
        status: 400,
        error: expect.stringContaining('unknown type') as unknown,
      }),
    );
    expect(run.heartbeats.at(-1)).toEqual({ next: 3 });
  });

  it('sends an event again after a timeout, since it may or may not have arrived (same id)', async () => {
    const r = await receiver((_req, n) => (n === 0 ? { status: 202, delayMs: Infinity } : { status: 202 }));
    const activities = createEventActivities({ eventsUrl: r.url, timeoutMs: 200 });
    const batch = events(2);
    const first = await attempt(activities, batch);
    expect((first.error as ApplicationFailure).type).toBe(CELL_EVENT_DELIVERY_FAILED);
    expect((first.error as ApplicationFailure).message).toMatch(/^no answer within 200 ms/);
    expect(first.lastDetails).toEqual({ next: 0 });

    const second = await attempt(activities, batch, { attempt: 2, heartbeatDetails: first.lastDetails });
    expect(second.result).toEqual({ delivered: 2, refused: 0, resumedAt: 0 });
    expect(ids(r.requests)).toEqual([batch[0]!.id, batch[0]!.id, batch[1]!.id]);
  });

  it("waits as long as a 429's Retry-After asks before the next attempt", async () => {
    const r = await receiver(() => ({ status: 429, headers: { 'retry-after': '7' } }));
    const run = await attempt(createEventActivities({ eventsUrl: r.url }), events(1));
    expect((run.error as ApplicationFailure).nextRetryDelay).toBe(7000);
  });

  it.each([[{ next: 9 }], [{ next: -1 }], ['garbage'], [{ next: 1.5 }]])(
    'starts from the first event when the heartbeat details are %j',
    async (heartbeatDetails) => {
      const r = await receiver();
      const run = await attempt(createEventActivities({ eventsUrl: r.url }), events(2), { heartbeatDetails });
      expect(run.result).toEqual({ delivered: 2, refused: 0, resumedAt: 0 });
      expect(r.requests).toHaveLength(2);
    },
  );

  it('stops a POST in flight when the activity is cancelled, keeping its progress', async () => {
    const r = await receiver((_req, n) => (n === 1 ? { status: 202, delayMs: Infinity } : { status: 202 }));
    const run = await attempt(createEventActivities({ eventsUrl: r.url }), events(3), {}, (env) => {
      const timer = setInterval(() => {
        if (r.requests.length === 2) {
          clearInterval(timer);
          env.cancel();
        }
      }, 10);
    });
    expect(run.error).toBeInstanceOf(CancelledFailure);
    expect(run.lastDetails).toEqual({ next: 1 });
    expect(r.requests).toHaveLength(2);
  });
});
