// qsparse/spec/gemm_panel_args.hpp — what every GEMM-variant kernel is given (the 16x8 GEMM and the
// float16-weight GEMM, whose weights are packed panels, qsparse/spec/packed_panels.hpp): activations,
// packed weights, destination. Validation happened at the entry (qsparse/gemm/gemm_16x8.hpp,
// gemm_f16.hpp); kernels check nothing.
//
// A kernel family is a struct with
//   static constexpr int mr, nr, kr;  static constexpr isa_level isa;  static const char* name();
//   template <class Out, class... S>
//   static void run(const gemm_panel_args<A, Weights, Out>&, const output_pipeline<S...>&,
//                   std::ptrdiff_t m_begin, std::ptrdiff_t m_end,
//                   std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end);
// and computes rows [m_begin, m_end) × the columns of panels [panel_begin, panel_end) of dst.
#pragma once

#include <cstddef>

namespace qsparse {
namespace kernels {

/// The arguments of one GEMM-variant call: A the activation element type, Weights the packed view type,
/// Out the destination element type.
template <class A, class Weights, class Out>
struct gemm_panel_args {
  const A* a;  // row m starts at a + m * lda; K contiguous elements
  std::ptrdiff_t lda;
  std::ptrdiff_t m, k, n;
  Weights weights;  // packed for the kernel's ISA
  Out* dst;         // row m starts at dst + m * ldd; N contiguous elements
  std::ptrdiff_t ldd;
};

}  // namespace kernels
}  // namespace qsparse
