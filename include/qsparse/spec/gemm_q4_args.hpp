// qsparse/spec/gemm_q4_args.hpp — what the kernels of the int8-activation × 4-bit-weight GEMM are given
// (qsparse/gemm/gemm_q4.hpp): rows already quantized to int8 with their scale and group sums, the packed
// weights (qsparse/spec/packed_weights_q4.hpp), the destination. The float-activation kernels take
// gemm_panel_args<float, packed_weights_q4_view, float> (qsparse/spec/gemm_panel_args.hpp). Validation
// happened at the entry; kernels check nothing.
//
// A kernel of either family is a struct with
//   static constexpr int mr, nr;  static constexpr isa_level isa;  static const char* name();
//   template <class... S> static void run(const Args&, const output_pipeline<S...>&,
//                                         std::ptrdiff_t m_begin, std::ptrdiff_t m_end,
//                                         std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end);
// computing rows [m_begin, m_end) × the columns of panels [panel_begin, panel_end) of dst exactly as
// qsparse/gemm/reference_q4.hpp defines them.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/spec/packed_weights_q4.hpp"

namespace qsparse {
namespace kernels {

/// The arguments of one int8-activation × 4-bit-weight call.
struct gemm_q4_args {
  const std::int8_t* a;  // row m of quantized activations at a + m * lda; K values in [-127, 127]
  std::ptrdiff_t lda;
  const std::int32_t* group_sums;  // row m at group_sums + m * lds: Σ_{k in group g} a[m][k], K / G values
  const std::int32_t* group_starts;  // the same layout: -8 × group_sums, a group's start without zero points
  std::ptrdiff_t lds;
  const float* row_scales;  // M: real activation = row_scales[m] * a[m][k]
  std::ptrdiff_t m, k, n;
  packed_weights_q4_view weights;
  float* dst;  // row m at dst + m * ldd; N contiguous floats
  std::ptrdiff_t ldd;
};

}  // namespace kernels
}  // namespace qsparse
