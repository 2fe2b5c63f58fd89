// qsparse/quant/choose_params.hpp — scale and zero point from an observed range [min, max].
//
// The rule is the scheme's rounding policy's (docs/numerics.md):
//
// TFLite (round_half_away_from_zero), TFLM ChooseQuantizationParams, docs/numerics.md, in double:
//   affine:    rmin = min(min, 0), rmax = max(max, 0); scale = (rmax - rmin) / (qmax - qmin);
//              zero point from min (qmin - rmin/scale) or from max (qmax - rmax/scale), whichever has the
//              smaller |qmin| + |rmin/scale| vs |qmax| + |rmax/scale| (ties → from max), then nudged:
//              below qmin → qmin, above qmax → qmax, else rounded half away from zero. The range is not
//              widened after nudging.
//   symmetric: scale = max(|min|, |max|) / ((qmax - qmin) / 2) in float (127 for narrow int8 — TFLite's
//              weight rule max|w| / 127; 32767 for narrow int16), zero point fixed.
// PyTorch (round_half_to_even), torch.ao.quantization observer _calculate_qparams, docs/numerics.md, in float:
//   affine:    scale = max((max_pos - min_neg) / (qmax - qmin), eps), zp = clamp(qmin - round_half_even(min_neg / scale))
//   symmetric: scale = max(max(-min_neg, max_pos) / ((qmax - qmin) / 2), eps), zero point fixed (0, or 128 for uint8)
//   with min_neg = min(min, 0), max_pos = max(max, 0), eps = 2^-23 (float32 epsilon).
//
// ONNX (round_half_to_even_divide), DynamicQuantizeLinear-11 / ONNX Runtime, in float:
//   affine:    rmin = min(min, 0), rmax = max(max, 0); scale = (rmax - rmin) / (qmax - qmin);
//              zp = round_half_even(clamp(qmin - rmin / scale, qmin, qmax)) (saturated, then rounded)
//   symmetric: scale = max(|min|, |max|) / ((qmax - qmin) / 2), zero point fixed
//   A zero-width range gives scale 1 (ONNX would divide by zero), zero point 0 clamped into the range.
//
// Edges (where the reference systems give no usable answer, qsparse documents its own):
//   * a range that excludes zero is widened to include it (both systems do this before calling the rule);
//   * TFLite rule, zero-width range [0, 0]: scale 1, zero point 0 clamped into the storage range (TFLite
//     itself returns scale 0, which cannot be used); a range so small that the scale is not a normal float:
//     the scale is raised to FLT_MIN and the range widened in proportion before the zero point is
//     chosen (PyTorch's rule already floors the scale at eps);
//   * min > max, NaN or infinite bounds: qsparse::error naming the value.
#pragma once

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "qsparse/core/error.hpp"
#include "qsparse/quant/params.hpp"
#include "qsparse/quant/scheme.hpp"

namespace qsparse {

namespace detail {

inline void check_range(const char* function, float min, float max) {
  check(std::isfinite(min), function, ": min must be finite, got min = ", min);
  check(std::isfinite(max), function, ": max must be finite, got max = ", max);
  check(min <= max, function, ": min must not exceed max, got min = ", min, ", max = ", max);
}

/// TFLite's nudged zero point for [rmin, rmax] (rmin <= 0 <= rmax) at `scale`: the zero point from whichever
/// end loses less, clamped to [qmin, qmax] and rounded half away from zero (tflite::ChooseQuantizationParams).
template <class Scheme>
std::int32_t tflite_nudged_zero_point(double rmin, double rmax, double scale) {
  constexpr double qmin = Scheme::qmin;
  constexpr double qmax = Scheme::qmax;
  const double zero_point_from_min = qmin - rmin / scale;
  const double zero_point_from_max = qmax - rmax / scale;
  const double error_from_min = std::fabs(qmin) + std::fabs(rmin / scale);
  const double error_from_max = std::fabs(qmax) + std::fabs(rmax / scale);
  const double zero_point = error_from_min < error_from_max ? zero_point_from_min : zero_point_from_max;
  if (zero_point < qmin) return Scheme::qmin;
  if (zero_point > qmax) return Scheme::qmax;
  return static_cast<std::int32_t>(round_half_away(zero_point));
}

template <class Scheme>
per_tensor_params choose_params_tflite(float min, float max) {
  constexpr double qmin = Scheme::qmin;
  constexpr double qmax = Scheme::qmax;
  if constexpr (Scheme::is_symmetric) {
    const float range = std::max(std::fabs(min), std::fabs(max));
    float scale = range / static_cast<float>((qmax - qmin) / 2.0);
    if (range == 0.0f) scale = 1.0f;
    if (scale < FLT_MIN) scale = FLT_MIN;
    return {scale, Scheme::symmetric_zero_point};
  } else {
    double rmin = std::min(static_cast<double>(min), 0.0);
    double rmax = std::max(static_cast<double>(max), 0.0);
    if (rmin == rmax) return {1.0f, std::clamp<std::int32_t>(0, Scheme::qmin, Scheme::qmax)};
    double scale = (rmax - rmin) / (qmax - qmin);
    if (static_cast<float>(scale) < FLT_MIN) {  // widen the range in proportion to the floored scale
      const double widen = FLT_MIN / scale;
      scale = FLT_MIN;
      rmin *= widen;
      rmax *= widen;
    }
    return {static_cast<float>(scale), tflite_nudged_zero_point<Scheme>(rmin, rmax, scale)};
  }
}

template <class Scheme>
per_tensor_params choose_params_torch(float min, float max) {
  constexpr float eps = FLT_EPSILON;  // torch.finfo(torch.float32).eps
  const float min_neg = std::min(min, 0.0f);
  const float max_pos = std::max(max, 0.0f);
  constexpr float levels = static_cast<float>(static_cast<double>(Scheme::qmax) - Scheme::qmin);
  if constexpr (Scheme::is_symmetric) {
    const float range = std::max(-min_neg, max_pos);
    const float scale = std::max(range / (levels / 2.0f), eps);
    return {scale, Scheme::symmetric_zero_point};
  } else {
    // A range wider than FLT_MAX (e.g. [-FLT_MAX, FLT_MAX]) overflows the float difference: its scale is
    // then taken in double, so it stays finite (PyTorch would return inf).
    const float width = max_pos - min_neg;
    const float scale = std::isfinite(width) ? std::max(width / levels, eps)
                                             : static_cast<float>((static_cast<double>(max_pos) - min_neg) / levels);
    const double shifted = static_cast<double>(Scheme::qmin) - round_half_to_even::round(min_neg / scale);
    const double clamped = std::clamp<double>(shifted, Scheme::qmin, Scheme::qmax);
    return {scale, static_cast<std::int32_t>(clamped)};
  }
}

template <class Scheme>
per_tensor_params choose_params_onnx(float min, float max) {
  const float rmin = std::min(min, 0.0f);
  const float rmax = std::max(max, 0.0f);
  constexpr float levels = static_cast<float>(static_cast<double>(Scheme::qmax) - Scheme::qmin);
  if constexpr (Scheme::is_symmetric) {
    const float range = std::max(-rmin, rmax);
    const float scale = range == 0.0f ? 1.0f : range / (levels / 2.0f);
    return {scale, Scheme::symmetric_zero_point};
  } else {
    if (rmin == rmax) return {1.0f, std::clamp<std::int32_t>(0, Scheme::qmin, Scheme::qmax)};
    const float scale = (rmax - rmin) / levels;
    const float initial = static_cast<float>(Scheme::qmin) - rmin / scale;
    const float saturated = std::clamp(initial, static_cast<float>(Scheme::qmin), static_cast<float>(Scheme::qmax));
    return {scale, static_cast<std::int32_t>(round_half_to_even::round(saturated))};
  }
}

template <class Scheme>
per_tensor_params choose_params_by_rule(float min, float max) {
  if constexpr (Scheme::rounding::onnx_params) {
    return choose_params_onnx<Scheme>(min, max);
  } else if constexpr (Scheme::rounding::tflite_params) {
    return choose_params_tflite<Scheme>(min, max);
  } else {
    return choose_params_torch<Scheme>(min, max);
  }
}

}  // namespace detail

/// Parameters for one tensor (or one channel) whose values lie in [min, max].
template <class Scheme>
per_tensor_params choose_params(float min, float max) {
  static_assert(is_scheme_v<Scheme>, "qsparse::choose_params: Scheme must be a qsparse::scheme<...>.");
  detail::check_range("qsparse::choose_params", min, max);
  return detail::choose_params_by_rule<Scheme>(min, max);
}

/// Per-channel parameters: channel c from [min[c], max[c]], written to scale[c] and zero_point[c]
/// (caller memory, `channels` each). Returns per_channel_params over those outputs for `axis`.
template <class Scheme>
per_channel_params choose_params(const float* min, const float* max, std::ptrdiff_t channels, std::size_t axis,
                                 float* scale, std::int32_t* zero_point) {
  static_assert(is_scheme_v<Scheme>, "qsparse::choose_params: Scheme must be a qsparse::scheme<...>.");
  detail::check(channels >= 0, "qsparse::choose_params: channels must be non-negative, got channels = ", channels);
  detail::check(channels == 0 || (min && max && scale && zero_point),
                "qsparse::choose_params: min, max, scale and zero_point must point at ", channels,
                " values, got a null pointer");
  for (std::ptrdiff_t c = 0; c < channels; ++c) {
    if (!std::isfinite(min[c]) || !std::isfinite(max[c]) || !(min[c] <= max[c])) {
      detail::raise(detail::concat("qsparse::choose_params: channel ", c, " has an invalid range [", min[c], ", ",
                                   max[c], "]; min and max must be finite with min <= max"));
    }
    const per_tensor_params p = detail::choose_params_by_rule<Scheme>(min[c], max[c]);
    scale[c] = p.scale;
    zero_point[c] = p.zero_point;
  }
  return per_channel_params{scale, zero_point, channels, axis};
}

}  // namespace qsparse
