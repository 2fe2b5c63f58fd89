// qsparse/spec/gemm_clustered_args.hpp — what the kernels of the clustered GEMM (qsparse/gemm/gemm_clustered.hpp)
// are given: int8 activations with their zero point, the packed clustered weights
// (qsparse/spec/packed_clustered_weights.hpp), the destination. Validation happened at the entry; kernels
// check nothing.
//
// A kernel is a struct with
//   static constexpr int mr, nr;  static constexpr isa_level isa;  static const char* name();
//   template <class Out, class... S> static void run(const gemm_clustered_args<Out>&, const output_pipeline<S...>&,
//                                                    std::ptrdiff_t m_begin, std::ptrdiff_t m_end,
//                                                    std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end);
// computing rows [m_begin, m_end) × the columns of panels [panel_begin, panel_end) of dst exactly as
// qsparse/gemm/reference_clustered.hpp defines them.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/spec/packed_clustered_weights.hpp"

namespace qsparse {
namespace kernels {

/// The arguments of one clustered GEMM call; Out is the pipeline's output type.
template <class Out>
struct gemm_clustered_args {
  const std::int8_t* a;  // row m at a + m * lda; K contiguous values
  std::ptrdiff_t lda;
  std::int32_t a_zero_point;
  std::ptrdiff_t m, k, n;
  packed_clustered_weights_view weights;
  Out* dst;  // row m at dst + m * ldd; N contiguous values
  std::ptrdiff_t ldd;
};

}  // namespace kernels
}  // namespace qsparse
