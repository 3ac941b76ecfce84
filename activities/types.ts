import type { OutputTail } from '../src/cell/output.ts';
import type { CellExit } from '../src/host/cell-host.ts';

export type { CellExit };

/** A cell's exit as the wait activity reports it, with whether it already removed the sandbox. */
export interface SandboxExit extends CellExit {
  readonly removed: boolean;
  readonly removeError?: string | undefined;
}

/** Heartbeat details of runSandbox: visible in the UI and to clients as soon as the sandbox starts. */
export interface SandboxProgress {
  readonly sandboxId: string;
  readonly hostId: string;
  /** When the supervisor was started (host clock, ms since the epoch). */
  readonly startedAtMs: number;
  /** The output so far (tails), for `cellos logs -f` from any machine that reaches Temporal. */
  readonly stdout?: OutputTail | undefined;
  readonly stderr?: OutputTail | undefined;
}
