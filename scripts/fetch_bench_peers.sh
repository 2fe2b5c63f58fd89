#!/usr/bin/env bash
# scripts/fetch_bench_peers.sh — the GEMM benchmark's peers, unpacked under build/peers without installing
# anything system-wide. The library and the tests need none of it.
#
#   build/peers/debian   Debian's packages, unpacked with dpkg -x (nothing installed):
#     libdnnl-dev, libdnnl2    oneDNN 2.6's headers and library (an OpenMP build)
#     libopenblas-pthread-dev  OpenBLAS (DYNAMIC_ARCH: its fp32 kernel is chosen for the CPU at run time),
#     libopenblas0-pthread     and its runtime (found through the benchmark binaries' build RPATH)
#   build/peers/pypi     the newest oneDNN from PyPI: `pip install --prefix` of onednn-devel (headers) and,
#                        by dependency, onednn (libdnnl.so.3, a TBB + SYCL build) with Intel's TBB, OpenMP,
#                        compiler and SYCL runtimes (about 2 GB unpacked). Its CPU engine is SYCL's: it needs
#                        OCL_ICD_FILENAMES=build/peers/pypi/lib/libintelocl.so (the OpenCL CPU device) at run
#                        time, and its TBB threads fill the affinity mask (`taskset -c 0` for one thread).
#                        scripts/run_benchmarks.sh with QSPARSE_ONEDNN_PYPI=1 does all of it.
#
# benchmarks/CMakeLists.txt searches build/peers/debian (QSPARSE_PEERS_ROOT) before the system. Two oneDNN
# versions cannot share a process, so the PyPI one gets its own build tree:
#   cmake -S . -B build/bench-onednn3 -DCMAKE_BUILD_TYPE=Release -DQSPARSE_BUILD_BENCHMARKS=ON \
#         -DQSPARSE_ONEDNN_ROOT=$PWD/build/peers/pypi
# Usage: scripts/fetch_bench_peers.sh [debian|pypi|all] [destination, default build/peers]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
what="${1:-all}"
dest="${2:-$root/build/peers}"
onednn_pypi_version="2026.1.0"  # oneDNN 3.13

if [ "$what" = debian ] || [ "$what" = all ]; then
  mkdir -p "$dest/debs" "$dest/debian"
  # libdnnl2 too: libdnnl-dev's libdnnl.so is a relative link to it, which must resolve in the unpacked tree.
  packages=(libdnnl-dev libdnnl2 libopenblas-dev libopenblas-pthread-dev libopenblas0-pthread)
  (cd "$dest/debs" && apt-get download "${packages[@]}")
  for deb in "$dest"/debs/*.deb; do dpkg -x "$deb" "$dest/debian"; done
  echo "unpacked ${packages[*]} under $dest/debian"
fi
if [ "$what" = pypi ] || [ "$what" = all ]; then
  # --prefix, not --target: the wheels carry the libraries as data files, which --target drops.
  python3 -m pip install --no-cache-dir --ignore-installed --no-warn-script-location --only-binary=:all: \
    --prefix "$dest/pypi" "onednn-devel==$onednn_pypi_version"
  echo "installed onednn-devel $onednn_pypi_version under $dest/pypi"
fi
