// qsparse/quant/layer_params.hpp — the integer parameters a converter derives for one layer.
//
//   std::vector<std::int32_t> b = qsparse::quantize_bias<WeightScheme>(bias, channels, input.scale, weight_params);
//   std::vector<qsparse::quantized_multiplier> m =
//       qsparse::requantize_multipliers(input.scale, weight_params, output.scale);   // per tensor or per channel
//   qsparse::requantize_multipliers(input.scale, weight_params, output.scale, multipliers, shifts);  // caller arrays
//   qsparse::fold_zero_weight_channels(is_zero, channels, bias, multipliers, shifts, zp, lo, hi);  // pruned channels
//
// Bias (TFLite's spec, docs/numerics.md; PyTorch's qnnpack): int32, zero point 0, scale
// input_scale * weight_scale[c] formed in float32; bias_q[c] = quantize_value<Rounding, int32>(bias[c],
// that scale, 0) — the weight scheme's rounding: half away and division under TFLite's policy, half to even
// and the reciprocal under PyTorch's; saturating at the int32 range.
//
// Requantization multipliers for the GEMM output pipeline, TFLite's way (docs/numerics.md, kernel_util.cc):
//   per-tensor weights:  real = double(float(input_scale * weight_scale)) / double(output_scale)
//   per-channel weights: real[c] = double(input_scale) * double(weight_scale[c]) / double(output_scale)
// then Policy::quantize(real) (double_rounding: TFLite's QuantizeMultiplier; single_rounding: its
// TFLITE_SINGLE_ROUNDING variant), i.e. real ≈ multiplier * 2^(shift - 31). Scales must be positive and
// finite; a product that underflows to 0 is an error naming the channel.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "qsparse/core/error.hpp"
#include "qsparse/quant/fixed_point.hpp"
#include "qsparse/quant/params.hpp"
#include "qsparse/quant/quantize_value.hpp"
#include "qsparse/quant/scheme.hpp"

namespace qsparse {

namespace detail {

inline void check_weight_params(const char* function, const per_tensor_params& w) { check_scale(function, w.scale, "weight scale"); }

inline void check_weight_params(const char* function, const per_channel_params& w) {
  check(w.channels >= 0, function, ": channels must be non-negative, got channels = ", w.channels);
  check(w.channels == 0 || w.scale != nullptr, function, ": the weight scales must point at ", w.channels,
        " values, got a null pointer");
  for (std::ptrdiff_t c = 0; c < w.channels; ++c) {
    if (!(std::isfinite(w.scale[c]) && w.scale[c] > 0.0f)) {
      raise(concat(function, ": weight scale[", c, "] must be positive and finite, got ", w.scale[c]));
    }
  }
}

inline std::ptrdiff_t weight_channels(const per_tensor_params&) { return 1; }
inline std::ptrdiff_t weight_channels(const per_channel_params& w) { return w.channels; }
inline float weight_scale(const per_tensor_params& w, std::ptrdiff_t) { return w.scale; }
inline float weight_scale(const per_channel_params& w, std::ptrdiff_t c) { return w.scale[c]; }

}  // namespace detail

/// bias_q[c] = round(bias[c] / (input_scale * weight_scale[c])) under WeightScheme's rounding, into `out`
/// (`channels` values; a per-tensor weight scale serves every channel).
template <class WeightScheme>
void quantize_bias(const float* bias, std::ptrdiff_t channels, float input_scale, const params_for<WeightScheme>& weight,
                   std::int32_t* out) {
  static_assert(is_scheme_v<WeightScheme>, "qsparse::quantize_bias: WeightScheme must be a qsparse::scheme<...>.");
  constexpr const char* function = "qsparse::quantize_bias";
  detail::check(channels >= 0, function, ": channels must be non-negative, got channels = ", channels);
  detail::check(channels == 0 || (bias != nullptr && out != nullptr), function, ": bias and out must point at ",
                channels, " values, got a null pointer");
  detail::check_scale(function, input_scale, "input_scale");
  detail::check_weight_params(function, weight);
  if constexpr (WeightScheme::is_per_channel) {
    detail::check(weight.channels == channels, function, ": ", channels, " biases but ", weight.channels,
                  " weight scales");
  }
  for (std::ptrdiff_t c = 0; c < channels; ++c) {
    const float scale = input_scale * detail::weight_scale(weight, WeightScheme::is_per_channel ? c : 0);
    if (!(scale > 0.0f) || !std::isfinite(scale)) {
      detail::raise(detail::concat(function, ": the bias scale of channel ", c, " (input_scale * weight scale = ",
                                   input_scale, " * ", detail::weight_scale(weight, WeightScheme::is_per_channel ? c : 0),
                                   ") is not a positive finite float"));
    }
    out[c] = quantize_value<typename WeightScheme::rounding, std::int32_t>(bias[c], scale, 0);
  }
}

/// quantize_bias into a new vector.
template <class WeightScheme>
std::vector<std::int32_t> quantize_bias(const float* bias, std::ptrdiff_t channels, float input_scale,
                                        const params_for<WeightScheme>& weight) {
  std::vector<std::int32_t> out(static_cast<std::size_t>(channels < 0 ? 0 : channels));
  quantize_bias<WeightScheme>(bias, channels, input_scale, weight, out.data());
  return out;
}

/// The layer's requantization multipliers into caller arrays (one per weight channel; one for
/// per-tensor weights).
template <class Policy = double_rounding, class WeightParams>
void requantize_multipliers(float input_scale, const WeightParams& weight, float output_scale,
                            std::int32_t* multipliers, int* shifts) {
  static_assert(std::is_same_v<WeightParams, per_tensor_params> || std::is_same_v<WeightParams, per_channel_params>,
                "qsparse::requantize_multipliers: the weight parameters must be per_tensor_params or per_channel_params.");
  constexpr const char* function = "qsparse::requantize_multipliers";
  detail::check_scale(function, input_scale, "input_scale");
  detail::check_scale(function, output_scale, "output_scale");
  detail::check_weight_params(function, weight);
  const std::ptrdiff_t n = detail::weight_channels(weight);
  detail::check(n == 0 || (multipliers != nullptr && shifts != nullptr), function,
                ": multipliers and shifts must point at ", n, " values, got a null pointer");
  for (std::ptrdiff_t c = 0; c < n; ++c) {
    double real;
    if constexpr (std::is_same_v<WeightParams, per_tensor_params>) {
      real = static_cast<double>(input_scale * weight.scale) / static_cast<double>(output_scale);
    } else {
      real = static_cast<double>(input_scale) * static_cast<double>(weight.scale[c]) / static_cast<double>(output_scale);
    }
    const quantized_multiplier q = Policy::quantize(real);
    multipliers[c] = q.multiplier;
    shifts[c] = q.shift;
  }
}

/// The layer's requantization multipliers as quantized_multiplier values.
template <class Policy = double_rounding, class WeightParams>
std::vector<quantized_multiplier> requantize_multipliers(float input_scale, const WeightParams& weight,
                                                         float output_scale) {
  const std::ptrdiff_t n = std::is_same_v<WeightParams, per_tensor_params> ? 1 : detail::weight_channels(weight);
  std::vector<std::int32_t> m(static_cast<std::size_t>(n < 0 ? 0 : n));
  std::vector<int> s(m.size());
  requantize_multipliers<Policy>(input_scale, weight, output_scale, m.data(), s.data());
  std::vector<quantized_multiplier> out(m.size());
  for (std::size_t c = 0; c < m.size(); ++c) out[c] = quantized_multiplier{m[c], s[c]};
  return out;
}

/// Rewrites, in place, the requantization of output channels whose weights are all zero, for kernels that
/// run the output pipeline bias_add → requantize_fixed_point_per_channel<Policy> → add_zero_point →
/// clamp(lo, hi). Such a channel accumulates exactly 0 (every product is (a - a_zp) · 0), so it outputs the
/// constant clamp(Policy::apply(bias[c], multipliers[c], shifts[c]) + zero_point, lo, hi) whatever the input;
/// it is given an equivalent triple with the same constant: bias 2t, multiplier 2^31 - 1, shift -1, t that
/// constant minus the zero point. That is the form the SIMD epilogues' fast paths take (a right shift, a
/// multiplier above 2^30), where a left shift sends the 16 channels around it to the generic evaluator.
/// A zero channel's weight scale is 1 under choose_params's zero-range rule (TFLite's), so its real
/// multiplier is input_scale / output_scale, often above 1: a left shift. `is_zero(c)` says whether channel c's
/// weights are all zero; `bias` may be null (no bias stage: t = the requantized 0). A channel is rewritten
/// only where Policy gives the same constant for the new triple (checked); returns how many were.
template <class Policy = double_rounding, class IsZero>
std::ptrdiff_t fold_zero_weight_channels(IsZero&& is_zero, std::ptrdiff_t channels, std::int32_t* bias,
                                         std::int32_t* multipliers, int* shifts, std::int32_t zero_point,
                                         std::int32_t lo, std::int32_t hi) {
  constexpr const char* function = "qsparse::fold_zero_weight_channels";
  detail::check(channels >= 0, function, ": channels must be >= 0, got ", channels);
  detail::check(channels == 0 || (multipliers != nullptr && shifts != nullptr), function,
                ": multipliers and shifts must point at ", channels, " values, got a null pointer");
  detail::check(lo <= hi, function, ": the clamp needs lo <= hi, got lo = ", lo, ", hi = ", hi);
  detail::check(zero_point >= -(1 << 24) && zero_point <= (1 << 24), function,
                ": |zero_point| must be <= 2^24, got zero_point = ", zero_point);
  detail::check(lo >= -(1 << 24) && hi <= (1 << 24), function, ": the clamp must lie in [-2^24, 2^24], got [", lo,
                ", ", hi, "]");
  constexpr std::int32_t folded_multiplier = INT32_MAX;
  constexpr int folded_shift = -1;
  const auto output = [&](std::int32_t b, std::int32_t m, int s) {
    const std::int64_t v = static_cast<std::int64_t>(Policy::apply(b, m, s)) + zero_point;
    return v < lo ? std::int64_t{lo} : (v > hi ? std::int64_t{hi} : v);
  };
  std::ptrdiff_t folded = 0;
  for (std::ptrdiff_t c = 0; c < channels; ++c) {
    if (!is_zero(c) || !Policy::accepts(multipliers[c], shifts[c])) continue;
    const std::int32_t b = bias == nullptr ? 0 : bias[c];
    const std::int64_t constant = output(b, multipliers[c], shifts[c]);
    const auto t = static_cast<std::int32_t>(constant - zero_point);  // |t| <= 2^25
    const std::int32_t new_bias = 2 * t;
    if (bias == nullptr && new_bias != 0) continue;
    if (!Policy::accepts(folded_multiplier, folded_shift) ||
        output(new_bias, folded_multiplier, folded_shift) != constant)
      continue;
    if (bias != nullptr) bias[c] = new_bias;
    multipliers[c] = folded_multiplier;
    shifts[c] = folded_shift;
    ++folded;
  }
  return folded;
}

}  // namespace qsparse
