#!/usr/bin/env bash
# The "fanout" workload: 3 demo nodes as separate processes on one Redis, C clients on /bench,
# one publisher on node 0 sending M messages of about B bytes at R/s; prints FanoutBench's JSON
# line: deliveries, duplicates, loss, latency, server CPU (nodes + Redis) per million deliveries.
# Builds nothing: needs a prior `mvn -B -q package -DskipTests`. Options are passed to
# FanoutBench (defaults --clients 300 --messages 20000 --rate 300 --bytes 200).
# Logs go to a temporary folder, kept on failure or with BENCH_KEEP_LOGS=1.
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX="bench-fanout-$RANDOM$RANDOM"
. bench/nodes.sh
start_nodes "$PREFIX"
REDIS_PID=$(pgrep -f "redis-server.*:${REDIS##*:}" | head -1 || true)
NODE_PIDS=$(IFS=,; echo "${PIDS[*]}")
run_bench io.wscluster.bench.FanoutBench \
  --urls "ws://127.0.0.1:$PORT/bench,ws://127.0.0.1:$((PORT + 1))/bench,ws://127.0.0.1:$((PORT + 2))/bench" \
  --pids "$NODE_PIDS${REDIS_PID:+,$REDIS_PID}" "$@"
