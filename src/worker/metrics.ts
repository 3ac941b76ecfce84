// The worker's own metrics, recorded on the Temporal Runtime's metric meter: with
// CELLOS_METRICS_ADDRESS set they are served beside Temporal's worker metrics on the Runtime's
// Prometheus endpoint (under Node and Deno alike). Without a meter (unit tests, a Runtime without a metrics exporter)
// every call is a no-op. The names below are exactly what Prometheus shows: the exporter adds no
// `temporal_` prefix and no `_total` suffix to metrics made on the meter.
import type { MetricMeter } from '@temporalio/common';
import { noopCellMetrics, type CellMetrics } from '../../activities/metrics.ts';

export { noopCellMetrics, type CellMetrics };

export const metricNames = {
  /** counter {host}: sandboxes this worker launched (a re-attach after a restart is not counted). */
  cellsStarted: 'cellos_cells_started',
  /** counter {host, outcome}: sandbox ends this worker saw; outcome is the kind (exited, deadline, ...). */
  cellsFinished: 'cellos_cells_finished',
  /** gauge {host}: sandboxes running on this host that this worker waits on now. */
  cellsRunning: 'cellos_cells_running',
  /** histogram {host, phase} in ms: prepare (bundle + launch), run (the sandbox's own run), remove. */
  phaseDuration: 'cellos_phase_duration',
  /** counter {host, action, result}: what the reconciler removed (action remove|remove-orphan, result removed|failed). */
  reconcilerActions: 'cellos_reconciler_actions',
} as const;

/** Bucket bounds (ms) for cellos_phase_duration: a prepare takes tens of ms, a run up to hours. */
export const PHASE_DURATION_BUCKETS_MS = [
  5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 300_000, 900_000, 3_600_000, 14_400_000,
];

/** The metrics of one host's worker on `meter` (e.g. `Runtime.instance().metricMeter`); no meter: no-ops. */
export function createCellMetrics(meter: MetricMeter | undefined, opts: { hostId: string }): CellMetrics {
  if (!meter) return noopCellMetrics;
  const m = meter.withTags({ host: opts.hostId });
  const started = m.createCounter(metricNames.cellsStarted, '', 'Sandboxes launched by this worker');
  const finished = m.createCounter(metricNames.cellsFinished, '', 'Sandbox ends seen by this worker, by outcome');
  const running = m.createGauge(metricNames.cellsRunning, 'int', '', 'Running sandboxes this worker waits on');
  const phases = m.createHistogram(
    metricNames.phaseDuration,
    'int',
    'ms',
    'Duration of the prepare, run and remove phases of a sandbox, in ms',
  );
  const reconciled = m.createCounter(metricNames.reconcilerActions, '', 'Removals by the host reconciler');
  let runningNow = 0;
  // Series that exist from the start (at 0), not only after their first event: rate() and
  // increase() then see the first one too.
  running.set(0);
  started.add(0);
  for (const action of ['remove', 'remove-orphan']) {
    for (const result of ['removed', 'failed']) reconciled.add(0, { action, result });
  }
  return {
    cellStarted: () => started.add(1),
    cellFinished: (outcome) => finished.add(1, { outcome }),
    trackRunning() {
      running.set(++runningNow);
      let done = false;
      return () => {
        if (done) return;
        done = true;
        running.set(--runningNow);
      };
    },
    phaseDuration: (phase, ms) => phases.record(Math.max(0, Math.round(ms)), { phase }),
    reconcilerAction: (action, result) => reconciled.add(1, { action, result }),
  };
}
