// qsparse/quant/tflite_converter.hpp — the parameters the TFLite converter (TensorFlow 2.21) writes.
//
// Measured on the converter itself (tests/data/gen_tflite_oracle.py), where its arithmetic differs from
// the TFLite runtime's ChooseQuantizationParams that choose_params<tflite_*> follows:
//
//   tflite_converter_choose_params<Scheme>(min, max)   activation parameters from a calibrated range
//     affine:    rmin = min(min, 0), rmax = max(max, 0) in float32; width = float32(rmax - rmin) (the
//                subtraction is rounded to float32 *before* the division); scale = width / (qmax - qmin)
//                in double, stored as float32; the zero point as TFLite's nudge (candidates from min and
//                from max in double, smaller error wins, ties to the max one, rounded half away).
//                choose_params<tflite_int8_activation> subtracts in double: 1-ulp scale differences on
//                about one range in nine.
//     symmetric: scale = max(|min|, |max|) / ((qmax - qmin) / 2) (16x8 activations: / 32767).
//   tflite_converter_quantize_bias(bias, input_scale, weight_scale)   the int32 bias
//     q = round_half_away(float32(bias * float32(1 / float32(input_scale * weight_scale)))): the bias scale
//     is the float32 product, its float32 reciprocal multiplies the bias (240 of 240 measured; a division
//     in double gives 212, a float32 division 231).
// Out-of-range ranges (NaN, infinite, min > max) are qsparse::error as in choose_params; the zero-width
// and denormal edges are choose_params' (the converter's own outputs there were not measured).
#pragma once

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>

#include "qsparse/quant/choose_params.hpp"
#include "qsparse/quant/params.hpp"
#include "qsparse/quant/scheme.hpp"

namespace qsparse {

/// The activation parameters the TFLite converter chooses for a calibrated range [min, max].
template <class Scheme>
per_tensor_params tflite_converter_choose_params(float min, float max) {
  static_assert(is_scheme_v<Scheme>, "qsparse::tflite_converter_choose_params: Scheme must be a qsparse::scheme<...>.");
  detail::check_range("qsparse::tflite_converter_choose_params", min, max);
  if constexpr (Scheme::is_symmetric) {
    return detail::choose_params_tflite<Scheme>(min, max);
  } else {
    const float rmin = std::min(min, 0.0f);
    const float rmax = std::max(max, 0.0f);
    const float width = rmax - rmin;  // float32, as the converter rounds it
    if (width == 0.0f || static_cast<float>(static_cast<double>(width) / (Scheme::qmax - Scheme::qmin)) < FLT_MIN) {
      return detail::choose_params_tflite<Scheme>(min, max);  // qsparse's edges
    }
    constexpr double qmin = Scheme::qmin;
    constexpr double qmax = Scheme::qmax;
    const double scale = static_cast<double>(width) / (qmax - qmin);
    return {static_cast<float>(scale), detail::tflite_nudged_zero_point<Scheme>(rmin, rmax, scale)};
  }
}

/// The int32 bias the TFLite converter stores for a float bias with scale input_scale * weight_scale.
/// Saturates to int32 (the converter's result there was not measured); NaN gives 0.
inline std::int32_t tflite_converter_quantize_bias(float bias, float input_scale, float weight_scale) {
  const float bias_scale = input_scale * weight_scale;
  const float inverse = 1.0f / bias_scale;
  const float product = bias * inverse;
  if (product != product) return 0;
  const double rounded = std::round(static_cast<double>(product));
  if (rounded >= 2147483647.0) return INT32_MAX;
  if (rounded <= -2147483648.0) return INT32_MIN;
  return static_cast<std::int32_t>(rounded);
}

}  // namespace qsparse
