#!/usr/bin/env bash
# bench.sh — runs every benchmark under bench/ and prints their figures (`make bench`). Benchmarks print
# numbers and ratios; none passes or fails on time. One benchmark failing (e.g. one that needs root) does not
# stop the others; the exit status says whether all of them ran.
#   bench/*.bench.ts            node <file>
#   bench/<dir>/bench.sh        the directory's own entry (it runs that directory's benchmarks)
#   bench/<dir>/*.bench.ts      node <file>, for a directory without a bench.sh
# Usage: scripts/bench.sh [--list] [NAME...]   NAME selects benchmarks whose path contains it (e.g. controller)
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.tools/bin:$PATH"

list=0
filters=()
for a in "$@"; do
  case "$a" in
    --list) list=1 ;;
    -h | --help)
      sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) filters+=("$a") ;;
  esac
done

benches=()
for f in bench/*.bench.ts; do [ -e "$f" ] && benches+=("$f"); done
for d in bench/*/; do
  d=${d%/}
  if [ -x "$d/bench.sh" ] || [ -f "$d/bench.sh" ]; then
    benches+=("$d/bench.sh")
  else
    for f in "$d"/*.bench.ts; do [ -e "$f" ] && benches+=("$f"); done
  fi
done

selected=()
for b in "${benches[@]}"; do
  if [ ${#filters[@]} -eq 0 ]; then
    selected+=("$b")
    continue
  fi
  for f in "${filters[@]}"; do
    if [[ "$b" == *"$f"* ]]; then
      selected+=("$b")
      break
    fi
  done
done

if [ "$list" = 1 ]; then
  printf '%s\n' "${selected[@]}"
  exit 0
fi
if [ ${#selected[@]} -eq 0 ]; then
  echo "bench: nothing matches ${filters[*]:-} under bench/" >&2
  exit 1
fi

failed=()
for b in "${selected[@]}"; do
  case "$b" in
    *.sh) cmd=(bash "$b") ;;
    *) cmd=(node "$b") ;;
  esac
  echo
  echo "=== ${cmd[*]}"
  start=$(date +%s)
  if "${cmd[@]}"; then
    echo "=== $b: done in $(($(date +%s) - start)) s"
  else
    rc=$?
    echo "=== $b: exited $rc after $(($(date +%s) - start)) s" >&2
    failed+=("$b")
  fi
done

echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "bench: ${#failed[@]} of ${#selected[@]} did not finish: ${failed[*]}" >&2
  exit 1
fi
echo "bench: ${#selected[@]} benchmark(s) ran"
