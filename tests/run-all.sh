#!/usr/bin/env bash
# Set up and run every test: install dependencies, configure and build with
# the given preset (default: asan = AddressSanitizer + UBSan, -Werror), then
# ctest.  Usage: tests/run-all.sh [preset]
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-asan}
tests/install-deps.sh --with-node
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
ctest --preset "$preset"
