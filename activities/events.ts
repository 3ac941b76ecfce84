// Delivery of a cell's lifecycle events (CELLOS_EVENTS_URL) as an activity: a batch goes out in
// order; a receiver that is down fails the attempt and Temporal's retries wait for it, so it delays
// the events and never the cell. A retry resumes after the last event the receiver took: events are
// delivered at least once (again only when an attempt could not know whether one arrived).
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { CellEventActivities, CellEventsDelivery } from '../src/contract/index.ts';
import { CellEventDeliveryError, deliverCellEvent } from '../src/events/deliver.ts';

/** The failure type of an attempt that left events undelivered (retryable). */
export const CELL_EVENT_DELIVERY_FAILED = 'CellEventDeliveryFailed';

/** Longest wait a receiver's Retry-After can ask for; past it, the retry policy's own interval. */
const MAX_RETRY_AFTER_MS = 5 * 60_000;

export interface EventActivityDeps {
  /** CELLOS_EVENTS_URL; undefined: events are off and no activity is registered. */
  readonly eventsUrl: string | undefined;
  readonly log?: ((message: string, fields: Record<string, unknown>) => void) | undefined;
  readonly fetch?: typeof fetch | undefined;
  /** Per POST (default DEFAULT_DELIVERY_TIMEOUT_MS). */
  readonly timeoutMs?: number | undefined;
}

/** Heartbeat details of deliverCellEvents: the index of the first event not yet delivered. */
export interface EventDeliveryProgress {
  readonly next: number;
}

export type { CellEventsDelivery };

export type EventActivities = CellEventActivities;

/**
 * The event activity, or nothing when events are off: a worker without CELLOS_EVENTS_URL does
 * not register deliverCellEvents, so the workflow must only schedule it where events are on.
 */
export function createEventActivities(deps: EventActivityDeps & { readonly eventsUrl: string }): EventActivities;
export function createEventActivities(deps: EventActivityDeps): Partial<EventActivities>;
export function createEventActivities({
  eventsUrl,
  log = () => undefined,
  fetch,
  timeoutMs,
}: EventActivityDeps): Partial<EventActivities> {
  if (eventsUrl === undefined) return {};
  return {
    async deliverCellEvents(events) {
      const ctx = Context.current();
      if (!Array.isArray(events)) {
        throw ApplicationFailure.nonRetryable('deliverCellEvents takes an array of cell events', 'InvalidCellEvents');
      }
      const resumedAt = resumePoint(ctx.info.heartbeatDetails, events.length);
      let refused = 0;
      for (let i = resumedAt; i < events.length; i++) {
        const event = events[i]!;
        try {
          await deliverCellEvent(event, { url: eventsUrl, fetch, timeoutMs, signal: ctx.cancellationSignal });
        } catch (err) {
          const fields = { cellId: event.subject, eventId: event.id, type: event.type };
          if (err instanceof CellEventDeliveryError && !err.retryable && !ctx.cancellationSignal.aborted) {
            log('event refused by its receiver: skipped', { ...fields, status: err.status, error: err.message });
            refused++;
          } else {
            const progress: EventDeliveryProgress = { next: i };
            ctx.heartbeat(progress);
            if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason ?? err;
            if (!(err instanceof CellEventDeliveryError)) throw err;
            log('event not delivered: retried later', {
              ...fields,
              status: err.status,
              attempt: ctx.info.attempt,
              error: err.message,
            });
            throw ApplicationFailure.create({
              type: CELL_EVENT_DELIVERY_FAILED,
              message: err.message,
              nonRetryable: false,
              details: [progress],
              nextRetryDelay:
                err.retryAfterMs === undefined ? undefined : Math.min(err.retryAfterMs, MAX_RETRY_AFTER_MS),
              cause: err,
            });
          }
        }
        ctx.heartbeat({ next: i + 1 } satisfies EventDeliveryProgress);
      }
      return { delivered: events.length - resumedAt - refused, refused, resumedAt };
    },

    async tryDeliverCellEvents(events) {
      const signal = Context.current().cancellationSignal;
      let done = 0;
      for (const event of Array.isArray(events) ? events : []) {
        try {
          await deliverCellEvent(event, {
            url: eventsUrl,
            fetch,
            timeoutMs: timeoutMs ?? QUICK_TRY_TIMEOUT_MS,
            signal,
          });
        } catch (err) {
          const fields = { cellId: event.subject, eventId: event.id, type: event.type };
          if (!(err instanceof CellEventDeliveryError) || err.retryable || signal.aborted) {
            log('event not delivered: handed to its retrying workflow', { ...fields, error: messageOf(err) });
            break;
          }
          log('event refused by its receiver: skipped', { ...fields, status: err.status, error: err.message });
        }
        done++;
      }
      return { done };
    },
  };
}

/**
 * A quick try waits this long for the receiver: the cell's workflow task waits for it, so a receiver
 * that hangs costs the cell this much once (later events queue behind it without a try of their
 * own). A receiver slower than this still gets every event, from cellEventsWorkflow.
 */
const QUICK_TRY_TIMEOUT_MS = 500;

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Where an attempt starts: after what the last one's heartbeat says was delivered; 0 if unsure. */
function resumePoint(details: unknown, count: number): number {
  const next = (details as Partial<EventDeliveryProgress> | null | undefined)?.next;
  return Number.isSafeInteger(next) && next! >= 0 && next! <= count ? next! : 0;
}
