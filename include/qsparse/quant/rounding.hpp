// qsparse/quant/rounding.hpp — rounding policies: how a real number becomes an integer.
//
// A rounding policy fixes every rule that decides an integer result from a float, so that one
// policy reproduces one family of systems bit for bit (see docs/numerics.md and COMPAT.md §1):
//
//   round_half_away_from_zero  TFLite, gemmlowp. quantize: round(x / scale), the division in float32;
//                              choose_params: TFLite's ChooseQuantizationParams (double arithmetic,
//                              zero point nudged half away from zero); dequantize: float(double(scale) * (q - zp)).
//   round_half_to_even         PyTorch (and XNNPACK's requantization). quantize: nearbyint(x * (1.0f / scale)),
//                              reciprocal and product in float32; choose_params: PyTorch's observer rule
//                              (_calculate_qparams: float32, eps floor, zero point rounded half to even);
//                              dequantize: float(q - zp) * scale in float32.
//
// Contract of a rounding policy R (checked by is_rounding_v):
//   static float round(float v)                      the integer nearest v under R's tie rule (exact, no fenv)
//   static constexpr bool multiplies_by_reciprocal   true: x * (1.0f / scale); false: x / scale
//   static constexpr bool tflite_params              true: TFLite's choose_params; false: PyTorch's
//   static constexpr const char* name
// The functions never depend on the floating-point environment (no rint/nearbyint).
#pragma once

#include <cmath>
#include <type_traits>

namespace qsparse {

/// Ties away from zero: 2.5 → 3, -2.5 → -3 (std::round; TFLite's TfLiteRound).
struct round_half_away_from_zero {
  static constexpr const char* name = "round_half_away_from_zero";
  static constexpr bool multiplies_by_reciprocal = false;
  static constexpr bool tflite_params = true;
  static float round(float v) { return std::round(v); }
};

/// Ties to even: 2.5 → 2, 3.5 → 4, -2.5 → -2 (IEEE roundTiesToEven, as nearbyint in the default mode).
struct round_half_to_even {
  static constexpr const char* name = "round_half_to_even";
  static constexpr bool multiplies_by_reciprocal = true;
  static constexpr bool tflite_params = false;
  static float round(float v) {
    const float away = std::round(v);
    // A tie is the only case where round() and ties-to-even can differ; |v - trunc(v)| is exact.
    if (std::fabs(v - std::trunc(v)) == 0.5f) return 2.0f * std::round(v * 0.5f);
    return away;
  }
};

/// The same rule on doubles (zero-point nudging of TFLite rounds a double).
inline double round_half_away(double v) { return std::round(v); }

template <class R>
inline constexpr bool is_rounding_v =
    std::is_same_v<R, round_half_away_from_zero> || std::is_same_v<R, round_half_to_even>;

}  // namespace qsparse
