# The two commands of the README's quick start, and their parts.
.PHONY: deps build demo test unit clean

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

clean:
	rm -rf .build
