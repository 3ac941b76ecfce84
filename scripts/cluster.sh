#!/usr/bin/env bash
# A production-shaped Temporal cluster on this machine: Debian's PostgreSQL on a port of its own, the
# Temporal server on it (one process, or one per service with --split), the `default` namespace with
# the cell search attributes, and the Temporal UI. The binaries come from scripts/setup.sh
# (.tools/cluster/bin); every process started here is recorded in a pid file and stopped by `stop`.
#
#   bash scripts/cluster.sh start [--split]   start it (or say that it runs); prints the address and UI
#   bash scripts/cluster.sh stop              stop everything `start` started
#   bash scripts/cluster.sh restart [SERVICE] stop and start the server, or one service of a --split
#                                             cluster (frontend, history, matching, worker)
#   bash scripts/cluster.sh reset             stop, then delete the cluster folder (database, logs)
#   bash scripts/cluster.sh status            what runs where; exit 0 only when everything runs
#   bash scripts/cluster.sh env               `export TEMPORAL_ADDRESS=... CELLOS_UI_URL=...` for eval
#
# Settings, read by `start` (the other commands read what start wrote to <dir>/cluster.env):
#   CELLOS_CLUSTER_DIR        folder of the database, logs, pid files and rendered configs; default
#                             .state/cluster, or /var/tmp/cellos-cluster-<hash> when user postgres
#                             cannot reach the repository (e.g. a clone under a 0700 /root)
#   CELLOS_CLUSTER_PORT       frontend gRPC port, the TEMPORAL_ADDRESS of workers (17233)
#   CELLOS_CLUSTER_UI_PORT    Temporal UI (18233)
#   CELLOS_CLUSTER_PG_PORT    PostgreSQL (15433)
#   internal ports, by default PORT+1..PORT+8: CELLOS_CLUSTER_HTTP_PORT (frontend HTTP API),
#   CELLOS_CLUSTER_{HISTORY,MATCHING,WORKER}_PORT (gRPC) and
#   CELLOS_CLUSTER_{FRONTEND,HISTORY,MATCHING,WORKER}_MEMBERSHIP_PORT
#   CELLOS_CLUSTER_LOG_LEVEL  the server's log level (warn)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/.tools/cluster/bin"
SCHEMA="$ROOT/.tools/cluster/schema/postgresql/v12"
TEMPLATES="$ROOT/scripts/cluster"
SERVICES=(frontend history matching worker)
NAMESPACE=default

START_NS=$(date +%s%N)
step() { printf 'cluster: %-10s %s\n' "$1:" "$2"; }
die() {
  printf 'cluster: %-10s %s\n' "$1:" "$2" >&2
  exit 1
}
elapsed() { printf '%d.%d s' $((($(date +%s%N) - START_NS) / 1000000000)) $(((($(date +%s%N) - START_NS) / 100000000) % 10)); }

# --- where -----------------------------------------------------------------------------------------
is_root() { [[ "$(id -u)" == 0 ]]; }
# Runs a PostgreSQL program as user postgres (initdb refuses root), or as ourselves when not root.
as_postgres() {
  if is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}

resolve_dir() {
  if [[ -n "${CELLOS_CLUSTER_DIR:-}" ]]; then
    DIR=$CELLOS_CLUSTER_DIR
  elif is_root && ! runuser -u postgres -- test -x "$ROOT" 2>/dev/null; then
    DIR=/var/tmp/cellos-cluster-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)
  else
    DIR=$ROOT/.state/cluster
  fi
  PGDATA=$DIR/postgres
  RUN=$DIR/run
  LOGS=$DIR/log
}

# The settings of a cluster: from <dir>/cluster.env once start has written it, else from the
# environment with the defaults above. (render and save_settings read them as ${!name}.)
# shellcheck disable=SC2034
load_settings() {
  if [[ -f "$DIR/cluster.env" ]]; then
    # shellcheck source=/dev/null
    source "$DIR/cluster.env"
    return
  fi
  FRONTEND_PORT=${CELLOS_CLUSTER_PORT:-17233}
  UI_PORT=${CELLOS_CLUSTER_UI_PORT:-18233}
  PG_PORT=${CELLOS_CLUSTER_PG_PORT:-15433}
  HTTP_PORT=${CELLOS_CLUSTER_HTTP_PORT:-$((FRONTEND_PORT + 1))}
  HISTORY_PORT=${CELLOS_CLUSTER_HISTORY_PORT:-$((FRONTEND_PORT + 2))}
  MATCHING_PORT=${CELLOS_CLUSTER_MATCHING_PORT:-$((FRONTEND_PORT + 3))}
  WORKER_PORT=${CELLOS_CLUSTER_WORKER_PORT:-$((FRONTEND_PORT + 4))}
  FRONTEND_MEMBERSHIP_PORT=${CELLOS_CLUSTER_FRONTEND_MEMBERSHIP_PORT:-$((FRONTEND_PORT + 5))}
  HISTORY_MEMBERSHIP_PORT=${CELLOS_CLUSTER_HISTORY_MEMBERSHIP_PORT:-$((FRONTEND_PORT + 6))}
  MATCHING_MEMBERSHIP_PORT=${CELLOS_CLUSTER_MATCHING_MEMBERSHIP_PORT:-$((FRONTEND_PORT + 7))}
  WORKER_MEMBERSHIP_PORT=${CELLOS_CLUSTER_WORKER_MEMBERSHIP_PORT:-$((FRONTEND_PORT + 8))}
  LOG_LEVEL=${CELLOS_CLUSTER_LOG_LEVEL:-warn}
  SPLIT=0
}

SETTINGS=(FRONTEND_PORT UI_PORT PG_PORT HTTP_PORT HISTORY_PORT MATCHING_PORT WORKER_PORT
  FRONTEND_MEMBERSHIP_PORT HISTORY_MEMBERSHIP_PORT MATCHING_MEMBERSHIP_PORT WORKER_MEMBERSHIP_PORT LOG_LEVEL SPLIT)

save_settings() {
  local name
  for name in "${SETTINGS[@]}"; do
    [[ "$name" == LOG_LEVEL ]] || [[ "${!name}" =~ ^[0-9]+$ ]] || die settings "$name=${!name} is not a number"
    # The server keeps membership ports in a smallint column (PostgreSQL refuses 32768 and above).
    [[ "$name" != *MEMBERSHIP_PORT ]] || ((${!name} < 32768)) ||
      die settings "$name=${!name}: membership ports must be below 32768 (the server stores them as smallint)"
    printf '%s=%q\n' "$name" "${!name}"
  done >"$DIR/cluster.env"
}

address() { printf '127.0.0.1:%s' "$FRONTEND_PORT"; }
ui_url() { printf 'http://127.0.0.1:%s' "$UI_PORT"; }

# Replaces every ${NAME} of a template (NAME one of SETTINGS, or DYNAMIC_CONFIG) with its value.
render() {
  local text name
  text=$(<"$1")
  for name in "${SETTINGS[@]}" DYNAMIC_CONFIG; do text=${text//"\${$name}"/${!name}}; done
  [[ "$text" != *"\${"* ]] || die render "$1 has a placeholder that cluster.sh does not set: $(grep -oE "[$]\{[A-Z_]*\}" <<<"$text" | head -n 1)"
  printf '%s\n' "$text" >"$2"
}

# --- processes -------------------------------------------------------------------------------------
# The pid in $RUN/<name>.pid, if that process still runs the binary it was started from.
running_pid() {
  local file=$RUN/$1.pid pid exe
  [[ -f "$file" ]] || return 1
  pid=$(<"$file")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  [[ "$exe" == "$2" ]] || return 1
  printf '%s' "$pid"
}

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Starts a binary in a session of its own (it outlives this script and the terminal), output to
# $LOGS/<name>.log, pid to $RUN/<name>.pid.
spawn() {
  local name=$1
  shift
  printf '\n--- %s: %s\n' "$(date -u +%FT%TZ)" "$*" >>"$LOGS/$name.log"
  # Without job control a background job is no process group leader, so setsid execs the binary
  # in place and $! is its pid.
  setsid "$@" </dev/null >>"$LOGS/$name.log" 2>&1 &
  local pid=$! i
  echo "$pid" >"$RUN/$name.pid"
  # Until setsid has exec'd the binary, /proc/<pid>/exe is setsid: running_pid would not know it.
  for ((i = 0; i < 200; i++)); do
    [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" != "$1" && -e "/proc/$pid" ]] || return 0
    sleep 0.01
  done
}

# Stops the processes named (pid files in $RUN) that still run binary $1: SIGTERM to all of them,
# then SIGKILL to any still there after $2 seconds. Prints the names it stopped.
stop_processes() {
  local exe=$1 grace=$2 name pid i
  shift 2
  local -A pids=()
  for name in "$@"; do
    if pid=$(running_pid "$name" "$exe"); then
      pids[$name]=$pid
      kill -TERM "$pid" 2>/dev/null || true
    else
      rm -f "$RUN/$name.pid"
    fi
  done
  for name in "${!pids[@]}"; do
    pid=${pids[$name]}
    for ((i = 0; i < grace * 10; i++)); do
      [[ -e "/proc/$pid" ]] || break
      sleep 0.1
    done
    if [[ -e "/proc/$pid" ]]; then
      kill -KILL "$pid" 2>/dev/null || true
      while [[ -e "/proc/$pid" ]]; do sleep 0.05; done
      printf 'cluster: %-10s %s\n' "$name:" "did not stop within ${grace} s of SIGTERM: killed" >&2
    fi
    rm -f "$RUN/$name.pid"
  done
  for name in "$@"; do [[ -z "${pids[$name]:-}" ]] || printf '%s\n' "$name"; done
}

# Waits up to $3 seconds for `$2 ...` (the remaining arguments) to succeed while process $1 runs.
wait_for() {
  local name=$1 exe=$2 secs=$3 i
  shift 3
  for ((i = 0; i < secs * 10; i++)); do
    "$@" && return 0
    if ! running_pid "$name" "$exe" >/dev/null; then
      tail -n 20 "$LOGS/$name.log" >&2
      die "$name" "exited during start; its log: $LOGS/$name.log"
    fi
    sleep 0.1
  done
  tail -n 20 "$LOGS/$name.log" >&2
  die "$name" "not ready within $secs s; its log: $LOGS/$name.log"
}

# --- tools -----------------------------------------------------------------------------------------
find_tools() {
  local tool missing=()
  for tool in temporal-server temporal-sql-tool temporal-ui-server; do
    [[ -x "$BIN/$tool" ]] || missing+=("$BIN/$tool")
  done
  [[ -d "$SCHEMA/temporal/versioned" ]] || missing+=("$SCHEMA")
  ((${#missing[@]} == 0)) || die tools "missing ${missing[*]}: run bash scripts/setup.sh (it builds them)"
  PG_BIN=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n 1)
  [[ -n "$PG_BIN" && -x "$PG_BIN/pg_ctl" ]] ||
    die tools "PostgreSQL server programs not found under /usr/lib/postgresql: run bash scripts/setup.sh (apt-get install postgresql)"
  # shellcheck source=scripts/env.sh
  source "$ROOT/scripts/env.sh"
  TEMPORAL=${TEMPORAL_CLI_PATH:-}
  [[ -n "$TEMPORAL" && -x "$TEMPORAL" ]] || die tools "the Temporal CLI is missing: run bash scripts/setup.sh"
}

# --- postgres --------------------------------------------------------------------------------------
pg_running() { as_postgres "$PG_BIN/pg_ctl" status -D "$PGDATA" >/dev/null 2>&1; }
psql_value() { "$PG_BIN/psql" -h "$PGDATA" -p "$PG_PORT" -U postgres -d postgres -tAc "$1"; }

start_postgres() {
  if [[ ! -f "$PGDATA/PG_VERSION" ]]; then
    rm -rf "$PGDATA"
    install -d -m 0700 "$PGDATA"
    ! is_root || chown postgres: "$PGDATA"
    as_postgres "$PG_BIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >>"$LOGS/postgres-initdb.log" 2>&1 ||
      die postgres "initdb failed; see $LOGS/postgres-initdb.log"
    step postgres "initdb $PGDATA"
  fi
  if pg_running; then
    step postgres "already running on 127.0.0.1:$PG_PORT"
    return
  fi
  touch "$LOGS/postgres.log"
  ! is_root || chown postgres: "$LOGS/postgres.log"
  # fsync off: a test and development database (the data is lost only if the machine crashes).
  as_postgres "$PG_BIN/pg_ctl" start -w -t 60 -D "$PGDATA" -l "$LOGS/postgres.log" \
    -o "-p $PG_PORT -k $PGDATA -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c full_page_writes=off" >/dev/null ||
    die postgres "pg_ctl start failed; see $LOGS/postgres.log"
  step postgres "started on 127.0.0.1:$PG_PORT ($PG_BIN, data $PGDATA)"
}

stop_postgres() {
  if [[ -n "${PG_BIN:-}" && -f "$PGDATA/postmaster.pid" ]] && pg_running; then
    as_postgres "$PG_BIN/pg_ctl" stop -w -t 60 -m fast -D "$PGDATA" >/dev/null
    step postgres "stopped"
  fi
}

sql_tool() {
  local db=$1
  shift
  "$BIN/temporal-sql-tool" --plugin postgres12 --ep 127.0.0.1 -p "$PG_PORT" -u postgres --db "$db" "$@" >>"$LOGS/schema.log" 2>&1 ||
    die schema "temporal-sql-tool --db $db $* failed; see $LOGS/schema.log"
}

create_schemas() {
  local db dir created=()
  for db in temporal temporal_visibility; do
    dir=temporal
    [[ "$db" == temporal ]] || dir=visibility
    if [[ "$(psql_value "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]]; then
      sql_tool "$db" create-database
      sql_tool "$db" setup-schema -v 0.0
      created+=("$db")
    fi
    # Applies only the versions the database lacks: a no-op once it is current.
    sql_tool "$db" update-schema -d "$SCHEMA/$dir/versioned"
  done
  local versions
  versions=$(for db in temporal temporal_visibility; do
    printf '%s %s, ' "$db" "$("$PG_BIN/psql" -h "$PGDATA" -p "$PG_PORT" -U postgres -d "$db" -tAc 'SELECT curr_version FROM schema_version')"
  done)
  if ((${#created[@]})); then step schema "created ${created[*]}; ${versions%, }"; else step schema "up to date: ${versions%, }"; fi
}

# --- server ----------------------------------------------------------------------------------------
server_names() {
  if ((SPLIT)); then printf '%s\n' "${SERVICES[@]}"; else echo server; fi
}

# The gRPC port a server process listens on last (frontend for the single process).
service_port() {
  case $1 in
    server | frontend) echo "$FRONTEND_PORT" ;;
    history) echo "$HISTORY_PORT" ;;
    matching) echo "$MATCHING_PORT" ;;
    worker) echo "$WORKER_PORT" ;;
  esac
}

frontend_serving() {
  "$TEMPORAL" operator cluster health --address "$(address)" 2>/dev/null | grep -q SERVING
}

start_server_process() {
  local name=$1 args=(--config-file "$DIR/temporal.yaml" --allow-no-auth start)
  if running_pid "$name" "$BIN/temporal-server" >/dev/null; then return; fi
  [[ "$name" == server ]] || args+=(--service "$name")
  spawn "$name" "$BIN/temporal-server" "${args[@]}"
}

wait_server_process() {
  local name=$1
  if [[ "$name" == server || "$name" == frontend ]]; then
    wait_for "$name" "$BIN/temporal-server" 60 frontend_serving
  else
    wait_for "$name" "$BIN/temporal-server" 60 listening "$(service_port "$name")"
  fi
}

start_server() {
  local name names
  # shellcheck disable=SC2034 # read by render
  DYNAMIC_CONFIG=$TEMPLATES/dynamic-config.yaml
  render "$TEMPLATES/temporal.yaml" "$DIR/temporal.yaml"
  mapfile -t names < <(server_names)
  # On a new database each service process writes the cluster metadata as it starts: started all at
  # once, two of them race on that row ("duplicate key") and one exits. The first one goes alone.
  start_server_process "${names[0]}"
  wait_server_process "${names[0]}"
  for name in "${names[@]:1}"; do start_server_process "$name"; done
  for name in "${names[@]:1}"; do wait_server_process "$name"; done
  if ((SPLIT)); then
    step server "${names[*]} serving (one process each), frontend on $(address)"
  else
    step server "serving on $(address) (one process: ${SERVICES[*]})"
  fi
}

stop_server() {
  local stopped
  stopped=$(stop_processes "$BIN/temporal-server" 20 server "${SERVICES[@]}")
  [[ -z "$stopped" ]] || step server "stopped ${stopped//$'\n'/ }"
}

# --- namespace and search attributes ---------------------------------------------------------------
create_namespace() {
  local i
  if ! "$TEMPORAL" operator namespace describe -n "$NAMESPACE" --address "$(address)" >/dev/null 2>&1; then
    "$TEMPORAL" operator namespace create -n "$NAMESPACE" --address "$(address)" >>"$LOGS/namespace.log" 2>&1 ||
      die namespace "temporal operator namespace create -n $NAMESPACE failed; see $LOGS/namespace.log"
    # For about a second after creation the frontend answers from a cached "not found".
    for ((i = 0; i < 100; i++)); do
      "$TEMPORAL" operator namespace describe -n "$NAMESPACE" --address "$(address)" >/dev/null 2>&1 && break
      sleep 0.1
    done
    ((i < 100)) || die namespace "$NAMESPACE still not found 10 s after its creation"
    step namespace "created $NAMESPACE"
  else
    step namespace "$NAMESPACE exists"
  fi
}

# The cell search attributes, "Name Type" per line, from the one list the code uses
# (src/contract/names.ts SEARCH_ATTRIBUTES, compiled into dist/ by scripts/setup.sh).
cell_search_attributes() {
  local names_js=$ROOT/dist/src/contract/names.js
  [[ -f "$names_js" ]] || die search "$names_js missing: run bash scripts/setup.sh (it builds dist/)"
  # shellcheck disable=SC2016 # JavaScript, not shell
  node --input-type=module -e '
    const { SEARCH_ATTRIBUTES } = await import(process.argv[1]);
    for (const a of SEARCH_ATTRIBUTES) console.log(`${a.name} ${a.type}`);
  ' "$names_js"
}

create_search_attributes() {
  local existing name type args=() wanted=() i
  # Retried: right after the namespace's creation, calls may still meet the frontend's cached "not found".
  for ((i = 0; ; i++)); do
    existing=$("$TEMPORAL" operator search-attribute list -n "$NAMESPACE" --address "$(address)" -o json 2>>"$LOGS/namespace.log") && break
    ((i < 100)) || die search "temporal operator search-attribute list failed for 10 s; see $LOGS/namespace.log"
    sleep 0.1
  done
  while read -r name type; do
    wanted+=("$name")
    grep -q "\"$name\"" <<<"$existing" || args+=(--name "$name" --type "$type")
  done < <(cell_search_attributes)
  if ((${#args[@]} == 0)); then
    step search "${wanted[*]} registered"
    return
  fi
  for ((i = 0; ; i++)); do
    "$TEMPORAL" operator search-attribute create -n "$NAMESPACE" --address "$(address)" "${args[@]}" >>"$LOGS/namespace.log" 2>&1 && break
    ((i < 50)) || die search "temporal operator search-attribute create ${args[*]} failed; see $LOGS/namespace.log"
    sleep 0.2
  done
  local registered
  registered=$(printf '%s ' "${args[@]}" | sed -E 's/--name ([^ ]+) --type ([^ ]+) /\1:\2 /g')
  step search "registered ${registered% }"
}

# --- UI --------------------------------------------------------------------------------------------
start_ui() {
  mkdir -p "$DIR/ui"
  render "$TEMPLATES/ui/cluster.yaml" "$DIR/ui/cluster.yaml"
  running_pid ui "$BIN/temporal-ui-server" >/dev/null || spawn ui "$BIN/temporal-ui-server" --root "$DIR" --config ui --env cluster start
  wait_for ui "$BIN/temporal-ui-server" 30 listening "$UI_PORT"
  step ui "$(ui_url)"
}

# --- commands --------------------------------------------------------------------------------------
# Prints one line per component; returns 0 when every component runs.
report() {
  local ok=0 name pid
  if [[ -n "${PG_BIN:-}" && -f "$PGDATA/PG_VERSION" ]] && pg_running; then
    step postgres "running on 127.0.0.1:$PG_PORT (pid $(head -n 1 "$PGDATA/postmaster.pid"))"
  else
    step postgres "stopped"
    ok=1
  fi
  while read -r name; do
    if pid=$(running_pid "$name" "$BIN/temporal-server"); then
      step "$name" "running (pid $pid, gRPC 127.0.0.1:$(service_port "$name"))"
    else
      step "$name" "stopped"
      ok=1
    fi
  done < <(server_names)
  if pid=$(running_pid ui "$BIN/temporal-ui-server"); then
    step ui "running (pid $pid, $(ui_url))"
  else
    step ui "stopped"
    ok=1
  fi
  return $ok
}

anything_running() {
  local name
  for name in server "${SERVICES[@]}"; do running_pid "$name" "$BIN/temporal-server" >/dev/null && return 0; done
  running_pid ui "$BIN/temporal-ui-server" >/dev/null && return 0
  [[ -n "${PG_BIN:-}" && -f "$PGDATA/postmaster.pid" ]] && pg_running
}

cmd_start() {
  local split=0
  for arg in "$@"; do
    case $arg in
      --split) split=1 ;;
      *) die usage "start takes --split only, not $arg" ;;
    esac
  done
  find_tools
  local fresh=1 name
  if [[ -f "$DIR/cluster.env" ]] && anything_running; then
    fresh=0
    load_settings
    ((SPLIT == split)) || die start "a cluster runs in $DIR with split=$SPLIT: stop it first (bash scripts/cluster.sh stop)"
  else
    rm -f "$DIR/cluster.env"
  fi
  install -d -m 0755 "$DIR" "$RUN" "$LOGS"
  chmod 0755 "$DIR"
  load_settings
  SPLIT=$split
  save_settings
  if ((fresh)); then
    for name in "${SETTINGS[@]}"; do
      [[ "$name" != *PORT ]] || ! listening "${!name}" ||
        die start "port ${!name} ($name) is taken by another program: choose other ports (CELLOS_CLUSTER_PORT, CELLOS_CLUSTER_UI_PORT, CELLOS_CLUSTER_PG_PORT, ...)"
    done
  fi
  if is_root && ! runuser -u postgres -- test -x "$DIR"; then
    die postgres "user postgres cannot reach $DIR: set CELLOS_CLUSTER_DIR to a folder it can reach (e.g. under /var/tmp)"
  fi
  start_postgres
  create_schemas
  start_server
  create_namespace
  create_search_attributes
  start_ui
  step ready "in $(elapsed): TEMPORAL_ADDRESS=$(address) CELLOS_UI_URL=$(ui_url)"
}

cmd_stop() {
  [[ -f "$DIR/cluster.env" ]] || {
    step stop "no cluster in $DIR"
    return
  }
  load_settings
  PG_BIN=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n 1)
  [[ -z "$(stop_processes "$BIN/temporal-ui-server" 10 ui)" ]] || step ui "stopped"
  stop_server
  stop_postgres
  step stopped "in $(elapsed) ($DIR kept; reset deletes it)"
}

cmd_restart() {
  find_tools
  [[ -f "$DIR/cluster.env" ]] || die restart "no cluster in $DIR: start one first"
  load_settings
  local names=()
  if (($#)); then
    ((SPLIT)) || die restart "restarting one service needs a --split cluster (this one runs as one process)"
    for name in "$@"; do
      [[ " ${SERVICES[*]} " == *" $name "* ]] || die usage "no service $name (one of: ${SERVICES[*]})"
      names+=("$name")
    done
  else
    mapfile -t names < <(server_names)
  fi
  local t0
  t0=$(date +%s%N)
  stop_processes "$BIN/temporal-server" 20 "${names[@]}" >/dev/null
  step restart "stopped ${names[*]} in $((($(date +%s%N) - t0) / 1000000)) ms"
  for name in "${names[@]}"; do start_server_process "$name"; done
  for name in "${names[@]}"; do wait_server_process "$name"; done
  step restart "${names[*]} serving again in $(elapsed)"
}

cmd_status() {
  [[ -f "$DIR/cluster.env" ]] || {
    step status "no cluster in $DIR"
    return 1
  }
  load_settings
  PG_BIN=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n 1)
  if ((SPLIT)); then step dir "$DIR (one process per service)"; else step dir "$DIR (one server process)"; fi
  report && step address "TEMPORAL_ADDRESS=$(address) CELLOS_UI_URL=$(ui_url)"
}

cmd_env() {
  [[ -f "$DIR/cluster.env" ]] || die env "no cluster in $DIR: start one first"
  load_settings
  printf 'export TEMPORAL_ADDRESS=%s CELLOS_UI_URL=%s\n' "$(address)" "$(ui_url)"
}

resolve_dir
command=${1:-}
(($#)) && shift
case $command in
  start) cmd_start "$@" ;;
  stop) cmd_stop ;;
  restart) cmd_restart "$@" ;;
  reset)
    cmd_stop
    rm -rf "$DIR"
    step reset "deleted $DIR"
    ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 1
    ;;
esac
