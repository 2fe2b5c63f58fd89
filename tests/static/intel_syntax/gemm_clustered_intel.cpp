// tests/static/intel_syntax/gemm_clustered_intel.cpp — compiled and assembled (never run) with -masm=intel
// by g++ and clang++ (tests/static/CMakeLists.txt): every inline asm the library emits here, the clustered
// VNNI kernel's and CPU detection's, must assemble in a host built with Intel syntax.
#include <cstdint>

#include "qsparse/gemm/gemm_clustered.hpp"

const qsparse::cpu_features& features() { return qsparse::cpu(); }

void clustered(const qsparse::packed_clustered_weights_view& w, const std::int8_t* a, std::int32_t* dst) {
  qsparse::gemm_clustered(qsparse::context{}, qsparse::make_view(a, 9, w.k()), w, qsparse::make_view(dst, 9, w.n()),
                          qsparse::pipeline());
}
