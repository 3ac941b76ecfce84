#!/bin/sh
# The per-cell supervisor: owns the `runsc run` process, survives the death of the process that
# launched it, caps the workload's output into files and records the outcome in result.json. sh
# rather than a Node child keeps the launch ~1 ms instead of ~120 ms of Node start-up per cell.
#
# spawner.sh starts it as `sh -c "<this file's text>" cellos-supervisor:<sandbox id> <cell dir>`:
# the marker ($0) in its argument vector is how the host and its reconciler find it in /proc.
# sh -c holds the whole program in memory, so a checkout changed under a running cell cannot
# change its supervisor.
#
# It records runsc's exit code and the OOM counter; the reader (cell-files.ts) takes the exact wait
# status from the sandbox's log line "Exiting with status: <wait status>" (runsc's exit code maps
# SIGKILL and `exit 137` alike, and its own failures to 128), trusting only runsc's own last line
# and only when it agrees with that exit code (trustedWaitStatus: a cell can forge such a line),
# the times from the mtimes of `started` and `ended`, and the dropped byte counts from the .dropped
# files.
#
# Three modes (launch.env's mode): "run" boots a sandbox for the cell with `runsc run`; "exec" runs
# the cell in a warm sandbox ($container) that the host booted earlier, with `runsc exec` of the
# process.json that prepare wrote, after that sandbox's init set the cell's hostname; "boot" boots a
# warm sandbox (`runsc create` + `runsc start` of its idle init) and records how that went in
# booted, then leaves it running.
#
# In mode exec the supervisor is started when the cell is prepared (at its claim) and gets ready,
# hostname set and output readers waiting, then waits at a gate: the file gate saying "go" (the
# host's start) runs the cell's process, "stop" (a kill or a removal first) ends it without running
# anything; SIGUSR1 wakes a supervisor already waiting to read it, SIGUSR2 stops it.
#
# shellcheck disable=SC2154 # bundle, id, max_out, max_err, oom_probe, mode, container, container_dir, hostname: launch.env.
set -u
dir=$1
# launch.env sets mode, bundle, id, container, max_out, max_err, oom_probe and the runsc command line ("$@").
# shellcheck source=/dev/null # written per cell by the host's prepare (launch-env.ts)
. "$dir/launch.env"
# Builtins only, but for mkfifo, stdbuf, head, wc and runsc: every exec here costs ~1-2 ms per cell.
go=
stop=
# Before the pid file: the host signals only a supervisor whose pid it has read.
# SIGUSR1 only wakes the wait at the gate, whose file says what to do: a kill's stop may be there
# before a start's go, and the first word put there stays (launch.ts).
trap ':' USR1
trap 'go=1 stop=1' USR2
if [ "$mode" = boot ]; then
  echo $$ > "$dir/supervisor.pid"
  # The init's stdin is a fifo the cell's supervisor writes the hostname into, its stdout the file
  # where it says it set it (see warm-shape.ts); opened read-write, the fifo's open never blocks.
  mkfifo -m 600 "$dir/name.in" &&
    exec 3<> "$dir/name.in" &&
    "$@" "--debug-log=$dir/runsc.%COMMAND%.log" create --bundle "$bundle" "$id" <&3 > "$dir/named" 2> "$dir/boot.err" &&
    "$@" "--debug-log=$dir/runsc.%COMMAND%.log" start "$id" < /dev/null > /dev/null 2>> "$dir/boot.err"
  echo $? > "$dir/booted"
  exit 0
fi
# The fifos live in pipes/, outside the folder a waiter watches (Deno's watcher opens what changes).
# One supervisor per cell: the first to create pipes/owner (O_EXCL under set -C; true, not the
# special builtin :, whose failed redirection would end the shell) has the cell, and a second one
# started for it (a launch retried while the first was slow to start) exits here. mkfifo of both
# fifos was no such claim: two racing supervisors could each make one, and both exit.
set -C
{ true > "$dir/pipes/owner"; } 2> /dev/null || exit 97
set +C
mkfifo -m 600 "$dir/pipes/out" "$dir/pipes/err" || exit 97
# The pid once the cell is ours: a second supervisor never takes the pid file.
echo $$ > "$dir/supervisor.pid"
# The write ends first, opened read-write: such an open never blocks, so no signal (a start or kill
# that a retry repeats) can interrupt it. A write-only open waits for its reader, and one interrupted
# there left the workload unrun and its readers waiting for a writer forever. Open before the readers
# start: a reader's own open of its fifo then finds a writer and never blocks. Opened after them, a
# reader scheduled late (a busy host) opened its fifo after these were closed again, past a quick
# cell, and waited for a writer forever, and so did the supervisor for it (seen in a bench run).
exec 4<> "$dir/pipes/out" 5<> "$dir/pipes/err"
# head -c reads no byte past the cap (wc counts the rest exactly), and unbuffered (stdbuf -o0) it
# writes each read at once, so logs -f sees lines as they come. Not dd: with iflag=count_bytes it
# counts a short read (one line from a pipe) as a whole block and stopped after cap/64KiB writes.
# A reader keeps no write end (4, 5): it sees the end once the supervisor's and the workload's close.
{ stdbuf -o0 head -c "$max_out" > "$dir/stdout"; wc -c > "$dir/stdout.dropped"; } < "$dir/pipes/out" 4>&- 5>&- &
readers=$!
{ stdbuf -o0 head -c "$max_err" > "$dir/stderr"; wc -c > "$dir/stderr.dropped"; } < "$dir/pipes/err" 4>&- 5>&- &
readers="$readers $!"
# --debug-log without --debug: info lines only (the wait status, "Process should have started"),
# not the spec with its environment, and a fifth of the writing.
read_gate() {
  if [ -z "$go" ] && [ -r "$dir/gate" ]; then
    read -r word < "$dir/gate"
    go=1
    [ "$word" = go ] || stop=1
  fi
}
if [ "$mode" = exec ]; then
  # The hostname first, set by the sandbox's init (root, CAP_SYS_ADMIN) from one line on its stdin:
  # ~5 ms, where a `runsc exec` of hostname took ~30. Opened read-write, the fifo never blocks this
  # supervisor, even when the init is gone.
  if [ -p "$container_dir/name.in" ]; then
    exec 3<> "$container_dir/name.in"
    printf '%s\n' "$hostname" >&3
    exec 3>&-
  fi
  named=1
  tries=0
  # A kill or removal at the gate does not wait for it; an init that never answers is given ~10 s.
  while [ -z "$stop" ] && [ "$tries" -lt 2000 ]; do
    answer=
    [ -r "$container_dir/named" ] && read -r answer < "$container_dir/named"
    if [ -n "$answer" ]; then
      [ "$answer" = "named $hostname" ] && named=0
      break
    fi
    sleep 0.005
    tries=$((tries + 1))
  done
  [ "$named" -eq 0 ] || [ -n "$stop" ] ||
    echo "the warm sandbox's init did not set the hostname: ${answer:-no answer in 10 s}" > "$dir/hostname.err"
  # The gate: the file "gate" (go or stop, written before the signal is sent) or a signal. A signal
  # makes wait return at once; the sleep only bounds one that slips in between the test and the wait.
  # A cell folder removed under the waiting supervisor (by hand, or a host's state removed without
  # removing its cells) stops it: nothing would ever open its gate.
  read_gate
  while [ -z "$go" ]; do
    sleep 1 &
    waiter=$!
    [ -n "$go" ] || [ -r "$dir/gate" ] || wait "$waiter"
    kill "$waiter" 2> /dev/null
    read_gate
    [ -d "$dir" ] || { go=1 stop=1; }
  done
  : > "$dir/started"
  if [ -n "$stop" ]; then
    # Killed or removed before it ran: nothing ran (see writeNeverStarted).
    code=-1
  elif [ "$named" -eq 0 ]; then
    "$@" "--debug-log=$dir/runsc.%COMMAND%.log" exec "--internal-pid-file=$dir/exec.pid" --process "$dir/process.json" "$container" >&4 2>&5 4>&- 5>&- < /dev/null
    code=$?
  else
    code=128
  fi
  exec 4>&- 5>&-
  : > "$dir/ended"
  # What the cell left running would hold its output pipes open: if the readers are not done at
  # once, end the whole sandbox (its deletion comes later, off the cell's path).
  ( sleep 0.05; "$@" kill --all "$container" KILL < /dev/null > /dev/null 2>&1 ) &
  ender=$!
else
  : > "$dir/started"
  "$@" "--debug-log=$dir/runsc.%COMMAND%.log" run --bundle "$bundle" "$id" >&4 2>&5 4>&- 5>&- < /dev/null
  code=$?
  exec 4>&- 5>&-
  : > "$dir/ended"
fi
# A trapped signal (a start or kill repeated by a retry) makes wait return early: wait again.
for reader in $readers; do
  while kill -0 "$reader" 2> /dev/null; do wait "$reader"; done
done
[ -z "${ender:-}" ] || kill "$ender" 2> /dev/null
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
printf '{"runscExitCode":%s,"oomCount":%s}\n' "$code" "$oom" > "$dir/result.json"
