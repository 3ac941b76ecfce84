#!/usr/bin/env bash
# The test command (npm test, .ci/run): set-up, then type check, lint, format check, vitest and the Deno
# suite. Every step runs even when an earlier one failed; the last line is `N passed, N failed` (tests
# from vitest and Deno, plus one failure for each check or runner that failed without failing a test),
# and the exit code is non-zero if anything failed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1

RESULTS=test-results
mkdir -p "$RESULTS"

passed=0
failed=0
skipped=0
steps=()

note() { printf '\n== %s\n' "$*"; }
summary() {
  printf '\n'
  for s in "${steps[@]}"; do printf 'test: %s\n' "$s"; done
  if ((skipped)); then
    printf '%d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
  else
    printf '%d passed, %d failed\n' "$passed" "$failed"
  fi
}

# --- set-up (fatal: nothing below means anything without it) -----------------------------------------
note "setup: bash scripts/setup.sh"
if ! bash scripts/setup.sh; then
  steps+=("setup FAILED")
  failed=$((failed + 1))
  summary
  exit 1
fi
# shellcheck source=scripts/env.sh
source scripts/env.sh

# --- checks: each counts as one failure when it fails --------------------------------------------------
check() {
  local name=$1
  shift
  note "$name: $*"
  local t0=$SECONDS
  if "$@"; then
    steps+=("$name ok ($((SECONDS - t0))s)")
  else
    steps+=("$name FAILED ($((SECONDS - t0))s)")
    failed=$((failed + 1))
  fi
}
check typecheck npx tsc --noEmit
check deno-check npx deno task check
check eslint npx eslint .
check prettier npx prettier --check .
check shellcheck shellcheck scripts/*.sh src/*/*.sh test/fixtures/bin/runsc

# --- vitest --------------------------------------------------------------------------------------------
vitest_json="$RESULTS/vitest.json"
rm -f "$vitest_json"
note "vitest: npx vitest run"
t0=$SECONDS
npx vitest run --reporter=default --reporter=json --outputFile.json="$vitest_json"
vitest_rc=$?
# Prints "passed failed skipped"; a run that exits non-zero without any failure counted (an unhandled
# error, a crash before the report) counts as one failure.
counts=$(
  node -e '
    const fs = require("node:fs");
    const [file, rc] = [process.argv[1], Number(process.argv[2])];
    let p = 0, f = 0, s = 0;
    try {
      const r = JSON.parse(fs.readFileSync(file, "utf8"));
      p = r.numPassedTests ?? 0;
      s = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
      // A file that failed without a failed test (it did not load, a hook threw) counts as one failure.
      const brokenFiles = (r.testResults ?? []).filter(
        (t) => t.status === "failed" && !(t.assertionResults ?? []).some((a) => a.status === "failed"),
      ).length;
      f = (r.numFailedTests ?? 0) + brokenFiles;
      if (f === 0 && r.success === false) f = 1;
    } catch {}
    if (rc !== 0 && f === 0) f = 1;
    console.log(p, f, s);
  ' "$vitest_json" "$vitest_rc"
) || counts="0 1 0"
read -r vp vf vs <<<"$counts"
passed=$((passed + vp))
failed=$((failed + vf))
skipped=$((skipped + vs))
steps+=("vitest: $vp passed, $vf failed, $vs skipped, exit $vitest_rc ($((SECONDS - t0))s)")

# --- Deno suite ----------------------------------------------------------------------------------------
# One run per permission set (deno.json's test:* tasks): most Deno tests run cell hosts in the test
# process, which Deno allows only with --allow-all; the worker tests need narrow permissions only.
deno_suite() {
  local task=$1
  local deno_log="$RESULTS/deno-$task.log"
  note "deno ($task): npx deno task $task"
  local t0=$SECONDS
  NO_COLOR=1 npx deno task "$task" 2>&1 | tee "$deno_log"
  local deno_rc=${PIPESTATUS[0]}
  # Deno's closing line: "ok | 3 passed (2 steps) | 0 failed | 1 ignored (1s)" or "FAILED | ...".
  local line dp df di
  line=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$deno_log" | tail -n 1)
  dp=$(sed -nE 's/^[A-Za-z]+ \| ([0-9]+) passed.*/\1/p' <<<"$line")
  df=$(sed -nE 's/.*\| ([0-9]+) failed.*/\1/p' <<<"$line")
  di=$(sed -nE 's/.*\| ([0-9]+) ignored.*/\1/p' <<<"$line")
  dp=${dp:-0} df=${df:-0} di=${di:-0}
  if ((deno_rc != 0 && df == 0)); then df=1; fi
  passed=$((passed + dp))
  failed=$((failed + df))
  skipped=$((skipped + di))
  steps+=("deno $task: $dp passed, $df failed, $di ignored, exit $deno_rc ($((SECONDS - t0))s)")
}
# Every test:* task of deno.json: test:allow-all runs every file of test/deno that no narrower task runs.
deno_tasks=$(node -e 'const { tasks } = require("./deno.json"); for (const k in tasks) if (k.startsWith("test:")) console.log(k)')
for task in $deno_tasks; do deno_suite "$task"; done
if [[ -z "$deno_tasks" ]]; then
  steps+=("deno: no test:* task in deno.json (not run)")
  failed=$((failed + 1))
fi

summary
((failed == 0))
