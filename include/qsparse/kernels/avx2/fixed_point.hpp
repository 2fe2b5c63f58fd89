// qsparse/kernels/avx2/fixed_point.hpp — TFLite/gemmlowp fixed-point requantization on 8 int32
// lanes (__m256i), bit-exact with the scalar definition in qsparse/quant/fixed_point.hpp.
//
// Register-level functions (inline, unchecked, no scalar code) for output stages to call on
// accumulator registers; per-lane multipliers and shifts serve per-channel requantization, and a
// broadcast vector serves per-tensor. Shift-derived vectors (masks, rounding terms) depend only on
// the shift vector, so when these functions are inlined into a loop the compiler hoists them.
//   saturating_rounding_doubling_high_mul(a, b)            gemmlowp SRDHM
//   rounding_divide_by_pot(x, exponent)                    gemmlowp RDBPOT, exponent lanes in [0, 31]
//   saturating_left_shift(x, left_shift)                   x * 2^left saturated, left lanes >= 0
//   multiply_by_quantized_multiplier(x, M, left, right)    double rounding, left = max(shift, 0),
//                                                          right = max(-shift, 0) in [0, 31]
//   multiply_by_quantized_multiplier(x, M, shift)          the same from a signed shift >= -31
//   multiply_by_quantized_multiplier_single_rounding(x, M, shift)   M >= 0, shift in [-31, 30]
//   multiply_by_quantized_multiplier_single_rounding_away(x, M, shift)   the same, ties away from zero
//   multiply_by_quantized_multiplier_double_rounding_up(x, M, shift)     double rounding, last shift ties up
// Array loops (checked once, then vector code with a masked tail; x and y may alias exactly):
//   multiply_by_quantized_multiplier(x, y, n, M, shift)
//   multiply_by_quantized_multiplier_single_rounding(x, y, n, M, shift)
// Every function carries QSPARSE_TARGET_AVX2; call them only when the CPU supports isa_level::avx2
// (qsparse/core/isa.hpp). Without x86 this header declares nothing.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/config.hpp"
#include "qsparse/core/error.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx2 {

/// gemmlowp SaturatingRoundingDoublingHighMul per lane: floor((a*b + 2^30) / 2^31), and INT32_MAX
/// for (INT32_MIN, INT32_MIN).
QSPARSE_TARGET_AVX2 inline __m256i saturating_rounding_doubling_high_mul(__m256i a, __m256i b) {
  const __m256i rounding = _mm256_set1_epi64x(std::int64_t{1} << 30);
  // 64-bit products of the even lanes, then of the odd lanes moved down (vpmuldq reads the low dword).
  const __m256i even = _mm256_add_epi64(_mm256_mul_epi32(a, b), rounding);
  const __m256i odd = _mm256_add_epi64(
      _mm256_mul_epi32(_mm256_shuffle_epi32(a, 0xF5), _mm256_shuffle_epi32(b, 0xF5)), rounding);
  // Bits 31..62 of each sum are the result: shift them into the lane's own dword and interleave.
  const __m256i high = _mm256_blend_epi32(_mm256_srli_epi64(even, 31), _mm256_slli_epi64(odd, 1), 0xAA);
  // Only INT32_MIN * INT32_MIN overflows, to INT32_MIN, which no other input produces;
  // INT32_MIN ^ -1 == INT32_MAX.
  const __m256i overflow = _mm256_cmpeq_epi32(high, _mm256_set1_epi32(INT32_MIN));
  return _mm256_xor_si256(high, overflow);
}

/// gemmlowp RoundingDivideByPOT per lane: x / 2^exponent rounded half away from zero; exponent
/// lanes in [0, 31].
QSPARSE_TARGET_AVX2 inline __m256i rounding_divide_by_pot(__m256i x, __m256i exponent) {
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, exponent), one);
  const __m256i threshold = _mm256_srli_epi32(mask, 1);
  // remainder - (x < 0) > threshold  ⇔  remainder > threshold + (x < 0)
  const __m256i remainder = _mm256_add_epi32(_mm256_and_si256(x, mask), _mm256_srai_epi32(x, 31));
  const __m256i round_up = _mm256_cmpgt_epi32(remainder, threshold);  // -1 where rounding up
  return _mm256_sub_epi32(_mm256_srav_epi32(x, exponent), round_up);
}

/// x * 2^left_shift per lane, saturated to [INT32_MIN, INT32_MAX]; left_shift lanes >= 0 (any size).
QSPARSE_TARGET_AVX2 inline __m256i saturating_left_shift(__m256i x, __m256i left_shift) {
  const __m256i shifted = _mm256_sllv_epi32(x, left_shift);  // counts >= 32 give 0
  // The shift lost nothing iff shifting back (counts >= 32 fill with the sign) restores x.
  const __m256i exact = _mm256_cmpeq_epi32(_mm256_srav_epi32(shifted, left_shift), x);
  const __m256i saturated = _mm256_xor_si256(_mm256_srai_epi32(x, 31), _mm256_set1_epi32(INT32_MAX));
  return _mm256_blendv_epi8(saturated, shifted, exact);
}

/// TFLite MultiplyByQuantizedMultiplier, double rounding, per lane:
/// RDBPOT(SRDHM(saturate(x * 2^left_shift), multiplier), right_shift). left_shift lanes >= 0,
/// right_shift lanes in [0, 31] (for a TFLite shift s: left = max(s, 0), right = max(-s, 0)).
QSPARSE_TARGET_AVX2 inline __m256i multiply_by_quantized_multiplier(__m256i x, __m256i multiplier, __m256i left_shift,
                                                                    __m256i right_shift) {
  return rounding_divide_by_pot(
      saturating_rounding_doubling_high_mul(saturating_left_shift(x, left_shift), multiplier), right_shift);
}

/// The same from a signed TFLite shift per lane (shift lanes >= -31).
QSPARSE_TARGET_AVX2 inline __m256i multiply_by_quantized_multiplier(__m256i x, __m256i multiplier, __m256i shift) {
  const __m256i zero = _mm256_setzero_si256();
  return multiply_by_quantized_multiplier(x, multiplier, _mm256_max_epi32(shift, zero),
                                          _mm256_max_epi32(_mm256_sub_epi32(zero, shift), zero));
}

/// saturate((int64(x) * multiplier + 2^(30 - shift) - [TiesAway and the product < 0]) >> (31 - shift)) per
/// lane: single rounding, ties up (TFLITE_SINGLE_ROUNDING=1) or away from zero; multiplier lanes >= 0,
/// shift lanes in [-31, 30].
template <bool TiesAway>
QSPARSE_TARGET_AVX2 inline __m256i multiply_by_quantized_multiplier_single_rounding_impl(__m256i x, __m256i multiplier,
                                                                                         __m256i shift) {
  // AVX2 has no 64-bit arithmetic shift. With p = x * multiplier, |p| <= 2^62, and n in [1, 62]:
  //   (p + 2^(n-1)) >> n  ==  ((p + 2^62 + 2^(n-1)) >>> n) - 2^(62-n)
  // where the biased sum lies in (0, 2^64), so the logical shift >>> is exact.
  const __m256i one = _mm256_set1_epi64x(1);
  const __m256i bias = _mm256_set1_epi64x(std::int64_t{1} << 62);
  const __m256i total = _mm256_sub_epi32(_mm256_set1_epi32(31), shift);  // 1 .. 62 per lane
  const __m256i total_even = _mm256_and_si256(total, _mm256_set1_epi64x(0xFFFFFFFF));
  const __m256i total_odd = _mm256_srli_epi64(total, 32);
  const __m256i add_even = _mm256_add_epi64(bias, _mm256_sllv_epi64(one, _mm256_sub_epi64(total_even, one)));
  const __m256i add_odd = _mm256_add_epi64(bias, _mm256_sllv_epi64(one, _mm256_sub_epi64(total_odd, one)));
  const __m256i unbias_even = _mm256_srlv_epi64(bias, total_even);
  const __m256i unbias_odd = _mm256_srlv_epi64(bias, total_odd);

  const __m256i product_even = _mm256_mul_epi32(x, multiplier);
  const __m256i product_odd = _mm256_mul_epi32(_mm256_shuffle_epi32(x, 0xF5), _mm256_shuffle_epi32(multiplier, 0xF5));
  __m256i sum_even = _mm256_add_epi64(product_even, add_even);
  __m256i sum_odd = _mm256_add_epi64(product_odd, add_odd);
  if constexpr (TiesAway) {  // ties away: one less to round a negative product (compare gives -1 there)
    const __m256i zero = _mm256_setzero_si256();
    sum_even = _mm256_add_epi64(sum_even, _mm256_cmpgt_epi64(zero, product_even));
    sum_odd = _mm256_add_epi64(sum_odd, _mm256_cmpgt_epi64(zero, product_odd));
  }
  const __m256i even = _mm256_sub_epi64(_mm256_srlv_epi64(sum_even, total_even), unbias_even);
  const __m256i odd = _mm256_sub_epi64(_mm256_srlv_epi64(sum_odd, total_odd), unbias_odd);

  // Saturate to int32: a 64-bit lane fits iff its high dword is the sign extension of its low one.
  const __m256i low = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  const __m256i high = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
  const __m256i fits = _mm256_cmpeq_epi32(high, _mm256_srai_epi32(low, 31));
  const __m256i saturated = _mm256_xor_si256(_mm256_srai_epi32(high, 31), _mm256_set1_epi32(INT32_MAX));
  return _mm256_blendv_epi8(saturated, low, fits);
}

/// TFLite MultiplyByQuantizedMultiplier with TFLITE_SINGLE_ROUNDING=1, per lane:
/// saturate((int64(x) * multiplier + 2^(30 - shift)) >> (31 - shift)); multiplier lanes >= 0,
/// shift lanes in [-31, 30].
QSPARSE_TARGET_AVX2 inline __m256i multiply_by_quantized_multiplier_single_rounding(__m256i x, __m256i multiplier,
                                                                                    __m256i shift) {
  return multiply_by_quantized_multiplier_single_rounding_impl<false>(x, multiplier, shift);
}

/// One rounding of x * multiplier / 2^(31 - shift), ties away from zero, saturated (TFLite 2.21's reference
/// FULLY_CONNECTED); multiplier lanes >= 0, shift lanes in [-31, 30].
QSPARSE_TARGET_AVX2 inline __m256i multiply_by_quantized_multiplier_single_rounding_away(__m256i x,
                                                                                         __m256i multiplier,
                                                                                         __m256i shift) {
  return multiply_by_quantized_multiplier_single_rounding_impl<true>(x, multiplier, shift);
}

/// floor((v + 2^(e-1)) / 2^e) per lane (ties toward +infinity), v for e = 0; exponent lanes in [0, 31].
/// Computed as (v >> e) + bit e-1 of v, so it cannot overflow (for e = 0 the count e - 1 is out of range
/// and vpsrlvd gives 0).
QSPARSE_TARGET_AVX2 inline __m256i rounding_right_shift_up(__m256i v, __m256i exponent) {
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i half_bit = _mm256_and_si256(_mm256_srlv_epi32(v, _mm256_sub_epi32(exponent, one)), one);
  return _mm256_add_epi32(_mm256_srav_epi32(v, exponent), half_bit);
}

/// Double rounding whose final shift rounds ties toward +infinity (TFLite's optimized kernels), per lane:
/// rounding_right_shift_up(SRDHM(saturate(x * 2^left), multiplier), right) from a signed shift >= -31.
QSPARSE_TARGET_AVX2 inline __m256i multiply_by_quantized_multiplier_double_rounding_up(__m256i x, __m256i multiplier,
                                                                                       __m256i shift) {
  const __m256i zero = _mm256_setzero_si256();
  const __m256i left = _mm256_max_epi32(shift, zero);
  const __m256i right = _mm256_max_epi32(_mm256_sub_epi32(zero, shift), zero);
  return rounding_right_shift_up(saturating_rounding_doubling_high_mul(saturating_left_shift(x, left), multiplier),
                                 right);
}

/// y[i] = multiply_by_quantized_multiplier(x[i], multiplier, shift) (double rounding) for i < n.
/// Throws qsparse::error unless n >= 0 and shift >= -31. x == y (in place) is allowed.
QSPARSE_TARGET_AVX2 inline void multiply_by_quantized_multiplier(const std::int32_t* x, std::int32_t* y,
                                                                 std::ptrdiff_t n, std::int32_t multiplier,
                                                                 int shift) {
  ::qsparse::detail::check(n >= 0 && shift >= -31,
                "qsparse::kernels::avx2::multiply_by_quantized_multiplier: need n >= 0 and shift >= -31, got n = ",
                n, ", shift = ", shift);
  const __m256i m = _mm256_set1_epi32(multiplier);
  const __m256i left = _mm256_set1_epi32(shift > 0 ? shift : 0);
  const __m256i right = _mm256_set1_epi32(shift > 0 ? 0 : -shift);
  std::ptrdiff_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), multiply_by_quantized_multiplier(v, m, left, right));
  }
  if (i < n) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i tail = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n - i)), lane);  // lanes < n - i
    const __m256i v = _mm256_maskload_epi32(x + i, tail);
    _mm256_maskstore_epi32(y + i, tail, multiply_by_quantized_multiplier(v, m, left, right));
  }
}

/// y[i] = multiply_by_quantized_multiplier_single_rounding(x[i], multiplier, shift) for i < n.
/// Throws qsparse::error unless n >= 0, multiplier >= 0 and shift in [-31, 30]. x == y is allowed.
QSPARSE_TARGET_AVX2 inline void multiply_by_quantized_multiplier_single_rounding(const std::int32_t* x, std::int32_t* y,
                                                                                 std::ptrdiff_t n,
                                                                                 std::int32_t multiplier, int shift) {
  ::qsparse::detail::check(n >= 0 && multiplier >= 0 && shift >= -31 && shift <= 30,
                "qsparse::kernels::avx2::multiply_by_quantized_multiplier_single_rounding: need n >= 0, "
                "multiplier >= 0 and shift in [-31, 30], got n = ",
                n, ", multiplier = ", multiplier, ", shift = ", shift);
  const __m256i m = _mm256_set1_epi32(multiplier);
  const __m256i s = _mm256_set1_epi32(shift);
  std::ptrdiff_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), multiply_by_quantized_multiplier_single_rounding(v, m, s));
  }
  if (i < n) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i tail = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n - i)), lane);  // lanes < n - i
    const __m256i v = _mm256_maskload_epi32(x + i, tail);
    _mm256_maskstore_epi32(y + i, tail, multiply_by_quantized_multiplier_single_rounding(v, m, s));
  }
}

}  // namespace avx2
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
