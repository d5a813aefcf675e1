# Sourced by the bench scripts: the classpath of the bench mains and 3 demo nodes as separate
# processes on one Redis. Expects the caller to have set -euo pipefail and cd'ed to the repo root.
# Sets: REDIS, PORT, JAR, CLASSES, LOGS, CP_FILE, PIDS; defines start_nodes and the cleanup trap.
REDIS="${WSCLUSTER_REDIS_ADDRESS:-redis://127.0.0.1:6379}"
PORT="${BENCH_PORT:-8081}"   # nodes listen on PORT, PORT+1, PORT+2
JAR=webapp-demo/target/wscluster-demo.jar
CLASSES=integration-tests/target/test-classes
if [ ! -f "$JAR" ] || [ ! -d "$CLASSES/io/wscluster/bench" ]; then
  echo "build first: mvn -B -q package -DskipTests" >&2
  exit 2
fi
for i in 0 1 2; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$((PORT + i))") 2>/dev/null; then
    echo "port $((PORT + i)) is already in use; stop what listens there or set BENCH_PORT" >&2
    exit 2
  fi
done

LOGS=$(mktemp -d "${TMPDIR:-/tmp}/wscluster-bench.XXXXXX")
# The test classpath, without building: naming the compile phase lets the reactor resolve the
# plugin and the demo to their target/classes (compilers and resources skipped). Every module
# writes the file in turn; integration-tests, the last in reactor order, writes it last.
CP_FILE="$LOGS/classpath"
mvn -B -o -q -Dstyle.color=never -pl integration-tests -am compile dependency:build-classpath \
  -Dmaven.main.skip=true -Dmaven.resources.skip=true -Dmdep.includeScope=test \
  -Dmdep.outputFile="$CP_FILE" >"$LOGS/mvn.log" 2>&1 \
  || { cat "$LOGS/mvn.log" >&2; echo "could not resolve the test classpath (offline)" >&2; exit 2; }
grep -q jetty-websocket-jetty-client "$CP_FILE" \
  || { echo "unexpected classpath in $CP_FILE" >&2; exit 2; }

PIDS=()
BENCH_PID=
cleanup() {
  [ -n "$BENCH_PID" ] && kill "$BENCH_PID" 2>/dev/null || true
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  # a graceful stop removes each node's lease and directory entries; wait for it, briefly
  for _ in $(seq 1 30); do
    alive=0
    for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.5
  done
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_nodes PREFIX: 3 launchers with their own channel prefix; returns once all are ready
start_nodes() {
  echo "bench: Redis $REDIS, channel prefix $1, nodes on $PORT-$((PORT + 2)), logs $LOGS" >&2
  for i in 0 1 2; do
    local port=$((PORT + i))
    java -Xmx1g -Dwscluster.channel.prefix="$1" -jar "$JAR" --nodes 1 --port "$port" \
      --redis "$REDIS" --transport redis >"$LOGS/node-$port.log" 2>&1 &
    PIDS+=($!)
  done
  for i in 0 1 2; do
    local port=$((PORT + i))
    for _ in $(seq 1 120); do
      grep -q "ready on" "$LOGS/node-$port.log" && break
      kill -0 "${PIDS[$i]}" 2>/dev/null || break
      sleep 0.5
    done
    grep -q "ready on" "$LOGS/node-$port.log" || { cat "$LOGS/node-$port.log" >&2; exit 1; }
  done
}

# run_bench MAIN ARGS...: runs a bench main on the test classpath; prints its stdout; fails loudly
run_bench() {
  local main=$1
  shift
  java -Xmx2g -cp "$CLASSES:$(cat "$CP_FILE")" "$main" "$@" >"$LOGS/bench.out" 2>"$LOGS/bench.err" &
  BENCH_PID=$!
  local status=0
  wait "$BENCH_PID" || status=$?
  BENCH_PID=
  cat "$LOGS/bench.out"
  if [ "$status" != 0 ]; then
    tail -20 "$LOGS/bench.err" >&2
    echo "$main exited with $status; logs in $LOGS" >&2
    exit "$status"
  fi
  grep WARNING "$LOGS/bench.err" >&2 || true
  [ -n "${BENCH_KEEP_LOGS:-}" ] || rm -rf "$LOGS"
}
