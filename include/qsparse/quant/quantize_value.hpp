// qsparse/quant/quantize_value.hpp — the scalar definition of quantize and dequantize for one value.
//
// These two functions are the numeric truth: every kernel (scalar loop, AVX2, AVX-512), fake quantization
// and the GEMM's dequantizing stages must equal them bit for bit.
//
//   quantize_value<Rounding, Storage>(x, scale, zp)
//     y = Rounding::multiplies_by_reciprocal ? x * (1.0f / scale) : x / scale      (float32)
//     q = clamp(Rounding::round(y) + zp, qmin, qmax)                              (exact integer arithmetic)
//     NaN → zp; ±inf (and any |y| past the range) saturate to qmax / qmin.
//   dequantize_value<Rounding>(q, scale, zp)
//     TFLite (round_half_away_from_zero): float(double(scale) * (q - zp))
//     PyTorch (round_half_to_even):      float(q - zp) * scale  (float32)
//     TFLite optimized kernels (tflite_optimized_rounding): float(q) * scale + float(-zp) * scale (float32)
//     The two agree whenever |q - zp| < 2^24, i.e. for every 8- and 16-bit storage.
#pragma once

#include <cstdint>

#include "qsparse/core/unfused.hpp"
#include "qsparse/quant/rounding.hpp"
#include "qsparse/quant/storage.hpp"

namespace qsparse {

template <class Rounding, class Storage>
inline typename storage_traits<Storage>::value_type quantize_value(float x, float scale, std::int32_t zero_point) {
  using value_type = typename storage_traits<Storage>::value_type;
  if (x != x) return static_cast<value_type>(zero_point);
  const float y = Rounding::multiplies_by_reciprocal ? x * (1.0f / scale) : x / scale;
  const double r = static_cast<double>(Rounding::round(y));  // integer valued (or ±inf, or NaN from inf*0)
  if (r != r) return static_cast<value_type>(zero_point);
  const double lo = static_cast<double>(storage_traits<Storage>::qmin) - zero_point;
  const double hi = static_cast<double>(storage_traits<Storage>::qmax) - zero_point;
  const double c = r < lo ? lo : (r > hi ? hi : r);
  return static_cast<value_type>(static_cast<std::int64_t>(c) + zero_point);
}

template <class Rounding>
inline float dequantize_value(std::int32_t q, float scale, std::int32_t zero_point) {
  const std::int64_t centred = static_cast<std::int64_t>(q) - zero_point;
  if constexpr (detail::dequantizes_scale_then_offset_v<Rounding>) {
    // Two products rounded on their own, then one addition (an FMA would round once).
    const float offset = detail::product_not_fused(static_cast<float>(-static_cast<std::int64_t>(zero_point)), scale);
    const float product = detail::product_not_fused(static_cast<float>(q), scale);
    return product + offset;
  } else if constexpr (Rounding::tflite_params) {
    return static_cast<float>(static_cast<double>(scale) * static_cast<double>(centred));
  } else {
    return static_cast<float>(centred) * scale;
  }
}

}  // namespace qsparse
