#!/usr/bin/env bash
# wscluster and its peer, socket.io 4.8 + @socket.io/redis-adapter 8.3, side by side in one
# invocation: the fan-out workload of bench/fanout.sh (C clients round-robin over N nodes, client 0
# publishes, every client receives every message), the same load generator (FanoutBench, /bench
# frames for wscluster, Engine.IO 4 frames for the peer), each run on a private Redis of its own.
#
# Phases (--phases, default r100,r300,max,outage):
#   r100     R=100 messages/s, 3000 warm-up (30 s) + 3000 measured messages
#   r300     R=300, 9000 (30 s) + 6000
#   max      as fast as a window of 100 messages in flight allows, 10000 + 10000
#   outage   R=300, 2000 + 9900 (33 s): 8 s into the measured stream the script's Redis gets
#            kill -9, 10 s later it is started again on the same port, empty (no persistence),
#            and the stream goes on; default configuration on both sides (no tuning flags)
#   outage30 the same at R=100 with Redis down 30 s, 1000 + 5800 messages: not in the default set
# Every run of every phase starts the nodes and a fresh redis-server of its own (a free port from
# 6400 on, no persistence; the shared Redis on 6379 is never used), runs FanoutBench (warm-up
# messages first: they count for duplicates and loss, not for CPU, throughput or latency; see
# bench/fanout.sh), then stops the nodes and that Redis. The two systems alternate within a run
# (wscluster first in odd runs, socket.io first in even ones); r100, r300 and max run --runs times
# (default 3) and report medians, the outage phases --outage-runs times (default 1).
#
# Reported per phase and system: deliveries/s, latency p50/p99/max, server CPU per delivery (node
# processes + redis-server, CPU-µs = CPU-s per 1M deliveries), duplicates, lost, disconnects
# (connections the server closed or that dropped, at the TCP or WebSocket level or a socket.io
# "41"/Engine.IO "1" close; the generator never reconnects); and wscluster / socket.io ratios of
# the medians (for CPU also per run). For an outage phase, per system: messages sent while Redis was
# down, (client, message) pairs lost before, during and after the outage, and three times from the
# moment the restarted Redis accepts a connection: (a) "held": a message sent during the outage
# first reaches a client of another node than the publisher's; (b) "all": every message sent
# before the restart has reached every client (never, if one was lost); (c) "new": the first
# message sent after the restart has reached every client.
#
# Prints a table on stderr and one JSON line on stdout (CompareReport); exit 0, 1 when wscluster
# had a duplicate, loss or disconnect in some phase (socket.io's are reported, not judged), 2 when
# the benchmark could not run. Logs stay in the printed directory on any non-zero exit
# (BENCH_KEEP_LOGS=1 keeps them always).
#
# Options (defaults): --phases r100,r300,max,outage --runs 3 --outage-runs 1 --nodes 3
#   --clients 300 --bytes 200 --quick (60 clients and 1 run unless given, a few hundred messages per
#   phase and 300 warm-up; the outages keep their length: to check that the command works, not to
#   measure)
# Duration on 2 cores, about 25 s of start-up and stop per run of a system included: the default
# (full) command about 22 minutes (measured: r100, r300 and max 1,128 s in all, 6 runs each of
# about 50 to 80 s; the outage phase about 2.5 minutes); --quick about 5 minutes,
# 9 with outage30 (measured next to other work); --phases outage30 alone about 3 minutes.
# Environment: BENCH_PORT (first wscluster node's port) and PEER_PORT (first socket.io node's),
#   default free ports from 8181 and 8581 on, picked before every run (as is Redis's, from 6400);
#   BENCH_NODE_OPTS (JVM options of the wscluster nodes, see bench/nodes.sh); BENCH_KEEP_LOGS=1.
# Needs a prior `mvn -B -q package -DskipTests`, Node.js and npm (installs bench/peer/node_modules
# once) and redis-server and redis-cli on the PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; }

PHASES=r100,r300,max,outage
RUNS=
OUTAGE_RUNS=1
NODES=3
CLIENTS=
BYTES=200
QUICK=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1; shift; continue ;;
    -h | --help) usage; exit 0 ;;
  esac
  [ $# -ge 2 ] || { echo "option $1 needs a value" >&2; usage; exit 2; }
  case "$1" in
    --phases) PHASES=$2 ;;
    --runs) RUNS=$2 ;;
    --outage-runs) OUTAGE_RUNS=$2 ;;
    --nodes) NODES=$2 ;;
    --clients) CLIENTS=$2 ;;
    --bytes) BYTES=$2 ;;
    *) echo "unknown option $1" >&2; usage; exit 2 ;;
  esac
  shift 2
done
export COMPARE_QUICK=$QUICK   # CompareReport says so
if [ "$QUICK" = 1 ]; then
  RUNS=${RUNS:-1}
  CLIENTS=${CLIENTS:-60}
fi
RUNS=${RUNS:-3}
CLIENTS=${CLIENTS:-300}
for v in "$RUNS" "$OUTAGE_RUNS" "$NODES" "$CLIENTS" "$BYTES"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "'$v' must be a positive integer" >&2; exit 2; }
done
IFS=, read -r -a PHASE_LIST <<<"$PHASES"
for p in "${PHASE_LIST[@]}"; do
  case "$p" in
    r100 | r300 | max | outage | outage30) ;;
    *) echo "unknown phase '$p' (r100, r300, max, outage, outage30)" >&2; exit 2 ;;
  esac
done
command -v node >/dev/null || { echo "needs Node.js and npm" >&2; exit 2; }
command -v redis-server >/dev/null && command -v redis-cli >/dev/null \
  || { echo "needs redis-server and redis-cli on the PATH" >&2; exit 2; }

. bench/ports.sh   # port_free, free_ports
FIXED_BENCH_PORT=${BENCH_PORT:-}
FIXED_PEER_PORT=${PEER_PORT:-}
. bench/nodes.sh   # sets LOGS, CLASSES, CP_FILE; start_nodes, stop_nodes, bench_java
need_open_files $((CLIENTS + 200))
[ -d bench/peer/node_modules ] || (cd bench/peer && npm install --silent --no-audit --no-fund)
BENCH_CLIENT_JAVA="${BENCH_CLIENT_JAVA:--Xmx1g -XX:+UseSerialGC}"

# ---------------------------------------------------------------- ports and the private Redis
# pick_ports: free ports for this run's Redis, wscluster nodes (PORT, see bench/nodes.sh) and
# socket.io nodes, chosen afresh before every run from a random start, so that another benchmark
# starting meanwhile on this machine does not take them between two runs
pick_ports() {
  RPORT=$(free_ports $((6400 + RANDOM % 100)) 1)
  PORT=${FIXED_BENCH_PORT:-$(free_ports $((8181 + NODES * (RANDOM % 30))) "$NODES")}
  PEER_PORT=${FIXED_PEER_PORT:-$(free_ports $((8581 + NODES * (RANDOM % 30))) "$NODES")}
  REDIS="redis://127.0.0.1:$RPORT"
  WSCLUSTER_REDIS_ADDRESS=$REDIS
  REDIS_ARGS=(--port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes
    --pidfile "$LOGS/redis.pid" --logfile "$LOGS/redis.log" --dir "$LOGS")
  REDIS_START=$(printf '%q ' redis-server "${REDIS_ARGS[@]}")
  REDIS_KILL="kill -9 \$(cat $(printf '%q' "$LOGS/redis.pid"))"
}
RPID=
redis_start() {
  rm -f "$LOGS/redis.pid"
  redis-server "${REDIS_ARGS[@]}"
  for _ in $(seq 1 100); do
    [ "$(redis-cli -p "$RPORT" ping 2>/dev/null)" = PONG ] && [ -s "$LOGS/redis.pid" ] && break
    sleep 0.05
  done
  [ "$(redis-cli -p "$RPORT" ping 2>/dev/null)" = PONG ] \
    || { cat "$LOGS/redis.log" >&2; echo "private redis-server on $RPORT did not start" >&2; exit 2; }
  RPID=$(cat "$LOGS/redis.pid")
}
# redis_stop: SIGTERM to the private Redis (its pid file: the restarted one after an outage)
redis_stop() {
  local pid
  pid=$(cat "$LOGS/redis.pid" 2>/dev/null || true)
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$LOGS/redis.pid"
  RPID=
}

# ---------------------------------------------------------------- the peer's nodes
PEER_PIDS=()
start_peers() {
  local label=$1 key="bench-compare-$RANDOM$RANDOM" i port
  for ((i = 0; i < NODES; i++)); do
    port_free $((PEER_PORT + i)) || { echo "port $((PEER_PORT + i)) is in use" >&2; exit 2; }
  done
  echo "bench: $NODES socket.io node(s) on $WSCLUSTER_REDIS_ADDRESS, ports $PEER_PORT-$((PEER_PORT + NODES - 1)), logs $LOGS" >&2
  for ((i = 0; i < NODES; i++)); do
    port=$((PEER_PORT + i))
    node bench/peer/server.js "$port" "$WSCLUSTER_REDIS_ADDRESS" "$key" >"$LOGS/$label-$port.log" 2>&1 &
    PEER_PIDS+=($!)
  done
  for ((i = 0; i < NODES; i++)); do
    local log="$LOGS/$label-$((PEER_PORT + i)).log"
    for _ in $(seq 1 100); do grep -q "ready on" "$log" && break; sleep 0.1; done
    grep -q "ready on" "$log" || { cat "$log" >&2; exit 2; }
  done
}
stop_peers() {
  stop_processes ${PEER_PIDS[@]+"${PEER_PIDS[@]}"}
  PEER_PIDS=()
}
peer_urls() {
  local i urls=()
  for ((i = 0; i < NODES; i++)); do
    urls+=("ws://127.0.0.1:$((PEER_PORT + i))/socket.io/?EIO=4&transport=websocket")
  done
  (IFS=,; echo "${urls[*]}")
}
compare_cleanup() {
  cleanup   # bench/nodes.sh: the generator and the wscluster nodes
  stop_peers
  redis_stop
}
trap compare_cleanup EXIT

# ---------------------------------------------------------------- the phases
# settings PHASE: RATE WARMUP MESSAGES OUTAGE_AT OUTAGE_SECONDS ("-" for no outage), full or quick
settings() {
  local full quick
  case "$1" in
    # warm-ups of about 30 s: the JIT compilers of three node JVMs still take a fifth of the
    # machine 20 s after start, and the peer's V8 warms faster: measuring sooner measures the JIT
    r100) full="100 3000 3000 - -" quick="100 300 300 - -" ;;
    r300) full="300 9000 6000 - -" quick="300 300 600 - -" ;;
    max) full="max 10000 10000 - -" quick="max 300 1000 - -" ;;
    # kill 8 s into the stream, 10 s down, 15 s after (quick: 3 s, 10 s, 8 s)
    outage) full="300 2000 9900 8 10" quick="300 300 6300 3 10" ;;
    # kill 8 s in, 30 s down, 20 s after (quick: 3 s, 30 s, 10 s)
    outage30) full="100 1000 5800 8 30" quick="100 300 4300 3 30" ;;
  esac
  if [ "$QUICK" = 1 ]; then echo "$quick"; else echo "$full"; fi
}

FILES=()
# run SYSTEM PHASE RUN: one run of one system in one phase, each with a fresh private Redis
run() {
  local sys=$1 phase=$2 n=$3 rate warmup messages at down
  read -r rate warmup messages at down <<<"$(settings "$phase")"
  local out="$LOGS/$phase-$sys-$n.json" err="$LOGS/$phase-$sys-$n.err" status=0 args=() pids
  pick_ports
  redis_start
  args=(--phase "$phase" --clients "$CLIENTS" --bytes "$BYTES" --rate "$rate" --warmup "$warmup"
    --messages "$messages")
  [ "$at" != - ] && args+=(--outage-at "$at" --outage-seconds "$down" --outage-kill "$REDIS_KILL"
    --outage-restart "$REDIS_START" --outage-redis "127.0.0.1:$RPORT")
  if [ "$sys" = ws ]; then
    start_nodes "bench-compare-$RANDOM$RANDOM" "$NODES" redis "$phase-ws$n"
    pids=$(IFS=,; echo "${PIDS[*]}")
    bench_java "$out" "$err" io.wscluster.bench.FanoutBench "${args[@]}" --protocol ws \
      --transport redis --urls "$(node_urls ws /bench)" --node-pids "$pids" --redis-pid "$RPID" \
      || status=$?
    stop_nodes
  else
    start_peers "$phase-sio$n"
    pids=$(IFS=,; echo "${PEER_PIDS[*]}")
    bench_java "$out" "$err" io.wscluster.bench.FanoutBench "${args[@]}" --protocol socketio \
      --transport socket.io-redis-adapter --urls "$(peer_urls)" --node-pids "$pids" \
      --redis-pid "$RPID" || status=$?
    stop_peers
  fi
  redis_stop
  grep -E "^(fanout |WARNING)" "$err" | sed "s/^fanout /$sys /" >&2 || true
  case "$status" in
    0 | 1) FILES+=("$out") ;;
    *) tail -20 "$err" >&2; echo "FanoutBench ($phase, $sys, run $n) exited with $status; logs in $LOGS" >&2
       exit 2 ;;
  esac
}

start=$(date +%s)
echo "compare: phases $PHASES, $RUNS run(s) (outage $OUTAGE_RUNS), $NODES nodes, $CLIENTS clients," \
  "$BYTES B; a private Redis per run; logs $LOGS" >&2
for phase in "${PHASE_LIST[@]}"; do
  runs=$RUNS
  case "$phase" in outage*) runs=$OUTAGE_RUNS ;; esac
  for ((n = 1; n <= runs; n++)); do
    echo "compare: $phase run $n of $runs ($(( $(date +%s) - start )) s in)" >&2
    if [ $((n % 2)) = 1 ]; then run ws "$phase" "$n"; run sio "$phase" "$n"
    else run sio "$phase" "$n"; run ws "$phase" "$n"; fi
  done
done

status=0
report io.wscluster.bench.CompareReport "${FILES[@]}" || status=$?
echo "compare: $(( $(date +%s) - start )) s" >&2
if [ "$status" != 0 ]; then
  echo "logs and phase lines in $LOGS" >&2
  exit "$status"
fi
[ -n "${BENCH_KEEP_LOGS:-}" ] || rm -rf "$LOGS"
