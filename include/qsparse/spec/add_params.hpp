// qsparse/spec/add_params.hpp — the fixed-point parameters of TFLite's int8 ADD (residual connections).
//
//   auto p = qsparse::add_params::from_scales(a_scale, a_zp, b_scale, b_zp, out_scale, out_zp);  // + act range
//
// TFLite (kernels/add.cc, int8): left_shift = 20; twice_max = 2 * max(a_scale, b_scale) (double);
// input multipliers a_scale / twice_max and b_scale / twice_max, output multiplier
// twice_max / (2^20 * out_scale), each quantized by QuantizeMultiplierSmallerThanOneExp (so each real
// multiplier must be in (0, 1)). Per element (integer_ops/add.h):
//   a' = MBQM((a - a_zp) * 2^20, M_a, s_a), b' = MBQM((b - b_zp) * 2^20, M_b, s_b)
//   out = clamp(MBQM(a' + b', M_out, s_out) + out_zp, act_min, act_max)
// with MBQM the double-rounding MultiplyByQuantizedMultiplier (docs/numerics.md).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "qsparse/core/error.hpp"
#include "qsparse/quant/fixed_point.hpp"

namespace qsparse {

/// TFLite's ArithmeticParams for int8 ADD.
struct add_params {
  std::int32_t input1_offset = 0;  // -a_zp
  std::int32_t input2_offset = 0;  // -b_zp
  std::int32_t output_offset = 0;  // +out_zp
  int left_shift = 20;
  std::int32_t input1_multiplier = 0;
  int input1_shift = 0;
  std::int32_t input2_multiplier = 0;
  int input2_shift = 0;
  std::int32_t output_multiplier = 0;
  int output_shift = 0;
  std::int32_t activation_min = -128;
  std::int32_t activation_max = 127;

  /// The parameters TFLite derives from the three tensors' scales and zero points; throws qsparse::error
  /// for scales <= 0 or non-finite, zero points outside [-128, 127], an output scale so small that the
  /// output multiplier reaches 1, or act_min > act_max.
  static add_params from_scales(float a_scale, std::int32_t a_zero_point, float b_scale, std::int32_t b_zero_point,
                                float out_scale, std::int32_t out_zero_point, std::int32_t act_min = -128,
                                std::int32_t act_max = 127) {
    const char* fn = "qsparse::add_params::from_scales";
    const auto scale_ok = [](float s) { return std::isfinite(s) && s > 0.0f; };
    detail::check(scale_ok(a_scale), fn, ": a_scale must be positive and finite, got a_scale = ", a_scale);
    detail::check(scale_ok(b_scale), fn, ": b_scale must be positive and finite, got b_scale = ", b_scale);
    detail::check(scale_ok(out_scale), fn, ": out_scale must be positive and finite, got out_scale = ", out_scale);
    const auto zp_ok = [](std::int32_t z) { return z >= -128 && z <= 127; };
    detail::check(zp_ok(a_zero_point), fn, ": a_zero_point must be in [-128, 127], got a_zero_point = ", a_zero_point);
    detail::check(zp_ok(b_zero_point), fn, ": b_zero_point must be in [-128, 127], got b_zero_point = ", b_zero_point);
    detail::check(zp_ok(out_zero_point), fn, ": out_zero_point must be in [-128, 127], got out_zero_point = ",
                  out_zero_point);
    detail::check(act_min >= -128 && act_max <= 127 && act_min <= act_max, fn,
                  ": the activation range must be inside [-128, 127] with act_min <= act_max, got act_min = ", act_min,
                  ", act_max = ", act_max);
    add_params p;
    p.input1_offset = -a_zero_point;
    p.input2_offset = -b_zero_point;
    p.output_offset = out_zero_point;
    p.left_shift = 20;
    const double twice_max = 2.0 * static_cast<double>(std::max(a_scale, b_scale));
    const double real_a = static_cast<double>(a_scale) / twice_max;
    const double real_b = static_cast<double>(b_scale) / twice_max;
    const double real_out = twice_max / (static_cast<double>(1 << p.left_shift) * static_cast<double>(out_scale));
    detail::check(real_out < 1.0, fn, ": out_scale = ", out_scale,
                  " is too small for TFLite's ADD (output multiplier ", real_out, " must be < 1)");
    const quantized_multiplier qa = quantize_multiplier(real_a);
    const quantized_multiplier qb = quantize_multiplier(real_b);
    const quantized_multiplier qo = quantize_multiplier(real_out);
    p.input1_multiplier = qa.multiplier;
    p.input1_shift = qa.shift;
    p.input2_multiplier = qb.multiplier;
    p.input2_shift = qb.shift;
    p.output_multiplier = qo.multiplier;
    p.output_shift = qo.shift;
    p.activation_min = act_min;
    p.activation_max = act_max;
    return p;
  }
};

namespace detail {

/// Validates add_params that did not come from from_scales (shifts <= 0 and >= -31, multipliers >= 0,
/// offsets and activation range in int8).
inline void check_add_params(const add_params& p, const char* fn) {
  check(p.left_shift >= 0 && p.left_shift <= 20, fn, ": add_params.left_shift must be in [0, 20], got ", p.left_shift);
  check(p.input1_offset >= -127 && p.input1_offset <= 128, fn,
        ": add_params.input1_offset must be -zero_point in [-127, 128], got ", p.input1_offset);
  check(p.input2_offset >= -127 && p.input2_offset <= 128, fn,
        ": add_params.input2_offset must be -zero_point in [-127, 128], got ", p.input2_offset);
  check(p.output_offset >= -128 && p.output_offset <= 127, fn, ": add_params.output_offset must be in [-128, 127], got ",
        p.output_offset);
  const auto ok = [](std::int32_t m, int s) { return m >= 0 && s <= 0 && s >= -31; };
  check(ok(p.input1_multiplier, p.input1_shift), fn, ": add_params input1 multiplier/shift must be >= 0 / in [-31, 0], got ",
        p.input1_multiplier, ", ", p.input1_shift);
  check(ok(p.input2_multiplier, p.input2_shift), fn, ": add_params input2 multiplier/shift must be >= 0 / in [-31, 0], got ",
        p.input2_multiplier, ", ", p.input2_shift);
  check(ok(p.output_multiplier, p.output_shift), fn, ": add_params output multiplier/shift must be >= 0 / in [-31, 0], got ",
        p.output_multiplier, ", ", p.output_shift);
  check(p.activation_min >= -128 && p.activation_max <= 127 && p.activation_min <= p.activation_max, fn,
        ": add_params activation range must be inside [-128, 127], got ", p.activation_min, ", ", p.activation_max);
}

}  // namespace detail
}  // namespace qsparse
