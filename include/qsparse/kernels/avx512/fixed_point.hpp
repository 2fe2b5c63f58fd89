// qsparse/kernels/avx512/fixed_point.hpp — TFLite/gemmlowp fixed-point requantization on 16 int32
// lanes (__m512i), bit-exact with the scalar definition in qsparse/quant/fixed_point.hpp.
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
// Every function carries QSPARSE_TARGET_AVX512; call them only when the CPU supports
// isa_level::avx512 (qsparse/core/isa.hpp). Without x86 this header declares nothing.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/config.hpp"
#include "qsparse/core/error.hpp"

#if QSPARSE_X86
#include <immintrin.h>

// GCC 12 (before 12.3, PR 105593) warns falsely inside its own AVX-512 intrinsics when they are
// inlined into a target("avx512f") function; the pragma state at these call sites governs, also when
// the functions below are inlined into a caller's kernel.
QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx512 {

/// gemmlowp SaturatingRoundingDoublingHighMul per lane: floor((a*b + 2^30) / 2^31), and INT32_MAX
/// for (INT32_MIN, INT32_MIN).
/// saturating_rounding_doubling_high_mul for lanes where a and b are not both INT32_MIN (then nothing
/// saturates): floor((a*b + 2^30) / 2^31).
QSPARSE_TARGET_AVX512 inline __m512i rounding_doubling_high_mul(__m512i a, __m512i b) {
  const __m512i rounding = _mm512_set1_epi64(std::int64_t{1} << 30);
  // 64-bit products of the even lanes, then of the odd lanes moved down (vpmuldq reads the low dword).
  const __m512i even = _mm512_add_epi64(_mm512_mul_epi32(a, b), rounding);
  const __m512i odd = _mm512_add_epi64(
      _mm512_mul_epi32(_mm512_shuffle_epi32(a, _MM_PERM_DDBB), _mm512_shuffle_epi32(b, _MM_PERM_DDBB)), rounding);
  // Bits 31..62 of each sum are the result: shift them into the lane's own dword and interleave.
  return _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 31), _mm512_slli_epi64(odd, 1));
}

QSPARSE_TARGET_AVX512 inline __m512i saturating_rounding_doubling_high_mul(__m512i a, __m512i b) {
  const __m512i high = rounding_doubling_high_mul(a, b);
  // Only INT32_MIN * INT32_MIN overflows, to INT32_MIN, which no other input produces.
  const __mmask16 overflow = _mm512_cmpeq_epi32_mask(high, _mm512_set1_epi32(INT32_MIN));
  return _mm512_mask_mov_epi32(high, overflow, _mm512_set1_epi32(INT32_MAX));
}

/// rounding_divide_by_pot with the exponent's mask 2^exponent - 1 and threshold mask / 2 given
/// (computed once for many x).
QSPARSE_TARGET_AVX512 inline __m512i rounding_divide_by_pot(__m512i x, __m512i exponent, __m512i mask,
                                                            __m512i threshold) {
  // remainder - (x < 0) > threshold  ⇔  remainder > threshold + (x < 0)
  const __m512i remainder = _mm512_add_epi32(_mm512_and_si512(x, mask), _mm512_srai_epi32(x, 31));
  const __mmask16 round_up = _mm512_cmpgt_epi32_mask(remainder, threshold);
  const __m512i quotient = _mm512_srav_epi32(x, exponent);
  return _mm512_mask_add_epi32(quotient, round_up, quotient, _mm512_set1_epi32(1));
}

/// gemmlowp RoundingDivideByPOT per lane: x / 2^exponent rounded half away from zero; exponent
/// lanes in [0, 31].
QSPARSE_TARGET_AVX512 inline __m512i rounding_divide_by_pot(__m512i x, __m512i exponent) {
  const __m512i one = _mm512_set1_epi32(1);
  const __m512i mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, exponent), one);
  return rounding_divide_by_pot(x, exponent, mask, _mm512_srli_epi32(mask, 1));
}

/// x * 2^left_shift per lane, saturated to [INT32_MIN, INT32_MAX]; left_shift lanes >= 0 (any size).
QSPARSE_TARGET_AVX512 inline __m512i saturating_left_shift(__m512i x, __m512i left_shift) {
  const __m512i shifted = _mm512_sllv_epi32(x, left_shift);  // counts >= 32 give 0
  // The shift lost nothing iff shifting back (counts >= 32 fill with the sign) restores x.
  const __mmask16 exact = _mm512_cmpeq_epi32_mask(_mm512_srav_epi32(shifted, left_shift), x);
  const __m512i saturated = _mm512_xor_si512(_mm512_srai_epi32(x, 31), _mm512_set1_epi32(INT32_MAX));
  return _mm512_mask_blend_epi32(exact, saturated, shifted);
}

/// TFLite MultiplyByQuantizedMultiplier, double rounding, per lane:
/// RDBPOT(SRDHM(saturate(x * 2^left_shift), multiplier), right_shift). left_shift lanes >= 0,
/// right_shift lanes in [0, 31] (for a TFLite shift s: left = max(s, 0), right = max(-s, 0)).
QSPARSE_TARGET_AVX512 inline __m512i multiply_by_quantized_multiplier(__m512i x, __m512i multiplier,
                                                                      __m512i left_shift, __m512i right_shift) {
  return rounding_divide_by_pot(
      saturating_rounding_doubling_high_mul(saturating_left_shift(x, left_shift), multiplier), right_shift);
}

/// The same from a signed TFLite shift per lane (shift lanes >= -31).
QSPARSE_TARGET_AVX512 inline __m512i multiply_by_quantized_multiplier(__m512i x, __m512i multiplier, __m512i shift) {
  const __m512i zero = _mm512_setzero_si512();
  return multiply_by_quantized_multiplier(x, multiplier, _mm512_max_epi32(shift, zero),
                                          _mm512_max_epi32(_mm512_sub_epi32(zero, shift), zero));
}

/// TFLite MultiplyByQuantizedMultiplier with TFLITE_SINGLE_ROUNDING=1, per lane:
/// saturate((int64(x) * multiplier + 2^(30 - shift)) >> (31 - shift)); multiplier lanes >= 0,
/// shift lanes in [-31, 30].
/// (the shared body; TiesAway: one less is added to a negative product, so its ties round away from zero)
template <bool TiesAway>
QSPARSE_TARGET_AVX512 inline __m512i multiply_by_quantized_multiplier_single_rounding_impl(__m512i x,
                                                                                           __m512i multiplier,
                                                                                           __m512i shift) {
  const __m512i one = _mm512_set1_epi64(1);
  const __m512i total = _mm512_sub_epi32(_mm512_set1_epi32(31), shift);  // 1 .. 62 per lane
  const __m512i total_even = _mm512_and_si512(total, _mm512_set1_epi64(0xFFFFFFFF));
  const __m512i total_odd = _mm512_srli_epi64(total, 32);
  const __m512i round_even = _mm512_sllv_epi64(one, _mm512_sub_epi64(total_even, one));
  const __m512i round_odd = _mm512_sllv_epi64(one, _mm512_sub_epi64(total_odd, one));

  const __m512i product_even = _mm512_mul_epi32(x, multiplier);
  const __m512i product_odd =
      _mm512_mul_epi32(_mm512_shuffle_epi32(x, _MM_PERM_DDBB), _mm512_shuffle_epi32(multiplier, _MM_PERM_DDBB));
  __m512i sum_even = _mm512_add_epi64(product_even, round_even);
  __m512i sum_odd = _mm512_add_epi64(product_odd, round_odd);
  if constexpr (TiesAway) {
    const __m512i zero = _mm512_setzero_si512();
    sum_even = _mm512_mask_sub_epi64(sum_even, _mm512_cmplt_epi64_mask(product_even, zero), sum_even, one);
    sum_odd = _mm512_mask_sub_epi64(sum_odd, _mm512_cmplt_epi64_mask(product_odd, zero), sum_odd, one);
  }
  __m512i even = _mm512_srav_epi64(sum_even, total_even);
  __m512i odd = _mm512_srav_epi64(sum_odd, total_odd);

  const __m512i low = _mm512_set1_epi64(INT32_MIN);
  const __m512i high = _mm512_set1_epi64(INT32_MAX);
  even = _mm512_min_epi64(_mm512_max_epi64(even, low), high);
  odd = _mm512_min_epi64(_mm512_max_epi64(odd, low), high);
  return _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
}

/// TFLite MultiplyByQuantizedMultiplier with TFLITE_SINGLE_ROUNDING=1, per lane:
/// saturate((int64(x) * multiplier + 2^(30 - shift)) >> (31 - shift)); multiplier lanes >= 0,
/// shift lanes in [-31, 30].
QSPARSE_TARGET_AVX512 inline __m512i multiply_by_quantized_multiplier_single_rounding(__m512i x, __m512i multiplier,
                                                                                      __m512i shift) {
  return multiply_by_quantized_multiplier_single_rounding_impl<false>(x, multiplier, shift);
}

/// One rounding of x * multiplier / 2^(31 - shift), ties away from zero, saturated (TFLite 2.21's reference
/// FULLY_CONNECTED); multiplier lanes >= 0, shift lanes in [-31, 30].
QSPARSE_TARGET_AVX512 inline __m512i multiply_by_quantized_multiplier_single_rounding_away(__m512i x,
                                                                                           __m512i multiplier,
                                                                                           __m512i shift) {
  return multiply_by_quantized_multiplier_single_rounding_impl<true>(x, multiplier, shift);
}

/// floor((v + 2^(e-1)) / 2^e) per lane (ties toward +infinity), v for e = 0; exponent lanes in [0, 31].
/// Computed as (v >> e) + bit e-1 of v, so it cannot overflow (for e = 0 the count e - 1 is out of range
/// and vpsrlvd gives 0).
QSPARSE_TARGET_AVX512 inline __m512i rounding_right_shift_up(__m512i v, __m512i exponent) {
  const __m512i one = _mm512_set1_epi32(1);
  const __m512i half_bit = _mm512_and_si512(_mm512_srlv_epi32(v, _mm512_sub_epi32(exponent, one)), one);
  return _mm512_add_epi32(_mm512_srav_epi32(v, exponent), half_bit);
}

/// Double rounding whose final shift rounds ties toward +infinity (TFLite's optimized kernels), per lane,
/// from a signed shift >= -31.
QSPARSE_TARGET_AVX512 inline __m512i multiply_by_quantized_multiplier_double_rounding_up(__m512i x,
                                                                                         __m512i multiplier,
                                                                                         __m512i shift) {
  const __m512i zero = _mm512_setzero_si512();
  const __m512i left = _mm512_max_epi32(shift, zero);
  const __m512i right = _mm512_max_epi32(_mm512_sub_epi32(zero, shift), zero);
  return rounding_right_shift_up(saturating_rounding_doubling_high_mul(saturating_left_shift(x, left), multiplier),
                                 right);
}

/// y[i] = multiply_by_quantized_multiplier(x[i], multiplier, shift) (double rounding) for i < n.
/// Throws qsparse::error unless n >= 0 and shift >= -31. x == y (in place) is allowed.
QSPARSE_TARGET_AVX512 inline void multiply_by_quantized_multiplier(const std::int32_t* x, std::int32_t* y,
                                                                   std::ptrdiff_t n, std::int32_t multiplier,
                                                                   int shift) {
  ::qsparse::detail::check(n >= 0 && shift >= -31,
                "qsparse::kernels::avx512::multiply_by_quantized_multiplier: need n >= 0 and shift >= -31, got n = ",
                n, ", shift = ", shift);
  const __m512i m = _mm512_set1_epi32(multiplier);
  const __m512i left = _mm512_set1_epi32(shift > 0 ? shift : 0);
  const __m512i right = _mm512_set1_epi32(shift > 0 ? 0 : -shift);
  std::ptrdiff_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i v = _mm512_loadu_si512(x + i);
    _mm512_storeu_si512(y + i, multiply_by_quantized_multiplier(v, m, left, right));
  }
  if (i < n) {
    const auto tail = static_cast<__mmask16>((1u << (n - i)) - 1u);
    const __m512i v = _mm512_maskz_loadu_epi32(tail, x + i);
    _mm512_mask_storeu_epi32(y + i, tail, multiply_by_quantized_multiplier(v, m, left, right));
  }
}

/// y[i] = multiply_by_quantized_multiplier_single_rounding(x[i], multiplier, shift) for i < n.
/// Throws qsparse::error unless n >= 0, multiplier >= 0 and shift in [-31, 30]. x == y is allowed.
QSPARSE_TARGET_AVX512 inline void multiply_by_quantized_multiplier_single_rounding(const std::int32_t* x,
                                                                                   std::int32_t* y, std::ptrdiff_t n,
                                                                                   std::int32_t multiplier, int shift) {
  ::qsparse::detail::check(n >= 0 && multiplier >= 0 && shift >= -31 && shift <= 30,
                "qsparse::kernels::avx512::multiply_by_quantized_multiplier_single_rounding: need n >= 0, "
                "multiplier >= 0 and shift in [-31, 30], got n = ",
                n, ", multiplier = ", multiplier, ", shift = ", shift);
  const __m512i m = _mm512_set1_epi32(multiplier);
  const __m512i s = _mm512_set1_epi32(shift);
  std::ptrdiff_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i v = _mm512_loadu_si512(x + i);
    _mm512_storeu_si512(y + i, multiply_by_quantized_multiplier_single_rounding(v, m, s));
  }
  if (i < n) {
    const auto tail = static_cast<__mmask16>((1u << (n - i)) - 1u);
    const __m512i v = _mm512_maskz_loadu_epi32(tail, x + i);
    _mm512_mask_storeu_epi32(y + i, tail, multiply_by_quantized_multiplier_single_rounding(v, m, s));
  }
}

}  // namespace avx512
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
