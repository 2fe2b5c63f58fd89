// qsparse/quant/float_qparams.hpp — per-channel parameters with float zero points (PyTorch's
// per_channel_affine_float_qparams, used for embedding tables).
//
//   choose_float_qparams(min, max, qmin, qmax) → {scale, zero_point (float)}     (observer rule, float32)
//     scale = (max - min) / float(qmax - qmin), replaced by 1.0 unless > eps (2^-23);
//     zero_point = -min / scale — not rounded, not clamped, and the range is NOT widened to include 0.
//   quantize_value_float_qparams(x, scale, zero_point, qmin, qmax)
//     q = clamp(round_half_even(x * (1.0f / scale) + zero_point), qmin, qmax), every operation in float32
//     (PyTorch's quantize_val_float_qparams; scale 0 uses the reciprocal 1). NaN gives qmin.
//   dequantize_value_float_qparams(q, scale, zero_point) = (float(q) - zero_point) * scale in float32.
#pragma once

#include <cfloat>
#include <cmath>
#include <cstdint>

#include "qsparse/core/error.hpp"
#include "qsparse/quant/rounding.hpp"

namespace qsparse {

/// A scale and a float zero point (real = (q - zero_point) * scale).
struct float_qparams {
  float scale = 1.0f;
  float zero_point = 0.0f;
};

/// PyTorch's per_channel_affine_float_qparams parameters for one channel whose values lie in [min, max].
inline float_qparams choose_float_qparams(float min, float max, std::int32_t qmin, std::int32_t qmax) {
  detail::check(std::isfinite(min) && std::isfinite(max) && min <= max,
                "qsparse::choose_float_qparams: min and max must be finite with min <= max, got min = ", min,
                ", max = ", max);
  detail::check(qmin < qmax, "qsparse::choose_float_qparams: qmin must be below qmax, got qmin = ", qmin,
                ", qmax = ", qmax);
  float scale = (max - min) / static_cast<float>(qmax - qmin);
  if (!(scale > FLT_EPSILON)) scale = 1.0f;
  return {scale, -1.0f * min / scale};
}

/// PyTorch's quantize_val_float_qparams.
inline std::int32_t quantize_value_float_qparams(float x, float scale, float zero_point, std::int32_t qmin,
                                                 std::int32_t qmax) {
  const float inverse = scale == 0.0f ? 1.0f : 1.0f / scale;
  const float product = x * inverse;
  const float shifted = product + zero_point;  // two roundings, as PyTorch's build computes it
  if (shifted != shifted) return qmin;
  const double r = static_cast<double>(round_half_to_even::round(shifted));
  if (r < qmin) return qmin;
  if (r > qmax) return qmax;
  return static_cast<std::int32_t>(r);
}

/// (q - zero_point) * scale in float32.
inline float dequantize_value_float_qparams(std::int32_t q, float scale, float zero_point) {
  const float centred = static_cast<float>(q) - zero_point;
  return centred * scale;
}

}  // namespace qsparse
