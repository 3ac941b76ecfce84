// Exit codes of `cellos`, and the error a command handler throws to end with one. Only the entry point
// (main.ts) calls process.exit.
//
//   code  meaning
//   0     success (for `run`/`exec`: the cell exited 0)
//   1     usage: a bad command line, or a bad setting in the environment (named in the message)
//   2     Temporal/API or infrastructure failure: no server, a failed workflow, runsc itself failed
//   3     validation: the document is invalid, or the host refused it (mount, secret, rootfs, network);
//         every problem is listed
//
// `cellos run` and `cellos exec` end with the cell's own code (0-255) when it exited by itself, and
// otherwise with a code for how it ended. These sit outside the codes a shell or timeout(1) uses for
// something else, so a script can tell them apart:
//
//   124        the deadline (spec.lifetime.ttlSeconds) passed and the cell was killed, as timeout(1)
//   125        killed for running out of memory (its cgroup's OOM killer)
//   130        killed on request (`cellos kill`, Ctrl-C) or the workflow was cancelled, as a shell's 128+SIGINT
//   69         the cell was lost: its supervisor vanished or its host never picked it up (EX_UNAVAILABLE)
//   128+n      the cell died of signal n that nobody sent on purpose (e.g. 139 for SIGSEGV)
//   2          runsc or the host failed to run it (outcome "failed")
//
// A cell may of course exit 1, 2, 3, 69, 124... by itself: `--json` gives the exact outcome.
import type { CellResultOutcome } from '../contract/index.ts';

export const EXIT = {
  ok: 0,
  usage: 1,
  failure: 2,
  validation: 3,
  lost: 69,
  deadline: 124,
  oom: 125,
  killed: 130,
  signaledBase: 128,
} as const;

/** A command ends with this exit code; `message` (if any) is printed to stderr as it is, without a stack. */
export class CliExit extends Error {
  override readonly name = 'CliExit';
  readonly exitCode: number;
  /** Extra lines after the message (one per problem). */
  readonly details: readonly string[];

  constructor(exitCode: number, message: string, options: { details?: readonly string[]; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.exitCode = exitCode;
    this.details = options.details ?? [];
  }
}

export const usageError = (message: string) => new CliExit(EXIT.usage, message);
export const failure = (message: string, cause?: unknown) => new CliExit(EXIT.failure, message, { cause });
export const validationError = (message: string, details: readonly string[] = []) =>
  new CliExit(EXIT.validation, message, { details });

/** The exit code of `run`/`exec` for how a cell ended. */
export function exitCodeForOutcome(outcome: CellResultOutcome): number {
  switch (outcome.kind) {
    case 'exited':
      return outcome.code;
    case 'signaled':
      return EXIT.signaledBase + outcome.signalNumber;
    case 'deadline':
      return EXIT.deadline;
    case 'oom':
      return EXIT.oom;
    case 'killed':
    case 'cancelled':
      return EXIT.killed;
    case 'lost':
    case 'host-lost':
      return EXIT.lost;
    case 'failed':
      return EXIT.failure;
  }
}
