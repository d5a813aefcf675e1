#!/usr/bin/env bash
# The fan-out workload of bench/fanout.sh (its cluster phase: N demo nodes, C clients, client 0
# publishing) on two Redis topologies side by side, in one invocation, each started here on private
# ports and stopped at the end:
#   single:  one redis-server
#   cluster: a Redis Cluster of --masters masters (default 3) with --replicas replicas each (default
#            0), made with redis-cli --cluster create; the nodes load config/redisson-cluster.yaml
#            with its addresses replaced by the masters' (WSCLUSTER_REDIS_CONFIG, see bench/nodes.sh)
# Persistence is off on every server; the shared Redis on 6379 is never used. Redis CPU counts every
# server of the topology. The two alternate within a run (single first in odd runs, the cluster first
# in even ones).
#
# Prints per run and topology the deliveries/s, latency p50/p99 and server CPU per delivery (nodes +
# Redis, CPU-s per 1M deliveries) on stderr, and one JSON line on stdout: {"single":[runs],
# "cluster":[runs]} with fanout.sh's JSON line per run. Exit 1 if a run had duplicates or loss,
# 2 if something could not run.
#
# Options: --masters M (3, at least 3) --replicas R (0) --runs K (1); any other option goes to
#   bench/fanout.sh (e.g. --messages 20000 --rate 300 --clients 300 --nodes 3).
# Environment: BENCH_PORT (first node's port; default a free one from 8281 on), BENCH_KEEP_LOGS=1
#   (keeps fanout.sh's logs, and the servers' directory).
# Needs redis-server, redis-cli and jq on the PATH, and a prior `mvn -B -q package -DskipTests`.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; }

MASTERS=3
REPLICAS=0
RUNS=1
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --no-local | --no-floor) shift; continue ;;
  esac
  [ $# -ge 2 ] || { echo "option $1 needs a value" >&2; usage; exit 2; }
  case "$1" in
    --masters) MASTERS=$2 ;;
    --replicas) REPLICAS=$2 ;;
    --runs) RUNS=$2 ;;
    *) ARGS+=("$1" "$2") ;;
  esac
  shift 2
done
[[ "$MASTERS" =~ ^[0-9]+$ ]] && [ "$MASTERS" -ge 3 ] || { echo "--masters must be at least 3" >&2; exit 2; }
[[ "$REPLICAS" =~ ^[0-9]+$ ]] || { echo "--replicas must be a number" >&2; exit 2; }
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "--runs must be a positive integer" >&2; exit 2; }
for tool in redis-server redis-cli jq; do
  command -v "$tool" >/dev/null || { echo "needs $tool on the PATH" >&2; exit 2; }
done

. bench/ports.sh
DIR=$(mktemp -d "${TMPDIR:-/tmp}/wscluster-redis-topologies.XXXXXX")
STARTED=()
cleanup() {
  local p
  for p in ${STARTED[@]+"${STARTED[@]}"}; do kill "$p" 2>/dev/null || true; done
  for p in ${STARTED[@]+"${STARTED[@]}"}; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  [ -n "${BENCH_KEEP_LOGS:-}" ] && echo "servers' directory: $DIR" >&2 || rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# redis PORT [ARGS...]: a redis-server on PORT in a directory of its own; appends its pid to STARTED
redis() {
  local port=$1
  shift
  mkdir -p "$DIR/$port"
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    --dir "$DIR/$port" "$@" >"$DIR/$port/redis.log" 2>&1 &
  STARTED+=($!)
  for _ in $(seq 1 100); do
    [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && return 0
    sleep 0.05
  done
  cat "$DIR/$port/redis.log" >&2
  echo "redis-server on $port did not start" >&2
  exit 2
}

# the single server
SINGLE_PORT=$(free_ports $((6600 + RANDOM % 100)) 1)
redis "$SINGLE_PORT"
SINGLE_PID=${STARTED[-1]}

# the cluster: COUNT consecutive ports whose bus ports (+10000) are free too
COUNT=$((MASTERS * (1 + REPLICAS)))
while true; do
  CLUSTER_PORT=$(free_ports $((7400 + RANDOM % 500)) "$COUNT")
  BUS_PORT=$(free_ports $((CLUSTER_PORT + 10000)) "$COUNT")
  [ "$BUS_PORT" = $((CLUSTER_PORT + 10000)) ] && break
done
NODES_ADDR=()
CLUSTER_PIDS=()
for ((i = 0; i < COUNT; i++)); do
  redis $((CLUSTER_PORT + i)) --cluster-enabled yes --cluster-config-file nodes.conf
  CLUSTER_PIDS+=("${STARTED[-1]}")
  NODES_ADDR+=("127.0.0.1:$((CLUSTER_PORT + i))")
done
redis-cli --cluster create "${NODES_ADDR[@]}" --cluster-replicas "$REPLICAS" --cluster-yes \
  >"$DIR/cluster-create.log" 2>&1 || { cat "$DIR/cluster-create.log" >&2; exit 2; }
for ((i = 0; i < COUNT; i++)); do
  for _ in $(seq 1 200); do
    redis-cli -p $((CLUSTER_PORT + i)) cluster info | grep -q 'cluster_state:ok' && break
    sleep 0.05
  done
  redis-cli -p $((CLUSTER_PORT + i)) cluster info | grep -q 'cluster_state:ok' \
    || { echo "the cluster node on $((CLUSTER_PORT + i)) is not ok" >&2; exit 2; }
done
# the example, its three addresses replaced by the first three masters'
YAML="$DIR/redisson-cluster.yaml"
awk -v p="$CLUSTER_PORT" 'match($0, /"rediss?:\/\/[^"]+"/) && n < 3 {
    $0 = substr($0, 1, RSTART - 1) "\"redis://127.0.0.1:" (p + n++) "\"" substr($0, RSTART + RLENGTH)
  } { print } END { if (n != 3) exit 1 }' config/redisson-cluster.yaml >"$YAML" \
  || { echo "config/redisson-cluster.yaml does not name three addresses" >&2; exit 2; }
echo "bench: single redis-server on $SINGLE_PORT; Redis Cluster of $MASTERS masters and" \
  "$((MASTERS * REPLICAS)) replicas on $CLUSTER_PORT-$((CLUSTER_PORT + COUNT - 1)); $YAML" >&2

# fanout TOPOLOGY RUN: one fanout.sh cluster phase on that topology; its JSON line to DIR/TOPOLOGY-RUN.json
FAILED=0
fanout() {
  local topology=$1 run=$2 status=0 port
  port=${BENCH_PORT:-$(free_ports $((8281 + 3 * (RANDOM % 40))) 8)}
  echo "--- run $run: $topology" >&2
  if [ "$topology" = single ]; then
    env -u WSCLUSTER_REDIS_CONFIG WSCLUSTER_REDIS_ADDRESS="redis://127.0.0.1:$SINGLE_PORT" \
      BENCH_REDIS_PIDS="$SINGLE_PID" BENCH_PORT="$port" \
      bench/fanout.sh --no-local --no-floor ${ARGS[@]+"${ARGS[@]}"} >"$DIR/$topology-$run.json" || status=$?
  else
    env -u WSCLUSTER_REDIS_ADDRESS WSCLUSTER_REDIS_CONFIG="$YAML" \
      BENCH_REDIS_PIDS="$(IFS=,; echo "${CLUSTER_PIDS[*]}")" BENCH_PORT="$port" \
      bench/fanout.sh --no-local --no-floor ${ARGS[@]+"${ARGS[@]}"} >"$DIR/$topology-$run.json" || status=$?
  fi
  case "$status" in
    0) ;;
    1) FAILED=1 ;;
    *) echo "bench/fanout.sh on $topology (run $run) exited with $status" >&2; exit 2 ;;
  esac
}
for ((run = 1; run <= RUNS; run++)); do
  if ((run % 2 == 1)); then fanout single "$run"; fanout cluster "$run"
  else fanout cluster "$run"; fanout single "$run"; fi
done

{
  printf '%-8s %4s %14s %9s %9s %22s %5s %5s\n' topology run deliveries/s p50-ms p99-ms \
    server-CPU-s/1M-deliv dup lost
  for topology in single cluster; do
    for ((run = 1; run <= RUNS; run++)); do
      jq -r --arg t "$topology" --arg r "$run" '[$t, $r, .cluster.deliveriesPerSec,
          .cluster.latencyMs.p50, .cluster.latencyMs.p99,
          .cluster.serverCpuSecondsPerMillionDeliveries, .duplicates, .lost] | @tsv' \
        "$DIR/$topology-$run.json" | awk -F'\t' '{ printf "%-8s %4s %14s %9s %9s %22s %5s %5s\n",
          $1, $2, $3, $4, $5, $6, $7, $8 }'
    done
  done
} >&2
jq -c -s --argjson runs "$RUNS" '{workload: "fanout-topologies", single: .[0:$runs], cluster: .[$runs:]}' \
  $(for t in single cluster; do for ((r = 1; r <= RUNS; r++)); do echo "$DIR/$t-$r.json"; done; done)
[ "$FAILED" = 0 ] || { echo "duplicates or loss in some run" >&2; exit 1; }
