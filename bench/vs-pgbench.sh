#!/usr/bin/env bash
# vs-pgbench.sh — lockstorm and pgbench on the same transfer transaction, side by side.
#
# Starts one throwaway PostgreSQL (lockstorm server start, fsync=off), then for
# each variant and client count runs lockstorm and pgbench (-M extended, custom
# script) alternately, REPEAT times each, with the same SQL, account range,
# clients and threads, and prints per tool: tps, client CPU seconds (user+sys
# of the tool's process) per 1,000 committed transactions, and the tool's peak
# RSS, plus the lockstorm/pgbench ratios as median and range over the repeats
# and a verdict on tps (ahead, behind, parity, undecided). The contended
# variants add deadlocks per 1,000 committed transactions (counted by the
# server), retries per 1,000 and failed transactions.
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
#             prepared: as separate, with prepared statements for both
#               (lockstorm --separate-begin --protocol prepared, pgbench -M prepared)
#             contended: rows locked in request order on CONTENDED_ACCOUNTS
#               accounts, so transfers deadlock; both retry 40P01 (at most 5
#               tries, at once); each tool as by default
#             contended-separate: contended, lockstorm --separate-begin
#               (the same round trips as pgbench)
#   ACCOUNTS  accounts in the table (src/dst range)    [100000]
#   CONTENDED_ACCOUNTS  accounts in the contended variants         [1000]
#   CONTENDED_DURATION  seconds per run of the contended variants  [20]
#   CONTENDED_REPEAT    runs per tool and client count there       [6]
#   PARITY_PCT  the verdict's parity band: every pair within ±this % of 1.0 [5]
#   DEADLOCK_TIMEOUT_OK=1  run the contended variants although the server's
#             deadlock_timeout is not PostgreSQL's default 1s
#   THREADS   -j for both tools                        [2]
#   SCALE_CLIENTS    clients of the scale check, 0 to skip          [1000]
#   SCALE_DURATIONS  seconds of the scale check's lockstorm runs    ["10 60"]
#   QUICK=1   a quick try: CLIENTS="8 64" DURATION=3 REPEAT=1 SCALE_CLIENTS=0
#             CONTENDED_DURATION=3 CONTENDED_REPEAT=1 (each still overridable)
#   KERNEL=1  after the timed runs of each uncontended cell, one more run per
#             tool under `strace -c -f` (system calls per transaction) and, when
#             perf works, one under `perf record -g` (where the client's CPU goes:
#             sending, waking the backend, receiving, waiting, switching in)
#   LOCKSTORM_BIN  lockstorm binary to use (default: build bench/../.build-bench release)
#   PGBENCH        pgbench binary to use (default: $(pg_config --bindir)/pgbench, else PATH)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")

if [[ ${QUICK:-0} == 1 ]]; then
    CLIENTS=${CLIENTS:-"8 64"}; DURATION=${DURATION:-3}; REPEAT=${REPEAT:-1}; SCALE_CLIENTS=${SCALE_CLIENTS:-0}
    CONTENDED_DURATION=${CONTENDED_DURATION:-3}; CONTENDED_REPEAT=${CONTENDED_REPEAT:-1}
fi
CLIENTS=${CLIENTS:-"8 64 256"}
DURATION=${DURATION:-10}
REPEAT=${REPEAT:-3}
VARIANTS=${VARIANTS:-"transfer separate pipeline"}
SCALE_CLIENTS=${SCALE_CLIENTS:-1000}
SCALE_DURATIONS=${SCALE_DURATIONS:-"10 60"}
KERNEL=${KERNEL:-0}
ACCOUNTS=${ACCOUNTS:-100000}
THREADS=${THREADS:-2}
CONTENDED_ACCOUNTS=${CONTENDED_ACCOUNTS:-1000}
CONTENDED_DURATION=${CONTENDED_DURATION:-20}
CONTENDED_REPEAT=${CONTENDED_REPEAT:-6}
PARITY_PCT=${PARITY_PCT:-5}
MAX_AMOUNT=50
INITIAL_BALANCE=1000   # as in transfer-bench.yaml
MAX_TRIES=5            # pgbench --max-tries; transfer-contended-bench.yaml's retry.max_attempts (keep in step)

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
[[ $KERNEL == 0 || $KERNEL == 1 ]] || die "KERNEL must be 0 or 1, got '$KERNEL'"
is_count "$DURATION" || die "DURATION must be whole seconds > 0, got '$DURATION'"
is_count "$REPEAT" || die "REPEAT must be a whole number > 0, got '$REPEAT'"
is_count "$THREADS" || die "THREADS must be a whole number > 0, got '$THREADS'"
{ is_count "$ACCOUNTS" && (( ACCOUNTS >= 2 )); } || die "ACCOUNTS must be a whole number >= 2, got '$ACCOUNTS'"
[[ $SCALE_CLIENTS == 0 ]] || is_count "$SCALE_CLIENTS" || die "SCALE_CLIENTS must be a whole number (0: skip), got '$SCALE_CLIENTS'"
for d in $SCALE_DURATIONS; do is_count "$d" || die "SCALE_DURATIONS must be whole seconds > 0, got '$d'"; done
{ is_count "$CONTENDED_ACCOUNTS" && (( CONTENDED_ACCOUNTS >= 2 )); } || die "CONTENDED_ACCOUNTS must be a whole number >= 2, got '$CONTENDED_ACCOUNTS'"
is_count "$CONTENDED_DURATION" || die "CONTENDED_DURATION must be whole seconds > 0, got '$CONTENDED_DURATION'"
is_count "$CONTENDED_REPEAT" || die "CONTENDED_REPEAT must be a whole number > 0, got '$CONTENDED_REPEAT'"
[[ $PARITY_PCT =~ ^[0-9]+([.][0-9]+)?$ ]] || die "PARITY_PCT must be a percentage such as 5 or 2.5, got '$PARITY_PCT'"
[[ -n ${VARIANTS// /} ]] || die "VARIANTS is empty"
contended=""   # set when a contended variant runs
prepared=""
for v in $VARIANTS; do
    case $v in
        transfer|separate|combined|pipeline) ;;
        prepared) prepared=1 ;;
        contended|contended-separate) contended=1 ;;
        *) die "VARIANTS takes transfer, separate, combined, pipeline, prepared, contended and/or contended-separate, got '$v'" ;;
    esac
done

# What a variant runs: see VARIANTS above.
is_contended() { [[ $1 == contended* ]]; }
workload_of() {
    case $1 in
        transfer|separate|combined|prepared) echo "$here/transfer-bench.yaml" ;;
        pipeline) echo "$here/transfer-pipeline-bench.yaml" ;;
        contended|contended-separate) echo "$here/transfer-contended-bench.yaml" ;;
    esac
}
script_of() {
    case $1 in
        transfer|separate|prepared) echo "$here/transfer.pgbench" ;;
        combined) echo "$here/transfer-begin-pipelined.pgbench" ;;
        pipeline) echo "$here/transfer-pipeline.pgbench" ;;
        contended|contended-separate) echo "$here/transfer-contended.pgbench" ;;
    esac
}
lockstorm_options_of() {
    case $1 in
        separate|contended-separate) echo "--separate-begin" ;;
        prepared) echo "--separate-begin --protocol prepared" ;;
    esac
}
pgbench_mode_of() { case $1 in prepared) echo prepared ;; *) echo extended ;; esac; }   # pgbench -M
pgbench_options_of() { if is_contended "$1"; then echo "--max-tries $MAX_TRIES --failures-detailed"; fi; }
accounts_of() { if is_contended "$1"; then echo "$CONTENDED_ACCOUNTS"; else echo "$ACCOUNTS"; fi; }
duration_of() { if is_contended "$1"; then echo "$CONTENDED_DURATION"; else echo "$DURATION"; fi; }
repeat_of() { if is_contended "$1"; then echo "$CONTENDED_REPEAT"; else echo "$REPEAT"; fi; }

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

if [[ -n $contended ]]; then
    # The server counts the deadlocks and shows deadlock_timeout; pgbench retries only from 15 on.
    [[ -n $psql ]] || die "the contended variants need psql (Debian: apt-get install postgresql-client) to read the server's deadlock count"
    pgbench_major=$("$pgbench" --version 2>/dev/null | sed -n 's/.* \([0-9][0-9]*\)[.0-9]*.*/\1/p' | head -n 1)
    [[ -n $pgbench_major ]] && (( pgbench_major >= 15 )) \
        || die "the contended variants need pgbench 15 or later (--max-tries); $pgbench is '$("$pgbench" --version 2>&1 | head -n 1)'"
fi
if [[ -n $prepared ]] && ! "$lockstorm" run --help 2>&1 | grep -q -e '--protocol'; then
    die "VARIANTS=prepared needs 'lockstorm run --protocol prepared' (-M), which $lockstorm does not have: build lockstorm from a branch with --protocol, or set LOCKSTORM_BIN to one"
fi

# KERNEL=1: strace for the system calls, perf (when it may sample the kernel) for the time.
kernel_perf=""
if [[ $KERNEL == 1 ]]; then
    command -v strace >/dev/null 2>&1 || die "KERNEL=1 needs strace (Debian: apt-get install strace)"
    if command -v perf >/dev/null 2>&1 && perf record -q -g -o /dev/null true >/dev/null 2>&1; then
        kernel_perf=1
    else
        log "note: perf record does not work here (install linux-perf, or lower kernel.perf_event_paranoid): KERNEL=1 counts system calls only"
    fi
fi

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
deadlock_timeout=""
if [[ -n $psql ]]; then
    server_version=$("$psql" -XAtq -c 'SHOW server_version' "$DATABASE_URL" 2>/dev/null | awk '{print $1}' || true)
    deadlock_timeout=$("$psql" -XAtq -c 'SHOW deadlock_timeout' "$DATABASE_URL" 2>/dev/null || true)
fi
if [[ -n $contended && $deadlock_timeout != 1s ]]; then
    # Each deadlock costs a waiting backend deadlock_timeout before it is found:
    # another value changes what the contended variants measure.
    if [[ ${DEADLOCK_TIMEOUT_OK:-0} == 1 ]]; then
        log "warning: the server's deadlock_timeout is '${deadlock_timeout:-?}', not PostgreSQL's default 1s (DEADLOCK_TIMEOUT_OK=1: going on)"
    else
        die "the contended variants expect PostgreSQL's default deadlock_timeout of 1s, the server has '${deadlock_timeout:-?}' (set DEADLOCK_TIMEOUT_OK=1 to run anyway)"
    fi
fi

# (Re)creates the accounts table with lockstorm's setup: a 1-transaction run that keeps its data.
reset_table() {
    local accounts=$1 logfile=$work/setup.log
    if ! "$lockstorm" run "$here/transfer-bench.yaml" -t 1 -c 1 -j 1 --keep-data \
            --set accounts="$accounts" --set max_amount="$MAX_AMOUNT" --out "$work/setup-results" >"$logfile" 2>&1; then
        cat "$logfile" >&2
        die "lockstorm setup run failed (output above)"
    fi
}

check_money() {   # after each run: the transfers must conserve money
    local accounts=$1 tool=$2 total
    [[ -n $psql ]] || return 0
    total=$("$psql" -XAtq -c 'SELECT sum(balance) FROM accounts' "$DATABASE_URL" 2>/dev/null || true)
    [[ $total == $(( accounts * INITIAL_BALANCE )) ]] || log "warning: after $tool sum(balance) = '$total', expected $(( accounts * INITIAL_BALANCE ))"
}

# The server's deadlock counter of the database (pg_stat_database.deadlocks).
server_deadlocks() {
    local value
    value=$("$psql" -XAtq -c 'SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()' "$DATABASE_URL" 2>/dev/null) || return 1
    [[ $value =~ ^[0-9]+$ ]] || return 1
    echo "$value"
}

# The counter's rise since $1. A backend reports its deadlocks to the statistics
# system after its transaction (at most once a second) and at the latest when it
# exits, which is a moment after the tool has gone: so read until the rise
# equals $2 (what the tool's clients received) or has not moved for 1 s, 5 s at most.
settled_deadlocks() {
    local before=$1 expected=$2 last now stable=0 polls=0
    last=$(server_deadlocks) || return 1
    while (( last - before != expected && stable < 5 && polls < 25 )); do
        sleep 0.2
        polls=$(( polls + 1 ))
        now=$(server_deadlocks) || return 1
        if [[ $now == "$last" ]]; then stable=$(( stable + 1 )); else stable=0; last=$now; fi
    done
    echo $(( last - before ))
}

mismatches=$work/mismatches.txt   # lockstorm runs whose 40P01 count differs from the server's
: >"$mismatches"

read -r first_variant _ <<<"$VARIANTS"
log "creating the accounts table ($(accounts_of "$first_variant") accounts) with lockstorm's setup"
reset_table "$(accounts_of "$first_variant")"

# One row per run: variant clients tool run tps committed user_s sys_s maxrss_kb duration_s
#   retries failed_tx deadlocks_server deadlocks_client ("-": not measured in that variant)
results=$work/results.tsv
: >"$results"

usage_of() { tail -n 1 "$1"; }

wrap=()   # a tracer the runs go under (KERNEL=1), else nothing
kernel_results=$work/kernel.tsv   # variant clients tool method committed user_s sys_s file
: >"$kernel_results"

# KERNEL=1: one run per tool under strace -c -f, and one under perf record -g.
kernel_cell() {
    local variant=$1 clients=$2 threads=$3 tool method file saved=$results
    for tool in lockstorm pgbench; do
        for method in strace perf; do
            [[ $method == strace || -n $kernel_perf ]] || continue
            file=$work/$method-$tool-$variant-$clients.out
            case $method in
                strace) wrap=(strace -c -f -o "$file") ;;
                perf) wrap=(perf record -q -g -o "$file" --) ;;
            esac
            results=$work/kernel-run.tsv; : >"$results"
            log "KERNEL=1: $tool under $method"
            "run_$tool" "$variant" "$clients" "$threads" "$method"
            wrap=()
            # variant clients tool method committed user_s sys_s file
            awk -F'\t' -v m="$method" -v f="$file" '{ print $1 "\t" $2 "\t" $3 "\t" m "\t" $6 "\t" $7 "\t" $8 "\t" f }' "$results" >>"$kernel_results"
        done
    done
    results=$saved
}   # GNU time puts "Command exited with…" first on failure

run_lockstorm() {
    local variant=$1 clients=$2 threads=$3 run=$4 duration=${5:-$(duration_of "$1")}
    local accounts tag=$variant-c$clients-r$run-T$duration out=$work/lockstorm-$variant-$clients-$run-$duration
    local usage=$work/lockstorm-$tag.usage logfile=$work/lockstorm-$tag.log status=0 before=""
    accounts=$(accounts_of "$variant")
    if is_contended "$variant"; then before=$(server_deadlocks) || die "cannot read pg_stat_database.deadlocks with psql"; fi
    log "lockstorm: $variant, $clients clients, $threads threads, ${duration}s (run $run)"
    measured "$usage" "$logfile" ${wrap[@]+"${wrap[@]}"} "$lockstorm" run "$(workload_of "$variant")" \
        -c "$clients" -j "$threads" -T "$duration" --keep-data $(lockstorm_options_of "$variant") \
        --set accounts="$accounts" --set max_amount="$MAX_AMOUNT" --out "$out" || status=$?
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
                   $col["transaction"] == "total" { print $col["tps"], $col["committed"], $col["failed"], $col["duration_s"], $col["retries"], $col["deadlocks"] }' "$csv")
    [[ -n $row ]] || die "no 'total' row in $csv"
    local tps committed failed measured_s retries deadlocks
    read -r tps committed failed measured_s retries deadlocks <<<"$row"
    [[ -n $deadlocks ]] || die "no retries/deadlocks columns in $csv"
    # failed counts attempts; those tried again are not failed transactions (as pgbench counts them).
    local failed_tx=$(( failed - retries )) server="-"
    local user sys rss
    read -r user sys rss < <(usage_of "$usage")
    if is_contended "$variant"; then
        server=$(settled_deadlocks "$before" "$deadlocks") || die "cannot read pg_stat_database.deadlocks with psql"
        log "  lockstorm: tps $tps, committed $committed in ${measured_s}s, cpu user ${user}s sys ${sys}s, peak RSS ${rss} kB;" \
            "40P01 received $deadlocks, counted by the server $server; retries $retries, failed transactions $failed_tx"
        if [[ $server != "$deadlocks" ]]; then
            log "WARNING: lockstorm received $deadlocks deadlocks (40P01) but the server counted $server ($variant, $clients clients, run $run): a counting bug?"
            printf '%s, %s clients, run %s: lockstorm received %s deadlocks (40P01), the server counted %s\n' \
                "$variant" "$clients" "$run" "$deadlocks" "$server" >>"$mismatches"
        fi
        check_money "$accounts" lockstorm
    else
        (( failed == 0 )) || log "warning: lockstorm had $failed failed transactions"
        log "  lockstorm: tps $tps, committed $committed in ${measured_s}s, cpu user ${user}s sys ${sys}s, peak RSS ${rss} kB"
        deadlocks="-"
    fi
    printf '%s\t%s\tlockstorm\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$variant" "$clients" "$run" "$tps" "$committed" \
        "$user" "$sys" "$rss" "$duration" "$retries" "$failed_tx" "$server" "$deadlocks" >>"$results"
}

run_pgbench() {
    local variant=$1 clients=$2 threads=$3 run=$4 duration=${5:-$(duration_of "$1")}
    local accounts tag=$variant-c$clients-r$run-T$duration
    local usage=$work/pgbench-$tag.usage logfile=$work/pgbench-$tag.log status=0 before=""
    accounts=$(accounts_of "$variant")
    reset_table "$accounts"   # a fresh table, as lockstorm's own setup gives it
    if is_contended "$variant"; then before=$(server_deadlocks) || die "cannot read pg_stat_database.deadlocks with psql"; fi
    log "pgbench:   $variant, $clients clients, $threads threads, ${duration}s (run $run)"
    measured "$usage" "$logfile" ${wrap[@]+"${wrap[@]}"} "$pgbench" -n -M "$(pgbench_mode_of "$variant")" $(pgbench_options_of "$variant") \
        -f "$(script_of "$variant")" -D accounts="$accounts" -D max_amount="$MAX_AMOUNT" \
        -c "$clients" -j "$threads" -T "$duration" "$DATABASE_URL" || status=$?
    if (( status != 0 )); then
        cat "$logfile" >&2
        die "pgbench exited with status $status (output above)"
    fi
    local tps committed failed retries deadlock_failures
    tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' "$logfile")
    committed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$logfile")
    failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$logfile")
    retries=$(sed -n 's/^total number of retries: \([0-9]*\).*/\1/p' "$logfile")
    deadlock_failures=$(sed -n 's/^number of deadlock failures: \([0-9]*\).*/\1/p' "$logfile")
    [[ -n $tps && -n $committed ]] || { cat "$logfile" >&2; die "cannot read tps / transactions from pgbench's output (above)"; }
    failed=${failed:-0}; retries=${retries:-0}
    local user sys rss server="-" client="-"
    read -r user sys rss < <(usage_of "$usage")
    if is_contended "$variant"; then
        [[ -n $deadlock_failures ]] || { cat "$logfile" >&2; die "no 'number of deadlock failures' in pgbench's output (above): is it pgbench 15 with --failures-detailed?"; }
        # The 40P01s pgbench received: each was retried or was a transaction's last
        # try (plain UPDATEs under READ COMMITTED give no serialization failures).
        client=$(( retries + deadlock_failures ))
        server=$(settled_deadlocks "$before" "$client") || die "cannot read pg_stat_database.deadlocks with psql"
        log "  pgbench:   tps $tps, committed $committed, cpu user ${user}s sys ${sys}s, peak RSS ${rss} kB;" \
            "40P01 received $client, counted by the server $server; retries $retries, failed transactions $failed"
        # pgbench drops an error that arrives after -T ran out without counting it.
        [[ $server == "$client" ]] || log "note: pgbench's retries + deadlock failures ($client) differ from the server's count ($server)"
    else
        (( failed == 0 )) || log "warning: pgbench had $failed failed transactions"
        log "  pgbench:   tps $tps, committed $committed, cpu user ${user}s sys ${sys}s, peak RSS ${rss} kB"
    fi
    printf '%s\t%s\tpgbench\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$variant" "$clients" "$run" "$tps" "$committed" \
        "$user" "$sys" "$rss" "$duration" "$retries" "$failed" "$server" "$client" >>"$results"
    check_money "$accounts" pgbench
}

# --- runs ----------------------------------------------------------------

for variant in $VARIANTS; do
    repeat=$(repeat_of "$variant")
    for clients in $CLIENTS; do
        threads=$(( THREADS < clients ? THREADS : clients ))
        for (( run = 1; run <= repeat; run++ )); do
            # Alternate which tool goes first, so drift on a busy machine is shared.
            if (( run % 2 == 1 )); then
                run_lockstorm "$variant" "$clients" "$threads" "$run"
                run_pgbench "$variant" "$clients" "$threads" "$run"
            else
                run_pgbench "$variant" "$clients" "$threads" "$run"
                run_lockstorm "$variant" "$clients" "$threads" "$run"
            fi
        done
        if [[ $KERNEL == 1 ]] && ! is_contended "$variant"; then kernel_cell "$variant" "$clients" "$threads"; fi
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

uncontended=""
for v in $VARIANTS; do is_contended "$v" || uncontended=1; done

echo
if [[ -n $uncontended ]]; then
    printf 'lockstorm vs pgbench: ordered transfer, %s accounts, %s s per run, -j %s, %s run(s) per cell, tools alternating\n' \
        "$ACCOUNTS" "$DURATION" "$THREADS" "$REPEAT"
fi
if [[ -n $contended ]]; then
    printf 'lockstorm vs pgbench: contended transfer (request order), %s accounts, %s s per run, -j %s, %s run(s) per cell, tools alternating;\n' \
        "$CONTENDED_ACCOUNTS" "$CONTENDED_DURATION" "$THREADS" "$CONTENDED_REPEAT"
    printf '  40P01 retried by both at once, at most %s tries (pgbench --max-tries %s, lockstorm retry: {on: [40P01], max_attempts: %s, backoff: none})\n' \
        "$MAX_TRIES" "$MAX_TRIES" "$MAX_TRIES"
fi
printf 'one PostgreSQL %s (Unix socket, fsync=off, deadlock_timeout %s), %s cores, load average %s; pgbench -M extended (prepared: -M prepared);\n' \
    "${server_version:-?}" "${deadlock_timeout:-?}" "$(nproc 2>/dev/null || echo '?')" "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
printf 'cpu = user+sys of the tool process only (%s); cells are medians, l/p = lockstorm / pgbench per repeat\n' "$timer"
printf 'verdict on tps: ahead (every pair > 1), behind (every pair < 1), parity (every pair within ±%s %% of 1), else undecided\n' "$PARITY_PCT"

awk -F'\t' -v order="$CLIENTS" -v variants="$VARIANTS" -v band="$PARITY_PCT" '
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
    function ratio_median(list) { return list == "" ? "-" : sprintf("%.2f", median(list)) }
    # The tps verdict of a cell from its per-pair ratios (see bench/README.md).
    function verdict(list,    n, values, pairs) {
        n = sorted(list, values)
        if (n == 0) return "-"
        pairs = n == 1 ? "1 pair" : n " pairs"
        if (values[1] > 1) return sprintf("ahead (tps l/p %.2f-%.2f, %s)", values[1], values[n], pairs)
        if (values[n] < 1) return sprintf("behind (tps l/p %.2f-%.2f, %s)", values[1], values[n], pairs)
        if (values[1] >= 1 - band / 100 && values[n] <= 1 + band / 100) return sprintf("parity (tps l/p %.2f-%.2f, %s)", values[1], values[n], pairs)
        return sprintf("undecided (range straddles 1.0: tps l/p %.2f-%.2f, %s)", values[1], values[n], pairs)
    }
    {
        key = $1 SUBSEP $2 SUBSEP $3 SUBSEP $4
        committed = $6 > 0 ? $6 : 1
        tps[key] = $5; cpu[key] = ($7 + $8) * 1000 / committed; rss[key] = $9 / 1024
        cell = $1 SUBSEP $2 SUBSEP $3
        ctps[cell] = ctps[cell] " " tps[key]; ccpu[cell] = ccpu[cell] " " cpu[key]; crss[cell] = crss[cell] " " rss[key]
        cfailed[cell] = cfailed[cell] " " $12
        retries[key] = $11 * 1000 / committed; cretries[cell] = cretries[cell] " " retries[key]
        if ($13 != "-") {
            deadlocks[key] = $13 * 1000 / committed; cdeadlocks[cell] = cdeadlocks[cell] " " deadlocks[key]
            server[cell] += $13; client[cell] += $14
        }
        if ($4 > runs) runs = $4
    }
    END {
        format = "%-8s %-14s %12s %13s %13s\n"
        cformat = "%-8s %-14s %12s %13s %16s %14s %10s %13s %20s\n"
        nv = split(variants, vs, " ")
        for (v = 1; v <= nv; v++) {
            variant = vs[v]
            contended = variant ~ /^contended/
            print ""
            if (variant == "pipeline") print "pipeline: BEGIN, SELECT, 2 UPDATEs, COMMIT in one round trip (lockstorm pipeline: true, pgbench \\startpipeline)"
            else if (variant == "separate") print "separate: one statement per round trip, 5 per transaction (lockstorm --separate-begin, pgbench as by default)"
            else if (variant == "combined") print "combined: BEGIN with the SELECT, 4 round trips per transaction (lockstorm as by default, pgbench \\startpipeline around BEGIN and the SELECT)"
            else if (variant == "prepared") print "prepared: prepared statements, one per round trip, 5 per transaction (lockstorm --separate-begin --protocol prepared, pgbench -M prepared)"
            else if (variant == "contended") print "contended: 2 UPDATEs in request order, deadlocks retried; each tool as by default (lockstorm: 3 round trips, BEGIN with the first UPDATE; pgbench: 4)"
            else if (variant == "contended-separate") print "contended-separate: as contended, one statement per round trip, 4 per attempt (lockstorm --separate-begin, pgbench as by default)"
            else print "transfer: each tool as by default (lockstorm sends BEGIN with the SELECT: 4 round trips; pgbench: 5)"
            if (contended) {
                print "deadlocks = rise of the server'"'"'s pg_stat_database.deadlocks over the run; 40P01_client/server = totals over the runs"
                printf cformat, "clients", "tool", "tps", "cpu_s/1k_tx", "deadlocks/1k_tx", "retries/1k_tx", "failed_tx", "peak_rss_MB", "40P01_client/server"
            } else {
                printf format, "clients", "tool", "tps", "cpu_s/1k_tx", "peak_rss_MB"
            }
            n = split(order, clients, " ")
            delete seen
            for (i = 1; i <= n; i++) {
                c = clients[i]
                if (seen[c]++) continue
                p = variant SUBSEP c SUBSEP "pgbench"; l = variant SUBSEP c SUBSEP "lockstorm"
                rt = ""; rc = ""; rr = ""; rd = ""; rq = ""
                for (r = 1; r <= runs; r++) {
                    pk = p SUBSEP r; lk = l SUBSEP r
                    if (!(pk in tps) || !(lk in tps)) continue
                    if (tps[pk] > 0) rt = rt " " tps[lk] / tps[pk]
                    if (cpu[pk] > 0) rc = rc " " cpu[lk] / cpu[pk]
                    if (rss[pk] > 0) rr = rr " " rss[lk] / rss[pk]
                    if (deadlocks[pk] > 0) rd = rd " " deadlocks[lk] / deadlocks[pk]
                    if (retries[pk] > 0) rq = rq " " retries[lk] / retries[pk]
                }
                if (contended) {
                    for (t = 1; t <= 2; t++) {
                        k = t == 1 ? p : l
                        printf cformat, c, t == 1 ? "pgbench" : "lockstorm", sprintf("%.0f", median(ctps[k])), sprintf("%.3f", median(ccpu[k])),
                            sprintf("%.1f", median(cdeadlocks[k])), sprintf("%.1f", median(cretries[k])), sprintf("%.0f", median(cfailed[k])),
                            sprintf("%.1f", median(crss[k])), sprintf("%d/%d", client[k], server[k])
                    }
                    printf cformat, c, "l/p median", ratio_median(rt), ratio_median(rc), ratio_median(rd), ratio_median(rq), "-", ratio_median(rr), "-"
                    printf cformat, c, "l/p range", range(rt, 2), range(rc, 2), range(rd, 2), range(rq, 2), "-", range(rr, 2), "-"
                } else {
                    printf format, c, "pgbench", sprintf("%.0f", median(ctps[p])), sprintf("%.3f", median(ccpu[p])), sprintf("%.1f", median(crss[p]))
                    printf format, c, "lockstorm", sprintf("%.0f", median(ctps[l])), sprintf("%.3f", median(ccpu[l])), sprintf("%.1f", median(crss[l]))
                    printf format, c, "l/p median", ratio_median(rt), ratio_median(rc), ratio_median(rr)
                    printf format, c, "l/p range", range(rt, 2), range(rc, 2), range(rr, 2)
                }
                printf "%-8s %-14s %s\n", c, "verdict", verdict(rt)
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

# KERNEL=1: system calls per transaction (strace -c -f) and where the
# client's CPU goes (perf record -g: inclusive shares of the kernel's entry
# points, times the run's own CPU per transaction).
strace_counts() {   # strace -c output → "sendto recvfrom eagain wait total" calls
    awk '$NF == "total" { total = $(NF - 2) }
         $1 ~ /^[0-9.]+$/ && $NF != "total" {
             calls = (NF == 6) ? $4 : $4; errors = (NF == 6) ? $5 : 0
             if ($NF == "sendto") send += calls
             else if ($NF == "recvfrom") { recv += calls; eagain += errors }
             else if ($NF ~ /^(epoll_wait|epoll_pwait|epoll_pwait2|ppoll|poll|select|pselect6)$/) wait += calls
         }
         END { print send + 0, recv + 0, eagain + 0, wait + 0, total + 0 }' "$1"
}
perf_shares() {   # perf record -g data → "kernel send wake recv wait switch" percent of samples
    local children kernel
    children=$(perf report -i "$1" --children --sort sym --stdio 2>/dev/null | grep -E '^ +[0-9.]+%')
    kernel=$(perf report -i "$1" --sort dso --stdio 2>/dev/null | awk '/\[kernel\.kallsyms\]/ { sub("%", "", $1); print $1 }')
    awk -v kernel="${kernel:-0}" '
        { sub("%", "", $1); sub("%", "", $2) }
        $NF == "__x64_sys_sendto" { send = $1 } $NF == "__x64_sys_recvfrom" { recv = $1 }
        $NF ~ /^__x64_sys_(epoll_wait|epoll_pwait|epoll_pwait2|ppoll|poll|select|pselect6)$/ { wait += $1 }
        $NF == "sock_def_readable" { wake = $1 } $NF ~ /^finish_task_switch/ { switchin += $2 }
        END { print kernel + 0, send + 0, wake + 0, recv + 0, wait + 0, switchin + 0 }' <<<"$children"
}
if [[ -s $kernel_results ]]; then
    echo
    echo 'kernel (KERNEL=1), per committed transaction: system calls from one run per tool and cell under strace -c -f'
    echo '(tracing slows both tools, so they sleep in wait more often than untraced); CPU in us: the cell'"'"'s untraced median,'
    echo 'split by the shares of one run under perf record -g: send = sendto, wake = waking the backend inside it'
    echo '(sock_def_readable), recv = recvfrom, wait = epoll_wait/ppoll/poll, switch = switching back in after a sleep (in wait)'
    format="%-9s %7s %-10s %7s %8s %7s %6s %6s | %7s %6s %7s %6s %6s %6s %6s %7s\n"
    printf "$format" variant clients tool sendto recvfrom EAGAIN wait all cpu_us user kernel send wake recv wait switch
    while IFS=$'\t' read -r variant clients tool; do
        s_line="- - - - -"; p_line="- - - - - - - -"
        while IFS=$'\t' read -r v c t method committed user sys file; do
            [[ $v == "$variant" && $c == "$clients" && $t == "$tool" && $committed -gt 0 ]] || continue
            if [[ $method == strace ]]; then
                s_line=$(strace_counts "$file" | awk -v n="$committed" '{ printf "%.2f %.2f %.2f %.2f %.2f", $1 / n, $2 / n, $3 / n, $4 / n, $5 / n }')
            else
                # perf's own CPU is in the traced run's: scale by the untraced runs' median.
                cpu=$(awk -F'\t' -v v="$variant" -v c="$clients" -v t="$tool" '
                    $1 == v && $2 == c && $3 == t && $6 > 0 { x[++n] = ($7 + $8) * 1e6 / $6 }
                    END { if (n == 0) { print 0; exit }
                          for (i = 2; i <= n; i++) { y = x[i]; for (j = i - 1; j >= 1 && x[j] > y; j--) x[j + 1] = x[j]; x[j + 1] = y }
                          printf "%.1f", n % 2 ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2 }' "$results")
                p_line=$(perf_shares "$file" | awk -v cpu="$cpu" '{ printf "%.1f %.1f %.1f %.1f %.1f %.1f %.1f %.1f", cpu, cpu * (100 - $1) / 100, cpu * $1 / 100, cpu * $2 / 100, cpu * $3 / 100, cpu * $4 / 100, cpu * $5 / 100, cpu * $6 / 100 }')
            fi
        done <"$kernel_results"
        # shellcheck disable=SC2086
        printf "$format" "$variant" "$clients" "$tool" $s_line $p_line
    done < <(cut -f1-3 "$kernel_results" | awk '!seen[$0]++')
fi

echo
echo "per run (variant, clients, tool, run, tps, committed, user_s, sys_s, peak_rss_kB, duration_s, retries, failed_tx, deadlocks_server, 40P01_client):"
sort -t$'\t' -k1,1 -k2,2n -k3,3 -k4,4n "$results" "$scale" | sed 's/^/  /'

if [[ -s $mismatches ]]; then
    echo
    echo "WARNING: lockstorm's deadlock count (40P01 received) differs from the server's (pg_stat_database) in these runs: a counting bug?"
    sed 's/^/  /' "$mismatches"
    log "WARNING: lockstorm's and the server's deadlock counts differ in $(wc -l <"$mismatches") run(s): see the end of the table"
fi
