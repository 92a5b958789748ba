# The two commands of the README's quick start, and their parts.
.PHONY: deps build demo test unit matrix instructions instructions-baseline tsan clean

deps:
	@scripts/install-deps.sh

build: deps
	swift build -c release

# The main job: both transfer variants on a throwaway embedded PostgreSQL.
demo: build
	.build/release/lockstorm run workloads/transfers.yaml --all-variants -c 16 -T 10 --deadlock-timeout 100ms

# The whole test suite: unit tests and integration tests on real servers.
test: deps
	swift test

# Unit tests only, no database (quick).
unit:
	LOCKSTORM_SKIP_DB_TESTS=1 swift test

# The integration suites on every supported PostgreSQL major version (15
# from Debian, 16 and 18 from server wheels fetched once into a cache);
# `scripts/pg-matrix.sh --full` runs the whole suite on each.
matrix: deps
	scripts/pg-matrix.sh

# The speed contract: instructions per transaction (callgrind) may not rise
# more than 5% above bench/instructions.baseline (needs valgrind; release
# build in .build-bench). See docs/architecture.md.
instructions: deps
	bench/instructions-gate.sh

# Measures again (median of 3) and records the figures as the new baseline.
instructions-baseline: deps
	bench/instructions-gate.sh --record

# The session board's racing seqlock tests under ThreadSanitizer, built in a
# folder of their own so the normal build stays valid.
tsan: deps
	swift test --sanitize=thread --scratch-path .build-tsan --filter SessionBoard

clean:
	rm -rf .build .build-bench .build-tsan
