#!/usr/bin/env bash
# scripts/run_benchmarks.sh — THE benchmark command: installs what the benchmarks need (Google Benchmark,
# Eigen, and the peers oneDNN and XNNPACK), configures build/bench (Release, benchmarks only, no -march
# flags: qsparse picks its ISA at run time), builds, and runs benchmark binaries.
#
#   bash scripts/run_benchmarks.sh                          # every binary in build/bench/benchmarks
#   bash scripts/run_benchmarks.sh gemm_benchmark          # just these (names or paths)
#   bash scripts/run_benchmarks.sh gemm_benchmark -- --benchmark_filter=square_1024 \
#        --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#
# Arguments after `--` go to every binary it runs. Build output goes to build/logs/bench.{configure,build}.log
# and is shown only on failure. Runs the binaries one after another (never two at once: they would share
# cores and caches) and exits non-zero if any failed.
#
# Environment:
#   QSPARSE_SKIP_DEPS=1        do not install packages
#   QSPARSE_ONEDNN_PYPI=1      the newest oneDNN (PyPI's onednn-devel, installed by scripts/fetch_bench_peers.sh
#                              under build/peers/pypi) in place of Debian's, in build/bench-onednn3: two oneDNN
#                              versions cannot share a process. Its CPU runtime is SYCL (the OpenCL CPU device
#                              of intel-opencl-rt: OCL_ICD_FILENAMES is set here) on TBB, which takes every
#                              core in the affinity mask: run one-thread rows under `taskset -c 0`.
#   QSPARSE_BENCH_DIR=<dir>    build directory (default build/bench, or build/bench-onednn3)
#   CXX                        the compiler, as CMake reads it (default: c++)
set -uo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root" || exit 1

say() { echo "run_benchmarks: $*" >&2; }

binaries=()
extra=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then
    shift
    extra=("$@")
    break
  fi
  binaries+=("$1")
  shift
done

if [ "${QSPARSE_SKIP_DEPS:-0}" != 1 ]; then
  # libpthreadpool-dev: xnnpack.h includes pthreadpool.h, but libxnnpack-dev does not depend on it.
  if ! bash scripts/install_deps.sh g++ cmake ninja-build libbenchmark-dev libeigen3-dev \
      libdnnl-dev libxnnpack-dev libpthreadpool-dev libopenblas-pthread-dev; then
    say "could not install the dependencies"
    exit 1
  fi
fi

onednn_args=()
default_dir=build/bench
if [ "${QSPARSE_ONEDNN_PYPI:-0}" = 1 ]; then
  if [ ! -f build/peers/pypi/include/oneapi/dnnl/dnnl.hpp ]; then
    bash scripts/fetch_bench_peers.sh pypi >&2 || { say "could not install oneDNN from PyPI"; exit 1; }
  fi
  onednn_args=(-DQSPARSE_ONEDNN_ROOT="$repo_root/build/peers/pypi")
  default_dir=build/bench-onednn3
  # Its CPU engine is a SYCL one: the OpenCL CPU device of intel-opencl-rt, found through this ICD.
  export OCL_ICD_FILENAMES="$repo_root/build/peers/pypi/lib/libintelocl.so"
fi
dir="${QSPARSE_BENCH_DIR:-$default_dir}"
logs="build/logs"
mkdir -p "$logs"
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)

configure_log="$logs/bench.configure.log"
configure() {
  cmake -S . -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DQSPARSE_BUILD_BENCHMARKS=ON \
    -DQSPARSE_BUILD_TESTS=OFF -DQSPARSE_BUILD_EXAMPLES=OFF "${onednn_args[@]+"${onednn_args[@]}"}" >"$configure_log" 2>&1
}
if ! configure; then
  if grep -q -E 'does not match the (generator|platform)|is different than the directory|does not match the source' \
      "$configure_log"; then
    rm -rf "$dir"   # a cache left by another generator or source tree: start afresh, once
    configure || { tail -n 40 "$configure_log" >&2; say "configure failed (log: $configure_log)"; exit 1; }
  else
    tail -n 40 "$configure_log" >&2
    say "configure failed (log: $configure_log)"
    exit 1
  fi
fi
grep -E '^-- qsparse' "$configure_log" >&2 || true

# Build only what is asked for (a broken benchmark elsewhere does not stop this one).
targets=()
for b in "${binaries[@]+"${binaries[@]}"}"; do targets+=(--target "$(basename "$b")"); done
build_log="$logs/bench.build.log"
if ! cmake --build "$dir" -j "$(nproc 2>/dev/null || echo 2)" "${targets[@]+"${targets[@]}"}" >"$build_log" 2>&1; then
  first="$(grep -n -m1 -E '^FAILED:|error:' "$build_log" | cut -d: -f1)"
  tail -n +"${first:-1}" "$build_log" | head -n 60 >&2
  say "build failed (log: $build_log)"
  exit 1
fi

executables=()
if [ ${#binaries[@]} -eq 0 ]; then
  while IFS= read -r exe; do executables+=("$exe"); done < <(
    find "$dir/benchmarks" -path '*/CMakeFiles' -prune -o -type f -perm -u+x -print | sort)
else
  for b in "${binaries[@]}"; do executables+=("$dir/benchmarks/$(basename "$b")"); done
fi
[ ${#executables[@]} -gt 0 ] || { say "no benchmark binaries in $dir/benchmarks"; exit 1; }

rc=0
for exe in "${executables[@]}"; do
  echo "=== $exe ${extra[*]+"${extra[*]}"}"
  if ! "$exe" "${extra[@]+"${extra[@]}"}"; then
    say "$exe failed"
    rc=1
  fi
done
exit $rc
