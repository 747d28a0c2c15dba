#!/usr/bin/env bash
# The project's whole test suite, as CI runs it (see README). It checks its
# prerequisites first and installs what is missing (valgrind, python3,
# gprof2dot, jsonschema, BSC's Paraver checker `ptd` from pertalde, OpenMPI,
# libclang, Chromium with its driver and selenium), runs every step even when one fails, and lists the
# failed steps at the end (exit status 1 if any).
set -uo pipefail
cd "$(dirname "$0")"

echo "== prerequisites"
# Every prerequisite as (what, check, apt package, pip package); checked all
# at once, what is missing installed (apt-get as root, pip), then checked
# again: anything still missing is listed in one message with the commands
# that install it. PROFILER_TEST_NO_INSTALL=1 only checks and lists.
# `./test.sh --prerequisites` stops after this part.
prereqs=(
  "cargo|command -v cargo||"
  "python3|command -v python3|python3 python3-pip|"
  "valgrind|command -v valgrind && command -v callgrind_annotate|valgrind|"
  # MPI: OpenMPI's mpiexec and headers (rsmpi builds against them), libclang
  # for rsmpi's bindgen: libclang.so itself, not libclang-cpp.so, which
  # llvm-dev brings and bindgen cannot use.
  "mpiexec|command -v mpiexec|openmpi-bin|"
  "mpicc|command -v mpicc|libopenmpi-dev|"
  "libclang|ls /usr/lib/llvm-*/lib/libclang.so*|libclang-dev|"
  # A real headless browser for report.html's tests (driven by selenium).
  "chromium|command -v chromium|chromium|"
  "chromedriver|command -v chromedriver|chromium-driver|"
  "gprof2dot|command -v gprof2dot||gprof2dot"
  "jsonschema|python3 -c 'import jsonschema'||jsonschema"
  "numpy|python3 -c 'import numpy'||numpy"
  # BSC's Paraver trace checker (`ptd comprovar`), for the MPI trace tests.
  "ptd|command -v ptd||pertalde"
  "selenium|python3 -c 'import selenium'||selenium"
)
missing() {
  local entry what check
  for entry in "${prereqs[@]}"; do
    IFS='|' read -r what check _ _ <<<"$entry"
    eval "$check" >/dev/null 2>&1 || echo "$entry"
  done
}
# pip may install console scripts outside PATH (user or pyenv bin folders).
add_pip_scripts_to_path() {
  command -v python3 >/dev/null 2>&1 &&
    PATH="$PATH:$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
  PATH="$PATH:$HOME/.local/bin"
  export PATH
}
add_pip_scripts_to_path
mapfile -t lacking < <(missing)
if [ ${#lacking[@]} -gt 0 ] && [ "${PROFILER_TEST_NO_INSTALL:-0}" != 1 ]; then
  apt_pkgs=() pip_pkgs=()
  for entry in "${lacking[@]}"; do
    IFS='|' read -r _ _ apt pip <<<"$entry"
    [ -n "$apt" ] && apt_pkgs+=($apt)
    [ -n "$pip" ] && pip_pkgs+=($pip)
  done
  if [ ${#apt_pkgs[@]} -gt 0 ] && [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq "${apt_pkgs[@]}"
  fi
  if [ ${#pip_pkgs[@]} -gt 0 ] && command -v python3 >/dev/null 2>&1; then
    python3 -m pip install --quiet "${pip_pkgs[@]}" 2>/dev/null ||
      python3 -m pip install --quiet --break-system-packages "${pip_pkgs[@]}"
  fi
  add_pip_scripts_to_path
  mapfile -t lacking < <(missing)
fi
if [ ${#lacking[@]} -gt 0 ]; then
  names=() apt_pkgs=() pip_pkgs=()
  for entry in "${lacking[@]}"; do
    IFS='|' read -r what _ apt pip <<<"$entry"
    names+=("$what")
    [ -n "$apt" ] && apt_pkgs+=($apt)
    [ -n "$pip" ] && pip_pkgs+=($pip)
  done
  how=()
  [ ${#apt_pkgs[@]} -gt 0 ] && how+=("sudo apt-get install ${apt_pkgs[*]}")
  [ ${#pip_pkgs[@]} -gt 0 ] && how+=("python3 -m pip install ${pip_pkgs[*]}")
  [[ " ${names[*]} " == *" cargo "* ]] && how+=("install Rust from https://rustup.rs")
  msg="prerequisites missing: ${names[*]}"
  [ ${#how[@]} -gt 0 ] && msg="$msg; install them with: $(IFS=';'; echo "${how[*]}" | sed 's/;/; /g')"
  echo "$msg"
  echo "(the steps that need them fail and are listed at the end)"
else
  echo "every prerequisite is there"
fi
# Disk: a full run builds several GB into target/ (about 6 GB from a clean
# clone with .ci/run's settings); say so up front rather than fail mid-build.
avail_kib=$(df -Pk . 2>/dev/null | awk 'NR==2 {print $4}')
if [ -n "$avail_kib" ] && [ "$avail_kib" -lt $((8 * 1024 * 1024)) ]; then
  echo "only $((avail_kib / 1024)) MiB free on the disk of $(pwd): a full run needs about 8 GiB for target/; builds may fail with 'No space left on device'"
fi
if [ "${1:-}" = "--prerequisites" ]; then
  [ ${#lacking[@]} -eq 0 ]
  exit
fi

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
      # --fair-sched=yes: valgrind runs one thread at a time, and with its
      # default lock a spinning thread could keep the one taking snapshots
      # waiting for minutes (recorder:: took 184 to 793 s in three runs of
      # the same code, 18 s with fair scheduling).
      valgrind --tool=memcheck --error-exitcode=1 -q --trace-children=yes --fair-sched=yes \
        "$b" "$module::" --test-threads 2 --skip ten_thousand_handler_calls || rc=1
    done
  done
  # The timeline log's chunks (raw allocations, populated with madvise) and
  # its long scopes across a chunk's end: the library's own unit test.
  local lib
  lib=$(cargo test -p profiler --lib --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable"):
        print(m["executable"])') || return 1
  [ -n "$lib" ] || return 1
  echo "valgrind memcheck: $lib recorder::timeline::"
  valgrind --tool=memcheck --error-exitcode=1 -q --fair-sched=yes "$lib" recorder::timeline:: || rc=1
  return $rc
}

step "format" cargo fmt --all -- --check
step "layers (no import cycle between the crate's files; the data model names no layer above it)" \
  sh -c 'python3 .ci/layers.py --self-test && python3 .ci/layers.py'
step "lints" cargo clippy --workspace --all-targets -- -D warnings
step "lints (the mpi feature)" \
  cargo clippy -p profiler -p integration -p workloads --all-targets \
    --features integration/mpi,workloads/mpi -- -D warnings
# --no-fail-fast: every test binary runs even when one fails.
step "tests (workspace)" cargo test --no-fail-fast
step "tests of MPI programs under mpiexec (the mpi feature)" \
  cargo test --no-fail-fast -p integration --features mpi --test it -- mpi::
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
