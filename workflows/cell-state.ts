// What a cell workflow knows about its cell, kept in one place: its phase (with the time spent in
// each), where it runs, how it ended. Every change of phase is published to the search attributes
// and the UI's current details; the status query and the result are views of it.
import { setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { describeOutcome, exitCodeOf, type CellResultOutcome } from '../src/cell/outcome.ts';
import { EMPTY_OUTPUT } from '../src/cell/output.ts';
import type { CellPhase, CellResult, CellStatus, PhaseDurations, SandboxExit } from '../src/contract/index.ts';
import { searchAttributeUpdates } from '../src/contract/search-attributes.ts';

/** The key under which the time spent in a phase is reported. */
const DURATION_KEY: Readonly<Partial<Record<CellPhase, keyof PhaseDurations>>> = {
  placing: 'placing',
  queued: 'queued',
  running: 'running',
  killing: 'killing',
  'cleaning-up': 'cleanup',
};

export class CellState {
  cellId = '';
  hostId: string | undefined;
  sandboxId: string | undefined;
  /** What CellCorrelationId holds once admitted: the correlation id or its blind index. */
  correlationIndex: string | undefined;
  outcome: CellResultOutcome | undefined;
  killRequest: string | undefined;
  /** The run activity's report, once the sandbox has ended. */
  exit: SandboxExit | undefined;
  cleanupError: string | undefined;
  /** The failure type the workflow fails with, once it does (the failed event's reason). */
  failureType: string | undefined;
  private current: CellPhase = 'placing';
  private readonly phases: PhaseDurations = {};
  private readonly startedAtMs = Date.now();
  private phaseStartMs = this.startedAtMs;

  private readonly opts: { readonly scheduleId: string | undefined };
  /** Whether the namespace has the cell search attributes: only then are they upserted. */
  indexed: boolean;

  constructor(opts: { readonly indexed: boolean; readonly scheduleId: string | undefined }) {
    this.indexed = opts.indexed;
    this.opts = opts;
  }

  get phase(): CellPhase {
    return this.current;
  }

  /** Leaves the current phase (counting the time spent in it) for `next`, and says so. */
  enter(next: CellPhase): void {
    const key = DURATION_KEY[this.current];
    if (key) this.phases[key] = (this.phases[key] ?? 0) + (Date.now() - this.phaseStartMs);
    this.phaseStartMs = Date.now();
    this.current = next;
    this.publish();
  }

  /** Ends the cell with `outcome` (a later outcome never replaces the first). */
  end(outcome: CellResultOutcome): void {
    this.outcome ??= outcome;
  }

  /** The search attributes (when the namespace has them) and the current details in the UI. */
  publish(): void {
    if (this.indexed) {
      upsertSearchAttributes(
        searchAttributeUpdates({
          cellId: this.cellId,
          phase: this.current,
          hostId: this.hostId,
          outcome: this.outcome,
          scheduleId: this.opts.scheduleId,
          correlationId: this.correlationIndex,
        }),
      );
    }
    setCurrentDetails(this.details());
  }

  toStatus(): CellStatus {
    return {
      cellId: this.cellId,
      phase: this.current,
      hostId: this.hostId,
      sandboxId: this.sandboxId,
      // Until the run ends, the sandbox's start time is in the run activity's heartbeat (CellClient.status).
      sandboxStartedAt: iso(this.exit?.startedAtMs),
      outcome: this.outcome,
      killRequested: this.killRequest,
    };
  }

  toResult(): CellResult {
    const info = workflowInfo();
    const outcome = this.outcome ?? { kind: 'failed', error: 'no outcome recorded' };
    const exit = this.exit;
    const phases = { ...this.phases };
    // Starting: from the end of placing and queueing to the sandbox's own start (host clock), inside `running`.
    if (exit && phases.placing !== undefined) {
      const placed = this.startedAtMs + phases.placing + (phases.queued ?? 0);
      phases.starting = Math.max(0, exit.startedAtMs - placed);
    }
    return {
      cellId: this.cellId,
      workflowId: info.workflowId,
      runId: info.runId,
      hostId: this.hostId,
      sandboxId: this.sandboxId,
      outcome,
      exitCode: exitCodeOf(outcome),
      stdout: exit?.stdout ?? EMPTY_OUTPUT,
      stderr: exit?.stderr ?? EMPTY_OUTPUT,
      startedAt: iso(this.startedAtMs)!,
      endedAt: iso(Date.now())!,
      sandboxStartedAt: iso(exit?.startedAtMs),
      sandboxEndedAt: iso(exit?.endedAtMs),
      warmSandbox: exit?.warmSandbox,
      phases,
      cleanupError: this.cleanupError ?? (exit && !exit.removed ? exit.removeError : undefined),
      scheduleId: this.opts.scheduleId,
      artifacts: exit?.artifacts ?? [],
      refusedArtifacts: exit?.refusedArtifacts ?? [],
    };
  }

  private details(): string {
    const lines = [`**cell** ${this.cellId || '(validating)'}`, `**phase** ${this.current}`];
    if (this.hostId) lines.push(`**host** ${this.hostId}`);
    if (this.sandboxId) lines.push(`**sandbox** ${this.sandboxId}`);
    if (this.killRequest) lines.push(`**kill requested** ${this.killRequest}`);
    if (this.outcome) lines.push(`**outcome** ${describeOutcome(this.outcome)}`);
    return lines.join('\n');
  }
}

/** A bad time from a host must not throw a plain error in workflow code (that hangs the workflow). */
function iso(ms: number | undefined): string | undefined {
  return ms !== undefined && Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}
