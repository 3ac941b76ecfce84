export type { CellExit } from '../src/host/cell-host.ts';

export interface SandboxStarted {
  readonly sandboxId: string;
  readonly hostId: string;
  readonly supervisorPid: number;
  /** When the supervisor was started (host clock, ms since the epoch). */
  readonly startedAtMs: number;
}
