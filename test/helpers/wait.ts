// Waiting in tests: one polling loop, with a deadline and a message that says what never happened.

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface UntilOptions {
  /** How long to keep trying (default 20 s). */
  readonly ms?: number;
  /** Pause between tries (default 50 ms). */
  readonly everyMs?: number;
}

/**
 * Reads `read()` until `ok` holds for its value and returns that value. Past the deadline, throws
 * "<what> did not happen within <ms> ms (last: <value as JSON>)".
 */
export async function until<T>(
  what: string,
  read: () => T | Promise<T>,
  ok: (value: T) => boolean,
  opts: UntilOptions = {},
): Promise<T> {
  const ms = opts.ms ?? 20_000;
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(`${what} did not happen within ${ms} ms (last: ${JSON.stringify(value)})`);
    }
    await sleep(opts.everyMs ?? 50);
  }
}

/** A promise and the function that resolves it, for a test that lets something go on at a time of its choosing. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
