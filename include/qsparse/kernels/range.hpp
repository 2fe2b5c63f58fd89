// qsparse/kernels/range.hpp — the finite-range kernels (min and max of the finite floats of a
// contiguous run), one per ISA, and the choice among them by ISA level. The entry points are
// qsparse/calibrate/range.hpp (find_range, find_channel_ranges) and the dynamic-range GEMM.
#pragma once

#include "qsparse/core/config.hpp"
#include "qsparse/core/extents.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx2/range.hpp"
#include "qsparse/kernels/avx512/range.hpp"
#include "qsparse/kernels/scalar/range.hpp"

namespace qsparse {
namespace kernels {

/// lo = min(lo, finite x[0..n)), hi = max(hi, finite x[0..n)) on the best kernel of at most `level`.
inline void run_finite_range(isa_level level, const float* x, index_t n, float& lo, float& hi) {
#if QSPARSE_X86
  if (isa_runs(level, isa_level::avx512)) return avx512::finite_range(x, n, lo, hi);
  if (isa_runs(level, isa_level::avx2)) return avx2::finite_range(x, n, lo, hi);
#endif
  (void)level;
  scalar::finite_range(x, n, lo, hi);
}

/// lo[j] = min(lo[j], x[j]) and hi[j] = max(hi[j], x[j]) for the finite x[j], j in [0, n), on the best
/// kernel of at most `level`.
inline void run_finite_range_channelwise(isa_level level, const float* x, index_t n, float* lo, float* hi) {
#if QSPARSE_X86
  if (isa_runs(level, isa_level::avx512)) return avx512::finite_range_channelwise(x, n, lo, hi);
  if (isa_runs(level, isa_level::avx2)) return avx2::finite_range_channelwise(x, n, lo, hi);
#endif
  (void)level;
  scalar::finite_range_channelwise(x, n, lo, hi);
}

}  // namespace kernels
}  // namespace qsparse
