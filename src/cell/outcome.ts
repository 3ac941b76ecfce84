// How a cell ended, decoded from what the supervisor recorded. Pure.

export type KillReason = 'deadline' | 'request';

export type CellOutcome =
  | { readonly kind: 'exited'; readonly code: number }
  | { readonly kind: 'signaled'; readonly signal: string; readonly signalNumber: number }
  | { readonly kind: 'oom'; readonly memoryMaxBytes?: number | undefined }
  /** Killed because spec.lifetime.ttlSeconds passed; `signal` is the one that ended it. */
  | { readonly kind: 'deadline'; readonly signal: 'SIGTERM' | 'SIGKILL'; readonly exitCode?: number | undefined }
  /** Killed on request (a kill signal/update, a cancelled workflow) with the reason given. */
  | { readonly kind: 'killed'; readonly reason: string; readonly signal: 'SIGTERM' | 'SIGKILL' }
  /** runsc itself failed (it exits 128, as a workload may: told apart by its wait status log). */
  | { readonly kind: 'failed'; readonly error: string }
  /** The supervisor vanished without a record (e.g. the host rebooted). */
  | { readonly kind: 'lost'; readonly reason: string };

/** What the supervisor script writes to result.json. */
export interface SupervisorRecord {
  readonly runscExitCode: number;
  /** Raw wait(2) status of the workload from runsc's log, or null when runsc did not report one. */
  readonly waitStatus: number | null;
  readonly startedAtMs: number;
  readonly endedAtMs: number;
  /** The per-cell memory cgroup's failure/oom_kill counter, or null when there was no limit. */
  readonly oomCount: number | null;
  readonly stdoutDropped: number;
  readonly stderrDropped: number;
}

export interface KillRecord {
  readonly reason: KillReason;
  readonly message: string;
  /** Signals sent, in order. */
  readonly signals: readonly ('SIGTERM' | 'SIGKILL')[];
}

const SIGNAL_NAMES: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  4: 'SIGILL',
  5: 'SIGTRAP',
  6: 'SIGABRT',
  7: 'SIGBUS',
  8: 'SIGFPE',
  9: 'SIGKILL',
  10: 'SIGUSR1',
  11: 'SIGSEGV',
  12: 'SIGUSR2',
  13: 'SIGPIPE',
  14: 'SIGALRM',
  15: 'SIGTERM',
  16: 'SIGSTKFLT',
  17: 'SIGCHLD',
  18: 'SIGCONT',
  19: 'SIGSTOP',
  20: 'SIGTSTP',
  21: 'SIGTTIN',
  22: 'SIGTTOU',
  23: 'SIGURG',
  24: 'SIGXCPU',
  25: 'SIGXFSZ',
  26: 'SIGVTALRM',
  27: 'SIGPROF',
  28: 'SIGWINCH',
  29: 'SIGIO',
  30: 'SIGPWR',
  31: 'SIGSYS',
};

export function signalName(n: number): string {
  return SIGNAL_NAMES[n] ?? `SIG${n}`;
}

/** Decodes a wait(2) status: exited with a code, or killed by a signal. */
export function decodeWaitStatus(
  status: number,
): { kind: 'exited'; code: number } | { kind: 'signaled'; signalNumber: number } {
  const sig = status & 0x7f;
  if (sig === 0) return { kind: 'exited', code: (status >> 8) & 0xff };
  return { kind: 'signaled', signalNumber: sig };
}

/**
 * The outcome, in order of precedence: runsc failure, OOM, a kill we sent (deadline or request),
 * then the workload's own exit or signal.
 */
export function outcomeOf(
  record: SupervisorRecord,
  kill: KillRecord | undefined,
  details: { runscError?: string; memoryMaxBytes?: number | undefined; warm?: boolean } = {},
): CellOutcome {
  const status = record.waitStatus;
  const decoded = status === null ? undefined : decodeWaitStatus(status);
  // Killed by the memory cgroup: the workload (signal 9), or the whole sandbox, which runsc
  // reports as exit 137.
  const diedOfSigkill =
    (decoded?.kind === 'signaled' && decoded.signalNumber === 9) ||
    (decoded?.kind === 'exited' && decoded.code === 137) ||
    (status === null && record.runscExitCode === 137) ||
    // In a warm sandbox, `runsc exec` loses its sandbox when the sandbox is killed and exits 128
    // with no status (a workload's own exit 128 has one).
    (status === null && details.warm === true && record.runscExitCode === 128);
  // Every cell has a memory cgroup now, and on cgroup v1 its failure counter also counts limits
  // that were touched without a kill: a SIGKILL we sent ourselves (deadline, request) wins.
  const weSentSigkill = kill?.signals.includes('SIGKILL') ?? false;
  if (record.oomCount !== null && record.oomCount > 0 && diedOfSigkill && !weSentSigkill) {
    return { kind: 'oom', memoryMaxBytes: details.memoryMaxBytes };
  }
  if (decoded === undefined) {
    // Killed before it started (-1), or runsc itself was killed by our signal.
    // (In a warm sandbox, a SIGKILL that came before the cell's process started ends runsc exec with 128.)
    if (kill && ([-1, 137, 143].includes(record.runscExitCode) || (details.warm && record.runscExitCode === 128))) {
      return killOutcome(kill, undefined);
    }
    return {
      kind: 'failed',
      error: details.runscError ?? `runsc exited ${record.runscExitCode} without reporting the workload's status`,
    };
  }
  if (kill) return killOutcome(kill, decoded.kind === 'exited' ? decoded.code : undefined);
  if (decoded.kind === 'exited') return { kind: 'exited', code: decoded.code };
  return { kind: 'signaled', signal: signalName(decoded.signalNumber), signalNumber: decoded.signalNumber };
}

function killOutcome(kill: KillRecord, exitCode: number | undefined): CellOutcome {
  const signal = kill.signals.at(-1) ?? 'SIGTERM';
  return kill.reason === 'deadline'
    ? { kind: 'deadline', signal, ...(exitCode !== undefined ? { exitCode } : {}) }
    : { kind: 'killed', reason: kill.message, signal };
}

/** What a cell workflow ends with: the sandbox outcome, or why there was no sandbox outcome. */
export type CellResultOutcome =
  | CellOutcome
  | { readonly kind: 'cancelled'; readonly reason: string }
  | { readonly kind: 'host-lost'; readonly reason: string };

/** Every `outcome.kind` a cell can end with (the values of the CellOutcome search attribute). */
export const CELL_OUTCOME_KINDS = [
  'exited',
  'signaled',
  'oom',
  'deadline',
  'killed',
  'failed',
  'lost',
  'cancelled',
  'host-lost',
] as const satisfies readonly CellResultOutcome['kind'][];

/** The workload's own exit code: when it exited by itself, or after a deadline signal it trapped. */
export function exitCodeOf(outcome: CellResultOutcome): number | undefined {
  return outcome.kind === 'exited' ? outcome.code : outcome.kind === 'deadline' ? outcome.exitCode : undefined;
}

/** One line for people: `exited 3`, `killed at its deadline by SIGTERM`, `host lost: ...`. */
export function describeOutcome(outcome: CellResultOutcome): string {
  switch (outcome.kind) {
    case 'cancelled':
      return `cancelled: ${outcome.reason}`;
    case 'host-lost':
      return `host lost: ${outcome.reason}`;
    case 'exited':
      return `exited ${outcome.code}`;
    case 'signaled':
      return `killed by ${outcome.signal}`;
    case 'oom':
      return `killed: out of memory${outcome.memoryMaxBytes ? ` (limit ${outcome.memoryMaxBytes} bytes)` : ''}`;
    case 'deadline':
      return `killed at its deadline by ${outcome.signal}`;
    case 'killed':
      return `killed by ${outcome.signal} on request: ${outcome.reason}`;
    case 'failed':
      return `failed: ${outcome.error}`;
    case 'lost':
      return `lost: ${outcome.reason}`;
  }
}
