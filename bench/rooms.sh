#!/usr/bin/env bash
# The "rooms" workload (io.wscluster.RoomsBench, module benchmarks): N light nodes in one JVM
# (real cluster nodes on the Redis backend, sessions that count their writes) on a private
# redis-server this script starts on a free port and stops; R rooms with members on K nodes each;
# messages from random nodes to random rooms at a fixed rate. Per message: Redis's bytes out
# (INFO stats total_net_output_bytes) and the frames the nodes received, with rooms on the
# broadcast channel (before room channels) and on the rooms' channels, for 3, 6 and 12 nodes.
# Options go to RoomsBench (defaults --nodes 3,6,12 --rooms 60 --spread 2 --sessions 2
# --messages 2000 --warmup 500 --rate 500 --bytes 200). Example: bench/rooms.sh --spread 3
# Prints the table on stderr and one JSON line on stdout. About a minute.
# Builds nothing: needs a prior `mvn -B -q package -DskipTests`.
set -euo pipefail
cd "$(dirname "$0")/.."
CLASSES=benchmarks/target/classes
if [ ! -f "$CLASSES/io/wscluster/RoomsBench.class" ]; then
  echo "build first: mvn -B -q package -DskipTests" >&2
  exit 2
fi
command -v redis-server >/dev/null || { echo "redis-server is not on PATH" >&2; exit 2; }
LOGS=$(mktemp -d "${TMPDIR:-/tmp}/wscluster-rooms.XXXXXX")
REDIS_PID=
cleanup() {
  [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null || true
  rm -rf "$LOGS"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# the module's class path without building (see bench/nodes.sh for the trick)
mvn -B -o -q -Dstyle.color=never -pl benchmarks -am compile dependency:build-classpath \
  -Dmaven.main.skip=true -Dmaven.resources.skip=true -Dmdep.includeScope=runtime \
  -Dmdep.outputFile="$LOGS/classpath" >"$LOGS/mvn.log" 2>&1 \
  || { cat "$LOGS/mvn.log" >&2; echo "could not resolve the benchmarks' class path (offline)" >&2; exit 2; }

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --bind 127.0.0.1 --port "$PORT" --save "" --appendonly no >"$LOGS/redis.log" 2>&1 &
REDIS_PID=$!
for _ in $(seq 1 100); do
  grep -q "Ready to accept connections" "$LOGS/redis.log" && break
  sleep 0.05
done
java -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$CLASSES:$(cat "$LOGS/classpath")" \
  io.wscluster.RoomsBench --redis "redis://127.0.0.1:$PORT" "$@"
