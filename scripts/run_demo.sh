#!/usr/bin/env bash
# scripts/run_demo.sh [ARGS...] — THE demo command: installs what it needs, builds the end-to-end demo
# (target qsparse_demo, Release, in build/demo) and runs it with ARGS (none: the MLP pipeline — train,
# prune, quantize, save/re-load every variant, report; `--help` lists the flags). The table goes to stdout
# and, with the SVG chart, to build/demo-out/ (build/demo-smoke-out/ with --smoke; --out OUT_DIR
# elsewhere). Build output goes to build/logs/demo.{configure,build}.log (shown on failure); progress
# lines (per network and epoch, with the time left) go to stderr, so the demo's own stdout is all that
# stdout carries.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

if [ "${QSPARSE_SKIP_DEPS:-0}" != 1 ]; then
  bash scripts/install_deps.sh g++ cmake ninja-build libeigen3-dev libxsimd-dev zlib1g-dev nlohmann-json3-dev dataset-fashion-mnist
fi

logs="build/logs"
mkdir -p "$logs"
generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi

fail() {
  echo "run_demo: $1 failed; from $2:" >&2
  tail -n 40 "$2" >&2
  exit 1
}

echo "run_demo: building qsparse_demo in build/demo (logs: $logs/demo.*.log)" >&2
cmake -S . -B build/demo "${generator[@]}" -DCMAKE_CXX_COMPILER="${CXX:-g++}" -DCMAKE_BUILD_TYPE=Release \
  -DQSPARSE_BUILD_EXAMPLES=ON -DQSPARSE_BUILD_TESTS=OFF -DQSPARSE_BUILD_BENCHMARKS=OFF \
  >"$logs/demo.configure.log" 2>&1 || fail "configure" "$logs/demo.configure.log"
cmake --build build/demo --target qsparse_demo -j "$(nproc 2>/dev/null || echo 2)" \
  >"$logs/demo.build.log" 2>&1 || fail "build" "$logs/demo.build.log"

demo="$(find build/demo -path '*/CMakeFiles' -prune -o -type f -name qsparse_demo -perm -u+x -print | head -n 1)"
[ -n "$demo" ] || { echo "run_demo: built, but no qsparse_demo executable found under build/demo" >&2; exit 1; }
exec "$demo" "$@"
