#!/usr/bin/env bash
# vs-pgbench.sh — lockstorm and pgbench on the same transfer transaction, side by side.
#
# Starts one throwaway PostgreSQL (lockstorm server start, fsync=off), then for
# each variant and client count runs lockstorm and pgbench (-M extended, custom
# script) alternately, REPEAT times each, with the same SQL, account range,
# clients and threads, and prints per tool: tps, client CPU seconds (user+sys
# of the tool's process) per 1,000 committed transactions, and the tool's peak
# RSS, plus the lockstorm/pgbench ratios as median and range over the repeats.
# Then the scale check: SCALE_CLIENTS clients from one lockstorm process at each
# of SCALE_DURATIONS (peak RSS, and its growth), pgbench alongside.
# See bench/README.md.
#
# Environment (defaults in brackets):
#   CLIENTS   client counts to run, space-separated   ["8 64 256"]
#   DURATION  seconds per run (-T)                     [10]
#   REPEAT    runs per tool and client count            [3]
#   VARIANTS  which comparisons, space-separated   ["transfer separate pipeline"]
#             transfer: each tool as it runs by default (lockstorm sends BEGIN
#               with the first statement: 4 round trips; pgbench: 5)
#             separate: one statement per round trip for both
#               (lockstorm --separate-begin): 5 round trips each
#             combined: BEGIN with the first statement for both (pgbench
#               \startpipeline around BEGIN and the SELECT): 4 each
#             pipeline: the whole transaction in one round trip for both
#   ACCOUNTS  accounts in the table (src/dst range)    [100000]
#   THREADS   -j for both tools                        [2]
#   SCALE_CLIENTS    clients of the scale check, 0 to skip          [1000]
#   SCALE_DURATIONS  seconds of the scale check's lockstorm runs    ["10 60"]
#   QUICK=1   a quick try: CLIENTS="8 64" DURATION=3 REPEAT=1 SCALE_CLIENTS=0
#             (each still overridable)
#   LOCKSTORM_BIN  lockstorm binary to use (default: build bench/../.build-bench release)
#   PGBENCH        pgbench binary to use (default: $(pg_config --bindir)/pgbench, else PATH)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")

if [[ ${QUICK:-0} == 1 ]]; then
    CLIENTS=${CLIENTS:-"8 64"}; DURATION=${DURATION:-3}; REPEAT=${REPEAT:-1}; SCALE_CLIENTS=${SCALE_CLIENTS:-0}
fi
CLIENTS=${CLIENTS:-"8 64 256"}
DURATION=${DURATION:-10}
REPEAT=${REPEAT:-3}
VARIANTS=${VARIANTS:-"transfer separate pipeline"}
SCALE_CLIENTS=${SCALE_CLIENTS:-1000}
SCALE_DURATIONS=${SCALE_DURATIONS:-"10 60"}
ACCOUNTS=${ACCOUNTS:-100000}
THREADS=${THREADS:-2}
MAX_AMOUNT=50
INITIAL_BALANCE=1000   # as in transfer-bench.yaml

log() { printf 'vs-pgbench: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

case "${1:-}" in
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    "") ;;
    *) die "no arguments expected (configure with environment variables; see --help)" ;;
esac

is_count() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }
for c in $CLIENTS; do is_count "$c" || die "CLIENTS must be positive whole numbers, got '$c'"; done
[[ -n ${CLIENTS// /} ]] || die "CLIENTS is empty"
is_count "$DURATION" || die "DURATION must be whole seconds > 0, got '$DURATION'"
is_count "$REPEAT" || die "REPEAT must be a whole number > 0, got '$REPEAT'"
is_count "$THREADS" || die "THREADS must be a whole number > 0, got '$THREADS'"
{ is_count "$ACCOUNTS" && (( ACCOUNTS >= 2 )); } || die "ACCOUNTS must be a whole number >= 2, got '$ACCOUNTS'"
[[ $SCALE_CLIENTS == 0 ]] || is_count "$SCALE_CLIENTS" || die "SCALE_CLIENTS must be a whole number (0: skip), got '$SCALE_CLIENTS'"
for d in $SCALE_DURATIONS; do is_count "$d" || die "SCALE_DURATIONS must be whole seconds > 0, got '$d'"; done
[[ -n ${VARIANTS// /} ]] || die "VARIANTS is empty"
for v in $VARIANTS; do
    case $v in transfer|separate|combined|pipeline) ;; *) die "VARIANTS takes transfer, separate, combined and/or pipeline, got '$v'" ;; esac
done

# The files of a variant, and lockstorm's extra options: see VARIANTS above.
workload_of() { case $1 in transfer|separate|combined) echo "$here/transfer-bench.yaml" ;; pipeline) echo "$here/transfer-pipeline-bench.yaml" ;; esac; }
script_of() { case $1 in transfer|separate) echo "$here/transfer.pgbench" ;; combined) echo "$here/transfer-begin-pipelined.pgbench" ;; pipeline) echo "$here/transfer-pipeline.pgbench" ;; esac; }
lockstorm_options_of() { case $1 in separate) echo "--separate-begin" ;; esac; }

# --- tools ---------------------------------------------------------------

if [[ -n ${LOCKSTORM_BIN:-} ]]; then
    lockstorm=$LOCKSTORM_BIN
    [[ -x $lockstorm ]] || die "LOCKSTORM_BIN=$lockstorm is not an executable"
else
    lockstorm=$root/.build-bench/release/lockstorm
    if [[ ! -x $lockstorm ]] || [[ -n $(find "$root/Sources" "$root/Package.swift" -newer "$lockstorm" -print -quit) ]]; then
        # -g: symbols for profilers (valgrind, perf); the code generated is the same.
        log "building lockstorm: swift build -c release -Xswiftc -g --scratch-path .build-bench (a few minutes the first time)"
        (cd "$root" && swift build -c release -Xswiftc -g --scratch-path .build-bench) >&2 || die "swift build failed"
        [[ -x $lockstorm ]] || die "build finished but $lockstorm is missing"
    fi
fi

pg_bindir=""
if command -v pg_config >/dev/null 2>&1; then pg_bindir=$(pg_config --bindir 2>/dev/null || true); fi
if [[ -n ${PGBENCH:-} ]]; then
    pgbench=$PGBENCH
elif [[ -n $pg_bindir && -x $pg_bindir/pgbench ]]; then
    pgbench=$pg_bindir/pgbench
elif command -v pgbench >/dev/null 2>&1; then
    pgbench=$(command -v pgbench)
else
    pgbench=$(ls -d /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | sort -V | tail -n 1 || true)
fi
[[ -n $pgbench && -x $pgbench ]] || die "pgbench not found: install postgresql-client (Debian: apt-get install postgresql-client) or set PGBENCH"
psql=""
if [[ -n $pg_bindir && -x $pg_bindir/psql ]]; then psql=$pg_bindir/psql
elif [[ -x $(dirname "$pgbench")/psql ]]; then psql=$(dirname "$pgbench")/psql
elif command -v psql >/dev/null 2>&1; then psql=$(command -v psql); fi

# CPU and peak RSS of one process: GNU time, else a wait4() wrapper in Python.
if [[ -x /usr/bin/time ]] && /usr/bin/time -o /dev/null -f '%U %S %M' true >/dev/null 2>&1; then
    timer="GNU time (/usr/bin/time -f '%U %S %M')"
    measured() { local usage=$1 logfile=$2; shift 2; /usr/bin/time -o "$usage" -f '%U %S %M' "$@" >"$logfile" 2>&1; }
elif command -v python3 >/dev/null 2>&1; then
    timer="bench/measure.py (wait4 rusage)"
    measured() { local usage=$1 logfile=$2; shift 2; python3 "$here/measure.py" "$usage" "$@" >"$logfile" 2>&1; }
else
    die "need /usr/bin/time (Debian: apt-get install time) or python3 to measure CPU and RSS"
fi

# --- server --------------------------------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/vs-pgbench.XXXXXX")
export LOCKSTORM_STATE_DIR=$work/state   # our own server record: never touches a user's server
server_started=""

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [[ -n $server_started ]]; then
        "$lockstorm" server stop >/dev/null 2>&1 || log "warning: 'lockstorm server stop' failed (LOCKSTORM_STATE_DIR=$LOCKSTORM_STATE_DIR)"
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for v in $VARIANTS; do
    "$lockstorm" validate "$(workload_of "$v")" >/dev/null 2>"$work/validate.log" || { cat "$work/validate.log" >&2; die "lockstorm validate $(workload_of "$v") failed"; }
done

max_clients=$SCALE_CLIENTS
for c in $CLIENTS; do if (( c > max_clients )); then max_clients=$c; fi; done
max_connections=$(( max_clients + 20 > 300 ? max_clients + 20 : 300 ))

server_started=1
if ! start_output=$("$lockstorm" server start --max-connections "$max_connections" 2>&1); then
    printf '%s\n' "$start_output" >&2
    die "lockstorm server start failed"
fi
DATABASE_URL=$(printf '%s\n' "$start_output" | sed -n "s/^export DATABASE_URL='\(.*\)'\$/\1/p")
[[ -n $DATABASE_URL ]] || { printf '%s\n' "$start_output" >&2; die "no DATABASE_URL in the output of 'lockstorm server start'"; }
export DATABASE_URL
log "server up: $DATABASE_URL"

server_version=""
if [[ -n $psql ]]; then server_version=$("$psql" -XAtq -c 'SHOW server_version' "$DATABASE_URL" 2>/dev/null | awk '{print $1}' || true); fi

# (Re)creates the accounts table with lockstorm's setup: a 1-transaction run that keeps its data.
reset_table() {
    local logfile=$work/setup.log
    if ! "$lockstorm" run "$here/transfer-bench.yaml" -t 1 -c 1 -j 1 --keep-data \
            --set accounts="$ACCOUNTS" --set max_amount="$MAX_AMOUNT" --out "$work/setup-results" >"$logfile" 2>&1; then
        cat "$logfile" >&2
        die "lockstorm setup run failed (output above)"
    fi
}

check_money() {   # after pgbench: the transfers must conserve money
    [[ -n $psql ]] || return 0
    local total
    total=$("$psql" -XAtq -c 'SELECT sum(balance) FROM accounts' "$DATABASE_URL" 2>/dev/null || true)
    [[ $total == $(( ACCOUNTS * INITIAL_BALANCE )) ]] || log "warning: after pgbench sum(balance) = '$total', expected $(( ACCOUNTS * INITIAL_BALANCE ))"
}

log "creating the accounts table ($ACCOUNTS accounts) with lockstorm's setup"
reset_table

results=$work/results.tsv   # variant clients tool run tps committed user_s sys_s maxrss_kb duration
: >"$results"

usage_of() { tail -n 1 "$1"; }   # GNU time puts "Command exited with…" first on failure

run_lockstorm() {
    local variant=$1 clients=$2 threads=$3 run=$4 duration=${5:-$DURATION}
    local tag=$variant-c$clients-r$run-T$duration out=$work/lockstorm-$variant-$clients-$run-$duration
    local usage=$work/lockstorm-$tag.usage logfile=$work/lockstorm-$tag.log status=0
    log "lockstorm: $variant, $clients clients, $threads threads, ${duration}s (run $run)"
    measured "$usage" "$logfile" "$lockstorm" run "$(workload_of "$variant")" \
        -c "$clients" -j "$threads" -T "$duration" --keep-data $(lockstorm_options_of "$variant") \
        --set accounts="$ACCOUNTS" --set max_amount="$MAX_AMOUNT" --out "$out" || status=$?
    if (( status != 0 )); then
        cat "$logfile" >&2
        die "lockstorm exited with status $status (output above)"
    fi
    local dir csv
    dir=$(ls -td "$out"/*/ 2>/dev/null | head -n 1 || true)
    csv=${dir%/}/summary.csv
    [[ -n $dir && -f $csv ]] || { cat "$logfile" >&2; die "lockstorm wrote no summary.csv under $out"; }
    local row
    row=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
                   $col["transaction"] == "total" { print $col["tps"], $col["committed"], $col["failed"], $col["duration_s"] }' "$csv")
    [[ -n $row ]] || die "no 'total' row in $csv"
    local tps committed failed measured_s
    read -r tps committed failed measured_s <<<"$row"
    (( failed == 0 )) || log "warning: lockstorm had $failed failed transactions"
    local user sys rss
    read -r user sys rss < <(usage_of "$usage")
    printf '%s\t%s\tlockstorm\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$variant" "$clients" "$run" "$tps" "$committed" "$user" "$sys" "$rss" "$duration" >>"$results"
    log "  lockstorm: tps $tps, committed $committed in ${measured_s}s, cpu user ${user}s sys ${sys}s, peak RSS ${rss} kB"
}

run_pgbench() {
    local variant=$1 clients=$2 threads=$3 run=$4 duration=${5:-$DURATION}
    local tag=$variant-c$clients-r$run-T$duration
    local usage=$work/pgbench-$tag.usage logfile=$work/pgbench-$tag.log status=0
    reset_table   # a fresh table, as lockstorm's own setup gives it
    log "pgbench:   $variant, $clients clients, $threads threads, ${duration}s (run $run)"
    measured "$usage" "$logfile" "$pgbench" -n -M extended -f "$(script_of "$variant")" \
        -D accounts="$ACCOUNTS" -D max_amount="$MAX_AMOUNT" \
        -c "$clients" -j "$threads" -T "$duration" "$DATABASE_URL" || status=$?
    if (( status != 0 )); then
        cat "$logfile" >&2
        die "pgbench exited with status $status (output above)"
    fi
    local tps committed failed
    tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' "$logfile")
    committed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$logfile")
    failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$logfile")
    [[ -n $tps && -n $committed ]] || { cat "$logfile" >&2; die "cannot read tps / transactions from pgbench's output (above)"; }
    (( ${failed:-0} == 0 )) || log "warning: pgbench had $failed failed transactions"
    local user sys rss
    read -r user sys rss < <(usage_of "$usage")
    printf '%s\t%s\tpgbench\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$variant" "$clients" "$run" "$tps" "$committed" "$user" "$sys" "$rss" "$duration" >>"$results"
    log "  pgbench:   tps $tps, committed $committed, cpu user ${user}s sys ${sys}s, peak RSS ${rss} kB"
    check_money
}

# --- runs ----------------------------------------------------------------

for variant in $VARIANTS; do
    for clients in $CLIENTS; do
        threads=$(( THREADS < clients ? THREADS : clients ))
        for (( run = 1; run <= REPEAT; run++ )); do
            # Alternate which tool goes first, so drift on a busy machine is shared.
            if (( run % 2 == 1 )); then
                run_lockstorm "$variant" "$clients" "$threads" "$run"
                run_pgbench "$variant" "$clients" "$threads" "$run"
            else
                run_pgbench "$variant" "$clients" "$threads" "$run"
                run_lockstorm "$variant" "$clients" "$threads" "$run"
            fi
        done
    done
done

scale=$work/scale.tsv
: >"$scale"
if (( SCALE_CLIENTS > 0 )); then
    threads=$(( THREADS < SCALE_CLIENTS ? THREADS : SCALE_CLIENTS ))
    first=${SCALE_DURATIONS%% *}
    for d in $SCALE_DURATIONS; do
        results_all=$results; results=$scale
        run_lockstorm transfer "$SCALE_CLIENTS" "$threads" 1 "$d"
        if [[ $d == "$first" ]]; then run_pgbench transfer "$SCALE_CLIENTS" "$threads" 1 "$d"; fi
        results=$results_all
    done
fi

# --- table ---------------------------------------------------------------

echo
printf 'lockstorm vs pgbench: ordered transfer, %s accounts, %s s per run, -j %s, %s run(s) per cell, tools alternating\n' \
    "$ACCOUNTS" "$DURATION" "$THREADS" "$REPEAT"
printf 'one PostgreSQL %s (Unix socket, fsync=off), %s cores, load average %s; pgbench -M extended;\n' \
    "${server_version:-?}" "$(nproc 2>/dev/null || echo '?')" "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
printf 'cpu = user+sys of the tool process only (%s); cells are medians, l/p = lockstorm / pgbench per repeat\n' "$timer"

awk -F'\t' -v order="$CLIENTS" -v variants="$VARIANTS" '
    function sorted(list, values,    n, i, j, t) {
        n = split(list, values, " ")
        for (i = 2; i <= n; i++) { t = values[i] + 0; for (j = i - 1; j >= 1 && values[j] + 0 > t; j--) values[j + 1] = values[j]; values[j + 1] = t }
        return n
    }
    function median(list,    n, values) {
        n = sorted(list, values)
        if (n == 0) return 0
        return n % 2 ? values[(n + 1) / 2] + 0 : (values[n / 2] + values[n / 2 + 1]) / 2
    }
    function range(list, digits,    n, values) {
        n = sorted(list, values)
        if (n == 0) return "-"
        return sprintf("%." digits "f-%." digits "f", values[1], values[n])
    }
    {
        key = $1 SUBSEP $2 SUBSEP $3 SUBSEP $4
        tps[key] = $5; cpu[key] = ($7 + $8) * 1000 / ($6 > 0 ? $6 : 1); rss[key] = $9 / 1024
        cell = $1 SUBSEP $2 SUBSEP $3
        ctps[cell] = ctps[cell] " " tps[key]; ccpu[cell] = ccpu[cell] " " cpu[key]; crss[cell] = crss[cell] " " rss[key]
        if ($4 > runs) runs = $4
    }
    END {
        format = "%-8s %-14s %12s %13s %13s\n"
        nv = split(variants, vs, " ")
        for (v = 1; v <= nv; v++) {
            variant = vs[v]
            print ""
            if (variant == "pipeline") print "pipeline: BEGIN, SELECT, 2 UPDATEs, COMMIT in one round trip (lockstorm pipeline: true, pgbench \\startpipeline)"
            else if (variant == "separate") print "separate: one statement per round trip, 5 per transaction (lockstorm --separate-begin, pgbench as by default)"
            else if (variant == "combined") print "combined: BEGIN with the SELECT, 4 round trips per transaction (lockstorm as by default, pgbench \\startpipeline around BEGIN and the SELECT)"
            else print "transfer: each tool as by default (lockstorm sends BEGIN with the SELECT: 4 round trips; pgbench: 5)"
            printf format, "clients", "tool", "tps", "cpu_s/1k_tx", "peak_rss_MB"
            n = split(order, clients, " ")
            delete seen
            for (i = 1; i <= n; i++) {
                c = clients[i]
                if (seen[c]++) continue
                p = variant SUBSEP c SUBSEP "pgbench"; l = variant SUBSEP c SUBSEP "lockstorm"
                printf format, c, "pgbench", sprintf("%.0f", median(ctps[p])), sprintf("%.3f", median(ccpu[p])), sprintf("%.1f", median(crss[p]))
                printf format, c, "lockstorm", sprintf("%.0f", median(ctps[l])), sprintf("%.3f", median(ccpu[l])), sprintf("%.1f", median(crss[l]))
                rt = ""; rc = ""; rr = ""
                for (r = 1; r <= runs; r++) {
                    pk = p SUBSEP r; lk = l SUBSEP r
                    if (!(pk in tps) || !(lk in tps)) continue
                    if (tps[pk] > 0) rt = rt " " tps[lk] / tps[pk]
                    if (cpu[pk] > 0) rc = rc " " cpu[lk] / cpu[pk]
                    if (rss[pk] > 0) rr = rr " " rss[lk] / rss[pk]
                }
                printf format, c, "l/p median", sprintf("%.2f", median(rt)), sprintf("%.2f", median(rc)), sprintf("%.2f", median(rr))
                printf format, c, "l/p range", range(rt, 2), range(rc, 2), range(rr, 2)
            }
        }
    }' "$results"

if [[ -s $scale ]]; then
    echo
    printf 'scale: %s clients from one process, -j %s (transfer)\n' "$SCALE_CLIENTS" "$THREADS"
    awk -F'\t' '
        BEGIN { format = "%-10s %10s %10s %13s %13s\n"; printf format, "tool", "duration_s", "tps", "cpu_s/1k_tx", "peak_rss_MB" }
        {
            printf format, $3, $10, sprintf("%.0f", $5), sprintf("%.3f", ($7 + $8) * 1000 / ($6 > 0 ? $6 : 1)), sprintf("%.1f", $9 / 1024)
            if ($3 == "lockstorm") { if (first == "") { first = $9; firstd = $10 } last = $9; lastd = $10 }
        }
        END { if (first != "" && lastd != firstd) printf "lockstorm peak RSS at %s s vs %s s: %+.1f %%\n", lastd, firstd, (last - first) * 100 / first }' "$scale"
fi

echo
echo "per run (variant, clients, tool, run, tps, committed, user_s, sys_s, peak_rss_kB, duration_s):"
sort -t$'\t' -k1,1 -k2,2n -k3,3 -k4,4n "$results" "$scale" | sed 's/^/  /'
