// qsparse/spec/sparse_gemm_args.hpp — what every sparse int8 GEMM kernel is given: the activations,
// the packed sparse weights, the destination, and the block of work (rows [m_begin, m_end), panels
// [panel_begin, panel_end)) one task computes. Validation happened at the entry
// (qsparse/gemm/sparse_gemm.hpp); kernels check nothing.
//
// A sparse kernel family is a struct with
//   static constexpr int mr;  static constexpr isa_level isa;  static const char* name();
//   template <class A, class... S> static void run(const sparse_gemm_args<A, Out>&, const output_pipeline<S...>&,
//                                                  m_begin, m_end, panel_begin, panel_end);
// and computes dst[m][n] = evaluate(pipeline, Σ_k (a[m][k] - a_zp) * w[k][n], m, n) for its block
// (the weights are symmetric: w_zp = 0).
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/spec/packed_sparse_weights.hpp"

namespace qsparse {
namespace kernels {

/// The arguments of one sparse GEMM call; A is std::int8_t or std::uint8_t, Out the pipeline's output type.
template <class A, class Out>
struct sparse_gemm_args {
  const A* a;  // row m starts at a + m * lda; K contiguous elements
  std::ptrdiff_t lda;
  std::int32_t a_zero_point;
  std::ptrdiff_t m, k, n;
  packed_sparse_weights_view weights;
  Out* dst;  // row m starts at dst + m * ldd; N contiguous elements
  std::ptrdiff_t ldd;
  // True when A is std::uint8_t and every row may be read up to weights.k_padded() (the bytes past K are
  // any value: they meet zero weights): kernels that copy rows to unsigned bytes read them in place
  // instead (the sparse conv2d writes its im2col rows that way). sparse_gemm passes false.
  bool a_padded;
};

}  // namespace kernels
}  // namespace qsparse
