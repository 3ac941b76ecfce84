// Posting one event to a real HTTP receiver: the body and headers on the wire, and what each kind
// of answer (or no answer) means.
import { afterEach, describe, expect, it } from 'vitest';
import { cellEvent, cellEventTypes, type CellEvent } from '../../src/events/cloudevents.ts';
import {
  CLOUDEVENTS_CONTENT_TYPE,
  CellEventDeliveryError,
  deliverCellEvent,
  retryAfterMs,
  verdictOf,
} from '../../src/events/deliver.ts';
import { startEventReceiver, type EventReceiver, type Responder } from '../helpers/event-receiver.ts';

const event: CellEvent = cellEvent(
  cellEventTypes.commandCompleted,
  { id: 'run-1:1', source: '/cellos/hosts/h1', time: '2030-01-02T03:04:05.678Z' },
  { cellId: 'c1', runId: 'run-1', argv: ['/bin/echo', 'héllo "x"'], exitCode: 0, durationMs: 12 },
);

const receivers: EventReceiver[] = [];
async function receiver(respond?: Responder): Promise<EventReceiver> {
  const r = await startEventReceiver(respond);
  receivers.push(r);
  return r;
}
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

async function failure(p: Promise<unknown>): Promise<CellEventDeliveryError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CellEventDeliveryError);
  return err as CellEventDeliveryError;
}

describe('verdictOf', () => {
  it.each([
    [200, 'delivered'],
    [202, 'delivered'],
    [204, 'delivered'],
    [408, 'retryable'],
    [429, 'retryable'],
    [500, 'retryable'],
    [503, 'retryable'],
    [301, 'refused'],
    [307, 'refused'],
    [400, 'refused'],
    [401, 'refused'],
    [404, 'refused'],
    [413, 'refused'],
  ])('reads %i as %s', (status, verdict) => {
    expect(verdictOf(status)).toBe(verdict);
  });
});

describe('deliverCellEvent', () => {
  it('posts the whole event as its JSON body with the CloudEvents content type', async () => {
    const r = await receiver();
    expect(await deliverCellEvent(event, { url: r.url })).toEqual({ status: 202 });
    expect(r.requests).toHaveLength(1);
    const [req] = r.requests;
    expect(req!.method).toBe('POST');
    expect(req!.path).toBe('/events');
    expect(req!.headers['content-type']).toBe(CLOUDEVENTS_CONTENT_TYPE);
    expect(req!.headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');
    expect(req!.body).toBe(JSON.stringify(event));
    expect(JSON.parse(req!.body)).toEqual(event);
  });

  it('makes a 503 a retryable error that names the URL, the event and the status, with the end of the body', async () => {
    const r = await receiver(() => ({ status: 503, body: 'queue full, try later' }));
    const err = await failure(deliverCellEvent(event, { url: r.url }));
    expect(err.retryable).toBe(true);
    expect(err.status).toBe(503);
    expect(err.url).toBe(r.url);
    expect(err.eventId).toBe('run-1:1');
    expect(err.eventType).toBe(cellEventTypes.commandCompleted);
    expect(err.bodyTail).toBe('queue full, try later');
    expect(err.message).toBe(
      `the receiver answered 503 Service Unavailable: POST ${r.url} (event run-1:1, ${cellEventTypes.commandCompleted})\n\nqueue full, try later`,
    );
  });

  it.each([408, 429, 500, 502])('retries a %i', async (status) => {
    const r = await receiver(() => ({ status }));
    expect((await failure(deliverCellEvent(event, { url: r.url }))).retryable).toBe(true);
  });

  it.each([400, 403, 404, 415])('takes a %i as a refusal for good', async (status) => {
    const r = await receiver(() => ({ status, body: 'bad event' }));
    const err = await failure(deliverCellEvent(event, { url: r.url }));
    expect(err.retryable).toBe(false);
    expect(err.status).toBe(status);
    expect(err.message).toMatch(new RegExp(`^the receiver refused the event with ${status}`));
  });

  it('keeps only the end of a long answer', async () => {
    const body = `START${'x'.repeat(5000)}THE END`;
    const r = await receiver(() => ({ status: 500, body }));
    const err = await failure(deliverCellEvent(event, { url: r.url }));
    expect(err.bodyTail!.length).toBeLessThanOrEqual(301);
    expect(err.bodyTail).toMatch(/^…x+THE END$/);
    expect(err.message).not.toContain('START');
  });

  it('gives up on a receiver that does not answer within the timeout, as retryable', async () => {
    const r = await receiver(() => ({ status: 202, delayMs: Infinity }));
    const started = Date.now();
    const err = await failure(deliverCellEvent(event, { url: r.url, timeoutMs: 200 }));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(err.retryable).toBe(true);
    expect(err.status).toBeUndefined();
    expect(err.message).toMatch(/^no answer within 200 ms: POST /);
    expect(r.requests).toHaveLength(1);
  });

  it('makes a refused connection a retryable network error', async () => {
    const r = await startEventReceiver();
    await r.close();
    const err = await failure(deliverCellEvent(event, { url: r.url }));
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/^network error \(ECONNREFUSED\): POST /);
  });

  it('does not follow a redirect to another origin, and refuses it for good', async () => {
    const elsewhere = await receiver();
    const r = await receiver(() => ({ status: 307, headers: { location: elsewhere.url } }));
    const err = await failure(deliverCellEvent(event, { url: r.url }));
    expect(err.retryable).toBe(false);
    expect(err.status).toBe(307);
    expect(err.message).toContain(`redirected (307 to ${elsewhere.url}), not followed`);
    expect(elsewhere.requests).toHaveLength(0);
  });

  it("passes on a 429's Retry-After", async () => {
    const r = await receiver(() => ({ status: 429, headers: { 'retry-after': '7' } }));
    expect((await failure(deliverCellEvent(event, { url: r.url }))).retryAfterMs).toBe(7000);
  });

  it('shows the URL without its query, which may hold a token', async () => {
    const r = await receiver(() => ({ status: 500 }));
    const err = await failure(deliverCellEvent(event, { url: `${r.url}?token=s3cret` }));
    expect(err.url).toBe(r.url);
    expect(err.message).not.toContain('s3cret');
    expect(r.requests[0]!.path).toBe('/events?token=s3cret');
  });

  it('stops when its signal is aborted', async () => {
    const r = await receiver(() => ({ status: 202, delayMs: Infinity }));
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);
    const err = await failure(deliverCellEvent(event, { url: r.url, signal: abort.signal }));
    expect(err.message).toMatch(/^cancelled: POST /);
  });
});

describe('retryAfterMs', () => {
  it('reads delta-seconds and HTTP dates, and nothing else', () => {
    const now = Date.parse('2030-01-02T03:04:05Z');
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs('Wed, 02 Jan 2030 03:04:15 GMT', now)).toBe(10_000);
    expect(retryAfterMs('Wed, 02 Jan 2030 03:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });
});
