// The per-cell supervisor: a POSIX sh script, spawned in its own session, that owns the
// `runsc run` process. It survives the death of the process that launched it, caps the
// workload's output into files, and records the exact outcome in result.json. sh rather
// than a Node child keeps the launch ~1 ms instead of ~120 ms of Node start-up per cell.
import { spawn } from 'node:child_process';

/**
 * Arguments: $1 cell dir, $2 bundle dir, $3 sandbox id, $4 stdout cap, $5 stderr cap,
 * $6 OOM probe file ('' for none), then the runsc binary and its global flags.
 *
 * It records runsc's exit code and the OOM counter; the reader takes the exact wait status from
 * runsc's own log line "Exiting with status: <wait status>" (runsc's exit code maps SIGKILL and
 * `exit 137` alike, and its own failures to 128), the times from the mtimes of `started` and
 * `ended`, and the dropped byte counts from the .dropped files.
 */
export const SUPERVISOR_SCRIPT = `set -u
dir=$1 bundle=$2 id=$3 max_out=$4 max_err=$5 oom_probe=$6
shift 6
# Builtins only, but for mkfifo, dd, wc and runsc: every exec here costs ~1-2 ms per cell.
echo $$ > "$dir/supervisor.pid"
mkfifo -m 600 "$dir/out.fifo" "$dir/err.fifo" || exit 97
# dd, not head: head buffers its output, and logs -f must see lines as they are written.
{ dd bs=65536 iflag=count_bytes count="$max_out" status=none > "$dir/stdout"; wc -c > "$dir/stdout.dropped"; } < "$dir/out.fifo" &
{ dd bs=65536 iflag=count_bytes count="$max_err" status=none > "$dir/stderr"; wc -c > "$dir/stderr.dropped"; } < "$dir/err.fifo" &
: > "$dir/started"
"$@" --debug "--debug-log=$dir/runsc.%COMMAND%.log" run --bundle "$bundle" "$id" > "$dir/out.fifo" 2> "$dir/err.fifo" < /dev/null
code=$?
: > "$dir/ended"
wait
oom=null
if [ -n "$oom_probe" ] && [ -r "$oom_probe" ]; then
  oom=0
  while read -r key value; do
    case "$key" in
      oom_kill) oom=$value ;;
      [0-9]*) oom=$key ;;
    esac
  done < "$oom_probe"
fi
printf '{"runscExitCode":%s,"oomCount":%s}\\n' "$code" "$oom" > "$dir/result.json"
`;

export interface SupervisorArgs {
  readonly cellDir: string;
  readonly bundleDir: string;
  readonly sandboxId: string;
  readonly maxStdoutBytes: number;
  readonly maxStderrBytes: number;
  readonly oomProbe: string | undefined;
  readonly runscPath: string;
  readonly globalFlags: readonly string[];
}

/** Argument vector for /bin/sh; the cell dir appears in it, which lets a reconciler find it. */
export function supervisorArgv(a: SupervisorArgs): string[] {
  return [
    '-c',
    SUPERVISOR_SCRIPT,
    `cellos-supervisor:${a.sandboxId}`,
    a.cellDir,
    a.bundleDir,
    a.sandboxId,
    String(a.maxStdoutBytes),
    String(a.maxStderrBytes),
    a.oomProbe ?? '',
    a.runscPath,
    ...a.globalFlags,
  ];
}

export interface SpawnedSupervisor {
  readonly pid: number;
  /** Settles when the supervisor exits; only known to the process that spawned it. */
  readonly exited: Promise<void>;
}

export function spawnSupervisor(a: SupervisorArgs): SpawnedSupervisor {
  // detached: its own session and process group, so neither a signal to the worker's group
  // nor the worker's death reaches runsc (killing runsc's group would kill the sandbox).
  const child = spawn('/bin/sh', supervisorArgv(a), { detached: true, stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start the supervisor of sandbox ${a.sandboxId}`);
  return { pid: child.pid, exited };
}
