#!/usr/bin/env bash
# Installs what lockstorm needs on Debian/Ubuntu, only when it is missing:
# pkg-config and libpq-dev to build, the PostgreSQL server for the embedded
# server and the tests. Safe to run again: it does nothing when all is there.
set -euo pipefail

need=()
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
pkg-config --exists libpq 2>/dev/null || need+=(libpq-dev)

have_server=false
if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then have_server=true; fi
for bin in /usr/lib/postgresql/*/bin/initdb; do [ -x "$bin" ] && have_server=true; done
$have_server || need+=(postgresql)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "lockstorm needs: ${need[*]} (no apt-get here: install them with your package manager)" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "lockstorm needs: ${need[*]}; run as root or install sudo" >&2; exit 1; }
  sudo="sudo"
fi
echo "lockstorm: installing ${need[*]} with apt-get" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
