// What one check of `cellos doctor` found: ok, a warning, a failure (with what to fix), or skipped
// because a check it depends on failed. Pure.

export const CHECK_STATUSES = ['ok', 'warn', 'fail', 'skip'] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];

export interface CheckResult {
  /** Short and stable (`runsc`, `state dir`, `host queue`, ...): what `--json` consumers match on. */
  readonly name: string;
  readonly status: CheckStatus;
  /** What was found, naming the path, address or setting. */
  readonly detail: string;
  /** For a warning or a failure: what to do about it. */
  readonly fix?: string;
}

export const ok = (name: string, detail: string): CheckResult => ({ name, status: 'ok', detail });
export const warn = (name: string, detail: string, fix: string): CheckResult => ({
  name,
  status: 'warn',
  detail,
  fix,
});
export const fail = (name: string, detail: string, fix: string): CheckResult => ({
  name,
  status: 'fail',
  detail,
  fix,
});
export const skip = (name: string, detail: string): CheckResult => ({ name, status: 'skip', detail });

/** An error's message, first line only (runsc and gRPC errors carry pages after it). */
export function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0]!.trim();
}

/** Rejects with "<what> did not answer within N s" when `promise` takes longer than `ms`. */
export async function withTimeout<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms / 1000} s`)), ms);
  });
  // A promise that loses the race may still reject later: nobody is waiting for it any more.
  promise.catch(() => undefined);
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
