// Pieces that `cellos worker` and `cellos dev` share.
import { failure } from '../exit.ts';
import type { CliIo, StopSignal } from '../io.ts';
import type { RunningWorker } from '../worker-runtime.ts';

type Env = Readonly<Record<string, string | undefined>>;

export function overrideEnv(env: Env, overrides: Record<string, string | undefined>): Env {
  const out: Record<string, string | undefined> = { ...env };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) out[k] = v;
  return out;
}

/** Resolves with the first SIGINT/SIGTERM; throws (exit 2) when the worker fails first. */
export async function waitForStop(io: CliIo, running: RunningWorker): Promise<StopSignal> {
  let stopListening: () => void = () => undefined;
  const stopped = new Promise<StopSignal>((resolve) => {
    stopListening = io.onStopSignal(resolve);
  });
  try {
    return await Promise.race([
      stopped,
      running.running.then(
        () => Promise.reject(failure('the worker stopped by itself')),
        (err: unknown) => Promise.reject(failure(`the worker failed: ${(err as Error).message}`, err)),
      ),
    ]);
  } finally {
    stopListening();
  }
}
