// qsparse/gemm/torch_dynamic_linear.hpp — PyTorch's dynamic quantized linear (QNNPACK engine), bit for bit.
//
//   auto packed = qsparse::pack_weights(w_kxn, 0);     // the int8 weights (int_repr), K x N, once per layer
//   qsparse::torch_dynamic_linear_params p{&weight_scale, /*per_channel=*/false, bias};
//   qsparse::torch_dynamic_linear(ctx, x_mxk, packed, y_mxn, p);
//
// torch.ao.nn.quantized.dynamic.Linear with torch.backends.quantized.engine = "qnnpack" (PyTorch 1.13,
// PackedLinearWeightsQnnp::apply_dynamic and QNNPACK's q8gemm_dq kernels; docs/numerics.md):
// 1. The whole input (every row: one set of parameters per call) gives x_min, x_max, and
//    (s, z) = torch_dynamic_params<std::uint8_t>(x_min, x_max) — ChooseQuantizationParams over [0, 255];
//    QNNPACK ignores reduce_range.
// 2. q[m][k] = quantize_value<round_half_to_even, uint8>(x, float(s), z): clamp(nearbyint(x * (1 / float(s))) + z).
// 3. acc[m][n] = Σ_k (q[m][k] - z) * (w[k][n] - w_zp)   (the int8 GEMM, exact int32).
// 4. y[m][n] = float(acc) * (float(w_scale[n]) * float(s)) + bias[n]: the multiplier is a float product,
//    the product with the accumulator is rounded, then the float bias is added (no fused multiply-add).
//    Without bias the add is skipped (QNNPACK adds PyTorch's zero bias: the same values, since a product
//    of a normal multiplier and a non-zero integer never rounds to -0).
// fbgemm (the x86 engine of PyTorch's own wheels) is not covered: the module asks for reduce_range, which
// fbgemm honours (7-bit activations), and its float output stage applies the two scales in another order. Weights: int8 with one zero point (pack_weights' weight_zero_point; per-channel scales
// need zero point 0, as PyTorch's per_channel_symmetric); every multiplier must be a normal positive float
// (QNNPACK's check); the input must be finite (PyTorch has no rule for NaN); K <= 65793.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "qsparse/core/context.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/unfused.hpp"
#include "qsparse/core/overlap.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/gemm/gemm.hpp"
#include "qsparse/gemm/packed_weights.hpp"
#include "qsparse/quant/quantize_value.hpp"
#include "qsparse/quant/rounding.hpp"
#include "qsparse/quant/torch_dynamic.hpp"
#include "qsparse/spec/output_stages.hpp"

namespace qsparse {

/// The float side of torch_dynamic_linear (pointers to the caller's arrays).
struct torch_dynamic_linear_params {
  const float* weight_scales = nullptr;  // N scales when per_channel, else one (PyTorch's q_scale as float)
  bool per_channel = false;
  const float* bias = nullptr;  // N values, or null
};

namespace detail {

/// QNNPACK's generate_requantization_scales with output scale 1: (w_scale * input_scale) * (1 / 1).
inline float torch_qnnpack_multiplier(float weight_scale, float input_scale, index_t n) {
  const float multiplier = product_not_fused(weight_scale, input_scale);
  check(multiplier > 0.0f && std::isnormal(multiplier), "qsparse::torch_dynamic_linear: the multiplier weight_scales[",
        n, "] * input scale = ", weight_scale, " * ", input_scale, " = ", multiplier,
        " must be a normal positive float (QNNPACK rejects it too)");
  return multiplier;
}

}  // namespace detail

/// The input's dynamic parameters as torch_dynamic_linear chooses them (step 1); x must be finite.
template <class A, class LA, class AA>
torch_dynamic_params_result torch_dynamic_linear_input_params(const tensor_view<A, 2, LA, AA>& activations) {
  const char* fn = "qsparse::torch_dynamic_linear";
  float lo = std::numeric_limits<float>::infinity(), hi = -std::numeric_limits<float>::infinity();
  for (index_t m = 0; m < activations.extent(0); ++m) {
    for (index_t i = 0; i < activations.extent(1); ++i) {
      const float v = activations(m, i);
      detail::check(std::isfinite(v), fn, ": activations must be finite, got a(", m, ", ", i, ") = ", v);
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
    }
  }
  if (lo > hi) lo = hi = 0.0f;  // no element: PyTorch's arbitrary parameters for an empty input
  return torch_dynamic_params<std::uint8_t>(lo, hi, false);
}

/// The dynamic quantized linear of PyTorch's QNNPACK engine: y = x W (see the top of this header).
template <class A, class LA, class AA, class D, class LD, class AD>
void torch_dynamic_linear(const context& ctx, const tensor_view<A, 2, LA, AA>& activations,
                          const packed_weights_view& weights, const tensor_view<D, 2, LD, AD>& destination,
                          const torch_dynamic_linear_params& params) {
  static_assert(std::is_same_v<std::remove_const_t<A>, float>, "qsparse::torch_dynamic_linear: activations must be float.");
  static_assert(std::is_same_v<D, float>,
                "qsparse::torch_dynamic_linear: the destination must be a view of (non-const) float.");
  const char* fn = "qsparse::torch_dynamic_linear";
  const index_t m_count = activations.extent(0);
  const index_t k = activations.extent(1);
  detail::check(!weights.empty(), fn, ": the packed weights are empty");
  const index_t n_count = weights.n();
  detail::check(k == weights.k(), fn, ": activations have K = ", k, " columns but the weights were packed with K = ",
                weights.k());
  detail::check(destination.extent(0) == m_count && destination.extent(1) == n_count, fn, ": destination is ",
                destination.extent(0), " x ", destination.extent(1), ", expected M x N = ", m_count, " x ", n_count);
  detail::check(params.weight_scales != nullptr, fn, ": weight_scales must not be null");
  detail::check(!params.per_channel || weights.weight_zero_point() == 0, fn,
                ": per-channel weights must be symmetric (zero point 0), got zero point ", weights.weight_zero_point());
  detail::check_distinct_elements(fn, "destination", destination);
  detail::check_no_overlap(fn, "destination", destination, "activations", activations);
  detail::check_no_overlap(fn, "destination", destination, "the packed weights", weights.bytes(), weights.size_bytes());
  const index_t scale_count = params.per_channel ? n_count : 1;
  for (index_t i = 0; i < scale_count; ++i) detail::check_scale(params.weight_scales[i], fn, "weight_scales", i);

  const torch_dynamic_params_result input = torch_dynamic_linear_input_params(activations);
  const auto input_scale = static_cast<float>(input.scale);
  std::vector<float> multipliers(static_cast<std::size_t>(scale_count));
  for (index_t i = 0; i < scale_count; ++i) {
    multipliers[static_cast<std::size_t>(i)] = detail::torch_qnnpack_multiplier(params.weight_scales[i], input_scale, i);
  }
  if (m_count == 0) return;

  std::vector<std::uint8_t> q(static_cast<std::size_t>(m_count * k));
  for (index_t m = 0; m < m_count; ++m) {
    for (index_t i = 0; i < k; ++i) {
      q[static_cast<std::size_t>(m * k + i)] =
          quantize_value<round_half_to_even, std::uint8_t>(activations(m, i), input_scale, input.zero_point);
    }
  }
  const auto a = quantized(make_view(static_cast<const std::uint8_t*>(q.data()), m_count, k), input.zero_point);
  if (params.per_channel) {
    gemm(ctx, a, weights, destination, pipeline(dequantize_float_per_channel{multipliers.data(), params.bias}));
  } else {
    gemm(ctx, a, weights, destination, pipeline(dequantize_float{multipliers[0], params.bias}));
  }
}

/// The definition of torch_dynamic_linear on unpacked K×N int8 weights with zero point weight_zero_point,
/// in plain loops (int64 sums).
template <class A, class LA, class AA, class W, class LW, class AW, class D, class LD, class AD>
void reference_torch_dynamic_linear(const tensor_view<A, 2, LA, AA>& activations, const tensor_view<W, 2, LW, AW>& weights,
                                    std::int32_t weight_zero_point, const tensor_view<D, 2, LD, AD>& destination,
                                    const torch_dynamic_linear_params& params) {
  const index_t m_count = activations.extent(0), k = activations.extent(1), n_count = weights.extent(1);
  const torch_dynamic_params_result input = torch_dynamic_linear_input_params(activations);
  const auto input_scale = static_cast<float>(input.scale);
  for (index_t m = 0; m < m_count; ++m) {
    for (index_t n = 0; n < n_count; ++n) {
      std::int64_t acc = 0;
      for (index_t i = 0; i < k; ++i) {
        const std::int32_t q =
            quantize_value<round_half_to_even, std::uint8_t>(activations(m, i), input_scale, input.zero_point);
        acc += std::int64_t{q - input.zero_point} * (std::int64_t{weights(i, n)} - weight_zero_point);
      }
      const float multiplier =
          detail::torch_qnnpack_multiplier(params.weight_scales[params.per_channel ? n : 0], input_scale, n);
      const float product = detail::product_not_fused(static_cast<float>(acc), multiplier);
      destination(m, n) = params.bias != nullptr ? product + params.bias[n] : product;
    }
  }
}

}  // namespace qsparse
