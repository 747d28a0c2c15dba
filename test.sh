#!/usr/bin/env bash
# The project's whole test suite, as CI runs it (see README). Needs python3,
# valgrind (callgrind_annotate) and gprof2dot on PATH; `.ci/run` installs them.
set -euo pipefail
cd "$(dirname "$0")"

echo "== format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings

echo "== tests (workspace)"
cargo test

echo "== tests (instrumentation compiled out, built alone so features do not unify)"
cargo test -p compiled-out

echo "== loom model of the recorder's concurrent snapshot protocol"
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p profiler --release --lib loom
