#!/usr/bin/env bash
# compare-dataplanes.sh — measures the two candidate data planes (Debian nginx and HAProxy) on loopback:
# throughput and p99 through one worker/thread, proxy CPU per request, and requests lost while the
# configuration changes under keep-alive load (nginx HUP reload, HAProxy seamless reload, HAProxy runtime
# API). Prints figures only; every run is bounded (wrk -d) and every process it starts is stopped on exit.
# Usage: bench/ingress/compare-dataplanes.sh [rounds]   (env: DURATION=5s CONNS=50 CHANGES=20)
set -euo pipefail
ROUNDS=${1:-2}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-50}
CHANGES=${CHANGES:-20}
BASE=${BASE:-$((21000 + RANDOM % 20000))}
UP=$BASE NGX=$((BASE + 1)) HAP=$((BASE + 2))
DIR=$(mktemp -d /tmp/ironlb-dpbench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.3
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$DIR"
}
trap cleanup EXIT

for b in nginx haproxy wrk socat; do command -v "$b" >/dev/null || { echo "missing $b" >&2; exit 1; }; done

# --- upstream: a second nginx returning a fixed body, two workers so it is never the bottleneck
mkdir -p "$DIR/up" "$DIR/ngx" "$DIR/hap"
cat >"$DIR/up/nginx.conf" <<CONF
daemon off; worker_processes 2; pid $DIR/up/nginx.pid; error_log $DIR/up/error.log warn;
events { worker_connections 4096; }
http {
  access_log off; client_body_temp_path $DIR/up; proxy_temp_path $DIR/up; fastcgi_temp_path $DIR/up;
  uwsgi_temp_path $DIR/up; scgi_temp_path $DIR/up; keepalive_requests 1000000;
  server { listen 127.0.0.1:$UP; location / { return 200 "hello from upstream\n"; } }
}
CONF

# --- nginx as the proxy (one worker)
cat >"$DIR/ngx/nginx.conf" <<CONF
daemon off; worker_processes 1; pid $DIR/ngx/nginx.pid; error_log $DIR/ngx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off; client_body_temp_path $DIR/ngx; proxy_temp_path $DIR/ngx; fastcgi_temp_path $DIR/ngx;
  uwsgi_temp_path $DIR/ngx; scgi_temp_path $DIR/ngx; keepalive_requests 1000000;
  upstream up { server 127.0.0.1:$UP; keepalive 128; }
  server {
    listen 127.0.0.1:$NGX;
    location / {
      proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header Host \$host; proxy_set_header X-Request-ID \$request_id;
      proxy_set_header X-Real-IP \$remote_addr; proxy_set_header X-Forwarded-For \$remote_addr;
      proxy_set_header X-Forwarded-Host \$host; proxy_set_header X-Forwarded-Port \$server_port;
      proxy_set_header X-Forwarded-Proto \$scheme;
    }
  }
}
CONF

# --- HAProxy as the proxy (one thread, master-worker so reloads are seamless)
cat >"$DIR/hap/haproxy.cfg" <<CONF
global
  nbthread 1
  pidfile $DIR/hap/haproxy.pid
  stats socket $DIR/hap/admin.sock mode 600 level admin expose-fd listeners
  tune.bufsize 16384
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  timeout http-keep-alive 30s
frontend fe
  bind 127.0.0.1:$HAP
  http-request set-header X-Request-ID %[uuid()]
  http-request set-header X-Real-IP %[src]
  http-request set-header X-Forwarded-For %[src]
  http-request set-header X-Forwarded-Host %[req.hdr(host)]
  http-request set-header X-Forwarded-Port %[dst_port]
  http-request set-header X-Forwarded-Proto http
  http-request set-var(txn.be) req.hdr(host),lower,map_str($DIR/hap/hosts.map,be)
  use_backend %[var(txn.be)]
backend be
  balance roundrobin
  server-template s 1-4 127.0.0.1:1 disabled
  server s0 127.0.0.1:$UP
CONF
echo "localhost be" >"$DIR/hap/hosts.map"

nginx -c "$DIR/up/nginx.conf" 2>>"$DIR/proc.log" & PIDS+=($!)
nginx -c "$DIR/ngx/nginx.conf" 2>>"$DIR/proc.log" & NGX_PID=$!; PIDS+=($NGX_PID)
haproxy -W -S "$DIR/hap/master.sock" -f "$DIR/hap/haproxy.cfg" 2>>"$DIR/proc.log" & HAP_PID=$!; PIDS+=($HAP_PID)
for port in $UP $NGX $HAP; do
  for _ in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
done

# cpu_ticks PID...: user+system clock ticks of the given processes and their children
cpu_ticks() { local t=0; for p in "$@"; do for c in $p $(pgrep -P "$p" || true); do
  t=$((t + $(awk '{print $14 + $15}' "/proc/$c/stat" 2>/dev/null || echo 0))); done; done; echo $t; }
hz=$(getconf CLK_TCK)

# run NAME URL PID: one wrk run; prints req/s, p99 and requests per proxy CPU-second
run() {
  local name=$1 url=$2 pid=$3 out c0 c1
  c0=$(cpu_ticks "$pid")
  out=$(wrk -t1 -c"$CONNS" -d"$DURATION" --latency "$url" 2>&1)
  c1=$(cpu_ticks "$pid")
  local rps p99 total cpu
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  total=$(awk '/requests in/ {print $1}' <<<"$out")
  cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" 'BEGIN {printf "%.2f", (b-a)/hz}')
  printf '%-22s req/s %9s  p99 %8s  proxy cpu %5ss  req per proxy cpu-s %s\n' "$name" "$rps" "$p99" "$cpu" \
    "$(awk -v t="$total" -v c="$cpu" 'BEGIN {if (c>0) printf "%.0f", t/c; else print "n/a"}')"
}

# errors OUT: lost requests in a wrk report (socket errors + non-2xx/3xx)
errors() {
  awk '/Socket errors/ {gsub(",",""); e += $4 + $6 + $8 + $10} /Non-2xx/ {e += $5} END {print e + 0}' <<<"$1"
}

# under_load NAME URL CMD: wrk for long enough to cover CHANGES config changes made by CMD (one per 0.4 s)
under_load() {
  local name=$1 url=$2; shift 2
  local secs=$((CHANGES * 4 / 10 + 3)) out
  wrk -t1 -c"$CONNS" -d"${secs}s" "$url" >"$DIR/wrk.out" 2>&1 &
  local w=$!
  sleep 1
  local t0 t1
  t0=$(date +%s%N)
  for i in $(seq "$CHANGES"); do "$@" "$i"; sleep 0.4; done
  t1=$(date +%s%N)
  wait "$w"
  out=$(cat "$DIR/wrk.out")
  printf '%-34s %3d changes  requests %9s  lost %5s  (change cmds took %d ms in all)\n' "$name" "$CHANGES" \
    "$(awk '/requests in/ {print $1}' <<<"$out")" "$(errors "$out")" $(((t1 - t0) / 1000000 - CHANGES * 400))
}

ngx_reload() { kill -HUP "$NGX_PID"; }
hap_reload() { kill -USR2 "$HAP_PID"; }
hap_cli() { echo "$1" | socat - "UNIX-CONNECT:$DIR/hap/admin.sock"; }
hap_set_server() { hap_cli "set server be/s1 addr 127.0.0.1 port $UP" >/dev/null; hap_cli "set server be/s1 state $([ $(($1 % 2)) = 0 ] && echo ready || echo maint)" >/dev/null; }
hap_set_map() { hap_cli "set map $DIR/hap/hosts.map localhost be" >/dev/null; hap_cli "add map $DIR/hap/hosts.map h$1.example be" >/dev/null; }

echo "# data plane comparison: loopback, wrk -t1 -c$CONNS -d$DURATION, upstream nginx (2 workers) on :$UP"
echo "# $(nproc) cores shared with other work: figures are noisy; each run repeated $ROUNDS times"
echo "# nginx $(nginx -v 2>&1 | sed 's/.*\///'), HAProxy $(haproxy -v | awk 'NR==1 {print $3}')"
for r in $(seq "$ROUNDS"); do
  echo "## round $r: throughput"
  run "upstream direct" "http://127.0.0.1:$UP/" "${PIDS[0]}"
  run "nginx (1 worker)" "http://127.0.0.1:$NGX/" "$NGX_PID"
  run "haproxy (1 thread)" "http://127.0.0.1:$HAP/" "$HAP_PID"
done
for r in $(seq "$ROUNDS"); do
  echo "## round $r: requests lost while changing configuration under keep-alive load"
  under_load "nginx HUP reload" "http://127.0.0.1:$NGX/" ngx_reload
  under_load "haproxy seamless reload (-W)" "http://127.0.0.1:$HAP/" hap_reload
  under_load "haproxy runtime set server" "http://127.0.0.1:$HAP/" hap_set_server
  under_load "haproxy runtime add/set map" "http://127.0.0.1:$HAP/" hap_set_map
done
