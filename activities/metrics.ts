// What the host activities count. The worker implements it on the Temporal Runtime's meter
// (src/worker/metrics.ts); without one every call is a no-op.

export type MeasuredPhase = 'prepare' | 'run' | 'remove';

export interface CellMetrics {
  /** A sandbox was launched by this worker. */
  cellStarted(): void;
  /** This worker saw a sandbox end with this outcome kind (or `cancelled`: its workflow was cancelled). */
  cellFinished(outcome: string): void;
  /** One more running sandbox that this worker waits on; call the returned function once the wait ends. */
  trackRunning(): () => void;
  phaseDuration(phase: MeasuredPhase, ms: number): void;
  reconcilerAction(action: string, result: 'removed' | 'failed'): void;
}

export const noopCellMetrics: CellMetrics = {
  cellStarted: () => undefined,
  cellFinished: () => undefined,
  trackRunning: () => () => undefined,
  phaseDuration: () => undefined,
  reconcilerAction: () => undefined,
};
