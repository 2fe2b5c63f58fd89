// qsparse/spec/system_pipelines.hpp — ready-made output pipelines named after the system and the kernel
// family whose outputs they reproduce bit for bit, measured against TensorFlow Lite 2.21 / LiteRT 2.3
// (tests/gemm/tflite_oracle_test.cpp; docs/numerics.md, "Which policy matches").
//
//   int8 (gemm / conv2d / depthwise_conv2d; bias int32, per-channel multipliers and shifts from
//   R::quantize(s_in * s_w[c] / s_out), output zero point, fused activation range [act_min, act_max]):
//     tflite_reference_fc_int8_pipeline     reference FULLY_CONNECTED      single_rounding_away
//     tflite_reference_conv_int8_pipeline   reference CONV_2D, DEPTHWISE   double_rounding
//     tflite_optimized_int8_pipeline        optimized FC, CONV_2D, DEPTHWISE (the interpreter without the
//                                           XNNPACK delegate)                double_rounding_up
//     tflite_xnnpack_int8_pipeline          the default interpreter (XNNPACK delegate): float scales
//                                           s_in * s_w[c] / s_out in float32, ties to even
//   16x8 (gemm_16x8, int16 activations with zero point 0, bias int64, output zero point 0; the same in every
//   interpreter mode: XNNPACK does not take int16 layers, and the optimized FULLY_CONNECTED 16x8 gives the
//   reference's bits):
//     tflite_fc_16x8_pipeline               FULLY_CONNECTED                single_rounding_away (full
//                                                                          31-bit multiplier, int64)
//     tflite_conv_16x8_pipeline             CONV_2D                        reduced_multiplier_rounding
//                                                                          (TFLite's 15-bit int64 form)
//   float16 weights (gemm_f16 / reference_gemm_f16, last argument):
//     tflite_reference_f16_accumulation     the reference float FC: multiply, then add (f16_multiply_then_add)
// The pipeline types are tflite_int8_pipeline<R>, tflite_int8_float_pipeline and tflite_16x8_pipeline<R>.
#pragma once

#include <cstdint>

#include "qsparse/quant/fixed_point.hpp"
#include "qsparse/spec/f16_accumulation.hpp"
#include "qsparse/spec/output_stages.hpp"

namespace qsparse {

/// bias, per-channel fixed-point requantization by R, output zero point, activation range, int8.
template <class R>
using tflite_int8_pipeline = output_pipeline<bias_add, requantize_fixed_point_per_channel<R>, add_zero_point, clamp,
                                             saturating_cast<std::int8_t>>;
/// bias, per-channel float-scale requantization (ties to even), output zero point, activation range, int8.
using tflite_int8_float_pipeline =
    output_pipeline<bias_add, requantize_float_per_channel, add_zero_point, clamp, saturating_cast<std::int8_t>>;
/// int64 bias, per-channel int64 requantization by R, activation range, int16 (zero point 0).
template <class R>
using tflite_16x8_pipeline = output_pipeline<bias_add_int64, basic_requantize_fixed_point_int64_per_channel<R>, clamp,
                                             saturating_cast<std::int16_t>>;

/// TFLite's reference FULLY_CONNECTED, int8: one rounding, ties away from zero. Multipliers and shifts from
/// single_rounding_away::quantize.
inline tflite_int8_pipeline<single_rounding_away> tflite_reference_fc_int8_pipeline(
    const std::int32_t* bias, const std::int32_t* multipliers, const int* shifts, std::int32_t output_zero_point,
    std::int32_t act_min = -128, std::int32_t act_max = 127) {
  return pipeline(bias_add{bias}, requantize_fixed_point_per_channel<single_rounding_away>{multipliers, shifts},
                  add_zero_point{output_zero_point}, clamp{act_min, act_max}, saturating_cast<std::int8_t>{});
}

/// TFLite's reference CONV_2D and DEPTHWISE_CONV_2D, int8: gemmlowp's double rounding. Multipliers and
/// shifts from double_rounding::quantize (quantize_multiplier).
inline tflite_int8_pipeline<double_rounding> tflite_reference_conv_int8_pipeline(
    const std::int32_t* bias, const std::int32_t* multipliers, const int* shifts, std::int32_t output_zero_point,
    std::int32_t act_min = -128, std::int32_t act_max = 127) {
  return pipeline(bias_add{bias}, requantize_fixed_point_per_channel<double_rounding>{multipliers, shifts},
                  add_zero_point{output_zero_point}, clamp{act_min, act_max}, saturating_cast<std::int8_t>{});
}

/// TFLite's optimized kernels (FULLY_CONNECTED, CONV_2D, DEPTHWISE_CONV_2D without the XNNPACK delegate),
/// int8: double rounding whose last shift rounds ties toward +infinity.
inline tflite_int8_pipeline<double_rounding_up> tflite_optimized_int8_pipeline(
    const std::int32_t* bias, const std::int32_t* multipliers, const int* shifts, std::int32_t output_zero_point,
    std::int32_t act_min = -128, std::int32_t act_max = 127) {
  return pipeline(bias_add{bias}, requantize_fixed_point_per_channel<double_rounding_up>{multipliers, shifts},
                  add_zero_point{output_zero_point}, clamp{act_min, act_max}, saturating_cast<std::int8_t>{});
}

/// TFLite's default interpreter (the XNNPACK delegate), int8: scales[c] = float(float(s_in * s_w[c]) / s_out),
/// round_half_to_even(float(acc) * scales[c]).
inline tflite_int8_float_pipeline tflite_xnnpack_int8_pipeline(const std::int32_t* bias, const float* scales,
                                                              std::int32_t output_zero_point,
                                                              std::int32_t act_min = -128,
                                                              std::int32_t act_max = 127) {
  return pipeline(bias_add{bias}, requantize_float_per_channel{scales}, add_zero_point{output_zero_point},
                  clamp{act_min, act_max}, saturating_cast<std::int8_t>{});
}

/// TFLite's FULLY_CONNECTED, 16x8 (reference and optimized): one rounding, ties away, the full multiplier on
/// the int64 sum.
inline tflite_16x8_pipeline<single_rounding_away> tflite_fc_16x8_pipeline(
    const std::int64_t* bias, const std::int32_t* multipliers, const int* shifts, std::int32_t act_min = -32768,
    std::int32_t act_max = 32767) {
  return pipeline(bias_add_int64{bias},
                  basic_requantize_fixed_point_int64_per_channel<single_rounding_away>{multipliers, shifts},
                  clamp{act_min, act_max}, saturating_cast<std::int16_t>{});
}

/// TFLite's CONV_2D 16x8 (reference and optimized): the 15-bit int64 MultiplyByQuantizedMultiplier.
inline tflite_16x8_pipeline<reduced_multiplier_rounding> tflite_conv_16x8_pipeline(const std::int64_t* bias,
                                                                                   const std::int32_t* multipliers,
                                                                                   const int* shifts,
                                                                                   std::int32_t act_min = -32768,
                                                                                   std::int32_t act_max = 32767) {
  return pipeline(bias_add_int64{bias},
                  basic_requantize_fixed_point_int64_per_channel<reduced_multiplier_rounding>{multipliers, shifts},
                  clamp{act_min, act_max}, saturating_cast<std::int16_t>{});
}

/// The summation of TFLite's reference FULLY_CONNECTED on float16 weights (gemm_f16's last argument).
using tflite_reference_f16_accumulation = f16_multiply_then_add;

}  // namespace qsparse
