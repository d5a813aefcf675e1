#!/usr/bin/env bash
# The "targeted" workload: 3 demo nodes as separate processes on one Redis, N chat sessions spread
# round-robin over them, one driver on node 0 sending to random sessions with a receipt, measured
# two ways: wscluster's deliver (directory lookup + routed send) and the fetchSockets baseline
# (GET /sessions on every node, search, then the same deliver). Prints TargetedBench's table and
# JSON line (the last line). Builds nothing: needs a prior `mvn -B -q package -DskipTests`.
# Options are passed to TargetedBench (defaults --sessions 1000 --window 16 --warmup 200
# --requests 2000 per mode, --rounds 4). Example: bench/targeted.sh --sessions 10000
# Logs (nodes, bench) go to a temporary folder, kept on failure or with BENCH_KEEP_LOGS=1.
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX="bench-targeted-$RANDOM$RANDOM"

# every session is a socket in this script's client JVM (and a third of them in each node)
SESSIONS=1000
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [ "${args[$i]}" = "--sessions" ] && SESSIONS="${args[$((i + 1))]:-$SESSIONS}"
done

. bench/nodes.sh
need_open_files $((SESSIONS + 500))
start_nodes "$PREFIX"
run_bench io.wscluster.bench.TargetedBench --urls "$(node_urls http "")" "$@"
