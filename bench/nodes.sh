# Sourced by the bench scripts: the classpath of the bench mains, and demo nodes as separate
# processes (one launcher each, `wscluster-demo.jar --nodes 1`) on one Redis. Expects the caller to
# have set -euo pipefail and cd'ed to the repo root.
# Sets: REDIS, REDIS_PID (empty when Redis is no local process), PORT, JAR, CLASSES, LOGS, CP_FILE,
# PIDS (of the running nodes); defines start_nodes, stop_nodes, stop_processes, node_urls, bench_java,
# report, run_bench, need_open_files and the cleanup trap.
# BENCH_NODE_OPTS: JVM options appended to every node's (split on spaces, no quoting); "{node}" in
# them becomes the node's label and port, e.g. -XX:StartFlightRecording=filename=/tmp/{node}.jfr
# WSCLUSTER_REDIS_CONFIG: a Redisson YAML file (a Redis Cluster or Sentinel, say) the nodes use
# instead of WSCLUSTER_REDIS_ADDRESS; BENCH_REDIS_PIDS: the Redis server processes whose CPU
# counts as the cluster's (comma-separated), instead of the one found listening on the address.
REDIS="${WSCLUSTER_REDIS_ADDRESS:-redis://127.0.0.1:6379}"
REDIS_CONFIG="${WSCLUSTER_REDIS_CONFIG:-}"
PORT="${BENCH_PORT:-8081}"   # node i listens on PORT+i
JAR=webapp-demo/target/wscluster-demo.jar
CLASSES=integration-tests/target/test-classes
if [ ! -f "$JAR" ] || [ ! -d "$CLASSES/io/wscluster/bench" ]; then
  echo "build first: mvn -B -q package -DskipTests" >&2
  exit 2
fi
# the Redis server process, when it runs here: its CPU time counts as the cluster's
REDIS_PORT=${REDIS##*:}
REDIS_PORT=${REDIS_PORT%%/*}
if [ -n "${BENCH_REDIS_PIDS:-}" ]; then
  REDIS_PID=$BENCH_REDIS_PIDS
elif [ -n "$REDIS_CONFIG" ]; then
  REDIS_PID=
else
  REDIS_PID=$(pgrep -f "redis-server.*:${REDIS_PORT}( |$)" | head -1 || true)
fi

LOGS=$(mktemp -d "${TMPDIR:-/tmp}/wscluster-bench.XXXXXX")
# The test classpath, without building: naming the compile phase lets the reactor resolve the
# plugin and the demo to their target/classes (compilers and resources skipped). Every module
# writes the file in turn; integration-tests, the last in reactor order, writes it last.
CP_FILE="$LOGS/classpath"
mvn -B -o -q -Dstyle.color=never -pl integration-tests -am compile dependency:build-classpath \
  -Dmaven.main.skip=true -Dmaven.resources.skip=true -Dmdep.includeScope=test \
  -Dmdep.outputFile="$CP_FILE" >"$LOGS/mvn.log" 2>&1 \
  || { cat "$LOGS/mvn.log" >&2; echo "could not resolve the test classpath (offline)" >&2; exit 2; }
grep -q HdrHistogram "$CP_FILE" \
  || { echo "unexpected classpath in $CP_FILE" >&2; exit 2; }

PIDS=()
BENCH_PID=

# stop_processes PID...: SIGTERM to each, then waits (15 s at most) for them to end; SIGKILL for
# any still alive
stop_processes() {
  local p
  [ $# -gt 0 ] || return 0
  for p in "$@"; do kill "$p" 2>/dev/null || true; done
  for _ in $(seq 1 30); do
    local alive=0
    for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.5
  done
  for p in "$@"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "$@"; do wait "$p" 2>/dev/null || true; done
}

# stop_nodes: stops every node; a graceful stop removes each node's lease and directory entries
stop_nodes() {
  stop_processes ${PIDS[@]+"${PIDS[@]}"}
  PIDS=()
}
cleanup() {
  [ -n "$BENCH_PID" ] && kill "$BENCH_PID" 2>/dev/null || true
  stop_nodes
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# need_open_files N: raises the soft limit on open files to N if it can, warns if it cannot
need_open_files() {
  if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$1" ]; then
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  fi
  if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$1" ]; then
    echo "WARNING: ulimit -n is $(ulimit -n) (hard $(ulimit -Hn)), this run needs about $1:" \
      "connections will fail; raise the limit" >&2
  fi
}

# start_nodes PREFIX [COUNT [TRANSPORT [LABEL]]]: COUNT (default 3) launchers on PORT, PORT+1, ...
# with channel prefix PREFIX and transport redis (default) or memory; returns once all are ready.
# LABEL (default "node") names the log files and replaces {node} in BENCH_NODE_OPTS.
start_nodes() {
  local prefix=$1 count=${2:-3} transport=${3:-redis} label=${4:-node}
  local i port started=()
  for ((i = 0; i < count; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$((PORT + i))") 2>/dev/null; then
      echo "port $((PORT + i)) is already in use; stop what listens there or set BENCH_PORT" >&2
      exit 2
    fi
  done
  local where=$REDIS
  [ -n "$REDIS_CONFIG" ] && where="the servers of $REDIS_CONFIG"
  echo "bench: $count node(s), transport $transport$([ "$transport" = redis ] \
    && echo " on $where"), channel prefix $prefix, ports $PORT-$((PORT + count - 1)), logs $LOGS" >&2
  for ((i = 0; i < count; i++)); do
    port=$((PORT + i))
    local opts=()
    read -r -a opts <<<"${BENCH_NODE_OPTS:-}"
    if [ ${#opts[@]} -gt 0 ]; then
      opts=("${opts[@]//\{node\}/$label-$port}")
    fi
    local redis_args=()
    if [ "$transport" = redis ] && [ -n "$REDIS_CONFIG" ]; then
      # a JVM option: the launcher then gives the nodes no address
      opts+=(-Dwscluster.redis.config="$REDIS_CONFIG")
    elif [ "$transport" = redis ]; then
      redis_args=(--redis "$REDIS")
    fi
    java -Xmx1g -Dwscluster.channel.prefix="$prefix" ${opts[@]+"${opts[@]}"} -jar "$JAR" \
      --nodes 1 --port "$port" --transport "$transport" ${redis_args[@]+"${redis_args[@]}"} \
      >"$LOGS/$label-$port.log" 2>&1 &
    PIDS+=($!)
    started+=("$label-$port")
  done
  for ((i = 0; i < count; i++)); do
    local log="$LOGS/${started[$i]}.log"
    for _ in $(seq 1 120); do
      grep -q "ready on" "$log" 2>/dev/null && break
      kill -0 "${PIDS[$i]}" 2>/dev/null || break
      sleep 0.5
    done
    grep -q "ready on" "$log" || { cat "$log" >&2; exit 1; }
  done
}

# node_urls SCHEME PATH: the running nodes' base URLs joined by commas, e.g. node_urls ws /bench
node_urls() {
  local i urls=()
  for ((i = 0; i < ${#PIDS[@]}; i++)); do urls+=("$1://127.0.0.1:$((PORT + i))$2"); done
  (IFS=,; echo "${urls[*]}")
}

# bench_java OUT ERR MAIN ARGS...: runs a bench main on the test classpath with stdout to OUT and
# stderr to ERR; returns its exit status. JVM options: BENCH_CLIENT_JAVA (default -Xmx2g).
bench_java() {
  local out=$1 err=$2 main=$3
  shift 3
  local jvm=()
  read -r -a jvm <<<"${BENCH_CLIENT_JAVA:--Xmx2g}"
  java "${jvm[@]}" -cp "$CLASSES:$(cat "$CP_FILE")" "$main" "$@" >"$out" 2>"$err" &
  BENCH_PID=$!
  local status=0
  wait "$BENCH_PID" || status=$?
  BENCH_PID=
  return "$status"
}

# report MAIN FILE...: runs a report main (FanoutReport, CompareReport) over phase files, prints its
# table on stderr and its JSON line on stdout (both kept in LOGS); returns its exit status
report() {
  local status=0
  bench_java "$LOGS/report.json" "$LOGS/report.txt" "$@" || status=$?
  cat "$LOGS/report.txt" >&2
  cat "$LOGS/report.json"
  return "$status"
}

# run_bench MAIN ARGS...: runs a bench main on the test classpath; prints its stdout; fails loudly
run_bench() {
  local main=$1
  shift
  local status=0
  bench_java "$LOGS/bench.out" "$LOGS/bench.err" "$main" "$@" || status=$?
  cat "$LOGS/bench.out"
  if [ "$status" != 0 ]; then
    tail -20 "$LOGS/bench.err" >&2
    echo "$main exited with $status; logs in $LOGS" >&2
    exit "$status"
  fi
  grep WARNING "$LOGS/bench.err" >&2 || true
  [ -n "${BENCH_KEEP_LOGS:-}" ] || rm -rf "$LOGS"
}
