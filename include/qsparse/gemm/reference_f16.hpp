// qsparse/gemm/reference_f16.hpp — the definition of the float16-weight GEMM's result, in the plainest code.
//
//   reference_gemm_f16(a, w, dst, pipeline)
//   for every (m, n):  acc = +0.0f;
//                      for k = 0 .. K-1 in order: acc = std::fma(a[m][k], float(w16[k][n]), acc);
//                      dst[m][n] = evaluate(pipeline, acc, m, n)
//   reference_gemm_f16(a, w, dst, pipeline, qsparse::f16_multiply_then_add{})
//                      the same with acc = acc + (a[m][k] * float(w16[k][n])), the product rounded to float
//                      first (detail::product_not_fused: no FMA contraction), TFLite's reference float FC
//
// a is an M×K view of float; w a K×N view of qsparse::float16 (w16 = w) or of float (w16 = float16{w},
// round to nearest even, as pack_weights_f16 does); dst an M×N view of float; any layouts. The pipeline
// holds only bias_add_float and clamp_float. std::fma rounds once, like vfmadd231ps, so every kernel is
// tested bit-exact against this function (a NaN result only as "some NaN": see gemm_f16.hpp).
#pragma once

#include <cmath>
#include <type_traits>

#include "qsparse/core/error.hpp"
#include "qsparse/core/float16.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/gemm/gemm_f16.hpp"
#include "qsparse/spec/f16_accumulation.hpp"
#include "qsparse/spec/output_stages.hpp"

namespace qsparse {

template <class A, class LA, class AA, class W, class LW, class AW, class D, class LD, class AD, class... S, class Sum>
void reference_gemm_f16(const tensor_view<A, 2, LA, AA>& activations, const tensor_view<W, 2, LW, AW>& weights,
                        const tensor_view<D, 2, LD, AD>& destination, const output_pipeline<S...>& pipeline, Sum) {
  static_assert(detail::is_f16_accumulation_v<Sum>,
                "qsparse::reference_gemm_f16: the summation must be qsparse::f16_fma_chain or "
                "qsparse::f16_multiply_then_add.");
  using w_t = std::remove_const_t<W>;
  static_assert(std::is_same_v<std::remove_const_t<A>, float> &&
                    (std::is_same_v<w_t, float16> || std::is_same_v<w_t, float>)&&std::is_same_v<D, float>,
                "qsparse::reference_gemm_f16: activations and destination must be float, weights float16 or float.");
  static_assert(((detail::is_float_stage_v<S> || detail::is_custom_stage_v<S>) && ...),
                "qsparse::reference_gemm_f16: the output pipeline may only hold bias_add_float, clamp_float and "
                "stages of your own from float to float.");
  const char* fn = "qsparse::reference_gemm_f16";
  const index_t m_count = activations.extent(0);
  const index_t k_count = activations.extent(1);
  const index_t n_count = weights.extent(1);
  detail::check(weights.extent(0) == k_count, fn, ": activations have K = ", k_count,
                " but weights have K = ", weights.extent(0));
  detail::check(destination.extent(0) == m_count && destination.extent(1) == n_count, fn, ": destination is ",
                destination.extent(0), " x ", destination.extent(1), ", expected ", m_count, " x ", n_count);
  validate(pipeline, n_count, fn);
  for (index_t m = 0; m < m_count; ++m) {
    for (index_t n = 0; n < n_count; ++n) {
      float acc = 0.0f;
      for (index_t k = 0; k < k_count; ++k) {
        float w = 0.0f;
        if constexpr (std::is_same_v<w_t, float16>) {
          w = static_cast<float>(weights(k, n));  // exact
        } else {
          w = static_cast<float>(float16(weights(k, n)));  // rounded to float16 first, then exact
        }
        if constexpr (std::is_same_v<Sum, f16_fma_chain>) {
          acc = std::fma(activations(m, k), w, acc);
        } else {
          acc = acc + detail::product_not_fused(activations(m, k), w);
        }
      }
      destination(m, n) = evaluate(pipeline, acc, m, n);
    }
  }
}

/// The default summation (the fused multiply-add chain).
template <class A, class LA, class AA, class W, class LW, class AW, class D, class LD, class AD, class... S>
void reference_gemm_f16(const tensor_view<A, 2, LA, AA>& activations, const tensor_view<W, 2, LW, AW>& weights,
                        const tensor_view<D, 2, LD, AD>& destination, const output_pipeline<S...>& pipeline) {
  reference_gemm_f16(activations, weights, destination, pipeline, f16_fma_chain{});
}

}  // namespace qsparse
