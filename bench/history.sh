#!/usr/bin/env bash
# The cost of the message history (connection-state recovery): the fan-out workload of
# bench/fanout.sh, cluster phase only (3 demo node processes, 300 clients, client 0 publishing
# 200-byte text messages to one room), run with wscluster.history.enabled=false and =true,
# alternating which goes first, K runs, in one invocation on a private redis-server (never the
# shared one). Per run and as medians: server CPU per delivery (nodes + Redis), deliveries/s, p50/p99;
# the on/off ratio of the CPU per delivery per run and of the medians; and, after each "on" run, the
# Redis memory of the room's history stream per entry (MEMORY USAGE / XLEN).
#
# Prints a table on stderr and one JSON line on stdout. Builds nothing: needs a prior
# `mvn -B -q package -DskipTests` (as bench/fanout.sh).
#
# Options (defaults): --runs 3 --messages 6000 --rate 300 --clients 300 --bytes 200 --warmup 3000
#   --max-length 1000 (wscluster.history.max-length for the "on" runs)
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=3
MESSAGES=6000
RATE=300
CLIENTS=300
BYTES=200
WARMUP=3000
MAXLEN=1000
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || { echo "option $1 needs a value" >&2; exit 2; }
  case "$1" in
    --runs) RUNS=$2 ;;
    --messages) MESSAGES=$2 ;;
    --rate) RATE=$2 ;;
    --clients) CLIENTS=$2 ;;
    --bytes) BYTES=$2 ;;
    --warmup) WARMUP=$2 ;;
    --max-length) MAXLEN=$2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
WORK=$(mktemp -d /tmp/wscluster-history-bench.XXXXXX)
redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no >"$WORK/redis.log" 2>&1 &
REDIS_SERVER=$!
trap 'kill $REDIS_SERVER 2>/dev/null || true; wait $REDIS_SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  redis-cli -p "$PORT" ping >/dev/null 2>&1 && break
  sleep 0.1
done
export WSCLUSTER_REDIS_ADDRESS="redis://127.0.0.1:$PORT"
# the nodes' ports: away from the default 8081 that other runs on this machine may use
export BENCH_PORT="${BENCH_PORT:-$((20000 + RANDOM % 20000))}"

# one HISTORY RUN: the cluster phase with the history on or off; appends a JSON line to $WORK/runs
one() {
  local history=$1 run=$2 out="$WORK/$1-$2.json" bytes_per_entry=null
  redis-cli -p "$PORT" flushall >/dev/null
  BENCH_NODE_OPTS="-Dwscluster.history.enabled=$history -Dwscluster.history.max-length=$MAXLEN" \
    bench/fanout.sh --no-local --no-floor --clients "$CLIENTS" --messages "$MESSAGES" \
    --rate "$RATE" --bytes "$BYTES" --warmup "$WARMUP" >"$out" 2>"$WORK/$history-$run.err" || {
      tail -20 "$WORK/$history-$run.err" >&2; echo "fanout run failed; logs in $WORK" >&2; exit 2; }
  if [ "$history" = true ]; then
    local key
    key=$(redis-cli -p "$PORT" --scan --pattern '*:room:*}:h' | head -1)
    if [ -n "$key" ]; then
      local usage len
      usage=$(redis-cli -p "$PORT" memory usage "$key" samples 0)
      len=$(redis-cli -p "$PORT" xlen "$key")
      bytes_per_entry=$(python3 -c "print(round($usage / $len, 1))")
      echo "history stream $key: $len entries, $usage bytes" >&2
    fi
  fi
  jq -c --arg h "$history" --argjson run "$run" --argjson bpe "$bytes_per_entry" \
    '{history: $h, run: $run, cpu: .cluster.serverCpuSecondsPerMillionDeliveries,
      nodeCpu: .cluster.nodeCpuSeconds, redisCpu: .cluster.redisCpuSeconds,
      deliveriesPerSec: .cluster.deliveriesPerSec, p50: .cluster.latencyMs.p50,
      p99: .cluster.latencyMs.p99, ok: .ok, bytesPerEntry: $bpe}' "$out" >>"$WORK/runs"
  tail -1 "$WORK/runs" >&2
}

for ((run = 1; run <= RUNS; run++)); do
  if [ $((run % 2)) = 1 ]; then one false "$run"; one true "$run"; else one true "$run"; one false "$run"; fi
done

python3 - "$WORK/runs" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" "$(nproc)" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
off = {r["run"]: r for r in runs if r["history"] == "false"}
on = {r["run"]: r for r in runs if r["history"] == "true"}
med = lambda rs, k: statistics.median(r[k] for r in rs.values() if r[k] is not None)
ratios = [round(on[k]["cpu"] / off[k]["cpu"], 3) for k in sorted(on)]
out = {"runs": len(on), "off": {k: med(off, k) for k in ("cpu", "deliveriesPerSec", "p50", "p99")},
       "on": {k: med(on, k) for k in ("cpu", "deliveriesPerSec", "p50", "p99")},
       "cpuRatioPerRun": ratios, "cpuRatioOfMedians": round(med(on, "cpu") / med(off, "cpu"), 3),
       "redisCpuOff": med(off, "redisCpu"), "redisCpuOn": med(on, "redisCpu"),
       "bytesPerEntry": med(on, "bytesPerEntry"),
       "ok": all(r["ok"] for r in runs), "machine": {"cpu": sys.argv[2], "cores": int(sys.argv[3])}}
print("history off: CPU-us/delivery %.2f, on: %.2f, ratio of medians %.3f, per run %s; "
      "Redis bytes per history entry %s" % (out["off"]["cpu"], out["on"]["cpu"],
      out["cpuRatioOfMedians"], ratios, out["bytesPerEntry"]), file=sys.stderr)
print(json.dumps(out))
PY
rm -rf "$WORK"
