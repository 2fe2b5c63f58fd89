// qsparse/kernels/avx512/output_pipeline.hpp — the GEMM output stages (qsparse/gemm/output_stages.hpp)
// on 16 int32 accumulators of one output row, bit-exact with their scalar definition `evaluate`.
//
//   store_row(pipeline, acc, m, n, mask, dst)   applies every stage to the 16 accumulators of row m,
//                                               columns n .. n+15 (lanes outside `mask` are neither
//                                               read from the stages' arrays nor stored), and writes
//                                               the output type of the pipeline to dst[0 .. 15]
// Per-column parameter arrays are read with masked loads, so a tail never reads past column N - 1.
// Every function carries QSPARSE_TARGET_AVX512; kernels with a superset target (avx512_vnni) inline them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <tuple>
#include <type_traits>

#include "qsparse/core/config.hpp"
#include "qsparse/gemm/output_stages.hpp"
#include "qsparse/kernels/avx512/fixed_point.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx512 {

/// a + b per lane, saturated to int32.
QSPARSE_TARGET_AVX512 inline __m512i adds_epi32(__m512i a, __m512i b) {
  const __m512i sum = _mm512_add_epi32(a, b);
  // Overflow iff a and b have the same sign and the sum's sign differs: sign of (a ^ sum) & (b ^ sum).
  const __mmask16 overflow = _mm512_movepi32_mask(_mm512_and_si512(_mm512_xor_si512(a, sum), _mm512_xor_si512(b, sum)));
  const __m512i saturated = _mm512_xor_si512(_mm512_srai_epi32(a, 31), _mm512_set1_epi32(INT32_MAX));
  return _mm512_mask_mov_epi32(sum, overflow, saturated);
}

/// round_half_to_even(v) as int32, saturating (v >= 2^31 → INT32_MAX; below -2^31 the conversion
/// already yields INT32_MIN). Independent of MXCSR.
QSPARSE_TARGET_AVX512 inline __m512i round_to_int32_half_even(__m512 v) {
  const __m512i converted = _mm512_cvt_roundps_epi32(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __mmask16 too_big = _mm512_cmp_ps_mask(v, _mm512_set1_ps(2147483648.0f), _CMP_GE_OQ);
  return _mm512_mask_mov_epi32(converted, too_big, _mm512_set1_epi32(INT32_MAX));
}

QSPARSE_TARGET_AVX512 inline __m512i apply_stage(const bias_add& s, __m512i v, std::ptrdiff_t n, __mmask16 mask) {
  return adds_epi32(v, _mm512_maskz_loadu_epi32(mask, s.bias + n));
}
template <class R>
QSPARSE_TARGET_AVX512 inline __m512i apply_stage(const requantize_fixed_point<R>& s, __m512i v, std::ptrdiff_t,
                                                 __mmask16) {
  const __m512i multiplier = _mm512_set1_epi32(s.multiplier.multiplier);
  const __m512i shift = _mm512_set1_epi32(s.multiplier.shift);
  if constexpr (std::is_same_v<R, single_rounding>) {
    return multiply_by_quantized_multiplier_single_rounding(v, multiplier, shift);
  } else {
    return multiply_by_quantized_multiplier(v, multiplier, shift);
  }
}
template <class R>
QSPARSE_TARGET_AVX512 inline __m512i apply_stage(const requantize_fixed_point_per_channel<R>& s, __m512i v,
                                                 std::ptrdiff_t n, __mmask16 mask) {
  const __m512i multiplier = _mm512_maskz_loadu_epi32(mask, s.multipliers + n);
  const __m512i shift = _mm512_maskz_loadu_epi32(mask, s.shifts + n);
  if constexpr (std::is_same_v<R, single_rounding>) {
    return multiply_by_quantized_multiplier_single_rounding(v, multiplier, shift);
  } else {
    return multiply_by_quantized_multiplier(v, multiplier, shift);
  }
}
QSPARSE_TARGET_AVX512 inline __m512i apply_stage(const requantize_float& s, __m512i v, std::ptrdiff_t, __mmask16) {
  return round_to_int32_half_even(_mm512_mul_ps(_mm512_cvtepi32_ps(v), _mm512_set1_ps(s.scale)));
}
QSPARSE_TARGET_AVX512 inline __m512i apply_stage(const requantize_float_per_channel& s, __m512i v, std::ptrdiff_t n,
                                                 __mmask16 mask) {
  const __m512 scale = _mm512_maskz_loadu_ps(mask, s.scales + n);
  return round_to_int32_half_even(_mm512_mul_ps(_mm512_cvtepi32_ps(v), scale));
}
QSPARSE_TARGET_AVX512 inline __m512i apply_stage(const add_zero_point& s, __m512i v, std::ptrdiff_t, __mmask16) {
  return adds_epi32(v, _mm512_set1_epi32(s.zero_point));
}
QSPARSE_TARGET_AVX512 inline __m512i apply_stage(const clamp& s, __m512i v, std::ptrdiff_t, __mmask16) {
  return _mm512_min_epi32(_mm512_max_epi32(v, _mm512_set1_epi32(s.min)), _mm512_set1_epi32(s.max));
}
template <class T>
QSPARSE_TARGET_AVX512 inline __m512i apply_stage(const saturating_cast<T>&, __m512i v, std::ptrdiff_t, __mmask16) {
  const __m512i lo = _mm512_set1_epi32(std::numeric_limits<T>::min());
  const __m512i hi = _mm512_set1_epi32(std::numeric_limits<T>::max());
  return _mm512_min_epi32(_mm512_max_epi32(v, lo), hi);
}
QSPARSE_TARGET_AVX512 inline __m512 apply_stage(const dequantize_float& s, __m512i v, std::ptrdiff_t n,
                                                __mmask16 mask) {
  const __m512 product = _mm512_mul_ps(_mm512_cvtepi32_ps(v), _mm512_set1_ps(s.scale));
  return s.bias != nullptr ? _mm512_add_ps(product, _mm512_maskz_loadu_ps(mask, s.bias + n)) : product;
}
QSPARSE_TARGET_AVX512 inline __m512 apply_stage(const dequantize_float_per_channel& s, __m512i v, std::ptrdiff_t n,
                                                __mmask16 mask) {
  const __m512 product = _mm512_mul_ps(_mm512_cvtepi32_ps(v), _mm512_maskz_loadu_ps(mask, s.scales + n));
  return s.bias != nullptr ? _mm512_add_ps(product, _mm512_maskz_loadu_ps(mask, s.bias + n)) : product;
}
QSPARSE_TARGET_AVX512 inline __m512 apply_stage(const clamp_float& s, __m512 v, std::ptrdiff_t, __mmask16) {
  // Ordered as the scalar v < min ? min : (v > max ? max : v): NaN passes through.
  const __mmask16 below = _mm512_cmp_ps_mask(v, _mm512_set1_ps(s.min), _CMP_LT_OQ);
  const __mmask16 above = _mm512_cmp_ps_mask(v, _mm512_set1_ps(s.max), _CMP_GT_OQ);
  v = _mm512_mask_mov_ps(v, above, _mm512_set1_ps(s.max));
  return _mm512_mask_mov_ps(v, below, _mm512_set1_ps(s.min));
}

template <std::size_t I, class... S, class V>
QSPARSE_TARGET_AVX512 inline auto apply_stages(const output_pipeline<S...>& p, V v, std::ptrdiff_t n, __mmask16 mask) {
  if constexpr (I == sizeof...(S)) {
    return v;
  } else {
    return apply_stages<I + 1>(p, apply_stage(std::get<I>(p.stages), v, n, mask), n, mask);
  }
}

/// Applies `p` to 16 accumulators (columns n .. n+15 of one row) and stores the lanes in `mask`.
template <class... S>
QSPARSE_TARGET_AVX512 inline void store_row(const output_pipeline<S...>& p, __m512i acc, std::ptrdiff_t n,
                                            __mmask16 mask, typename output_pipeline<S...>::output_type* dst) {
  using out_t = typename output_pipeline<S...>::output_type;
  const auto v = apply_stages<0>(p, acc, n, mask);
  if constexpr (std::is_same_v<out_t, float>) {
    _mm512_mask_storeu_ps(dst, mask, v);
  } else if constexpr (std::is_same_v<out_t, std::int32_t>) {
    _mm512_mask_storeu_epi32(dst, mask, v);
  } else if constexpr (sizeof(out_t) == 1) {
    _mm512_mask_cvtepi32_storeu_epi8(dst, mask, v);  // values are already in range: truncation is exact
  } else {
    _mm512_mask_cvtepi32_storeu_epi16(dst, mask, v);
  }
}

}  // namespace avx512
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
