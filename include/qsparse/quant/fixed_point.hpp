// qsparse/quant/fixed_point.hpp — TFLite/gemmlowp-exact fixed-point multipliers (the normative scalar
// definition; the SIMD versions in kernels/<isa>/fixed_point.hpp are tested bit-exact against it).
//
// A real multiplier m >= 0 is stored as a quantized_multiplier {multiplier, shift} meaning
// m ≈ multiplier * 2^(shift - 31), with multiplier in [2^30, 2^31) (or 0). An int32 accumulator is
// rescaled by it in one of two ways, both exactly as TensorFlow Lite does (see docs/numerics.md):
//
//   double_rounding (TFLite default, gemmlowp OutputStageScaleInt32ByFixedPointAndExponent):
//     rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x * 2^left, M), right)
//     with left = max(shift, 0), right = max(-shift, 0). Preconditions: shift >= -31.
//   single_rounding (TFLITE_SINGLE_ROUNDING=1): (int64(x) * M + 2^(30 - shift)) >> (31 - shift).
//     Preconditions: M >= 0, -31 <= shift <= 30.
// and, as measured on the running systems (TensorFlow Lite 2.21 / LiteRT 2.3, docs/numerics.md):
//   single_rounding_away (reference FULLY_CONNECTED, int8 and 16x8): x * M / 2^(31 - shift) rounded
//     once, ties away from zero, from the exact product (int32 and int64 accumulators, the full 31-bit
//     multiplier). Preconditions: M >= 0, -31 <= shift <= 30.
//   double_rounding_up (the optimized kernels: conv, depthwise, FC without the XNNPACK delegate):
//     SRDHM(x * 2^left, M) as double_rounding, then a right shift that rounds ties toward +infinity,
//     floor((v + 2^(right - 1)) / 2^right). Preconditions: shift >= -31.
//   reduced_multiplier_rounding (int64 accumulators only; reference CONV_2D 16x8): TFLite's
//     MultiplyByQuantizedMultiplier(int64): the multiplier's top 15 bits, one rounding, ties up.
//
// Where TFLite is undefined or only DCHECKs, qsparse saturates and is otherwise identical:
//   * TFLite forms x * (1 << left) as a plain int32 multiply (undefined on overflow, and for
//     left >= 31); qsparse saturates that product to [INT32_MIN, INT32_MAX] before the high mul.
//   * The single-rounding and int64 forms DCHECK that the result fits int32; qsparse saturates.
//
// Rounding of the primitives (checked against gemmlowp's own fixedpoint.h):
//   saturating_rounding_doubling_high_mul(a, b) = floor((a*b + 2^30) / 2^31), i.e. the nearest
//     integer to a*b / 2^31 with ties toward +infinity (gemmlowp's nudge-and-truncate form; e.g.
//     (-1, 2^30) → 0 since the exact value is -0.5), except (INT32_MIN, INT32_MIN) → INT32_MAX.
//   rounding_divide_by_pot(x, e), 0 <= e <= 31 = x / 2^e rounded to nearest, ties away from zero.
//
// Public functions validate cheap preconditions and throw qsparse::error; the detail:: forms with
// the same names check nothing and are what kernels and output stages call per element. The
// rounding-policy tags double_rounding / single_rounding / single_rounding_away / double_rounding_up
// bundle name / quantize / accepts / apply(int32) so that requantize_fixed_point<R> and
// requantize_fixed_point_per_channel<R> take them; the int64 policies reduced_multiplier_rounding and
// single_rounding_away add apply(int64) and accumulator_bits for the int64 stages
// (basic_requantize_fixed_point_int64<R>, qsparse/spec/output_stages.hpp).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "qsparse/core/error.hpp"

namespace qsparse {

/// A real multiplier as TFLite stores it: real ≈ multiplier * 2^(shift - 31).
struct quantized_multiplier {
  std::int32_t multiplier;
  int shift;
};

constexpr bool operator==(const quantized_multiplier& a, const quantized_multiplier& b) noexcept {
  return a.multiplier == b.multiplier && a.shift == b.shift;
}
constexpr bool operator!=(const quantized_multiplier& a, const quantized_multiplier& b) noexcept {
  return !(a == b);
}

/// The real value a quantized_multiplier stands for: multiplier * 2^(shift - 31) (exact in double).
inline double to_real(const quantized_multiplier& q) {
  return std::ldexp(static_cast<double>(q.multiplier), q.shift - 31);
}

namespace detail {

// Helpers private to this header (a nested namespace so they cannot collide with other headers').
namespace fixed_point_internal {

constexpr std::int32_t int32_min = std::numeric_limits<std::int32_t>::min();
constexpr std::int32_t int32_max = std::numeric_limits<std::int32_t>::max();

constexpr std::int32_t saturate(std::int64_t x) noexcept {
  return static_cast<std::int32_t>(x < int32_min ? int32_min : (x > int32_max ? int32_max : x));
}

inline void check_real_multiplier(double real, const char* function) {
  if (!(real >= 0.0) || std::isinf(real)) {
    raise(concat(function, ": real multiplier must be non-negative and finite, got real = ", real));
  }
}

}  // namespace fixed_point_internal

/// TFLite QuantizeMultiplier without the single-rounding clamp; `real` must be >= 0 and finite.
inline quantized_multiplier quantize_multiplier(double real) {
  if (real == 0.0) return {0, 0};
  int shift = 0;
  const double fraction = std::frexp(real, &shift);                            // [0.5, 1)
  auto fixed = static_cast<std::int64_t>(std::round(fraction * 2147483648.0));  // half away; exact
  if (fixed == (std::int64_t{1} << 31)) {  // rounding carried into bit 31
    fixed /= 2;
    ++shift;
  }
  if (shift < -31) return {0, 0};  // flush multipliers below ~2^-32 to zero, as TFLite does
  return {static_cast<std::int32_t>(fixed), shift};
}

/// gemmlowp SaturatingRoundingDoublingHighMul. No preconditions.
constexpr std::int32_t saturating_rounding_doubling_high_mul(std::int32_t a, std::int32_t b) noexcept {
  const bool overflow = a == b && a == fixed_point_internal::int32_min;
  const std::int64_t product = static_cast<std::int64_t>(a) * b;
  // Equal to gemmlowp's (product + (product >= 0 ? 2^30 : 1 - 2^30)) / 2^31 (truncating).
  const auto high = static_cast<std::int32_t>((product + (std::int64_t{1} << 30)) >> 31);
  return overflow ? fixed_point_internal::int32_max : high;
}

/// gemmlowp RoundingDivideByPOT. Requires 0 <= exponent <= 31.
constexpr std::int32_t rounding_divide_by_pot(std::int32_t x, int exponent) noexcept {
  const auto mask = static_cast<std::int32_t>((std::int64_t{1} << exponent) - 1);
  const std::int32_t remainder = x & mask;
  const std::int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/// x * 2^left_shift saturated to int32. Requires left_shift >= 0 (any size).
constexpr std::int32_t saturating_left_shift(std::int32_t x, int left_shift) noexcept {
  const int bounded = left_shift < 32 ? left_shift : 32;  // |x| * 2^32 still fits int64
  return fixed_point_internal::saturate(static_cast<std::int64_t>(x) * (std::int64_t{1} << bounded));
}

/// TFLite MultiplyByQuantizedMultiplier, double rounding. Requires shift >= -31.
constexpr std::int32_t multiply_by_quantized_multiplier(std::int32_t x, std::int32_t multiplier,
                                                        int shift) noexcept {
  const int left_shift = shift > 0 ? shift : 0;
  const int right_shift = shift > 0 ? 0 : -shift;
  return rounding_divide_by_pot(
      saturating_rounding_doubling_high_mul(saturating_left_shift(x, left_shift), multiplier),
      right_shift);
}

/// TFLite MultiplyByQuantizedMultiplier, single rounding. Requires -31 <= shift <= 30 (and, for
/// TFLite fidelity, multiplier >= 0, although any multiplier gives a defined result here).
constexpr std::int32_t multiply_by_quantized_multiplier_single_rounding(std::int32_t x,
                                                                        std::int32_t multiplier,
                                                                        int shift) noexcept {
  const int total_shift = 31 - shift;  // 1 .. 62
  const std::int64_t rounded =
      static_cast<std::int64_t>(x) * multiplier + (std::int64_t{1} << (total_shift - 1));
  return fixed_point_internal::saturate(rounded >> total_shift);
}

/// TFLite MultiplyByQuantizedMultiplier for int64 accumulators (16x8 kernels). Requires
/// multiplier >= 0, -31 <= shift <= 7, -2^47 <= x < 2^47.
constexpr std::int32_t multiply_by_quantized_multiplier(std::int64_t x, std::int32_t multiplier,
                                                        int shift) noexcept {
  const std::int32_t reduced = multiplier < 0x7FFF0000 ? (multiplier + (1 << 15)) >> 16 : 0x7FFF;
  const int total_shift = 15 - shift;  // 8 .. 46
  const std::int64_t rounded = x * reduced + (std::int64_t{1} << (total_shift - 1));
  return fixed_point_internal::saturate(rounded >> total_shift);
}

/// One rounding, ties away from zero, of x * multiplier / 2^(31 - shift) (TFLite 2.21's reference
/// FULLY_CONNECTED), saturated to int32. Requires multiplier >= 0 and -31 <= shift <= 30.
constexpr std::int32_t multiply_by_quantized_multiplier_single_rounding_away(std::int32_t x, std::int32_t multiplier,
                                                                             int shift) noexcept {
  const int total_shift = 31 - shift;  // 1 .. 62
  const std::int64_t product = static_cast<std::int64_t>(x) * multiplier;  // |product| < 2^62
  // Ties away: floor((p + 2^(n-1)) / 2^n) for p >= 0, floor((p + 2^(n-1) - 1) / 2^n) for p < 0.
  const std::int64_t rounded = product + (std::int64_t{1} << (total_shift - 1)) - (product < 0 ? 1 : 0);
  return fixed_point_internal::saturate(rounded >> total_shift);
}

/// The same for an int64 accumulator with the full multiplier, from the exact 94-bit product (TFLite
/// 2.21's reference FULLY_CONNECTED 16x8), saturated to int32. Requires multiplier >= 0 and
/// -31 <= shift <= 30; any x.
constexpr std::int32_t multiply_by_quantized_multiplier_single_rounding_away(std::int64_t x, std::int32_t multiplier,
                                                                             int shift) noexcept {
  const int total_shift = 31 - shift;  // 1 .. 62
  const std::uint64_t ux = x < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(x) : static_cast<std::uint64_t>(x);
  const auto um = static_cast<std::uint64_t>(multiplier);  // < 2^31
  // |x| * M = hi * 2^32 + lo with hi = (|x| >> 32) * M < 2^63 and lo = (|x| & (2^32 - 1)) * M < 2^63; the
  // rounding term 2^(n-1) <= 2^61 joins lo, whose upper half then carries into hi.
  const std::uint64_t lo = (ux & 0xFFFFFFFFu) * um + (std::uint64_t{1} << (total_shift - 1));
  const std::uint64_t hi = (ux >> 32) * um + (lo >> 32);
  std::uint64_t magnitude = 0;  // floor((|x| M + 2^(n-1)) / 2^n), or any value >= 2^31 when it is larger
  if (total_shift >= 32) {
    magnitude = hi >> (total_shift - 32);
  } else if (hi >= (std::uint64_t{1} << 31)) {
    magnitude = std::uint64_t{1} << 31;
  } else {
    magnitude = (hi << (32 - total_shift)) | ((lo & 0xFFFFFFFFu) >> total_shift);
  }
  constexpr std::uint64_t limit = std::uint64_t{1} << 31;
  if (x < 0) return magnitude >= limit ? fixed_point_internal::int32_min : -static_cast<std::int32_t>(magnitude);
  return magnitude >= limit ? fixed_point_internal::int32_max : static_cast<std::int32_t>(magnitude);
}

/// SRDHM(saturate(x * 2^left), multiplier), then a right shift rounding ties toward +infinity (TFLite's
/// optimized kernels). Requires shift >= -31.
constexpr std::int32_t multiply_by_quantized_multiplier_double_rounding_up(std::int32_t x, std::int32_t multiplier,
                                                                           int shift) noexcept {
  const int left_shift = shift > 0 ? shift : 0;
  const int right_shift = shift > 0 ? 0 : -shift;
  const std::int32_t high = saturating_rounding_doubling_high_mul(saturating_left_shift(x, left_shift), multiplier);
  if (right_shift == 0) return high;
  // floor((v + 2^(e-1)) / 2^e) = floor(v / 2^e) + bit e-1 of v, without the overflow of v + 2^(e-1).
  return static_cast<std::int32_t>((high >> right_shift) + ((high >> (right_shift - 1)) & 1));
}

}  // namespace detail

/// TFLite QuantizeMultiplier (default build): m == 0 → (0, 0); q, shift = frexp(m);
/// multiplier = round_half_away(q * 2^31), a carry to 2^31 becomes (2^30, shift + 1); shift < -31
/// flushes to (0, 0). Throws qsparse::error for negative, NaN or infinite `real`.
inline quantized_multiplier quantize_multiplier(double real) {
  detail::fixed_point_internal::check_real_multiplier(real, "qsparse::quantize_multiplier");
  return detail::quantize_multiplier(real);
}

/// TFLite QuantizeMultiplier as built with TFLITE_SINGLE_ROUNDING=1: as quantize_multiplier, then
/// shift > 30 → (2^31 - 1, 30), so the result is always valid for the single-rounding multiply.
inline quantized_multiplier quantize_multiplier_single_rounding(double real) {
  detail::fixed_point_internal::check_real_multiplier(real, "qsparse::quantize_multiplier_single_rounding");
  const quantized_multiplier q = detail::quantize_multiplier(real);
  if (q.shift > 30) return {std::numeric_limits<std::int32_t>::max(), 30};
  return q;
}

/// gemmlowp SaturatingRoundingDoublingHighMul: floor((a*b + 2^30) / 2^31), and INT32_MAX for
/// (INT32_MIN, INT32_MIN).
constexpr std::int32_t saturating_rounding_doubling_high_mul(std::int32_t a, std::int32_t b) noexcept {
  return detail::saturating_rounding_doubling_high_mul(a, b);
}

/// gemmlowp RoundingDivideByPOT: x / 2^exponent rounded half away from zero, 0 <= exponent <= 31.
constexpr std::int32_t rounding_divide_by_pot(std::int32_t x, int exponent) {
  if (exponent < 0 || exponent > 31) {
    detail::raise(detail::concat("qsparse::rounding_divide_by_pot: exponent must be in [0, 31], got exponent = ",
                                 exponent));
  }
  return detail::rounding_divide_by_pot(x, exponent);
}

/// TFLite MultiplyByQuantizedMultiplier (default, double rounding), with the left-shifted input
/// saturated instead of overflowing. Requires shift >= -31; any int32 multiplier.
constexpr std::int32_t multiply_by_quantized_multiplier(std::int32_t x, std::int32_t multiplier, int shift) {
  if (shift < -31) {
    detail::raise(detail::concat("qsparse::multiply_by_quantized_multiplier: shift must be >= -31, got shift = ",
                                 shift));
  }
  return detail::multiply_by_quantized_multiplier(x, multiplier, shift);
}

/// TFLite MultiplyByQuantizedMultiplier with TFLITE_SINGLE_ROUNDING=1 (rounding ties toward
/// +infinity), result saturated to int32. Requires multiplier >= 0 and -31 <= shift <= 30.
constexpr std::int32_t multiply_by_quantized_multiplier_single_rounding(std::int32_t x, std::int32_t multiplier,
                                                                        int shift) {
  if (multiplier < 0 || shift < -31 || shift > 30) {
    detail::raise(detail::concat("qsparse::multiply_by_quantized_multiplier_single_rounding: need multiplier >= 0 "
                                 "and shift in [-31, 30], got multiplier = ",
                                 multiplier, ", shift = ", shift));
  }
  return detail::multiply_by_quantized_multiplier_single_rounding(x, multiplier, shift);
}

/// TFLite MultiplyByQuantizedMultiplier for int64 accumulators: keeps only the top 15 bits of the
/// multiplier, rounds once (ties toward +infinity), saturates to int32. Requires multiplier >= 0,
/// -31 <= shift <= 7 and -2^47 <= x < 2^47.
constexpr std::int32_t multiply_by_quantized_multiplier(std::int64_t x, std::int32_t multiplier, int shift) {
  constexpr std::int64_t limit = std::int64_t{1} << 47;
  if (multiplier < 0 || shift < -31 || shift > 7 || x < -limit || x >= limit) {
    detail::raise(detail::concat("qsparse::multiply_by_quantized_multiplier: the int64 form needs multiplier >= 0, "
                                 "shift in [-31, 7] and x in [-2^47, 2^47), got x = ",
                                 x, ", multiplier = ", multiplier, ", shift = ", shift));
  }
  return detail::multiply_by_quantized_multiplier(x, multiplier, shift);
}

/// One rounding, ties away from zero (TFLite 2.21's reference FULLY_CONNECTED, int8), saturated to
/// int32. Requires multiplier >= 0 and -31 <= shift <= 30.
constexpr std::int32_t multiply_by_quantized_multiplier_single_rounding_away(std::int32_t x, std::int32_t multiplier,
                                                                             int shift) {
  if (multiplier < 0 || shift < -31 || shift > 30) {
    detail::raise(detail::concat("qsparse::multiply_by_quantized_multiplier_single_rounding_away: need multiplier >= 0 "
                                 "and shift in [-31, 30], got multiplier = ",
                                 multiplier, ", shift = ", shift));
  }
  return detail::multiply_by_quantized_multiplier_single_rounding_away(x, multiplier, shift);
}

/// The same for an int64 accumulator with the full multiplier (TFLite 2.21's reference FULLY_CONNECTED
/// 16x8): exact for every x. Requires multiplier >= 0 and -31 <= shift <= 30.
constexpr std::int32_t multiply_by_quantized_multiplier_single_rounding_away(std::int64_t x, std::int32_t multiplier,
                                                                             int shift) {
  if (multiplier < 0 || shift < -31 || shift > 30) {
    detail::raise(detail::concat("qsparse::multiply_by_quantized_multiplier_single_rounding_away: need multiplier >= 0 "
                                 "and shift in [-31, 30], got multiplier = ",
                                 multiplier, ", shift = ", shift));
  }
  return detail::multiply_by_quantized_multiplier_single_rounding_away(x, multiplier, shift);
}

/// Double rounding whose final shift rounds ties toward +infinity (TFLite's optimized kernels), with the
/// left-shifted input saturated. Requires shift >= -31.
constexpr std::int32_t multiply_by_quantized_multiplier_double_rounding_up(std::int32_t x, std::int32_t multiplier,
                                                                           int shift) {
  if (shift < -31) {
    detail::raise(detail::concat(
        "qsparse::multiply_by_quantized_multiplier_double_rounding_up: shift must be >= -31, got shift = ", shift));
  }
  return detail::multiply_by_quantized_multiplier_double_rounding_up(x, multiplier, shift);
}

/// Rounding policy: TFLite's default double rounding (gemmlowp SRDHM, then RDBPOT).
struct double_rounding {
  static constexpr const char* name = "double_rounding";
  /// The quantized_multiplier this policy uses for `real` (throws for negative / NaN / inf).
  static quantized_multiplier quantize(double real) { return quantize_multiplier(real); }
  /// Whether apply(x, multiplier, shift) is within its preconditions.
  static constexpr bool accepts(std::int32_t /*multiplier*/, int shift) noexcept { return shift >= -31; }
  /// Unchecked per-element rescale; callers validate with accepts() once, up front.
  static constexpr std::int32_t apply(std::int32_t x, std::int32_t multiplier, int shift) noexcept {
    return detail::multiply_by_quantized_multiplier(x, multiplier, shift);
  }
};

/// Rounding policy: TFLITE_SINGLE_ROUNDING=1 (one 64-bit product, one rounding).
struct single_rounding {
  static constexpr const char* name = "single_rounding";
  static quantized_multiplier quantize(double real) { return quantize_multiplier_single_rounding(real); }
  static constexpr bool accepts(std::int32_t multiplier, int shift) noexcept {
    return multiplier >= 0 && shift >= -31 && shift <= 30;
  }
  static constexpr std::int32_t apply(std::int32_t x, std::int32_t multiplier, int shift) noexcept {
    return detail::multiply_by_quantized_multiplier_single_rounding(x, multiplier, shift);
  }
};

/// Rounding policy: one rounding of the exact product, ties away from zero (TFLite 2.21's reference
/// FULLY_CONNECTED: int8 with requantize_fixed_point<R>, 16x8 with basic_requantize_fixed_point_int64<R>).
struct single_rounding_away {
  static constexpr const char* name = "single_rounding_away";
  static quantized_multiplier quantize(double real) { return quantize_multiplier_single_rounding(real); }
  static constexpr bool accepts(std::int32_t multiplier, int shift) noexcept {
    return multiplier >= 0 && shift >= -31 && shift <= 30;
  }
  static constexpr std::int32_t apply(std::int32_t x, std::int32_t multiplier, int shift) noexcept {
    return detail::multiply_by_quantized_multiplier_single_rounding_away(x, multiplier, shift);
  }
  /// int64 accumulators: exact for every value (no bound on |x|).
  static constexpr int accumulator_bits = 63;
  static constexpr std::int32_t apply(std::int64_t x, std::int32_t multiplier, int shift) noexcept {
    return detail::multiply_by_quantized_multiplier_single_rounding_away(x, multiplier, shift);
  }
};

/// Rounding policy: double rounding whose final right shift rounds ties toward +infinity (TFLite's
/// optimized kernels: CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED int8 without the XNNPACK delegate).
struct double_rounding_up {
  static constexpr const char* name = "double_rounding_up";
  static quantized_multiplier quantize(double real) { return quantize_multiplier(real); }
  static constexpr bool accepts(std::int32_t /*multiplier*/, int shift) noexcept { return shift >= -31; }
  static constexpr std::int32_t apply(std::int32_t x, std::int32_t multiplier, int shift) noexcept {
    return detail::multiply_by_quantized_multiplier_double_rounding_up(x, multiplier, shift);
  }
};

/// Rounding policy of int64 accumulators only: TFLite's MultiplyByQuantizedMultiplier(int64) (the
/// multiplier's top 15 bits, one rounding, ties toward +infinity; TFLite's reference CONV_2D 16x8).
/// Needs |x| < 2^47 (accumulator_bits), which the 16x8 entry point checks up front.
struct reduced_multiplier_rounding {
  static constexpr const char* name = "reduced_multiplier_rounding";
  static quantized_multiplier quantize(double real) { return quantize_multiplier(real); }
  static constexpr bool accepts(std::int32_t multiplier, int shift) noexcept {
    return multiplier >= 0 && shift >= -31 && shift <= 7;
  }
  static constexpr int accumulator_bits = 47;
  static constexpr std::int32_t apply(std::int64_t x, std::int32_t multiplier, int shift) noexcept {
    return detail::multiply_by_quantized_multiplier(x, multiplier, shift);
  }
};

}  // namespace qsparse
