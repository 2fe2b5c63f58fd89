#!/usr/bin/env bash
# scripts/run_tests.sh — THE test command: installs what it needs, then configures, builds and runs the
# tests of every configuration of the matrix, each in its own build dir build/<name>:
#
#   gcc17        g++     C++17  -O2, no -g      -Werror  tests + examples + benchmarks (compiled with the Release
#                                                        flags, see benchmarks/CMakeLists.txt; each run once), and
#                                                        the whole library syntax-checked by this g++ in C++20
#                                                        (static_gxx_cxx20: there is no x86-64 g++ C++20 build);
#                                                        the ISA-dependent tests again under
#                                                        QSPARSE_ISA_CEILING=avx2
#   clang20      clang++ C++20  Release         -Werror  tests + examples
#   clang17-san  clang++ C++17  Debug -O0       -Werror  tests under ASan + UBSan (QSPARSE_SANITIZE), plus a
#                                                        bounded libFuzzer run (QSPARSE_BUILD_FUZZERS, the
#                                                        fuzzers at -O0 too: QSPARSE_FUZZER_OPT)
#   aarch64-qemu aarch64-linux-gnu-g++ C++20 Debug -O2 -Werror  everything the others build: tests + examples +
#                                                        benchmarks (Release flags), cross-built
#                                                        (cmake/toolchains/aarch64-linux-gnu.cmake; Google Benchmark
#                                                        and zlib are Debian's arm64 packages, multiarch), every
#                                                        test run under qemu-aarch64 -cpu max (dot product, i8mm:
#                                                        must reach neon_i8mm), and every test whose program reads
#                                                        the CPU's features (isa_dependent_tests) again under
#                                                        -cpu cortex-a53 (neither: neon); the package and
#                                                        no-exceptions tests run their programs through the
#                                                        emulator too; each benchmark runs once under -cpu max
#                                                        (a smoke test: emulated times mean nothing). It also stands for g++ in C++20, and
#                                                        for a compiler that contracts a*b+c into an FMA.
#                                                        Compile-fail, layering and link checks run once.
#   gcc20        g++     C++20  Release         -Werror  tests; not in the default list (its g++ C++20 coverage is
#                                                        in aarch64-qemu and static_gxx_cxx20): QSPARSE_TEST_CONFIGS=gcc20
#
# Quiet when all is well: logs go to build/logs/<name>.{configure,build,test,bench}.log; on failure the
# relevant part of the log is shown. Prints a line as each configuration starts and as each of its
# phases (configure, build, test, benchmarks) ends, with the seconds it took, one summary line per
# configuration, then `N passed, M failed` (CTest's test counts summed, plus the benchmark smoke runs; a
# configuration that fails to configure or build counts as one failed test) and exits non-zero if
# anything failed.
#
# The benchmark smoke runs each benchmark binary briefly and fails a binary that exits non-zero, prints
# "no result" (its summary found nothing to summarise: the filter missed the rows it needs), or does not
# report "qsparse_build: optimised, NDEBUG" (its code was not compiled with the Release flags). Google
# Benchmark's "Library was built as DEBUG" warning is not ours: Debian's libbenchmark 1.7.1 is compiled
# without NDEBUG and prints it for every program, -O3 -DNDEBUG ones included.
#
# Environment:
#   QSPARSE_TEST_CONFIGS="gcc17 clang20"  run only these configurations
#   QSPARSE_TEST_CLEAN=1                  wipe each build dir first (default: incremental)
#   QSPARSE_BENCH_FILTER=<regex>          benchmarks to smoke-run (default: the first of each binary)
#   QSPARSE_SKIP_DEPS=1                   do not install packages
#   QSPARSE_TEST_JOBS=<n>                 parallel compile and test jobs (default: nproc)
set -uo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root" || exit 1

jobs="${QSPARSE_TEST_JOBS:-$(nproc 2>/dev/null || echo 2)}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
logs="build/logs"
mkdir -p "$logs"

default_configs="gcc17 clang20 clang17-san aarch64-qemu"
known_configs="$default_configs gcc20"
configs="${QSPARSE_TEST_CONFIGS:-$default_configs}"
for name in $configs; do
  case " $known_configs " in
    *" $name "*) ;;
    *) echo "run_tests: unknown configuration '$name' (known: $known_configs)" >&2; exit 2 ;;
  esac
done

if [ "${QSPARSE_SKIP_DEPS:-0}" != 1 ]; then
  if ! bash scripts/install_deps.sh g++ clang cmake ninja-build catch2 libeigen3-dev libxsimd-dev \
      libgemmlowp-dev libbenchmark-dev libclang-rt-14-dev zlib1g-dev nlohmann-json3-dev dataset-fashion-mnist git \
      g++-arm-linux-gnueabihf g++-riscv64-linux-gnu \
      $(case " $configs " in
          *" aarch64-qemu "*) echo g++-aarch64-linux-gnu qemu-user libbenchmark-dev:arm64 zlib1g-dev:arm64 ;;
        esac); then
    echo "run_tests: could not install the dependencies" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
fi

# The ISA guard (tests/dispatch/isa_test.cpp): the tests must find at least the ISA this machine's
# kernel reports, so a broken detection path cannot silently turn every SIMD test into a scalar one.
if [ -z "${QSPARSE_REQUIRE_ISA:-}" ] && [ -r /proc/cpuinfo ]; then
  flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
  has() { case "$flags" in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
  QSPARSE_REQUIRE_ISA=scalar
  if has avx2 && has fma && has f16c; then
    QSPARSE_REQUIRE_ISA=avx2
    has avx_vnni && QSPARSE_REQUIRE_ISA=avx_vnni
    if has avx512f && has avx512bw && has avx512vl && has avx512dq; then
      QSPARSE_REQUIRE_ISA=avx512
      has avx512_vnni && QSPARSE_REQUIRE_ISA=avx512_vnni
      # Linux lists amx_tile / amx_int8 when it enables the tile state; qsparse then asks for the permission.
      has avx512_vnni && has amx_tile && has amx_int8 && QSPARSE_REQUIRE_ISA=amx_int8
    fi
  fi
fi
export QSPARSE_REQUIRE_ISA="${QSPARSE_REQUIRE_ISA:-scalar}"

generator=(); keep_going=(-k)
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); keep_going=(-k 0); fi
launcher=()
if command -v ccache >/dev/null 2>&1; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi

has_examples=0; [ -f examples/CMakeLists.txt ] && has_examples=1
has_benchmarks=0; [ -f benchmarks/CMakeLists.txt ] && has_benchmarks=1

# Shows the interesting part of a failed step's log: from the first error on (build), else the tail.
show_log() {
  local file="$1" first
  echo "----- $file -----"
  first="$(grep -n -m1 -E '^FAILED:|error:|CMake Error|\*\*\*Failed|\*\*\*Exception|\*\*\*Timeout' "$file" | cut -d: -f1)"
  if [ -n "$first" ] && [ "$(wc -l <"$file")" -gt 80 ]; then
    tail -n +"$((first > 5 ? first - 5 : 1))" "$file" | head -n 60
    echo "[...]"
    tail -n 20 "$file"
  else
    tail -n 80 "$file"
  fi
  echo "----- end of $file -----"
}

total_passed=0
total_failed=0
summary=()

# phase_line <name> <phase> <start seconds> <result>: "run_tests:   gcc17  build       ok   612 s".
phase_line() {
  printf 'run_tests:   %-12s %-11s %-30s %5d s\n' "$1" "$2" "$4" "$((SECONDS - $3))"
}

# run_config <name>: sets config_passed, config_failed, config_status.
run_config() {
  local name="$1" dir="build/$1" cxx std type type_flags="" examples=OFF benchmarks=OFF werror=ON sanitize=OFF fuzzers=OFF
  local toolchain="" targets=() test_filter="" qemu_cpus=() bench_cpus=("") isa_ceilings=()
  case "$name" in
    # -O2 beside the other configurations' -O3, and no -g: debug info made the template-heavy test files
    # compile 1.7x longer (gemm_test.cpp: 254 s against 149 s of CPU) with nothing in CI reading it.
    # It runs the tests whose program reads the CPU's features (isa_dependent_tests) once more under
    # QSPARSE_ISA_CEILING=avx2: dispatch and the tests' levels (testing::supported_levels) capped at the
    # ISA of an AVX2-only machine, so every test must hold there too (76 tests: 14 s of CPU, 22 s with
    # -j 2 at a load of 7 on 2 cores, of which the demo smoke and the QAT example take 12 and 11 s;
    # 0.8 s of CPU to list them).
    gcc17)       cxx=g++;     std=17; type=RelWithDebInfo; type_flags="-O2 -DNDEBUG"; examples=ON; benchmarks=ON
                 isa_ceilings=(avx2) ;;
    clang20)     cxx=clang++; std=20; type=Release;        examples=ON ;;
    gcc20)       cxx=g++;     std=20; type=Release ;;
    clang17-san) cxx=clang++; std=17; type=Debug; type_flags="-O0 -g"; sanitize=ON; fuzzers=ON ;;
    aarch64-qemu)
      # -O2, assertions on: GCC fuses a*b+c into fmadd/fmla (-ffp-contract=fast, its default) only from -O2
      # on, and this is the one configuration where the scalar code contracts: every defined result must
      # hold under it (x86-64's baseline ISA has no FMA, so there only the kernels fuse; aarch64 -O1
      # formed no FMA in quant_quantize_test, -O2 32). It cost 1.3x the compile time of -O1 on nine test files
      # (37.8 against 29.3 s of CPU); the header checks and the benchmarks (Release flags) do not change.
      # GCC's default contraction stays on: every product of a defined result that an addition follows is
      # rounded on its own (qsparse/core/unfused.hpp), so the results do not depend on it.
      cxx=aarch64-linux-gnu-g++; std=20; type=Debug; type_flags="-O2"; examples=ON; benchmarks=ON
      toolchain=cmake/toolchains/aarch64-linux-gnu.cmake
      # CPU model = the ISA the tests must reach there (the guard in tests/dispatch/isa_test.cpp).
      qemu_cpus=(max=neon_i8mm cortex-a53=neon)
      # The benchmark smoke asks whether each program runs and summarises, not which kernel it timed (the
      # tests check every kernel under both models): once, under the model with every kernel.
      bench_cpus=(max) ;;
  esac
  [ "$has_examples" = 1 ] || examples=OFF
  [ "$has_benchmarks" = 1 ] || benchmarks=OFF

  local args=(-S . -B "$dir" "${generator[@]}" "${launcher[@]}"
    -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_STANDARD="$std" -DCMAKE_CXX_STANDARD_REQUIRED=ON
    -DCMAKE_CXX_EXTENSIONS=OFF -DCMAKE_BUILD_TYPE="$type"
    -DQSPARSE_BUILD_TESTS=ON -DQSPARSE_BUILD_EXAMPLES="$examples" -DQSPARSE_BUILD_BENCHMARKS="$benchmarks"
    -DQSPARSE_WERROR="$werror" -DQSPARSE_SANITIZE="$sanitize" -DQSPARSE_BUILD_FUZZERS="$fuzzers")
  # The fuzz smoke is a fixed number of runs: at -O0 they take 32 s of CPU in all, and the fuzzers compile in
  # 42 s instead of 232 s (conv_geometry_fuzz.cpp: 17 against 121 s). By hand, for long runs, keep -O1.
  [ "$fuzzers" = ON ] && args+=(-DQSPARSE_FUZZER_OPT=-O0)
  [ -n "$type_flags" ] && args+=("-DCMAKE_CXX_FLAGS_$(echo "$type" | tr '[:lower:]' '[:upper:]')=$type_flags")
  [ -n "$toolchain" ] && args+=(-DCMAKE_TOOLCHAIN_FILE="$toolchain")

  config_passed=0; config_failed=0; config_status="ok"
  local what="tests"
  [ "$examples" = ON ] && what+=" + examples"
  [ "$benchmarks" = ON ] && what+=" + benchmarks (Release flags)"
  [ "$sanitize" = ON ] && what+=" under ASan + UBSan"
  [ "$fuzzers" = ON ] && what+=", a bounded libFuzzer run"
  echo "run_tests: $name: $cxx C++$std $type${type_flags:+ ($type_flags)} -Werror: $what, in $dir"
  [ "${QSPARSE_TEST_CLEAN:-0}" = 1 ] && rm -rf "$dir"

  local configure_log="$logs/$name.configure.log" configure_rc=0 phase_start=$SECONDS
  cmake "${args[@]}" >"$configure_log" 2>&1 || configure_rc=$?
  if [ $configure_rc -ne 0 ] &&
     grep -q -E 'does not match the (generator|platform)|is different than the directory|does not match the source' "$configure_log"; then
    # A cache left by another generator or source tree: start that build dir afresh, once.
    rm -rf "$dir"
    configure_rc=0
    cmake "${args[@]}" >"$configure_log" 2>&1 || configure_rc=$?
  fi
  if [ $configure_rc -ne 0 ]; then
    phase_line "$name" configure "$phase_start" FAILED
    show_log "$configure_log"
    config_failed=1; config_status="configure failed"; return
  fi
  phase_line "$name" configure "$phase_start" ok
  # Keep going past a failed target, so one broken file does not hide the other results: the tests
  # that could not be built then fail in CTest, and the build failure itself counts as one failure.
  local build_failed=0 build_log="$logs/$name.build.log"
  phase_start=$SECONDS
  local target_args=()
  [ ${#targets[@]} -gt 0 ] && target_args=(--target "${targets[@]}")
  if ! cmake --build "$dir" -j "$jobs" "${target_args[@]}" -- "${keep_going[@]}" >"$build_log" 2>&1; then
    build_failed=1
    phase_line "$name" build "$phase_start" "FAILED ($(grep -c '^FAILED:' "$build_log") targets)"
    show_log "$build_log"
    if grep -q '^FAILED:' "$build_log"; then
      echo "run_tests: $name: targets that failed to build:"
      grep '^FAILED:' "$build_log" | sed -E 's/^FAILED: */  /'
    fi
  else
    phase_line "$name" build "$phase_start" ok
  fi

  local test_log="$logs/$name.test.log" line run_env=() runs=("") run
  [ ${#qemu_cpus[@]} -gt 0 ] && runs=("${qemu_cpus[@]}")
  [ ${#isa_ceilings[@]} -gt 0 ] && runs=("" "${isa_ceilings[@]/#/ceiling:}")
  local filter_args=()
  [ -n "$test_filter" ] && filter_args=(-R "$test_filter")
  phase_start=$SECONDS
  : >"$test_log"
  local first_run=1 run_filter=() isa_tests=""
  [ ${#runs[@]} -gt 1 ] && [ -z "$test_filter" ] && isa_tests="$(isa_dependent_tests "$dir")"
  for run in "${runs[@]}"; do
    # One CTest run per emulated CPU model (QEMU_CPU, read by qemu-aarch64), each with the ISA it must reach,
    # or per ISA ceiling (ceiling:<isa>, QSPARSE_ISA_CEILING: dispatch and the tests' levels capped there).
    # The first run runs every test; the others only the tests whose program can tell the models apart
    # (isa_dependent_tests; all but the compile-fail, layering and link checks when that cannot be told).
    run_env=(); run_filter=()
    # Under emulation the two float training examples are left out: TCG runs their float math in soft float,
    # over 10 minutes each (CTest's timeout); the library calls they make are covered by the unit tests that
    # run here, and they run natively in the x86 configurations.
    local qemu_skip='example_02_quantization_aware_training|example_qsparse_demo_smoke' skip=""
    case "$run" in
      "") ;;
      ceiling:*)
        run_env=(QSPARSE_ISA_CEILING="${run#ceiling:}")
        echo "=== QSPARSE_ISA_CEILING=${run#ceiling:}" >>"$test_log" ;;
      *)
        run_env=(QEMU_CPU="${run%%=*}" QSPARSE_REQUIRE_ISA="${run#*=}")
        echo "=== QEMU_CPU=${run%%=*} QSPARSE_REQUIRE_ISA=${run#*=}" >>"$test_log"
        skip="$qemu_skip"
        run_filter=(-E "^($skip)\$") ;;
    esac
    if [ $first_run = 0 ] && [ -n "$isa_tests" ]; then
      run_filter=(-R "^($(tr '\n' '|' <<<"$isa_tests" | sed 's/|*$//'))\$")
      [ -n "$skip" ] && run_filter+=(-E "^($skip)\$")
    elif [ $first_run = 0 ]; then
      run_filter=(-LE compile_fail -E "^(static_layering.*|docs_links${skip:+|$skip})\$")
    fi
    first_run=0
    local run_log="$test_log.run" run_passed=0 run_failed=0
    env "${run_env[@]}" ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 600 "${filter_args[@]}" \
      "${run_filter[@]}" >"$run_log" 2>&1
    local ctest_rc=$?
    cat "$run_log" >>"$test_log"
    line="$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$run_log" | tail -n 1)"
    if [ -n "$line" ]; then
      local failed total
      failed="$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")"
      total="$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line")"
      run_passed=$((total - failed)); run_failed=$failed
    elif grep -q 'No tests were found' "$run_log" && [ $ctest_rc -eq 0 ]; then
      :
    else
      run_failed=1
    fi
    if [ $ctest_rc -ne 0 ] && [ $run_failed -eq 0 ]; then run_failed=1; fi
    rm -f "$run_log"
    config_passed=$((config_passed + run_passed)); config_failed=$((config_failed + run_failed))
  done
  phase_line "$name" test "$phase_start" "$config_passed passed, $config_failed failed"
  if [ $config_failed -ne 0 ] && [ $build_failed -eq 0 ]; then
    config_status="tests failed"
    show_log "$test_log"
  elif [ $config_failed -ne 0 ]; then
    echo "run_tests: $name: tests that failed or were not built:"
    grep -E '^\s+[0-9]+ - ' "$test_log" | sed -E 's/^\s+/  /'
  fi
  if [ $build_failed -ne 0 ]; then
    config_failed=$((config_failed + 1)); config_status="build failed"
  fi

  if [ "$benchmarks" = ON ]; then
    phase_start=$SECONDS
    local before_passed=$config_passed before_failed=$config_failed cpu
    : >"$logs/$name.bench.log"
    for cpu in "${bench_cpus[@]}"; do
      run_benchmarks "$name" "$dir" "$cpu"
    done
    phase_line "$name" benchmarks "$phase_start" \
      "$((config_passed - before_passed)) passed, $((config_failed - before_failed)) failed"
  fi
}

# isa_dependent_tests <dir>: the names of the tests of build <dir> whose program can behave differently on
# another CPU model: the tests that run an executable of this build compiled from a file that includes
# qsparse/core/cpu_features.hpp, the library's only reader of the CPU's features (the emulator's CPU model
# reaches a program through it alone: everything else runs the baseline ISA the compiler targeted). Read
# from Ninja's dependency log, so it follows the includes as they are; empty when the build has none.
# The rest (io parsing, tensor views, the package builds, ...) run the same instructions on every model.
isa_dependent_tests() {
  local dir="$1" abs exes
  abs="$(cd "$dir" && pwd)" || return 0
  command -v ninja >/dev/null 2>&1 && [ -f "$dir/.ninja_deps" ] || return 0
  # Object <subdir>/CMakeFiles/<target>.dir/<file>.o belongs to executable <subdir>/<target>.
  exes="$(ninja -C "$dir" -t deps 2>/dev/null |
    awk '/^[^ \t].*: #deps/ { obj = $1; sub(/:$/, "", obj) } /\/qsparse\/core\/cpu_features\.hpp$/ { print obj }' |
    sed -E 's#^(.*/)?CMakeFiles/([^/]+)\.dir/.*#\1\2#' | sort -u)"
  [ -n "$exes" ] || return 0
  local file line tname path abs_re
  abs_re="$(sed -E 's/[][\\.*^$+?(){}|]/\\&/g' <<<"$abs")"
  while IFS= read -r file; do
    while IFS= read -r line; do
      tname="$(sed -E 's/^add_test\(\[=\[(.*)\]=\].*/\1/' <<<"$line")"
      while IFS= read -r path; do
        if [ -n "$path" ] && grep -qxF "${path#"$abs"/}" <<<"$exes"; then echo "$tname"; break; fi
      done < <(grep -oE "$abs_re/[^\"\\ ]+" <<<"$line")
    done < <(grep '^add_test(\[=\[' "$file")
  done < <(find "$dir" -name CTestTestfile.cmake)
}

# The smoke filter of benchmark binary <exe>: enough benchmarks for its summary to compute something,
# at sizes that take seconds. The DRAM sections of calibrate and quantize are left out (their buffers
# are 256 and 512 MiB, 2 GiB in all); they print "DRAM: no … ran", which the smoke accepts for DRAM only.
smoke_filter() {
  local exe="$1" first escape='s/[][\\.*^$+?(){}|]/\\&/g'
  case "$(basename "$exe")" in
    calibrate_benchmark|quantize_benchmark) echo '/L2$'; return ;;
  esac
  first="$("${bench_runner[@]}" "$exe" --benchmark_list_tests=true 2>/dev/null | head -n 1)"
  [ -n "$first" ] || return 0
  case "$(basename "$exe")" in
    sparse_gemm_benchmark)
      # The summary compares each sparse row with the dense row of its shape: the first shape, all rows.
      # Names: BM_dense_gemm/<shape>/real_time, BM_sparse_<format>/<shape>/s<percent>/real_time.
      local shape="${first#BM_dense_gemm/}"
      shape="${shape%/real_time}"
      echo "^BM_(dense_gemm|sparse_[a-z0-9_]+)/$(sed -E "$escape" <<<"$shape")(/s[0-9]+)?(/real_time)?\$" ;;
    sparse_unstructured_benchmark)
      # Its first shapes rotate 384 MiB of weights beyond the LLC; the smoke takes the first L2 shape, all rows.
      local l2
      l2="$("${bench_runner[@]}" "$exe" --benchmark_list_tests=true 2>/dev/null | grep -m1 -o '/l2_[^/]*/')"
      echo "^BM_(dense_gemm|block_4x16|bitmask)$(sed -E "$escape" <<<"$l2")s[0-9]+/iterations:[0-9]+/real_time\$" ;;
    *)
      # Escape regex metacharacters so the filter matches exactly that one benchmark.
      echo "^$(sed -E "$escape" <<<"$first")\$" ;;
  esac
}

# run_benchmarks <name> <dir> [<QEMU CPU model>]: runs every executable under <dir>/benchmarks once, briefly
# (smoke_filter, or QSPARSE_BENCH_FILTER). A cross build runs them through its CMAKE_CROSSCOMPILING_EMULATOR
# (from the build dir's cache), under that CPU model.
run_benchmarks() {
  local name="$1" dir="$2" cpu="${3:-}" bench_log="$logs/$1.bench.log" exe filter emulator=()
  [ -d "$dir/benchmarks" ] || return 0
  local emulator_entry
  emulator_entry="$(sed -n 's/^CMAKE_CROSSCOMPILING_EMULATOR:[A-Z]*=//p' "$dir/CMakeCache.txt" 2>/dev/null)"
  [ -n "$emulator_entry" ] && IFS=';' read -r -a emulator <<<"$emulator_entry"
  bench_runner=(env)  # how smoke_filter and the smoke run start a benchmark binary
  [ -n "$cpu" ] && bench_runner+=(QEMU_CPU="$cpu")
  bench_runner+=("${emulator[@]}")
  # The smoke runs are independent and mostly single-threaded: run up to $jobs at once (under QEMU they
  # take minutes in all), then judge each in the listed order so the log reads as one run after another.
  local exes=() filters=() outs=() i running=0 tmp
  tmp="$(mktemp -d)"
  while IFS= read -r exe; do
    filter="${QSPARSE_BENCH_FILTER:-$(smoke_filter "$exe")}"
    if [ -z "$filter" ]; then
      echo "=== $exe lists no benchmarks" >>"$bench_log"
      continue
    fi
    i=${#exes[@]}
    exes+=("$exe"); filters+=("$filter"); outs+=("$tmp/$i")
    ( rc=0
      timeout 300 "${bench_runner[@]}" "$exe" --benchmark_min_time=0.001 --benchmark_filter="$filter" \
        </dev/null >"$tmp/$i" 2>&1 || rc=$?
      echo "$rc" >"$tmp/$i.rc" ) &
    running=$((running + 1))
    if [ $running -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
  done < <(find "$dir/benchmarks" -path '*/CMakeFiles' -prune -o -type f -perm -u+x -print | sort)
  wait
  for i in "${!exes[@]}"; do
    exe="${exes[$i]}"; filter="${filters[$i]}"
    echo "=== ${cpu:+QEMU_CPU=$cpu }$exe --benchmark_filter=$filter" >>"$bench_log"
    local output rc why=""
    output="$(cat "${outs[$i]}")"
    rc="$(cat "${outs[$i]}.rc" 2>/dev/null || echo 1)"
    printf '%s\n' "$output" >>"$bench_log"
    if [ "$rc" -ne 0 ]; then
      why="exit status $rc"
    elif grep -v '^DRAM' <<<"$output" | grep -q -E 'no result|check --benchmark_filter|Failed to match any benchmarks'; then
      why="it printed no result for --benchmark_filter=$filter: $(grep -v '^DRAM' <<<"$output" |
        grep -m1 -E 'no result|check --benchmark_filter|Failed to match any benchmarks')"
    elif ! grep -q 'qsparse_build: optimised, NDEBUG' <<<"$output"; then
      why="it does not report \"qsparse_build: optimised, NDEBUG\": not compiled with the Release flags"
    fi
    if [ -z "$why" ]; then
      config_passed=$((config_passed + 1))
    else
      echo "=== FAILED: $exe: $why" >>"$bench_log"
      echo "run_tests: $name: benchmark smoke failed: $(basename "$exe"): $why"
      config_failed=$((config_failed + 1))
      [ "$config_status" = ok ] && config_status="benchmark failed"
      show_log "$bench_log"
    fi
  done
  rm -rf "$tmp"
}

echo "run_tests: configurations: $configs (logs: $logs/)"
overall_rc=0
for name in $configs; do
  start=$SECONDS
  run_config "$name"
  seconds=$((SECONDS - start))
  total_passed=$((total_passed + config_passed))
  total_failed=$((total_failed + config_failed))
  if [ "$config_status" = ok ]; then verdict="passed"; else verdict="FAILED ($config_status)"; overall_rc=1; fi
  line="$(printf '%-12s %-24s %4d passed %3d failed %5ds' "$name" "$verdict" "$config_passed" "$config_failed" "$seconds")"
  summary+=("$line")
  echo "$line"
done

[ "$has_examples" = 1 ] || echo "run_tests: note: no examples/CMakeLists.txt, examples not built"
[ "$has_benchmarks" = 1 ] || echo "run_tests: note: no benchmarks/CMakeLists.txt, benchmarks not built"
if [ $overall_rc -ne 0 ] && [ ${#summary[@]} -gt 1 ]; then
  echo "run_tests: summary"
  printf '  %s\n' "${summary[@]}"
fi
echo "$total_passed passed, $total_failed failed"
[ $total_failed -eq 0 ] && [ $overall_rc -eq 0 ]
