// qsparse/kernels/range_kernels.hpp — the registry of the finite range of floats (qsparse/calibrate/range.hpp, the dynamic-range GEMM), lowest ISA first (kernels/registry.hpp). Each entry
// is the `range_kernel` struct of an ISA's kernels/<isa>/range.hpp, bit-exact with the scalar one.
#pragma once

#include <cstddef>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/kernels/scalar/range.hpp"

#if QSPARSE_X86
#include "qsparse/kernels/avx2/range.hpp"
#include "qsparse/kernels/avx512/range.hpp"
#endif

namespace qsparse {
namespace kernels {

#if QSPARSE_X86
using range_kernels_x86_64 = kernel_list<avx2::range_kernel, avx512::range_kernel>;
#else
using range_kernels_x86_64 = kernel_list<>;
#endif

using range_kernels = kernel_list_concat_t<kernel_list<scalar::range_kernel>, range_kernels_x86_64>;

/// lo = min(lo, finite x[0..n)), hi = max(hi, finite x[0..n)) on the best kernel `level` runs.
inline void run_finite_range(isa_level level, const float* x, std::ptrdiff_t n, float& lo, float& hi) {
  with_best_kernel(range_kernels{}, level, [&](auto kernel) { decltype(kernel)::finite_range(x, n, lo, hi); });
}

/// run_finite_range, and whether every x[0..n) was finite.
inline bool run_finite_range_checked(isa_level level, const float* x, std::ptrdiff_t n, float& lo, float& hi) {
  bool finite = true;
  with_best_kernel(range_kernels{}, level,
                   [&](auto kernel) { finite = decltype(kernel)::finite_range_checked(x, n, lo, hi); });
  return finite;
}

/// lo[j] = min(lo[j], x[j]) and hi[j] = max(hi[j], x[j]) for the finite x[j], j in [0, n), on the best
/// kernel `level` runs.
inline void run_finite_range_channelwise(isa_level level, const float* x, std::ptrdiff_t n, float* lo, float* hi) {
  with_best_kernel(range_kernels{}, level,
                   [&](auto kernel) { decltype(kernel)::finite_range_channelwise(x, n, lo, hi); });
}

}  // namespace kernels
}  // namespace qsparse
