// Typed runsc commands for the lifecycle. `run` itself is started by the cell supervisor
// (src/host/supervisor.sh), not here: it must outlive the process that launched it.
import { execRunsc } from './exec.ts';
import { RunscError } from './errors.ts';

export type RunscPlatform = 'systrap' | 'ptrace' | 'kvm';
export type RunscNetwork = 'none' | 'sandbox' | 'host';

export interface RunscOptions {
  readonly runscPath: string;
  /** Per-worker state directory (`--root`): a worker only ever sees its own sandboxes. */
  readonly root: string;
  readonly platform: RunscPlatform;
  /** Upper bound for one control command (kill, delete, state, list). */
  readonly timeoutMs?: number;
  /** The whole environment of runsc (see childEnv); by default the process's. */
  readonly env?: Readonly<Record<string, string>>;
}

export interface ContainerState {
  readonly id: string;
  readonly status: 'created' | 'running' | 'stopped' | 'paused' | string;
  /** Host pid of runsc-sandbox; -1 once stopped. */
  readonly pid: number;
  readonly bundle: string;
  /** The bundle's annotations (io.cellos.cell-id, io.cellos.sandbox-id). */
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface RunscDriver {
  readonly options: RunscOptions;
  /** Global flags to put before a subcommand, the same for every command of one sandbox. */
  globalFlags(network: RunscNetwork): string[];
  kill(
    id: string,
    signal: 'SIGTERM' | 'SIGKILL' | string,
    opts?: { all?: boolean; pid?: number; network?: RunscNetwork; signal?: AbortSignal },
  ): Promise<'sent' | 'not-running'>;
  /** Idempotent: deleting a container that does not exist succeeds. */
  delete(id: string, opts?: { network?: RunscNetwork; signal?: AbortSignal }): Promise<void>;
  state(id: string, opts?: { network?: RunscNetwork }): Promise<ContainerState | undefined>;
  list(): Promise<ContainerState[]>;
}

export function createRunscDriver(options: RunscOptions): RunscDriver {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const flags = (network: RunscNetwork = 'none') => [
    `--root=${options.root}`,
    `--platform=${options.platform}`,
    `--network=${network}`,
  ];
  const call = (args: string[], signal?: AbortSignal, okExitCodes?: number[]) =>
    execRunsc(options.runscPath, { args, timeoutMs, signal, okExitCodes, env: options.env });

  return {
    options,
    globalFlags: flags,
    async kill(id, signal, opts = {}) {
      const res = await call(
        [
          ...flags(opts.network),
          'kill',
          ...(opts.all ? ['--all'] : []),
          ...(opts.pid !== undefined ? [`--pid=${opts.pid}`] : []),
          id,
          signal,
        ],
        opts.signal,
        [1, 128],
      );
      if (res.exitCode === 0) return 'sent';
      // A container that already stopped or is gone: nothing left to signal.
      if (/not running|does not exist|no such|not found|stopped|cannot signal/i.test(res.stderr)) return 'not-running';
      throw new RunscError(`runsc kill exited ${res.exitCode}`, {
        command: `runsc ${[...flags(opts.network), 'kill', id, signal].join(' ')}`,
        exitCode: res.exitCode,
        stderrTail: res.stderr.slice(-2000),
        durationMs: res.durationMs,
      });
    },
    async delete(id, opts = {}) {
      // --force: a running container is killed first; a missing one is a success (measured).
      await call([...flags(opts.network), 'delete', '--force', id], opts.signal);
    },
    async state(id, opts = {}) {
      const res = await call([...flags(opts.network), 'state', id], undefined, [1, 128]);
      if (res.exitCode !== 0) return undefined;
      return JSON.parse(res.stdout) as ContainerState;
    },
    async list() {
      const res = await call([...flags(), 'list', '--format=json']);
      const parsed = JSON.parse(res.stdout || 'null') as ContainerState[] | null;
      return parsed ?? [];
    },
  };
}
