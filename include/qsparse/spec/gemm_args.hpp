// qsparse/spec/gemm_args.hpp — what every int8 GEMM kernel is given: the activations, the packed
// weights, the destination, and the block of work (rows [m_begin, m_end), panels [panel_begin,
// panel_end)) one task computes. Validation happened at the entry (qsparse/gemm/gemm.hpp); kernels
// check nothing.
//
// A kernel family is a struct with
//   static constexpr int mr, nr, kr;  static const char* name();  static constexpr isa_level isa;
//   template <class A, class Pipeline> static void run(const gemm_args<A>&, const Pipeline&,
//                                                      std::ptrdiff_t m_begin, std::ptrdiff_t m_end,
//                                                      std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end);
// and computes dst[m][n] = evaluate(pipeline, Σ_k (a[m][k] - a_zp) * (w[k][n] - w_zp), m, n) for its block.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/spec/packed_weights.hpp"

namespace qsparse {
namespace kernels {

/// The arguments of one GEMM call; A is std::int8_t or std::uint8_t, Out the pipeline's output type.
template <class A, class Out>
struct gemm_args {
  const A* a;                   // row m starts at a + m * lda; K contiguous elements
  std::ptrdiff_t lda;
  std::int32_t a_zero_point;
  std::ptrdiff_t m, k, n;
  packed_weights_view weights;  // packed for the kernel's layout
  Out* dst;                     // row m starts at dst + m * ldd; N contiguous elements
  std::ptrdiff_t ldd;
};

}  // namespace kernels
}  // namespace qsparse
