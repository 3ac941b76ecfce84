// The supervisor's parameters: a launch.env in the cell folder that supervisor.sh sources, written
// by prepare so that a launch (the first or a retry's) only has to start the program.
import { shellQuote } from '../runsc/shell-quote.ts';

export interface SupervisorArgs {
  readonly bundleDir: string;
  readonly sandboxId: string;
  readonly maxStdoutBytes: number;
  readonly maxStderrBytes: number;
  readonly oomProbe: string | undefined;
  readonly runscPath: string;
  readonly globalFlags: readonly string[];
}

/** The supervisor's parameters as a shell file it sources: every value one sh word. */
export function launchEnv(a: SupervisorArgs): string {
  return [
    `bundle=${shellQuote(a.bundleDir)}`,
    `id=${shellQuote(a.sandboxId)}`,
    `max_out=${shellQuote(String(a.maxStdoutBytes))}`,
    `max_err=${shellQuote(String(a.maxStderrBytes))}`,
    `oom_probe=${shellQuote(a.oomProbe ?? '')}`,
    `set -- ${[a.runscPath, ...a.globalFlags].map(shellQuote).join(' ')}`,
    '',
  ].join('\n');
}
