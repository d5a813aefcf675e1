#!/usr/bin/env bash
# The "fanout" workload, two phases per run, side by side:
#   cluster: N demo nodes as separate processes (default 3) on one Redis, with a fresh channel prefix
#   local:   1 demo node with the in-memory transport (no Redis): the same work without clustering
# In each, C clients connect round-robin to the nodes' /bench; client 0 publishes M messages of about
# B bytes at R/s (or, with --rate max, as fast as a window of W messages not yet received by every
# client allows), after a warm-up of 2000 messages (7 s at 300/s) that counts for duplicates and loss only. Every
# client records each (client, id): duplicates, loss, latency. See FanoutBench and FanoutReport.
#
# A third phase, floor, measures the machine's limit for the same clients, rate and bytes (6 s,
# not with --rate max): LoopbackFloor writes ready-made frames to loopback sockets, one write per
# delivery, with no server at all; the report divides the server CPU per delivery by it.
#
# Prints a table on stderr and exactly one JSON line on stdout (both phases, the clustered/local
# server CPU ratio, the machine); exits 1 on any duplicate or loss, 2 on a failure to run.
# Builds nothing: needs a prior `mvn -B -q package -DskipTests`.
#
# Options (defaults): --nodes 3 --clients 300 --messages 20000 --rate 300 (or max) --window 100
#   --bytes 200 --local-messages 3000 (never more than --messages) --no-local --no-floor --runs 1
#   --threads 2 --warmup 2000 (7 s at 300/s: the nodes' JIT compilation is mostly over before the CPU is
#   measured); --runs K repeats both phases K times and reports medians.
# Environment: WSCLUSTER_REDIS_ADDRESS (default redis://127.0.0.1:6379), BENCH_PORT (first node's
#   port, default 8081), BENCH_NODE_OPTS (JVM options added to every node, "{node}" replaced by
#   <phase><run>-<port>: BENCH_NODE_OPTS='-XX:StartFlightRecording=filename=/tmp/{node}.jfr'),
#   BENCH_KEEP_LOGS=1 keeps the logs and phase lines (kept anyway on failure).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; }

NODES=3
CLIENTS=300
MESSAGES=20000
LOCAL_MESSAGES=
RUNS=1
LOCAL=1
FLOOR=1
RATE=300
BYTES=200
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-local) LOCAL=0; shift; continue ;;
    --no-floor) FLOOR=0; shift; continue ;;
    -h | --help) usage; exit 0 ;;
  esac
  [ $# -ge 2 ] || { echo "option $1 needs a value" >&2; usage; exit 2; }
  case "$1" in
    --nodes) NODES=$2 ;;
    --clients) CLIENTS=$2; ARGS+=("$1" "$2") ;;
    --messages) MESSAGES=$2 ;;
    --local-messages) LOCAL_MESSAGES=$2 ;;
    --runs) RUNS=$2 ;;
    --rate) RATE=$2; ARGS+=("$1" "$2") ;;
    --bytes) BYTES=$2; ARGS+=("$1" "$2") ;;
    --window | --threads | --warmup) ARGS+=("$1" "$2") ;;
    *) echo "unknown option $1" >&2; usage; exit 2 ;;
  esac
  shift 2
done
for v in "$NODES" "$RUNS" "$MESSAGES" "${LOCAL_MESSAGES:-1}"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "'$v' must be a positive integer" >&2; exit 2; }
done
if [ -z "$LOCAL_MESSAGES" ]; then
  LOCAL_MESSAGES=$((MESSAGES < 3000 ? MESSAGES : 3000))
fi

. bench/nodes.sh
need_open_files $((CLIENTS + 200))
if [ -z "$REDIS_PID" ]; then
  echo "WARNING: no redis-server process for $REDIS here: Redis CPU is not counted" >&2
fi
# the generator's heap holds a bit per (client, message) and a few histograms
BENCH_CLIENT_JAVA="${BENCH_CLIENT_JAVA:--Xmx1g -XX:+UseSerialGC}"

PHASES=()
FAILED=0
# phase NAME RUN NODES TRANSPORT MESSAGES: starts the nodes, runs FanoutBench, stops the nodes
phase() {
  local name=$1 run=$2 count=$3 transport=$4 messages=$5
  local out="$LOGS/$name-$run.json" err="$LOGS/$name-$run.err" status=0
  start_nodes "bench-fanout-$RANDOM$RANDOM" "$count" "$transport" "$name$run"
  local pids
  pids=$(IFS=,; echo "${PIDS[*]}")
  local redis=()
  [ "$transport" = redis ] && [ -n "$REDIS_PID" ] && redis=(--redis-pid "$REDIS_PID")
  bench_java "$out" "$err" io.wscluster.bench.FanoutBench --phase "$name" \
    --transport "$transport" --urls "$(node_urls ws /bench)" --node-pids "$pids" \
    ${redis[@]+"${redis[@]}"} ${ARGS[@]+"${ARGS[@]}"} --messages "$messages" || status=$?
  stop_nodes
  grep -E "^(fanout |WARNING)" "$err" >&2 || true
  case "$status" in
    0) ;;
    1) FAILED=1 ;;
    *) tail -20 "$err" >&2; echo "FanoutBench ($name, run $run) exited with $status; logs in $LOGS" >&2
       exit 2 ;;
  esac
  PHASES+=("$out")
}

# floor RUN: the machine's limit at this workload's clients, rate and bytes, no server running
floor() {
  local out="$LOGS/floor-$1.json" err="$LOGS/floor-$1.err" status=0
  bench_java "$out" "$err" io.wscluster.bench.LoopbackFloor --clients "$CLIENTS" --rate "$RATE" \
    --bytes "$BYTES" --seconds 6 || status=$?
  if [ "$status" != 0 ]; then
    tail -20 "$err" >&2; echo "LoopbackFloor (run $1) exited with $status; logs in $LOGS" >&2
    exit 2
  fi
  PHASES+=("$out")
}
[ "$RATE" = max ] && FLOOR=0

for ((run = 1; run <= RUNS; run++)); do
  phase cluster "$run" "$NODES" redis "$MESSAGES"
  if [ "$LOCAL" = 1 ]; then phase local "$run" 1 memory "$LOCAL_MESSAGES"; fi
  if [ "$FLOOR" = 1 ]; then floor "$run"; fi
done

status=0
report io.wscluster.bench.FanoutReport "${PHASES[@]}" || status=$?
if [ "$status" != 0 ] || [ "$FAILED" != 0 ]; then
  echo "duplicates or loss (or a failed report): logs and phase lines in $LOGS" >&2
  exit $((status > 1 ? 2 : 1))
fi
[ -n "${BENCH_KEEP_LOGS:-}" ] || rm -rf "$LOGS"
