#!/usr/bin/env bash
# shards.sh — 1 vs 2 vs 3 shard processes at the same total clients, merged.
#
# Starts one throwaway server (lockstorm server start), then REPEAT times runs
# transfers (variant ordered, closed loop) as 1, 2 and 3 shard processes with
# C clients in total for T seconds (--shard K/N --start-at +3s, one seed), merges
# each run's shard folders with `lockstorm merge`, and prints the merged
# committed count, tps and p99 with the time the merge took. See
# docs/scale-out.md.
#
# Environment: C [12], T [5], REPEAT [3], LOCKSTORM_BIN [.build/debug/lockstorm].
set -u
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
L=${LOCKSTORM_BIN:-$root/.build/debug/lockstorm}
W=$root/workloads/transfers.yaml
C=${C:-12}; T=${T:-5}; REPEAT=${REPEAT:-3}
[[ -x $L ]] || { echo "shards.sh: no lockstorm binary at $L (swift build, or set LOCKSTORM_BIN)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/shards.XXXXXX")
export LOCKSTORM_STATE_DIR=$work/state
out=$("$L" server start --max-connections 100 2>&1) || { echo "$out" >&2; rm -rf "$work"; exit 1; }
DATABASE_URL=$(printf '%s\n' "$out" | sed -n "s/^export DATABASE_URL='\(.*\)'\$/\1/p")
export DATABASE_URL
trap '"$L" server stop >/dev/null 2>&1; rm -rf "$work"' EXIT
for r in $(seq 1 "$REPEAT"); do
  for n in 1 2 3; do
    id=b$n-$r; pids=()
    for k in $(seq 0 $((n - 1))); do
      "$L" run "$W" --variant ordered -c "$C" -T "$T" -j 1 --seed 42 --shard "$k/$n" --start-at +3s --run-id "$id" \
        --out "$work/$id/s$k" -q >"$work/$id-$k.log" 2>&1 &
      pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || echo "a shard exited $? ($id)" >&2; done
    dirs=()
    for k in $(seq 0 $((n - 1))); do dirs+=("$work/$id/s$k"); done
    s=$(date +%s.%N)
    "$L" merge "${dirs[@]}" --out "$work/$id/merged" >"$work/$id-merge.log" 2>&1 || { echo "merge failed ($id):" >&2; tail -5 "$work/$id-merge.log" >&2; }
    e=$(date +%s.%N)
    row=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } $c["transaction"] == "total" { print $c["committed"], $c["tps"], $c["lat_p99_ms"] }' "$work/$id/merged/summary.csv" 2>/dev/null)
    read -r committed tps p99 <<<"${row:-- - -}"
    printf 'repeat %s  shards %s  committed %8s  tps %9s  p99 %7s ms  merge %.2f s\n' "$r" "$n" "$committed" "$tps" "$p99" "$(awk -v s="$s" -v e="$e" 'BEGIN { print e - s }')"
  done
done
