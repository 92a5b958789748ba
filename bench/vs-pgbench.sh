#!/usr/bin/env bash
# vs-pgbench.sh — lockstorm and pgbench on the same transfer transaction, side by side.
#
# Starts one throwaway PostgreSQL (lockstorm server start), then for each
# client count runs lockstorm (bench/transfer-bench.yaml) and pgbench
# (bench/transfer.pgbench, -M extended) with the same SQL, account range,
# clients and threads, and prints per tool: tps, client CPU seconds
# (user+sys of the tool's process) per 1,000 committed transactions, and the
# tool's peak RSS, plus the lockstorm/pgbench ratios. See bench/README.md.
#
# Environment (defaults in brackets):
#   CLIENTS   client counts to run, space-separated   ["8 64"]
#   DURATION  seconds per run (-T)                     [10]
#   REPEAT    runs per tool and client count; the table shows medians  [1]
#   ACCOUNTS  accounts in the table (src/dst range)    [100000]
#   THREADS   -j for both tools                        [2]
#   LOCKSTORM_BIN  lockstorm binary to use (default: build bench/../.build-bench release)
#   PGBENCH        pgbench binary to use (default: $(pg_config --bindir)/pgbench, else PATH)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")

CLIENTS=${CLIENTS:-"8 64"}
DURATION=${DURATION:-10}
REPEAT=${REPEAT:-1}
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

# --- tools ---------------------------------------------------------------

if [[ -n ${LOCKSTORM_BIN:-} ]]; then
    lockstorm=$LOCKSTORM_BIN
    [[ -x $lockstorm ]] || die "LOCKSTORM_BIN=$lockstorm is not an executable"
else
    lockstorm=$root/.build-bench/release/lockstorm
    if [[ ! -x $lockstorm ]] || [[ -n $(find "$root/Sources" "$root/Package.swift" -newer "$lockstorm" -print -quit) ]]; then
        log "building lockstorm: swift build -c release --scratch-path .build-bench (a few minutes the first time)"
        (cd "$root" && swift build -c release --scratch-path .build-bench) >&2 || die "swift build failed"
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

"$lockstorm" validate "$here/transfer-bench.yaml" >/dev/null 2>"$work/validate.log" || { cat "$work/validate.log" >&2; die "lockstorm validate failed"; }

max_clients=0
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

results=$work/results.tsv   # clients tool run tps committed user_s sys_s maxrss_kb
: >"$results"

usage_of() { tail -n 1 "$1"; }   # GNU time puts "Command exited with…" first on failure

run_lockstorm() {
    local clients=$1 threads=$2 run=$3
    local tag=c$clients-r$run out=$work/lockstorm-$clients-$run
    local usage=$work/lockstorm-$tag.usage logfile=$work/lockstorm-$tag.log status=0
    log "lockstorm: $clients clients, $threads threads, ${DURATION}s (run $run/$REPEAT)"
    measured "$usage" "$logfile" "$lockstorm" run "$here/transfer-bench.yaml" \
        -c "$clients" -j "$threads" -T "$DURATION" --keep-data \
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
    local tps committed failed duration
    read -r tps committed failed duration <<<"$row"
    (( failed == 0 )) || log "warning: lockstorm had $failed failed transactions"
    local user sys rss
    read -r user sys rss < <(usage_of "$usage")
    printf '%s\tlockstorm\t%s\t%s\t%s\t%s\t%s\t%s\n' "$clients" "$run" "$tps" "$committed" "$user" "$sys" "$rss" >>"$results"
    log "  lockstorm: tps $tps, committed $committed in ${duration}s, cpu user ${user}s sys ${sys}s, peak RSS ${rss} kB"
}

run_pgbench() {
    local clients=$1 threads=$2 run=$3
    local tag=c$clients-r$run
    local usage=$work/pgbench-$tag.usage logfile=$work/pgbench-$tag.log status=0
    reset_table   # a fresh table, as lockstorm's own setup gives it
    log "pgbench:   $clients clients, $threads threads, ${DURATION}s (run $run/$REPEAT)"
    measured "$usage" "$logfile" "$pgbench" -n -M extended -f "$here/transfer.pgbench" \
        -D accounts="$ACCOUNTS" -D max_amount="$MAX_AMOUNT" \
        -c "$clients" -j "$threads" -T "$DURATION" "$DATABASE_URL" || status=$?
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
    printf '%s\tpgbench\t%s\t%s\t%s\t%s\t%s\t%s\n' "$clients" "$run" "$tps" "$committed" "$user" "$sys" "$rss" >>"$results"
    log "  pgbench:   tps $tps, committed $committed, cpu user ${user}s sys ${sys}s, peak RSS ${rss} kB"
    check_money
}

# --- runs ----------------------------------------------------------------

for clients in $CLIENTS; do
    threads=$(( THREADS < clients ? THREADS : clients ))
    for (( run = 1; run <= REPEAT; run++ )); do
        # Alternate which tool goes first, so drift on a busy machine is shared.
        if (( run % 2 == 1 )); then
            run_lockstorm "$clients" "$threads" "$run"
            run_pgbench "$clients" "$threads" "$run"
        else
            run_pgbench "$clients" "$threads" "$run"
            run_lockstorm "$clients" "$threads" "$run"
        fi
    done
done

# --- table ---------------------------------------------------------------

echo
printf 'lockstorm vs pgbench: ordered transfer, %s accounts, %s s per run, -j %s, %s run(s) per cell%s\n' \
    "$ACCOUNTS" "$DURATION" "$THREADS" "$REPEAT" "$( (( REPEAT > 1 )) && echo ' (medians)')"
printf 'one PostgreSQL %s (Unix socket, fsync=off), %s cores; pgbench -M extended; cpu = user+sys of the tool process (%s)\n\n' \
    "${server_version:-?}" "$(nproc 2>/dev/null || echo '?')" "$timer"

awk -F'\t' -v order="$CLIENTS" '
    function median(list,    n, values, i, j, t) {
        n = split(list, values, " ")
        for (i = 2; i <= n; i++) { t = values[i] + 0; for (j = i - 1; j >= 1 && values[j] + 0 > t; j--) values[j + 1] = values[j]; values[j + 1] = t }
        return n % 2 ? values[(n + 1) / 2] + 0 : (values[n / 2] + values[n / 2 + 1]) / 2
    }
    {
        key = $1 SUBSEP $2
        tps[key] = tps[key] " " $4
        cpu[key] = cpu[key] " " (($6 + $7) * 1000 / ($5 > 0 ? $5 : 1))
        rss[key] = rss[key] " " ($8 / 1024)
    }
    END {
        format = "%-8s %-10s %10s %12s %12s\n"
        printf format, "clients", "tool", "tps", "cpu_s/1k_tx", "peak_rss_MB"
        n = split(order, clients, " ")
        for (i = 1; i <= n; i++) {
            c = clients[i]
            if (seen[c]++) continue
            p = c SUBSEP "pgbench"; l = c SUBSEP "lockstorm"
            pt = median(tps[p]); pc = median(cpu[p]); pr = median(rss[p])
            lt = median(tps[l]); lc = median(cpu[l]); lr = median(rss[l])
            printf format, c, "pgbench", sprintf("%.0f", pt), sprintf("%.3f", pc), sprintf("%.1f", pr)
            printf format, c, "lockstorm", sprintf("%.0f", lt), sprintf("%.3f", lc), sprintf("%.1f", lr)
            printf format, c, "ratio l/p", (pt > 0 ? sprintf("%.2f", lt / pt) : "-"), (pc > 0 ? sprintf("%.2f", lc / pc) : "-"), (pr > 0 ? sprintf("%.2f", lr / pr) : "-")
        }
    }' "$results"

if (( REPEAT > 1 )); then
    echo
    echo "per run (clients, tool, run, tps, committed, user_s, sys_s, peak_rss_kB):"
    sort -t$'\t' -k1,1n -k2,2 -k3,3n "$results" | sed 's/^/  /'
fi
