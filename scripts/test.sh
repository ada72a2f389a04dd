#!/usr/bin/env bash
# test.sh — the whole suite: lint, typecheck, then the unit, integration and e2e vitest projects in turn.
# Ends with one plain line "tests: N passed, N failed, N skipped" summed over the projects.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/.tools/bin:$PATH"
case "${1:-}" in --help|-h) echo "Usage: scripts/test.sh [unit|integration|e2e]...  (default: all, after lint and typecheck)"; exit 0 ;; esac
projects=("$@"); [ "${#projects[@]}" -gt 0 ] || projects=(unit integration e2e)
mkdir -p .lab/test-results
rc=0; passed=0; failed=0; skipped=0
t_all=$(date +%s)
if [ "$#" -eq 0 ]; then
  echo "== lint"; npx eslint . || rc=1
  echo "== typecheck"; npx tsc -p tsconfig.json --noEmit || rc=1
fi
for p in "${projects[@]}"; do
  t0=$(date +%s)
  echo "== $p tests"
  out=".lab/test-results/$p.json"; rm -f "$out"
  npx vitest run --project "$p" --reporter=default --reporter=json --outputFile.json="$out" || rc=1
  if [ -f "$out" ]; then
    read -r a b c < <(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log(r.numPassedTests,r.numFailedTests+(r.numRuntimeErrorTestSuites||0),r.numPendingTests+(r.numTodoTests||0))' "$out")
    passed=$((passed+a)); failed=$((failed+b)); skipped=$((skipped+c))
  else
    failed=$((failed+1))
  fi
  echo "== $p done in $(( $(date +%s) - t0 ))s"
done
echo "== all done in $(( $(date +%s) - t_all ))s"
[ "$failed" -eq 0 ] || rc=1
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $rc
