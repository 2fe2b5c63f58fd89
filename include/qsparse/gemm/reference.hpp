// qsparse/gemm/reference.hpp — the definition of the int8 GEMM's result, in the plainest code.
//
//   reference_gemm(quantized(a, a_zp), quantized(w, w_zp), dst, pipeline)
//   dst[m][n] = evaluate(pipeline, Σ_k (a[m][k] - a_zp) * (w[k][n] - w_zp), m, n)
//
// a is M×K, w is K×N (any layouts), dst is M×N. The sum is formed in int64 and must fit int32 (the
// fast entry point rejects deeper problems up front; here it is checked per element). Every kernel is
// tested bit-exact against this function.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "qsparse/core/error.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/gemm/gemm.hpp"
#include "qsparse/spec/output_stages.hpp"

namespace qsparse {

template <class A, class LA, class AA, class W, class LW, class AW, class D, class LD, class AD, class... S>
void reference_gemm(const quantized_operand<tensor_view<A, 2, LA, AA>>& activations,
                    const quantized_operand<tensor_view<W, 2, LW, AW>>& weights,
                    const tensor_view<D, 2, LD, AD>& destination, const output_pipeline<S...>& pipeline) {
  static_assert(std::is_same_v<D, typename output_pipeline<S...>::output_type>,
                "qsparse::reference_gemm: the output pipeline does not produce the destination's element type.");
  const char* fn = "qsparse::reference_gemm";
  const auto& a = activations.view;
  const auto& w = weights.view;
  const index_t m_count = a.extent(0);
  const index_t k_count = a.extent(1);
  const index_t n_count = w.extent(1);
  detail::check(w.extent(0) == k_count, fn, ": activations have K = ", k_count, " but weights have K = ", w.extent(0));
  detail::check(destination.extent(0) == m_count && destination.extent(1) == n_count, fn, ": destination is ",
                destination.extent(0), " x ", destination.extent(1), ", expected ", m_count, " x ", n_count);
  validate(pipeline, n_count, fn);
  for (index_t m = 0; m < m_count; ++m) {
    for (index_t n = 0; n < n_count; ++n) {
      std::int64_t acc = 0;
      for (index_t k = 0; k < k_count; ++k) {
        acc += (std::int64_t{a(m, k)} - activations.zero_point) * (std::int64_t{w(k, n)} - weights.zero_point);
      }
      detail::check(acc >= std::numeric_limits<std::int32_t>::min() && acc <= std::numeric_limits<std::int32_t>::max(),
                    fn, ": the sum at (", m, ", ", n, ") = ", acc, " does not fit int32");
      destination(m, n) = evaluate(pipeline, static_cast<std::int32_t>(acc), m, n);
    }
  }
}

}  // namespace qsparse
