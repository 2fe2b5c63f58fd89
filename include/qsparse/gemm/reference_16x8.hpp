// qsparse/gemm/reference_16x8.hpp — the definition of the 16x8 GEMM's result, in the plainest code.
//
//   reference_gemm_16x8(a, w, dst, pipeline)
//   dst[m][n] = evaluate(pipeline, Σ_k int64(a[m][k]) * int64(w[k][n]), m, n)
//
// a is an M×K view of std::int16_t (zero point 0), w a K×N view of std::int8_t (zero point 0), dst M×N,
// any layouts. The sum is exact in int64 (|sum| <= K * 2^22). The pipeline is validated as gemm_16x8
// validates it, including the up-front bound K * 2^22 + max|bias| of the int64 stages. Every 16x8
// kernel is tested bit-exact against this function.
#pragma once

#include <cstdint>
#include <type_traits>

#include "qsparse/core/error.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/gemm/gemm_16x8.hpp"
#include "qsparse/spec/output_stages.hpp"

namespace qsparse {

template <class A, class LA, class AA, class W, class LW, class AW, class D, class LD, class AD, class... S>
void reference_gemm_16x8(const tensor_view<A, 2, LA, AA>& activations, const tensor_view<W, 2, LW, AW>& weights,
                         const tensor_view<D, 2, LD, AD>& destination, const output_pipeline<S...>& pipeline) {
  static_assert(
      std::is_same_v<std::remove_const_t<A>, std::int16_t> && std::is_same_v<std::remove_const_t<W>, std::int8_t>,
      "qsparse::reference_gemm_16x8: activations must be std::int16_t and weights std::int8_t.");
  static_assert(std::is_same_v<D, typename output_pipeline<S...>::template output_type_from<std::int64_t>>,
                "qsparse::reference_gemm_16x8: the output pipeline does not produce the destination's element type.");
  const char* fn = "qsparse::reference_gemm_16x8";
  const index_t m_count = activations.extent(0);
  const index_t k_count = activations.extent(1);
  const index_t n_count = weights.extent(1);
  detail::check(weights.extent(0) == k_count, fn, ": activations have K = ", k_count,
                " but weights have K = ", weights.extent(0));
  detail::check(destination.extent(0) == m_count && destination.extent(1) == n_count, fn, ": destination is ",
                destination.extent(0), " x ", destination.extent(1), ", expected ", m_count, " x ", n_count);
  validate(pipeline, n_count, fn);
  detail::check_16x8_accumulator_bound(fn, pipeline, k_count, n_count);
  for (index_t m = 0; m < m_count; ++m) {
    for (index_t n = 0; n < n_count; ++n) {
      std::int64_t acc = 0;
      for (index_t k = 0; k < k_count; ++k) acc += std::int64_t{activations(m, k)} * std::int64_t{weights(k, n)};
      destination(m, n) = evaluate(pipeline, acc, m, n);
    }
  }
}

}  // namespace qsparse
