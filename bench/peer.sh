#!/usr/bin/env bash
# The fan-out workload against the peer: socket.io 4.8 + @socket.io/redis-adapter 8.3, one Node.js
# process per node (bench/peer/server.js) on the same Redis, driven by the same load generator as
# bench/fanout.sh (FanoutBench with --protocol socketio: Engine.IO 4 frames, "42["m",{...}]").
# Prints FanoutBench's summary line on stderr and its JSON line on stdout. Run it next to
# `bench/fanout.sh --no-local --no-floor` with the same options to compare in one session.
# Needs Node.js and npm (installs bench/peer/node_modules once) and a prior
# `mvn -B -q package -DskipTests`. Options (defaults): --rate 300|max --messages 6000
# --warmup 2000 --clients 300 --bytes 200 --window 100; environment WSCLUSTER_REDIS_ADDRESS,
# PEER_PORT (first node's port, default 8581).
set -euo pipefail
cd "$(dirname "$0")/.."
REDIS="${WSCLUSTER_REDIS_ADDRESS:-redis://127.0.0.1:6379}"
PORT="${PEER_PORT:-8581}"
CLASSES=integration-tests/target/test-classes
[ -d "$CLASSES/io/wscluster/bench" ] || { echo "build first: mvn -B -q package -DskipTests" >&2; exit 2; }
command -v node >/dev/null || { echo "needs Node.js and npm" >&2; exit 2; }
[ -d bench/peer/node_modules ] || (cd bench/peer && npm install --silent --no-audit --no-fund)
LOGS=$(mktemp -d "${TMPDIR:-/tmp}/wscluster-peer.XXXXXX")
mvn -B -o -q -Dstyle.color=never -pl integration-tests -am compile dependency:build-classpath \
  -Dmaven.main.skip=true -Dmaven.resources.skip=true -Dmdep.includeScope=test \
  -Dmdep.outputFile="$LOGS/classpath" >"$LOGS/mvn.log" 2>&1 \
  || { cat "$LOGS/mvn.log" >&2; exit 2; }
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
KEY="bench-peer-$RANDOM$RANDOM"
URLS=()
for i in 0 1 2; do
  node bench/peer/server.js $((PORT + i)) "$REDIS" "$KEY" >"$LOGS/node-$i.log" 2>&1 &
  PIDS+=($!)
  URLS+=("ws://127.0.0.1:$((PORT + i))/socket.io/?EIO=4&transport=websocket")
done
for i in 0 1 2; do
  for _ in $(seq 1 50); do grep -q "ready on" "$LOGS/node-$i.log" && break; sleep 0.2; done
  grep -q "ready on" "$LOGS/node-$i.log" || { cat "$LOGS/node-$i.log" >&2; exit 2; }
done
REDIS_PID=$(pgrep -f "redis-server.*:${REDIS##*:}" | head -1 || true)
java -Xmx1g -XX:+UseSerialGC -cp "$CLASSES:$(cat "$LOGS/classpath")" io.wscluster.bench.FanoutBench \
  --protocol socketio --urls "$(IFS=,; echo "${URLS[*]}")" --node-pids "$(IFS=,; echo "${PIDS[*]}")" \
  ${REDIS_PID:+--redis-pid "$REDIS_PID"} --messages 6000 "$@" 2>"$LOGS/bench.err" \
  || { tail -20 "$LOGS/bench.err" >&2; echo "logs in $LOGS" >&2; exit 1; }
grep "^fanout" "$LOGS/bench.err" >&2 || true
rm -rf "$LOGS"
