#!/bin/sh
# Starts the host's cell supervisors: one small long-lived sh per host process instead of a Node
# spawn per cell (forking the worker, hundreds of MiB and many threads, cost ~15 ms of event-loop
# time per cell; forking this sh costs well under one).
#
# spawner.ts starts it as `sh -c "<this file's text>" cellos-spawner "<supervisor.sh's text>"` and
# writes one "<sandbox id> <cell dir>" line per cell to its stdin. `setsid -f` makes each supervisor
# lead its own session and process group: it is no child of anything that can die with the worker.
while IFS=' ' read -r id dir; do
  setsid -f /bin/sh -c "$1" "cellos-supervisor:$id" "$dir" </dev/null >/dev/null 2>&1
done
