# The lockstorm image: the release binary on a slim Debian with libpq, for
# running shards on Kubernetes or any container host (docs/scale-out.md).
#
#   docker build -t lockstorm .
#   docker run --rm -e DATABASE_URL='postgresql://…' lockstorm run transfers -c 16 -T 10
#
# The build stage runs the README's own build command (`make build`: install
# what is missing, then `swift build -c release`); a test
# (Tests/lockstormTests/DeployManifestTests.swift) keeps the two the same.

# Debian 12 (bookworm) with Swift 6.3, the runtime stage's Debian release, so
# the libpq the binary was linked against is the one it runs with.
FROM swift:6.3-bookworm AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# make, for the README's command: the Swift image has the compiler, gcc and
# pkg-config, not make. Packages are not pinned to versions (hadolint
# DL3008): Debian replaces them on each point release, and a pin would break
# the build then; the release (bookworm) is what is fixed.
# hadolint ignore=DL3008
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .

# The README's build command: scripts/install-deps.sh (libpq-dev, and the
# PostgreSQL server the embedded mode and tests use: not copied to the image),
# then the release build, .build/release/lockstorm.
RUN make build

# The binary and the Swift runtime libraries it links (the runtime stage has
# no Swift toolchain): every library ldd resolves in lib/swift/linux.
RUN mkdir -p /image/lib \
    && cp .build/release/lockstorm /image/lockstorm \
    && ldd .build/release/lockstorm | awk '$3 ~ /\/lib\/swift\/linux\// { print $3 }' | xargs -r cp -t /image/lib/


FROM debian:bookworm-slim

# libpq5: the PostgreSQL client library; ca-certificates: for sslmode=verify-full.
# hadolint ignore=DL3008
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libpq5 ca-certificates \
    && rm -rf /var/lib/apt/lists/*

COPY --from=build /image/lib/ /usr/lib/swift/linux/
RUN echo /usr/lib/swift/linux > /etc/ld.so.conf.d/swift.conf && ldconfig
COPY --from=build /image/lockstorm /usr/local/bin/lockstorm
# The shipped workloads, so `lockstorm run transfers` finds them by name.
COPY --from=build /src/workloads /usr/share/lockstorm/workloads
ENV LOCKSTORM_WORKLOADS=/usr/share/lockstorm/workloads

# Fails the build if a library is missing: the binary starts and parses a
# shipped workload (no database needed).
RUN lockstorm --version && lockstorm validate transfers

# Not root: a numeric user, so Kubernetes' runAsNonRoot can check it.
RUN groupadd --system --gid 10001 lockstorm \
    && useradd --system --uid 10001 --gid 10001 --home-dir /home/lockstorm --create-home lockstorm
USER 10001:10001
WORKDIR /home/lockstorm

ENTRYPOINT ["lockstorm"]
CMD ["--help"]
