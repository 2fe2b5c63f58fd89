// qsparse/quant/rounding.hpp — rounding policies: how a real number becomes an integer.
//
// A rounding policy fixes every rule that decides an integer result from a float, so that one
// policy reproduces one family of systems bit for bit (see docs/numerics.md and docs/numerics.md):
//
//   round_half_away_from_zero  TFLite, gemmlowp. quantize: round(x / scale), the division in float32;
//                              choose_params: TFLite's ChooseQuantizationParams (double arithmetic,
//                              zero point nudged half away from zero); dequantize: float(double(scale) * (q - zp)).
//   round_half_to_even         PyTorch (and XNNPACK's requantization). quantize: nearbyint(x * (1.0f / scale)),
//                              reciprocal and product in float32; choose_params: PyTorch's observer rule
//                              (_calculate_qparams: float32, eps floor, zero point rounded half to even);
//                              dequantize: float(q - zp) * scale in float32.
//   tflite_optimized_rounding  TFLite's optimized kernels (the interpreter without XNNPACK), measured on
//                              LiteRT 2.3. quantize: nearbyint(x * (1.0f / scale)) as PyTorch; dequantize:
//                              float(q) * scale + float(-zp) * scale, two rounded products and a rounded
//                              sum in float32; choose_params and requantize: TFLite's.
//   round_half_to_even_divide  ONNX (QuantizeLinear, DynamicQuantizeLinear; ONNX Runtime). quantize:
//                              nearbyint(x / scale), the division in float32; choose_params: ONNX's
//                              DynamicQuantizeLinear rule (float32, zero point saturated then rounded
//                              half to even); dequantize: float(q - zp) * scale in float32.
//
// Contract of a rounding policy R (checked by is_rounding_v):
//   static float round(float v)                      the integer nearest v under R's tie rule (exact, no fenv)
//   static constexpr bool multiplies_by_reciprocal   true: x * (1.0f / scale); false: x / scale
//   static constexpr bool tflite_params              true: TFLite's choose_params; false: PyTorch's
//   static constexpr bool onnx_params                true: ONNX's choose_params (overrides the above)
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
  static constexpr bool onnx_params = false;
  static float round(float v) { return std::round(v); }
};

/// Ties to even: 2.5 → 2, 3.5 → 4, -2.5 → -2 (IEEE roundTiesToEven, as nearbyint in the default mode).
struct round_half_to_even {
  static constexpr const char* name = "round_half_to_even";
  static constexpr bool multiplies_by_reciprocal = true;
  static constexpr bool tflite_params = false;
  static constexpr bool onnx_params = false;
  static float round(float v) {
    const float away = std::round(v);
    // A tie is the only case where round() and ties-to-even can differ; |v - trunc(v)| is exact.
    if (std::fabs(v - std::trunc(v)) == 0.5f) return 2.0f * std::round(v * 0.5f);
    return away;
  }
};

/// Ties to even after a true division: x / scale (ONNX QuantizeLinear: -2.5 / 0.019607844f = -127.49999
/// rounds to -127, where the reciprocal product -127.5 rounds to -128).
struct round_half_to_even_divide {
  static constexpr const char* name = "round_half_to_even_divide";
  static constexpr bool multiplies_by_reciprocal = false;
  static constexpr bool tflite_params = false;
  static constexpr bool onnx_params = true;
  static float round(float v) { return round_half_to_even::round(v); }
};

/// TFLite's optimized QUANTIZE / DEQUANTIZE kernels: ties to even after a reciprocal multiply, and a
/// dequantize that adds the float32 offset -zp * scale to float32(q) * scale.
struct tflite_optimized_rounding {
  static constexpr const char* name = "tflite_optimized_rounding";
  static constexpr bool multiplies_by_reciprocal = true;
  static constexpr bool tflite_params = true;
  static constexpr bool onnx_params = false;
  static constexpr bool dequantize_scale_then_offset = true;
  static float round(float v) { return round_half_to_even::round(v); }
};

/// The same rule on doubles (zero-point nudging of TFLite rounds a double).
inline double round_half_away(double v) { return std::round(v); }

template <class R>
inline constexpr bool is_rounding_v = std::is_same_v<R, round_half_away_from_zero> ||
                                      std::is_same_v<R, round_half_to_even> ||
                                      std::is_same_v<R, round_half_to_even_divide> ||
                                      std::is_same_v<R, tflite_optimized_rounding>;

namespace detail {
template <class R, class = void>
struct dequantizes_scale_then_offset : std::false_type {};
template <class R>
struct dequantizes_scale_then_offset<R, std::void_t<decltype(R::dequantize_scale_then_offset)>>
    : std::bool_constant<R::dequantize_scale_then_offset> {};
template <class R>
inline constexpr bool dequantizes_scale_then_offset_v = dequantizes_scale_then_offset<R>::value;

/// True for the policies the SIMD quantize / fake-quantize kernels implement; the others run the
/// scalar definition on every ISA (bit-exact by construction) until the kernel layer learns them.
template <class R>
inline constexpr bool simd_rounding_v =
    std::is_same_v<R, round_half_away_from_zero> || std::is_same_v<R, round_half_to_even>;
}  // namespace detail

}  // namespace qsparse
