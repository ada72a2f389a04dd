#!/usr/bin/env bash
# bench.sh — ingress benchmarks (prints figures; no pass/fail on time):
#   1. IronLB's rendered HAProxy config vs a hand-written one, same run, wrk (req/s, p99, ratio)
#   2. requests lost under keep-alive load: 100 endpoint changes + 20 table edits (runtime API), 20 reloads
#   3. with --compare: the nginx vs HAProxy data-plane comparison behind ingress/DATAPLANE.md
# Usage: bench/ingress/bench.sh [--duration 5] [--rounds 2] [--connections 50] [--compare]
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/.tools/bin:$PATH"
compare=0
args=()
for a in "$@"; do if [ "$a" = --compare ]; then compare=1; else args+=("$a"); fi; done
for b in haproxy nginx wrk curl node; do command -v "$b" >/dev/null || { echo "bench: missing $b" >&2; exit 1; }; done
node bench/ingress/bench.ts "${args[@]}"
if [ "$compare" = 1 ]; then bench/ingress/compare-dataplanes.sh 2; fi
