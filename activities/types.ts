import type { CellExit } from '../src/host/cell-host.ts';

export type { CellExit };

/** A cell's exit as the wait activity reports it, with whether it already removed the sandbox. */
export interface SandboxExit extends CellExit {
  readonly removed: boolean;
  readonly removeError?: string | undefined;
}

export interface SandboxStarted {
  readonly sandboxId: string;
  readonly hostId: string;
  readonly supervisorPid: number;
  /** When the supervisor was started (host clock, ms since the epoch). */
  readonly startedAtMs: number;
}
