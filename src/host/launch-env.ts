// The supervisor's parameters: a launch.env in the cell folder that supervisor.sh sources, written
// by prepare so that a launch (the first or a retry's) only has to start the program.
import { shellQuote } from '../runsc/shell-quote.ts';

export interface SupervisorArgs {
  /** run: `runsc run` of the cell's bundle; exec: the cell in warm sandbox `container`; boot: a warm sandbox. */
  readonly mode: 'run' | 'exec' | 'boot';
  readonly bundleDir: string;
  readonly sandboxId: string;
  /** The warm sandbox a cell runs in (mode exec). */
  readonly container?: string | undefined;
  /** The folder of that warm sandbox (mode exec): its init's name fifo and named file are there. */
  readonly containerDir?: string | undefined;
  /** The hostname the warm sandbox's init sets before the cell runs (mode exec). */
  readonly hostname?: string | undefined;
  readonly maxStdoutBytes: number;
  readonly maxStderrBytes: number;
  readonly oomProbe: string | undefined;
  readonly runscPath: string;
  readonly globalFlags: readonly string[];
}

/** The supervisor's parameters as a shell file it sources: every value one sh word. */
export function launchEnv(a: SupervisorArgs): string {
  return [
    `mode=${a.mode}`,
    `container=${shellQuote(a.container ?? '')}`,
    `container_dir=${shellQuote(a.containerDir ?? '')}`,
    `hostname=${shellQuote(a.hostname ?? '')}`,
    `bundle=${shellQuote(a.bundleDir)}`,
    `id=${shellQuote(a.sandboxId)}`,
    `max_out=${shellQuote(String(a.maxStdoutBytes))}`,
    `max_err=${shellQuote(String(a.maxStderrBytes))}`,
    `oom_probe=${shellQuote(a.oomProbe ?? '')}`,
    `set -- ${[a.runscPath, ...a.globalFlags].map(shellQuote).join(' ')}`,
    '',
  ].join('\n');
}
