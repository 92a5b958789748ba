#!/usr/bin/env bash
# callgrind.sh — instructions lockstorm spends per transaction, counted by
# valgrind's callgrind (repeatable on a busy machine, unlike CPU seconds).
#
# Starts a throwaway server (lockstorm server start), then runs the transfer
# workload under callgrind twice, with SMALL and LARGE transactions per client:
# the difference of the two instruction counts divided by the difference of the
# transactions is the cost per transaction, without start-up, YAML parsing,
# setup and connecting. Work done per second rather than per transaction (the
# time-series interval, the lock-wait sampler, progress output) is turned off:
# under valgrind a second holds ~50 times fewer transactions than natively,
# which would inflate it 50-fold. Keeps the LARGE run's callgrind.out for
# callgrind_annotate (its path is printed).
#
#   bench/callgrind.sh                         # transfer-bench.yaml
#   WORKLOAD=bench/transfer-pipeline-bench.yaml bench/callgrind.sh
#
# Environment: LOCKSTORM_BIN (default .build-bench/release/lockstorm, built by
# bench/vs-pgbench.sh or `swift build -c release -Xswiftc -g --scratch-path .build-bench`),
# CLIENTS [4], SMALL [200], LARGE [1200] transactions per client, OUT [/tmp/lockstorm-callgrind].
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
lockstorm=${LOCKSTORM_BIN:-$root/.build-bench/release/lockstorm}
workload=${WORKLOAD:-$here/transfer-bench.yaml}
CLIENTS=${CLIENTS:-4}
SMALL=${SMALL:-200}
LARGE=${LARGE:-1200}
OUT=${OUT:-/tmp/lockstorm-callgrind}
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind not found (Debian: apt-get install valgrind)" >&2; exit 1; }
[[ -x $lockstorm ]] || { echo "callgrind.sh: no $lockstorm (set LOCKSTORM_BIN or build it)" >&2; exit 1; }
mkdir -p "$OUT"
work=$(mktemp -d "${TMPDIR:-/tmp}/callgrind.XXXXXX")
export LOCKSTORM_STATE_DIR=$work/state
cleanup() { "$lockstorm" server stop >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
DATABASE_URL=$("$lockstorm" server start 2>/dev/null | sed -n "s/^export DATABASE_URL='\(.*\)'\$/\1/p")
[[ -n $DATABASE_URL ]] || { echo "callgrind.sh: server start failed" >&2; exit 1; }
export DATABASE_URL

# valgrind 3.19 gives up on the DWARF 5 debug info of a `-g` build ("Possibly
# corrupted debuginfo file"): profile a copy without it (function names stay).
profiled=$lockstorm
if command -v strip >/dev/null && strip --strip-debug -o "$work/lockstorm" "$lockstorm" 2>/dev/null; then profiled=$work/lockstorm; fi

instructions() {   # transactions-per-client → total Ir
    local t=$1 file=$OUT/callgrind.out.t$1
    valgrind --tool=callgrind --callgrind-out-file="$file" "$profiled" run "$workload" \
        -t "$t" -c "$CLIENTS" -j 1 --keep-data --set accounts=10000 --interval 3600s --sample-interval 3600s -q \
        --out "$work/results" >"$work/run-$t.log" 2>&1 \
        || { cat "$work/run-$t.log" >&2; exit 1; }
    sed -n 's/^summary: \([0-9]*\).*/\1/p;s/^totals: \([0-9]*\).*/\1/p' "$file" | head -n 1
}
small=$(instructions "$SMALL")
large=$(instructions "$LARGE")
per=$(( (large - small) / ((LARGE - SMALL) * CLIENTS) ))
echo "$(basename "$workload"): $per instructions per transaction (callgrind; $CLIENTS clients, $SMALL vs $LARGE transactions each)"
echo "profile of the larger run: callgrind_annotate $OUT/callgrind.out.t$LARGE"
