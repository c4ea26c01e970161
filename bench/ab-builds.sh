#!/usr/bin/env bash
# Before/after for a refactor: two (or more) built dist/ folders, run interleaved against one
# redis-server, with redis-benchmark (50 clients): cached GET -P 1/-P 16, SET -P 1/-P 16, GET miss -P 1,
# each with the proxy's CPU ticks (utime+stime) per 100k requests, which move less than rps on a
# shared machine. Usage: ROUNDS=3 N=100000 bench/ab-builds.sh /path/before-dist /path/after-dist
# (each dist must resolve node_modules: copy it inside a checkout, or link node_modules beside it).
set -u
ROUNDS=${ROUNDS:-2}; N=${N:-200000}
RPORT=${RPORT:-6390}; PPORT=${PPORT:-9990}
redis-server --port $RPORT --save '' --appendonly no --daemonize yes >/dev/null
sleep 0.5
redis-cli -p $RPORT set hot hello >/dev/null
ticks() { awk '{print $14+$15}' /proc/$1/stat; }
row() { # name dist args...
  local name=$1 dist=$2; shift 2
  local pid t0 t1 rps
  node $dist/cli.js --addr 127.0.0.1:$RPORT --port $PPORT --log-level warn --capacity 100000 >/dev/null 2>&1 & pid=$!
  for i in $(seq 50); do redis-cli -p $PPORT ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-benchmark -p $PPORT -c 50 -n 20000 "$@" >/dev/null 2>&1   # warm-up
  t0=$(ticks $pid)
  rps=$(redis-benchmark -p $PPORT -c 50 -n $N --csv "$@" 2>/dev/null | tail -1 | cut -d, -f2 | tr -d '"')
  t1=$(ticks $pid)
  kill $pid; wait $pid 2>/dev/null
  printf '%-14s %-16s %10s rps  %6.1f ticks/100k\n' "$(basename $dist)" "$name" "$rps" "$(echo "($t1-$t0)*100000/$N" | bc -l)"
}
for r in $(seq $ROUNDS); do
  for dist in "$@"; do
    row "GET hit -P1" $dist -P 1 GET hot
    row "GET hit -P16" $dist -P 16 GET hot
    row "SET -P1" $dist -P 1 -r 100000 SET k:__rand_int__ v
    row "SET -P16" $dist -P 16 -r 100000 SET k:__rand_int__ v
    row "GET miss -P1" $dist -P 1 -r 100000000 GET m:__rand_int__
  done
done
redis-cli -p $RPORT shutdown nosave >/dev/null 2>&1
