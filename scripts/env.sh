# shellcheck shell=bash
# Sourced by the other scripts (and by hand: `source scripts/env.sh`) after scripts/setup.sh has run.
# Exports the test rootfs and the Temporal CLI that setup.sh chose, leaving variables already set alone.
_cellos_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CELLOS_DEFAULT_ROOTFS="${CELLOS_DEFAULT_ROOTFS:-$_cellos_root/.tools/rootfs/busybox}"
if [[ -z "${TEMPORAL_CLI_PATH:-}" ]]; then
  # Same order as setup.sh: `temporal` on PATH first, else the one setup installed in .tools/venv.
  if command -v temporal >/dev/null 2>&1; then
    TEMPORAL_CLI_PATH="$(command -v temporal)"
    export TEMPORAL_CLI_PATH
  elif [[ -x "$_cellos_root/.tools/venv/bin/temporal" ]]; then
    export TEMPORAL_CLI_PATH="$_cellos_root/.tools/venv/bin/temporal"
  fi
fi
unset _cellos_root
