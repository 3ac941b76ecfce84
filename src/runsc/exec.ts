// The one place that runs runsc. Every call has a timeout, a cancel signal and a force-kill delay.
import { execa } from 'execa';
import { RunscError, tail } from './errors.ts';
import { shellQuote } from './shell-quote.ts';

export interface RunscCall {
  /** Whole argument list after the runsc binary, global flags included. */
  readonly args: readonly string[];
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  /** Exit codes that are an answer, not a failure (e.g. `state` of a missing container). */
  readonly okExitCodes?: readonly number[];
  /** runsc's whole environment (nothing inherited); by default the process's. */
  readonly env?: Readonly<Record<string, string>> | undefined;
}

export interface RunscResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
  readonly durationMs: number;
}

export async function execRunsc(runscPath: string, call: RunscCall): Promise<RunscResult> {
  const command = [runscPath, ...call.args].map(shellQuote).join(' ');
  const started = performance.now();
  const result = await execa(runscPath, [...call.args], {
    reject: false,
    timeout: call.timeoutMs,
    cancelSignal: call.signal,
    forceKillAfterDelay: 2000,
    // runsc never reads stdin; pipes for our own output are safe because these commands
    // (kill, delete, state, list) do not hand their stdio to a sandbox.
    stdin: 'ignore',
    ...(call.env ? { env: call.env, extendEnv: false } : {}),
    stripFinalNewline: true,
  });
  const durationMs = Math.round(performance.now() - started);
  const exitCode = result.exitCode ?? -1;
  if (result.failed && !(result.exitCode !== undefined && (call.okExitCodes ?? []).includes(result.exitCode))) {
    const reason = result.timedOut
      ? `runsc timed out after ${call.timeoutMs} ms`
      : result.isCanceled
        ? 'runsc was cancelled'
        : result.signal
          ? `runsc was killed by ${result.signal}`
          : result.exitCode === undefined
            ? `runsc could not be started (${result.originalMessage ?? result.shortMessage})`
            : `runsc exited ${result.exitCode}`;
    throw new RunscError(reason, {
      command,
      exitCode: result.exitCode,
      signal: result.signal,
      timedOut: result.timedOut,
      cancelled: result.isCanceled,
      stderrTail: tail(String(result.stderr ?? '')),
      durationMs,
      cause: result,
    });
  }
  return { stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? ''), exitCode, durationMs };
}
