// qsparse/kernels/neon/fixed_point.hpp — TFLite/gemmlowp fixed-point requantization on 4 int32 lanes
// (int32x4_t, aarch64 Advanced SIMD), bit-exact with the scalar definition in qsparse/quant/fixed_point.hpp.
//
// Advanced SIMD has gemmlowp's primitives as instructions, which is where gemmlowp's own NEON path comes from:
//   saturating_rounding_doubling_high_mul(a, b)   sqrdmulh: (2ab + 2^31) >> 32 = floor((ab + 2^30) / 2^31),
//                                                 saturating only (INT32_MIN, INT32_MIN) → INT32_MAX
//   rounding_divide_by_pot(x, exponent)           srshl by -e rounds ties up, (x + 2^(e-1)) >> e without
//                                                 overflow; a negative x is first lowered by one (sqadd of
//                                                 its sign; only for e > 0) so ties go away from zero
//   saturating_left_shift(x, left)                sqshl (counts >= 32 saturate every nonzero x)
//   multiply_by_quantized_multiplier(x, M, shift)                    double rounding
//   multiply_by_quantized_multiplier_single_rounding(x, M, shift)    smull/smull2 to int64, srshl (ties
//   multiply_by_quantized_multiplier_single_rounding_away(x, M, shift)   up; ties away: a negative product
//                                                 lowered by one first), sqxtn to int32
//   multiply_by_quantized_multiplier_double_rounding_up(x, M, shift) SRDHM, then srshl (ties up)
// Shift lanes are TFLite's signed exponent (left = max(s, 0), right = max(-s, 0)); preconditions as the
// scalar forms: shift >= -31 (double rounding), multiplier >= 0 and shift in [-31, 30] (single rounding).
// Register-level, inline, unchecked. Without aarch64 this header declares nothing.
#pragma once

#include <cstdint>

#include "qsparse/core/config.hpp"

#if QSPARSE_AARCH64
#include <arm_neon.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse::kernels::neon {

/// gemmlowp SaturatingRoundingDoublingHighMul per lane.
inline int32x4_t saturating_rounding_doubling_high_mul(int32x4_t a, int32x4_t b) { return vqrdmulhq_s32(a, b); }

/// gemmlowp RoundingDivideByPOT per lane: x / 2^e rounded half away from zero; exponent lanes in [0, 31].
inline int32x4_t rounding_divide_by_pot(int32x4_t x, int32x4_t exponent) {
  const int32x4_t negated = vnegq_s32(exponent);
  // -1 where x < 0 and e > 0 (the negated exponent's sign bit), else 0.
  const int32x4_t fixup = vshrq_n_s32(vandq_s32(x, negated), 31);
  return vrshlq_s32(vqaddq_s32(x, fixup), negated);
}

/// x * 2^left per lane, saturated; left lanes >= 0 (any size).
inline int32x4_t saturating_left_shift(int32x4_t x, int32x4_t left) {
  // sqshl reads the count's low byte as signed: bound it to 32, where every nonzero x saturates already.
  return vqshlq_s32(x, vminq_s32(left, vdupq_n_s32(32)));
}

/// rounding_divide_by_pot(x, e) from neg_exponent = -e (lanes in [-31, 0]): what an output stage prepares once.
inline int32x4_t rounding_divide_by_pot_negated(int32x4_t x, int32x4_t neg_exponent) {
  const int32x4_t fixup = vshrq_n_s32(vandq_s32(x, neg_exponent), 31);
  return vrshlq_s32(vqaddq_s32(x, fixup), neg_exponent);
}

/// The shifts of a signed TFLite shift as double rounding applies them: left = min(max(s, 0), 32) (sqshl's
/// count: 32 and more saturate alike) and neg_right = min(s, 0) = -max(-s, 0).
inline void split_shift(int32x4_t shift, int32x4_t& left, int32x4_t& neg_right) {
  const int32x4_t zero = vdupq_n_s32(0);
  left = vminq_s32(vmaxq_s32(shift, zero), vdupq_n_s32(32));
  neg_right = vminq_s32(shift, zero);
}

/// Double rounding from split shifts (split_shift): sqshl, sqrdmulh, then the rounding shift ties away.
inline int32x4_t multiply_by_quantized_multiplier_split(int32x4_t x, int32x4_t multiplier, int32x4_t left,
                                                        int32x4_t neg_right) {
  return rounding_divide_by_pot_negated(saturating_rounding_doubling_high_mul(vqshlq_s32(x, left), multiplier), neg_right);
}

/// Double rounding, last shift ties up, from split shifts (split_shift).
inline int32x4_t multiply_by_quantized_multiplier_double_rounding_up_split(int32x4_t x, int32x4_t multiplier,
                                                                           int32x4_t left, int32x4_t neg_right) {
  return vrshlq_s32(saturating_rounding_doubling_high_mul(vqshlq_s32(x, left), multiplier), neg_right);
}

/// TFLite MultiplyByQuantizedMultiplier, double rounding, from a signed shift per lane (>= -31).
inline int32x4_t multiply_by_quantized_multiplier(int32x4_t x, int32x4_t multiplier, int32x4_t shift) {
  const int32x4_t zero = vdupq_n_s32(0);
  const int32x4_t left = vmaxq_s32(shift, zero);
  const int32x4_t right = vmaxq_s32(vnegq_s32(shift), zero);
  return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(saturating_left_shift(x, left), multiplier), right);
}

/// saturate(round(x * multiplier / 2^(31 - shift))) from the exact int64 product, ties up or (TiesAway) away
/// from zero; multiplier lanes >= 0, shift lanes in [-31, 30].
template <bool TiesAway>
inline int32x4_t multiply_by_quantized_multiplier_single_rounding_impl(int32x4_t x, int32x4_t multiplier,
                                                                       int32x4_t shift) {
  // srshl by -(31 - shift) = shift - 31, in [-62, -1]: (p + 2^(n-1)) >> n, rounded ties up, no overflow.
  const int32x4_t count = vsubq_s32(shift, vdupq_n_s32(31));
  const int64x2_t count_lo = vmovl_s32(vget_low_s32(count));
  const int64x2_t count_hi = vmovl_s32(vget_high_s32(count));
  int64x2_t lo = vmull_s32(vget_low_s32(x), vget_low_s32(multiplier));
  int64x2_t hi = vmull_high_s32(x, multiplier);
  if constexpr (TiesAway) {  // |p| <= 2^62: lowering a negative product by one cannot overflow
    lo = vaddq_s64(lo, vshrq_n_s64(lo, 63));
    hi = vaddq_s64(hi, vshrq_n_s64(hi, 63));
  }
  return vcombine_s32(vqmovn_s64(vrshlq_s64(lo, count_lo)), vqmovn_s64(vrshlq_s64(hi, count_hi)));
}

/// TFLite MultiplyByQuantizedMultiplier with TFLITE_SINGLE_ROUNDING=1, per lane.
inline int32x4_t multiply_by_quantized_multiplier_single_rounding(int32x4_t x, int32x4_t multiplier, int32x4_t shift) {
  return multiply_by_quantized_multiplier_single_rounding_impl<false>(x, multiplier, shift);
}

/// One rounding, ties away from zero (TFLite 2.21's reference FULLY_CONNECTED), per lane.
inline int32x4_t multiply_by_quantized_multiplier_single_rounding_away(int32x4_t x, int32x4_t multiplier,
                                                                       int32x4_t shift) {
  return multiply_by_quantized_multiplier_single_rounding_impl<true>(x, multiplier, shift);
}

/// Double rounding whose final shift rounds ties toward +infinity (TFLite's optimized kernels), per lane.
inline int32x4_t multiply_by_quantized_multiplier_double_rounding_up(int32x4_t x, int32x4_t multiplier, int32x4_t shift) {
  const int32x4_t zero = vdupq_n_s32(0);
  const int32x4_t left = vmaxq_s32(shift, zero);
  const int32x4_t right = vmaxq_s32(vnegq_s32(shift), zero);
  return vrshlq_s32(saturating_rounding_doubling_high_mul(saturating_left_shift(x, left), multiplier), vnegq_s32(right));
}

}  // namespace qsparse::kernels::neon

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_AARCH64
