#!/usr/bin/env bash
# Instrumentation overhead on each workload: wall time of the default
# (instrumented) build against a build with the profiler compiled out
# (`--no-default-features`), median of several runs, interleaved.
#
#   workloads/overhead.sh                      # every workload, default sizes
#   workloads/overhead.sh pi --rounds 7        # options go to bench-overhead
#
# The two builds need separate target folders: Cargo unifies features per
# build, so the compiled-out one cannot share `target/`.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p workloads
cargo build --release -p workloads --no-default-features --target-dir target/uninstrumented
exec target/release/workloads bench-overhead \
    --baseline target/uninstrumented/release/workloads "$@"
