// qsparse/gemm/reference_q4.hpp — the definition of the 4-bit group-wise weight GEMMs' results
// (qsparse/gemm/gemm_q4.hpp), in the plainest code. Every kernel is tested bit-exact against these.
//
// Weights: quantized values q[k][n] (int8 holding int4 in [-8, 7], or uint8 holding uint4 in [0, 15]) with
// group_params (groups of G along K; axis 0: the view is K×N, axis 1: N×K), d[k][n] = q[k][n] - zp[g][n]
// (zp null: 0 for int4, 8 for uint4), scale s[g][n] (float, or float16 widened exactly), g = k / G.
//
// reference_gemm_q4 — int8 activations quantized per row on the fly × 4-bit weights:
//   (qa[m][.], sa[m]) = quantize_row_symmetric(a[m][.])     TFLite's symmetric row quantization (hybrid.hpp):
//                                                          qa in [-127, 127], sa = max|a[m]| / 127 (1 if 0)
//   acc = +0.0f
//   for g = 0, 1, ..., K/G - 1:  isum = Σ_{k in g} qa[m][k] * d[k][n]        (int32, exact)
//                                acc  = fma(float(isum), s[g][n], acc)        (one rounding)
//   dst[m][n] = evaluate(pipeline, float(acc * sa[m]), m, n)                 (the product rounded, not fused)
//
// reference_gemm_q4_f32 — float activations × 4-bit weights dequantized on the fly:
//   acc = +0.0f
//   for k = 0, 1, ..., K-1:  acc = fma(a[m][k], float(float(d[k][n]) * s[g][n]), acc)
//   dst[m][n] = evaluate(pipeline, acc, m, n)
// float(d) * s is the scheme's dequantized weight (dequantize_value, rounded once); the chain is one fused
// step per k in order, as reference_f16.hpp's. Both need the default floating-point environment (round to
// nearest, no flush-to-zero); a NaN result is some NaN (the payload is unspecified, as in gemm_f16).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "qsparse/core/error.hpp"
#include "qsparse/core/float16.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/gemm/gemm_q4.hpp"
#include "qsparse/gemm/hybrid.hpp"
#include "qsparse/quant/params.hpp"
#include "qsparse/spec/output_stages.hpp"

namespace qsparse {

namespace detail {

/// d[k][n] and s[g][n] of the reference, for K×N (axis 0) or N×K (axis 1) quantized weights.
template <class W, class LW, class AW, class Scale>
struct q4_reference_weights {
  const tensor_view<W, 2, LW, AW>& w;
  const group_params<Scale>& p;
  index_t k, n;

  std::int32_t centred(index_t kk, index_t col) const {
    const index_t g = col * (k / p.group_size) + kk / p.group_size;
    const std::int32_t q = p.axis == 0 ? w(kk, col) : w(col, kk);
    const std::int32_t zp = p.zero_point != nullptr ? p.zero_point[g] : (std::is_signed_v<std::remove_const_t<W>> ? 0 : 8);
    return q - zp;
  }
  float scale(index_t g, index_t col) const { return static_cast<float>(p.scale[col * (k / p.group_size) + g]); }
};

/// Checks a reference call's operands (weights against the activations' K, the destination's shape, the
/// pipeline) and returns the weights' accessor.
template <class AView, class W, class LW, class AW, class Scale, class DView, class Pipeline>
q4_reference_weights<W, LW, AW, Scale> q4_reference(const char* fn, const AView& activations,
                                                    const tensor_view<W, 2, LW, AW>& w, const group_params<Scale>& p,
                                                    const DView& destination, const Pipeline& pipeline) {
  check(p.axis <= 1, fn, ": group_params axis must be 0 or 1, got ", p.axis);
  const index_t k = p.axis == 0 ? w.extent(0) : w.extent(1);
  const index_t n = p.axis == 0 ? w.extent(1) : w.extent(0);
  check(k == activations.extent(1), fn, ": activations have K = ", activations.extent(1),
        " but the weights have K = ", k);
  check(p.group_size >= 1 && k % p.group_size == 0, fn, ": group size ", p.group_size, " does not divide K = ", k);
  check(destination.extent(0) == activations.extent(0) && destination.extent(1) == n, fn, ": destination is ",
        destination.extent(0), " x ", destination.extent(1), ", expected ", activations.extent(0), " x ", n);
  validate(pipeline, n, fn);
  return {w, p, k, n};
}

}  // namespace detail

/// The int8-activation × 4-bit-weight GEMM's definition. See the top of this header.
template <class A, class LA, class AA, class W, class LW, class AW, class Scale, class D, class LD, class AD,
          class... S>
void reference_gemm_q4(const tensor_view<A, 2, LA, AA>& activations, const tensor_view<W, 2, LW, AW>& weights,
                       const group_params<Scale>& params, const tensor_view<D, 2, LD, AD>& destination,
                       const output_pipeline<S...>& pipeline) {
  const char* fn = "qsparse::reference_gemm_q4";
  const index_t m_count = activations.extent(0);
  const index_t k = activations.extent(1);
  const auto w = detail::q4_reference(fn, activations, weights, params, destination, pipeline);
  std::vector<float> row(static_cast<std::size_t>(k));
  std::vector<std::int8_t> q(static_cast<std::size_t>(k));
  for (index_t m = 0; m < m_count; ++m) {
    for (index_t i = 0; i < k; ++i) row[static_cast<std::size_t>(i)] = activations(m, i);
    const hybrid_row_quantization rq = quantize_row_symmetric(row.data(), k, q.data());
    for (index_t n = 0; n < w.n; ++n) {
      float acc = 0.0f;
      for (index_t g = 0; g < k / params.group_size; ++g) {
        std::int32_t isum = 0;
        for (index_t i = g * params.group_size; i < (g + 1) * params.group_size; ++i) {
          isum += std::int32_t{q[static_cast<std::size_t>(i)]} * w.centred(i, n);
        }
        acc = std::fma(static_cast<float>(isum), w.scale(g, n), acc);
      }
      destination(m, n) = evaluate(pipeline, detail::product_not_fused(acc, rq.scale), m, n);
    }
  }
}

/// The float-activation × 4-bit-weight GEMM's definition. See the top of this header.
template <class A, class LA, class AA, class W, class LW, class AW, class Scale, class D, class LD, class AD,
          class... S>
void reference_gemm_q4_f32(const tensor_view<A, 2, LA, AA>& activations, const tensor_view<W, 2, LW, AW>& weights,
                           const group_params<Scale>& params, const tensor_view<D, 2, LD, AD>& destination,
                           const output_pipeline<S...>& pipeline) {
  const char* fn = "qsparse::reference_gemm_q4_f32";
  const index_t m_count = activations.extent(0);
  const index_t k = activations.extent(1);
  const auto w = detail::q4_reference(fn, activations, weights, params, destination, pipeline);
  for (index_t m = 0; m < m_count; ++m) {
    for (index_t n = 0; n < w.n; ++n) {
      float acc = 0.0f;
      for (index_t i = 0; i < k; ++i) {
        const float wv = detail::product_not_fused(static_cast<float>(w.centred(i, n)), w.scale(i / params.group_size, n));
        acc = std::fma(activations(m, i), wv, acc);
      }
      destination(m, n) = evaluate(pipeline, acc, m, n);
    }
  }
}

}  // namespace qsparse
