#!/usr/bin/env bash
# JMH microbenchmarks of the plugin's per-message work (module benchmarks, package io.wscluster):
#   EnvelopeCodecBenchmark    encode, frame and decode of a 200-byte broadcast envelope (signed or not)
#   DeduplicatorBenchmark     Deduplicator.check, sequences in order and reordered
#   SessionRegistryBenchmark  SessionRegistry.resolve of a room of 100 sessions, a user, a session id
# Arguments are JMH's (a regex selects benchmarks; -h lists the options); defaults, each unless
# given: -f 1 -wi 3 -i 5 -w 1s -r 1s -prof gc (about 2 minutes for all). Example:
#   bench/jmh.sh Deduplicator -i 10
# Prints JMH's report on stderr and one JSON line on stdout: per benchmark the score (ns/op), its
# error, and the bytes allocated per operation (gc.alloc.rate.norm).
# Builds nothing: needs a prior `mvn -B -q package -DskipTests`.
set -euo pipefail
cd "$(dirname "$0")/.."
CLASSES=benchmarks/target/classes
if [ ! -f "$CLASSES/META-INF/BenchmarkList" ]; then
  echo "build first: mvn -B -q package -DskipTests" >&2
  exit 2
fi
LOGS=$(mktemp -d "${TMPDIR:-/tmp}/wscluster-jmh.XXXXXX")
trap 'rm -rf "$LOGS"' EXIT
# the module's class path without building (see bench/nodes.sh for the trick)
mvn -B -o -q -Dstyle.color=never -pl benchmarks -am compile dependency:build-classpath \
  -Dmaven.main.skip=true -Dmaven.resources.skip=true -Dmdep.includeScope=runtime \
  -Dmdep.outputFile="$LOGS/classpath" >"$LOGS/mvn.log" 2>&1 \
  || { cat "$LOGS/mvn.log" >&2; echo "could not resolve the benchmarks' class path (offline)" >&2; exit 2; }

args=("$@")
given() {
  local a
  for a in ${args[@]+"${args[@]}"}; do [ "$a" = "$1" ] && return 0; done
  return 1
}
defaults=()
for pair in "-f 1" "-wi 3" "-i 5" "-w 1s" "-r 1s" "-prof gc"; do
  given "${pair%% *}" || defaults+=(${pair})
done
java -cp "$CLASSES:$(cat "$LOGS/classpath")" io.wscluster.JmhMain \
  ${defaults[@]+"${defaults[@]}"} ${args[@]+"${args[@]}"}
