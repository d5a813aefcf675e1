#!/usr/bin/env bash
# The "fanout" workload: 3 demo nodes as separate processes on one Redis, C clients on /bench,
# one publisher on node 0 sending M messages of B bytes at R/s; prints FanoutBench's JSON line.
# Needs a prior `mvn -B -q package -DskipTests`. Options are passed to FanoutBench
# (defaults --clients 300 --messages 20000 --rate 300 --bytes 200).
set -euo pipefail
cd "$(dirname "$0")/.."
REDIS="${WSCLUSTER_REDIS_ADDRESS:-redis://127.0.0.1:6379}"
PREFIX="bench-fanout-$RANDOM$RANDOM"
PORT="${BENCH_PORT:-8081}"   # nodes listen on PORT, PORT+1, PORT+2
JAR=webapp-demo/target/wscluster-demo.jar
[ -f "$JAR" ] || { echo "build first: mvn -B -q package -DskipTests" >&2; exit 2; }
CP_FILE=integration-tests/target/bench.classpath
if [ ! -s "$CP_FILE" ]; then
  # in the reactor the demo needs the plugin jar, so package (without tests) on the way
  mvn -B -q -Dstyle.color=never package -DskipTests dependency:build-classpath -Dmdep.includeScope=test \
    -Dmdep.outputFile="$PWD/$CP_FILE" >/dev/null
fi
LOGS=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
for i in 0 1 2; do
  port=$((PORT + i))
  java -Xmx1g -Dwscluster.channel.prefix="$PREFIX" -jar "$JAR" --nodes 1 --port "$port" \
    --redis "$REDIS" --transport redis >"$LOGS/node-$port.log" 2>&1 &
  PIDS+=($!)
done
for i in 0 1 2; do
  port=$((PORT + i))
  for _ in $(seq 1 120); do
    grep -q "ready on" "$LOGS/node-$port.log" && break
    sleep 0.5
  done
  grep -q "ready on" "$LOGS/node-$port.log" || { cat "$LOGS/node-$port.log" >&2; exit 1; }
done
REDIS_PID=$(pgrep -f "redis-server.*:${REDIS##*:}" | head -1 || true)
NODE_PIDS=$(IFS=,; echo "${PIDS[*]}")
java -cp "integration-tests/target/test-classes:$(cat "$CP_FILE")" io.wscluster.bench.FanoutBench \
  --urls "ws://127.0.0.1:$PORT/bench,ws://127.0.0.1:$((PORT + 1))/bench,ws://127.0.0.1:$((PORT + 2))/bench" \
  --pids "$NODE_PIDS${REDIS_PID:+,$REDIS_PID}" "$@" 2>"$LOGS/bench.err" | grep "^{" || { tail -20 "$LOGS/bench.err" >&2; exit 1; }
