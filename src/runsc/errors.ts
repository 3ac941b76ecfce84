/** A runsc command that failed: carries what a user needs to act on it. */
export class RunscError extends Error {
  override readonly name = 'RunscError';
  readonly command: string;
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly timedOut: boolean;
  readonly cancelled: boolean;
  readonly stderrTail: string;
  readonly durationMs: number;

  constructor(
    reason: string,
    details: {
      command: string;
      exitCode?: number | undefined;
      signal?: string | undefined;
      timedOut?: boolean;
      cancelled?: boolean;
      stderrTail?: string;
      durationMs: number;
      cause?: unknown;
    },
  ) {
    super(`${reason}: ${details.command}${details.stderrTail ? `\n\n${details.stderrTail}` : ''}`, {
      cause: details.cause,
    });
    this.command = details.command;
    this.exitCode = details.exitCode;
    this.signal = details.signal;
    this.timedOut = details.timedOut ?? false;
    this.cancelled = details.cancelled ?? false;
    this.stderrTail = details.stderrTail ?? '';
    this.durationMs = details.durationMs;
  }
}

/** Thrown by createCellHost on a system that is not Linux: the edge imports everywhere, sandboxes run only on Linux. */
export class UnsupportedPlatformError extends Error {
  override readonly name = 'UnsupportedPlatformError';
  readonly failureType = 'CellRejectedByHost';
  constructor(platform: string) {
    super(
      `runsc sandboxes need Linux; this system is ${platform}. The document schema and bundle generator work here, running cells does not.`,
    );
  }
}

/** Keeps the last lines of a command's stderr, enough to act on, never megabytes. */
export function tail(text: string, maxChars = 2000): string {
  const trimmed = text.trimEnd();
  return trimmed.length <= maxChars ? trimmed : `…${trimmed.slice(-maxChars)}`;
}
