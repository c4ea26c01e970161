#!/usr/bin/env bash
# System calls and CPU (user / kernel) per request of one target under redis-benchmark,
# 50 clients: pass-through SET or missed GET, -P 1 by default. Needs perf with syscall
# tracepoints (root, or kernel.perf_event_paranoid <= 1) and, for twemproxy, nutcracker.
#
#   bench/syscalls.sh proxy [capacity]     RedisProxy from dist/ (default --capacity 0)
#   bench/syscalls.sh twemproxy
#   env: CMD=SET|GET (GET: keys never set: misses; use capacity 1 so nothing is cached)
#        P=1 N=200000 DIST=dist RPORT=6475 PORT=9475
#
# The target and Redis are started on the given ports, warmed with one unrecorded run of
# the same load, then counted over a second run with `perf stat -p` (every thread).
set -u
TARGET=${1:-proxy}; CAP=${2:-0}
CMD=${CMD:-SET}; P=${P:-1}; N=${N:-200000}
DIST=${DIST:-$(dirname "$0")/../dist}; RPORT=${RPORT:-6475}; PORT=${PORT:-9475}
TMP=$(mktemp -d); X=
redis-server --port "$RPORT" --save '' --appendonly no --daemonize no --tracking-table-max-keys 0 >/dev/null 2>&1 & RP=$!
trap 'kill $X $RP 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
sleep 0.5
if [ "$TARGET" = twemproxy ]; then
  printf 'pool:\n  listen: 127.0.0.1:%s\n  redis: true\n  preconnect: true\n  servers:\n    - 127.0.0.1:%s:1\n' "$PORT" "$RPORT" > "$TMP/nc.yml"
  nutcracker -c "$TMP/nc.yml" -o "$TMP/nc.log" -s $((PORT + 1)) -a 127.0.0.1 >/dev/null 2>&1 & X=$!
else
  node "$DIST/cli.js" --addr 127.0.0.1:"$RPORT" --port "$PORT" --log-level warn --capacity "$CAP" --ttl 3600 >/dev/null 2>&1 & X=$!
fi
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
V=$(printf 'x%.0s' $(seq 100))
if [ "$CMD" = SET ]; then ARGS=(-r 10000 SET 's:__rand_int__' "$V"); else ARGS=(-r 100000000 GET 'm:__rand_int__'); fi
redis-benchmark -p "$PORT" -c 50 -P "$P" -n "$N" "${ARGS[@]}" >/dev/null 2>&1
EV=raw_syscalls:sys_enter
for s in read write writev readv recvfrom sendto sendmsg recvmsg epoll_wait epoll_pwait epoll_ctl futex; do EV="$EV,syscalls:sys_enter_$s"; done
read -r u0 s0 < <(awk '{print $14" "$15}' /proc/$X/stat)
perf stat -e "$EV" -p "$X" -x, -o "$TMP/stat.txt" & PS=$!
sleep 0.2
RPS=$(redis-benchmark -p "$PORT" -c 50 -P "$P" -n "$N" --csv "${ARGS[@]}" 2>/dev/null | tail -1 | cut -d, -f2 | tr -d '"')
kill -INT $PS; wait $PS
read -r u1 s1 < <(awk '{print $14" "$15}' /proc/$X/stat)
HZ=$(getconf CLK_TCK)
awk -v t="$TARGET" -v c="$CAP" -v cmd="$CMD" -v p="$P" -v n="$N" -v rps="$RPS" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$HZ" -v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
  printf "%s%s %s -P %s, %d requests, %s ops/s; CPU per request: user %.2f us, kernel %.2f us; load average %s\n",
    t, (t == "proxy" ? " --capacity " c : ""), cmd, p, n, rps, u * 1e6 / hz / n, s * 1e6 / hz / n, load }'
awk -F, -v n="$N" '$1 + 0 > 0 { printf "  %-30s %10d  %.3f per request\n", $3, $1, $1 / n }' "$TMP/stat.txt"
