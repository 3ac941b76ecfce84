// createCellMetrics on a meter: the names, kinds and labels the Prometheus endpoint shows.
import type { MetricMeter, MetricTags } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { createCellMetrics, metricNames, noopCellMetrics } from '../../src/worker/metrics.ts';

interface Recorded {
  readonly name: string;
  readonly kind: string;
  readonly value: number;
  readonly tags: MetricTags;
}

/** A meter that records every value with its tags (the meter's tags, then the call's). */
function recordingMeter(out: Recorded[], base: MetricTags = {}): MetricMeter {
  const metric = (name: string, kind: string, unit = '') => {
    const push = (value: number, extra: MetricTags = {}) =>
      out.push({ name, kind, value, tags: { ...base, ...extra } });
    return {
      name,
      unit,
      kind,
      valueType: 'int',
      add: push,
      record: push,
      set: push,
      withTags: () => metric(name, kind),
    };
  };
  return {
    createCounter: (name, unit) => metric(name, 'counter', unit) as never,
    createHistogram: (name, _type, unit) => metric(name, 'histogram', unit) as never,
    createGauge: (name, _type, unit) => metric(name, 'gauge', unit) as never,
    withTags: (tags) => recordingMeter(out, { ...base, ...tags }),
  };
}

describe('createCellMetrics', () => {
  it('records each event under its documented name with the host, outcome, phase and action labels', () => {
    const out: Recorded[] = [];
    const m = createCellMetrics(recordingMeter(out), { hostId: 'h1' });
    // Series that exist from the start.
    expect(out).toEqual(
      expect.arrayContaining([
        { name: metricNames.cellsRunning, kind: 'gauge', value: 0, tags: { host: 'h1' } },
        { name: metricNames.cellsStarted, kind: 'counter', value: 0, tags: { host: 'h1' } },
        {
          name: metricNames.reconcilerActions,
          kind: 'counter',
          value: 0,
          tags: { host: 'h1', action: 'remove-orphan', result: 'failed' },
        },
      ]),
    );
    out.length = 0;
    m.cellStarted();
    const stopA = m.trackRunning();
    const stopB = m.trackRunning();
    stopA();
    stopA(); // once only
    m.cellFinished('deadline');
    m.phaseDuration('run', 1234.6);
    m.phaseDuration('remove', -3);
    m.reconcilerAction('remove', 'removed');
    stopB();
    expect(out).toEqual([
      { name: 'cellos_cells_started', kind: 'counter', value: 1, tags: { host: 'h1' } },
      { name: 'cellos_cells_running', kind: 'gauge', value: 1, tags: { host: 'h1' } },
      { name: 'cellos_cells_running', kind: 'gauge', value: 2, tags: { host: 'h1' } },
      { name: 'cellos_cells_running', kind: 'gauge', value: 1, tags: { host: 'h1' } },
      { name: 'cellos_cells_finished', kind: 'counter', value: 1, tags: { host: 'h1', outcome: 'deadline' } },
      { name: 'cellos_phase_duration', kind: 'histogram', value: 1235, tags: { host: 'h1', phase: 'run' } },
      { name: 'cellos_phase_duration', kind: 'histogram', value: 0, tags: { host: 'h1', phase: 'remove' } },
      {
        name: 'cellos_reconciler_actions',
        kind: 'counter',
        value: 1,
        tags: { host: 'h1', action: 'remove', result: 'removed' },
      },
      { name: 'cellos_cells_running', kind: 'gauge', value: 0, tags: { host: 'h1' } },
    ]);
  });

  it('does nothing without a meter', () => {
    const m = createCellMetrics(undefined, { hostId: 'h1' });
    expect(m).toBe(noopCellMetrics);
    expect(() => m.trackRunning()()).not.toThrow();
  });
});
