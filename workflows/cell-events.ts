// A cell's lifecycle events (CELLOS_EVENTS_URL), in CellOS's CloudEvents types: emitted as the
// workflow goes, delivered in order. A receiver that is down delays events, never the cell: each
// batch gets one quick try as a local activity in the workflow task that emits it (no round trip of
// its own); what that try leaves, and everything after it, goes at the end to cellEventsWorkflow, a
// workflow of its own that outlives the cell and retries until the receiver takes them.
import {
  ParentClosePolicy,
  proxyActivities,
  proxyLocalActivities,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { CellEventActivities as EventActivities } from '../src/contract/index.ts';
import {
  cellEvent,
  cellEventId,
  cellEventSource,
  type CellEvent,
  type CellEventDataByType,
  type CellEventType,
} from '../src/events/cloudevents.ts';

const quick = proxyLocalActivities<Pick<EventActivities, 'tryDeliverCellEvents'>>({
  // The activity gives each POST 0.5 s; one try only: a retry is cellEventsWorkflow's job.
  startToCloseTimeout: '15s',
  retry: { maximumAttempts: 1 },
  summary: 'deliver the cell events (one try)',
});

/** How long cellEventsWorkflow keeps trying before it gives the events up (and fails, visibly). */
const EVENTS_GIVE_UP_AFTER = '24h';

export interface CellEventsInput {
  readonly events: readonly CellEvent[];
}

/** Delivers a cell's remaining events in order, retrying while the receiver is down. */
export async function cellEventsWorkflow({ events }: CellEventsInput): Promise<void> {
  const { deliverCellEvents } = proxyActivities<Pick<EventActivities, 'deliverCellEvents'>>({
    startToCloseTimeout: '2m',
    heartbeatTimeout: '30s',
    scheduleToCloseTimeout: EVENTS_GIVE_UP_AFTER,
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
    summary: `deliver ${events.length} event(s) of cell ${events[0]?.subject ?? '?'}`,
  });
  await deliverCellEvents(events);
}

/** The events of one cell workflow run; does nothing when events are off. */
export class CellEvents {
  private seq = 0;
  private readonly pending: CellEvent[] = [];
  /** Set once a try left events behind: later ones wait behind them, in order. */
  private behind = false;

  /** Events are on (the admitting worker has CELLOS_EVENTS_URL): off, every method does nothing. */
  readonly on: boolean;
  /** Where cellEventsWorkflow runs: the cell's shared queue, whose workers deliver events. */
  private readonly taskQueue: string;

  constructor(on: boolean, taskQueue: string) {
    this.on = on;
    this.taskQueue = taskQueue;
  }

  emit<T extends CellEventType>(
    type: T,
    where: { readonly hostId: string } | { readonly taskQueue: string },
    data: CellEventDataByType[T],
  ): void {
    if (!this.on) return;
    const head = {
      id: cellEventId(workflowInfo().runId, this.seq++),
      source: cellEventSource(where),
      // The workflow task's time: the same on replay.
      time: new Date().toISOString(),
    };
    this.pending.push(cellEvent(type, head, data) as CellEvent);
  }

  /** One quick try at what is pending, unless earlier events already wait for cellEventsWorkflow. */
  async flush(): Promise<void> {
    if (!this.on || this.pending.length === 0 || this.behind) return;
    try {
      const { done } = await quick.tryDeliverCellEvents([...this.pending]);
      this.pending.splice(0, done);
    } catch {
      // The try itself failed (its worker, its timeout): the events stay pending.
    }
    if (this.pending.length > 0) this.behind = true;
  }

  /**
   * The last try; what it leaves goes to cellEventsWorkflow, which outlives this workflow
   * (ABANDON). Waits for that workflow to have started: a child not started when its parent
   * completes is never started.
   */
  async close(): Promise<void> {
    await this.flush();
    if (this.pending.length === 0) return;
    const { runId } = workflowInfo();
    await startChild(cellEventsWorkflow, {
      args: [{ events: this.pending.splice(0) }],
      workflowId: `cell-events-${runId}`,
      taskQueue: this.taskQueue,
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: 'deliver the events its cell could not deliver at once',
    });
  }
}
