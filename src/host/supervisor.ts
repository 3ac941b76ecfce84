// The per-cell supervisor: a POSIX sh script, spawned in its own session, that owns the
// `runsc run` process. It survives the death of the process that launched it, caps the
// workload's output into files, and records the exact outcome in result.json. sh rather
// than a Node child keeps the launch ~1 ms instead of ~120 ms of Node start-up per cell.
import { spawn } from 'node:child_process';

/**
 * Arguments: $1 cell dir, $2 bundle dir, $3 sandbox id, $4 stdout cap, $5 stderr cap,
 * $6 OOM probe file ('' for none), then the runsc binary and its global flags.
 *
 * The exact status comes from runsc's own log line "Exiting with status: <wait status>":
 * runsc's exit code maps SIGKILL and `exit 137` alike, and its own failures to 128.
 */
export const SUPERVISOR_SCRIPT = `set -u
dir=$1 bundle=$2 id=$3 max_out=$4 max_err=$5 oom_probe=$6
shift 6
now_ms() { date +%s%3N; }
num() { v=$(tr -dc 0-9 < "$1" 2>/dev/null); echo "\${v:-0}"; }
echo $$ > "$dir/supervisor.pid.tmp" && mv -f "$dir/supervisor.pid.tmp" "$dir/supervisor.pid"
rm -f "$dir/out.fifo" "$dir/err.fifo"
mkfifo -m 600 "$dir/out.fifo" "$dir/err.fifo" || exit 97
{ head -c "$max_out" > "$dir/stdout"; wc -c > "$dir/stdout.dropped"; } < "$dir/out.fifo" &
{ head -c "$max_err" > "$dir/stderr"; wc -c > "$dir/stderr.dropped"; } < "$dir/err.fifo" &
started=$(now_ms)
"$@" --debug "--debug-log=$dir/runsc.%COMMAND%.log" run --bundle "$bundle" "$id" > "$dir/out.fifo" 2> "$dir/err.fifo" < /dev/null
code=$?
ended=$(now_ms)
wait
status=$(sed -n 's/.*Exiting with status: \\([0-9][0-9]*\\).*/\\1/p' "$dir/runsc.run.log" 2>/dev/null | tail -n 1)
oom=null
if [ -n "$oom_probe" ] && [ -r "$oom_probe" ]; then
  case "$oom_probe" in
    *memory.events) oom=$(sed -n 's/^oom_kill \\([0-9][0-9]*\\)$/\\1/p' "$oom_probe") ;;
    *) oom=$(num "$oom_probe") ;;
  esac
  oom=\${oom:-0}
fi
printf '{"runscExitCode":%s,"waitStatus":%s,"startedAtMs":%s,"endedAtMs":%s,"oomCount":%s,"stdoutDropped":%s,"stderrDropped":%s}\\n' \\
  "$code" "\${status:-null}" "$started" "$ended" "$oom" "$(num "$dir/stdout.dropped")" "$(num "$dir/stderr.dropped")" > "$dir/result.json.tmp"
mv -f "$dir/result.json.tmp" "$dir/result.json"
rm -f "$dir/out.fifo" "$dir/err.fifo"
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
