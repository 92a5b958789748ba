#!/usr/bin/env bash
# instructions-gate.sh — the speed contract as a CI gate: fails when the
# instructions lockstorm spends per transaction (bench/callgrind.sh) rise more
# than MARGIN_PCT above the figure recorded in bench/instructions.baseline.
#
#   bench/instructions-gate.sh            # measure and compare (CI: make instructions)
#   bench/instructions-gate.sh --record   # measure RUNS times, write the medians as the new baseline
#
# Builds the release binary the way bench/callgrind.sh expects it
# (`swift build -c release -Xswiftc -g --scratch-path .build-bench`) unless
# LOCKSTORM_BIN is set, then runs callgrind.sh on each workload of the baseline
# file. Instruction counts depend on the compiler, libpq, glibc and valgrind:
# a baseline holds for the machine kind it was recorded on (the file says
# which), and is recorded again when that changes.
#
# The margin: callgrind counts instructions, not time, so the figure does not
# move with the machine's load; what moves it is the run itself (the draws and
# how the four clients' statements interleave with the server), ±300 around
# ~29,000 for the transfer workload (±1 %). 5 % (~1,450 instructions) is five
# times that, so the gate does not fail by chance, and it catches what has
# regressed here before: run-time exclusivity checks (~8 %), a struct copied
# per result (~15 %). Smaller improvements are kept by recording the baseline
# again with them (--record), so small regressions cannot pile up unseen.
#
# Environment: MARGIN_PCT [5], RUNS [1 to compare, 3 to record] callgrind.sh
# runs per workload (the median counts), BASELINE [bench/instructions.baseline],
# LOCKSTORM_BIN (skip the build), and callgrind.sh's CLIENTS, SMALL, LARGE, OUT.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
baseline=${BASELINE:-$here/instructions.baseline}
margin=${MARGIN_PCT:-5}
record=false
case "${1:-}" in
    --record) record=true ;;
    "") ;;
    *) echo "usage: bench/instructions-gate.sh [--record]" >&2; exit 2 ;;
esac
runs=${RUNS:-$($record && echo 3 || echo 1)}
[[ -f $baseline ]] || { echo "instructions-gate: no baseline file $baseline" >&2; exit 2; }

if [[ -z ${LOCKSTORM_BIN:-} ]]; then
    echo "instructions-gate: building lockstorm (release, .build-bench)" >&2
    (cd "$root" && swift build -c release -Xswiftc -g --scratch-path .build-bench >&2)
    export LOCKSTORM_BIN=$root/.build-bench/release/lockstorm
fi

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Each workload of the baseline file (`<workload path> <instructions/tx>`, '#' comments).
workloads=()
recorded=()
while read -r workload figure _; do
    [[ -z $workload || $workload == \#* ]] && continue
    workloads+=("$workload")
    recorded+=("$figure")
done <"$baseline"
[[ ${#workloads[@]} -gt 0 ]] || { echo "instructions-gate: $baseline lists no workload" >&2; exit 2; }

measured=()
for workload in "${workloads[@]}"; do
    figures=()
    for ((run = 1; run <= runs; run++)); do
        # Its whole output, then the first line: `| head -n 1` could end the
        # pipe before callgrind.sh's second line, failing it with SIGPIPE.
        output=$(WORKLOAD=$root/$workload "$here/callgrind.sh")
        line=${output%%$'\n'*}
        figure=${line#*: }
        figure=${figure%% *}
        [[ $figure =~ ^[0-9]+$ ]] || { echo "instructions-gate: callgrind.sh printed no figure: $line" >&2; exit 1; }
        echo "instructions-gate: $workload run $run/$runs: $figure instructions/tx" >&2
        figures+=("$figure")
    done
    measured+=("$(printf '%s\n' "${figures[@]}" | median)")
done

if $record; then
    {
        sed -n '/^#/p' "$baseline"
        for i in "${!workloads[@]}"; do echo "${workloads[$i]} ${measured[$i]}"; done
    } >"$baseline.new"
    mv "$baseline.new" "$baseline"
    echo "instructions-gate: recorded in $baseline (median of $runs run(s) each); update its header if the machine or toolchain changed:"
    sed -n '/^[^#]/p' "$baseline"
    exit 0
fi

failed=0
for i in "${!workloads[@]}"; do
    base=${recorded[$i]} now=${measured[$i]}
    limit=$(( base + base * margin / 100 ))
    change=$(awk -v b="$base" -v n="$now" 'BEGIN { printf "%+.1f", 100 * (n - b) / b }')
    if (( now > limit )); then
        verdict=FAIL
        failed=1
    else
        verdict=PASS
    fi
    printf '%s  %-36s baseline %6d, now %6d instructions/tx (%s%%); allowed: at most %d (+%d%%)\n' \
        "$verdict" "${workloads[$i]}" "$base" "$now" "$change" "$limit" "$margin"
    if (( now < base - base * margin / 100 )); then
        echo "      well below the baseline: record the improvement (bench/instructions-gate.sh --record) so the gate keeps it"
    fi
done
if (( failed )); then
    echo "instructions-gate: instructions per transaction rose more than $margin% (profile: callgrind_annotate ${OUT:-/tmp/lockstorm-callgrind}/callgrind.out.t${LARGE:-1200})" >&2
    exit 1
fi
