#!/usr/bin/env bash
# Builds .tools/cellos-bin/cellos: the whole `cellos` (CLI and worker, the Temporal native bridge
# included) as one Linux x86-64 executable made by `deno compile`, which runs without Node, without
# node_modules and without the sources. Idempotent: skips when the binary is newer than its inputs.
#
#   bash scripts/compile.sh            (after scripts/setup.sh: it needs node_modules)
#
# Steps: the workflow bundles (scripts/build-workflow-bundles.ts: a compiled cellos cannot run webpack)
# · deno compile with them, the sh programs and the failure converter embedded, and node_modules less
# the dev dependencies and the native bridge's other platforms.
#
# deno compile builds on `denort`, Deno's runtime without its tools, of exactly the version of
# node_modules/.bin/deno: it reads $DENO_DIR/dl/release/v<version>/denort-x86_64-unknown-linux-gnu.zip
# (DENO_DIR: ~/.cache/deno) and downloads it from dl.deno.land when absent, or takes the unzipped
# binary that DENORT_BIN names.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

OUT_DIR=.tools/cellos-bin
BIN=$OUT_DIR/cellos
# Where src/worker/workflow-bundle.ts (EMBEDDED_BUNDLE_DIR) reads them in the binary.
BUNDLES=$OUT_DIR/workflow-bundles
DENO=node_modules/.bin/deno
TARGET=x86_64-unknown-linux-gnu
# Files the code reads at run time beside its modules (src/source-asset.ts, the data converter).
ASSETS=(src/host/spawner.sh src/host/supervisor.sh src/host/mount-check.sh src/codec/failure-converter.cjs)
BRIDGE=node_modules/@temporalio/core-bridge

START_NS=$(date +%s%N)
step() { printf 'compile: %-8s %s\n' "$1:" "$2"; }
die() {
  printf 'compile: %-8s %s\n' "$1:" "$2" >&2
  exit 1
}

[[ "$(uname -s)-$(uname -m)" == Linux-x86_64 ]] || die host "builds for Linux x86-64 only (this is $(uname -s)-$(uname -m))"
[[ -x "$DENO" && -f node_modules/.package-lock.json ]] || die host "node_modules missing: run scripts/setup.sh first"
[[ -f "$BRIDGE/releases/$TARGET/index.node" ]] || die host "$BRIDGE/releases/$TARGET/index.node missing: run scripts/setup.sh"

inputs=(src workflows activities package.json deno.json node_modules/.package-lock.json scripts/compile.sh scripts/build-workflow-bundles.ts)
if [[ -x "$BIN" ]] && [[ -z "$(find "${inputs[@]}" -newer "$BIN" -print -quit)" ]]; then
  step 'done' "$BIN newer than its inputs (skip), $(du -m "$BIN" | cut -f1) MB"
  exit 0
fi
mkdir -p "$OUT_DIR"

# --- workflow bundles ------------------------------------------------------------------------------
t0=$(date +%s%N)
"$DENO" run -A --node-modules-dir=manual scripts/build-workflow-bundles.ts "$BUNDLES" >/dev/null ||
  die bundles "scripts/build-workflow-bundles.ts failed"
step bundles "$BUNDLES/ ($(du -sk "$BUNDLES" | cut -f1) KB) in $((($(date +%s%N) - t0) / 1000000)) ms"

# --- deno compile ----------------------------------------------------------------------------------
# deno compile embeds node_modules whole (it cannot tell which files a require() reaches): leave out
# what a running cellos never loads.
excludes=("node_modules/.bin" "$BRIDGE/sdk-core" "$BRIDGE/src" "$BRIDGE/bridge-macros" "$BRIDGE/scripts")
for release in "$BRIDGE"/releases/*; do
  [[ "$release" == "$BRIDGE/releases/$TARGET" ]] || excludes+=("$release")
done
# The dev dependencies, as npm recorded the install.
dev_packages=$("$DENO" eval --quiet '
  const lock = JSON.parse(Deno.readTextFileSync("node_modules/.package-lock.json"));
  for (const [path, pkg] of Object.entries(lock.packages)) if (path !== "" && pkg.dev) console.log(path);
') || die binary "cannot read node_modules/.package-lock.json"
while read -r path; do
  [[ -n "$path" && -e "$path" ]] && excludes+=("$path")
done <<<"$dev_packages"

args=(compile -A --node-modules-dir=manual --no-check --target "$TARGET" --output "$BIN.tmp" --include "$BUNDLES")
for a in "${ASSETS[@]}"; do args+=(--include "$a"); done
for e in "${excludes[@]}"; do args+=(--exclude "$e"); done
t0=$(date +%s%N)
log=$OUT_DIR/compile.log
if ! "$DENO" "${args[@]}" src/cli/main.ts >"$log" 2>&1; then
  rm -f "$BIN.tmp"
  if grep -q 'Setting up base binary\|Could not find denort' "$log"; then
    version=$("$DENO" --version | sed -n 's/^deno \([^ ]*\).*/\1/p')
    cause=$(grep -m1 -e 'error sending request' -e 'Could not find denort' "$log" | sed 's/^ *[0-9]*: //')
    die binary "deno compile needs denort $version for $TARGET and could not get it: ${cause:-see $log}. Put denort-$TARGET.zip of v$version in \${DENO_DIR:-~/.cache/deno}/dl/release/v$version/, or set DENORT_BIN to the unzipped denort"
  fi
  tail -n 20 "$log" >&2
  die binary "deno compile failed; log: $log"
fi
mv "$BIN.tmp" "$BIN"
step binary "deno compile -> $BIN in $((($(date +%s%N) - t0) / 1000000)) ms (${#excludes[@]} paths left out)"

step 'done' "$BIN: $(du -m "$BIN" | cut -f1) MB, in $((($(date +%s%N) - START_NS) / 1000000)) ms"
