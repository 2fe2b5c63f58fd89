// qsparse/kernels/avx2/output_pipeline.hpp — the GEMM output stages (qsparse/gemm/output_stages.hpp) on
// 8 int32 accumulators of one output row, bit-exact with their scalar definition `evaluate`.
//
//   store_row(pipeline, acc, n, count, dst)   applies every stage to the accumulators of columns
//                                             n .. n+count-1 (1 <= count <= 8) and writes count values
//                                             of the pipeline's output type to dst
// Per-column parameter arrays are read with masked loads (vpmaskmov does not fault on masked lanes),
// so a tail never reads past column N - 1. Every function carries QSPARSE_TARGET_AVX2.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <tuple>
#include <type_traits>

#include "qsparse/core/config.hpp"
#include "qsparse/gemm/output_stages.hpp"
#include "qsparse/kernels/avx2/fixed_point.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx2 {

/// Lanes [0, count) set.
QSPARSE_TARGET_AVX2 inline __m256i lane_mask(int count) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/// a + b per lane, saturated to int32.
QSPARSE_TARGET_AVX2 inline __m256i adds_epi32(__m256i a, __m256i b) {
  const __m256i sum = _mm256_add_epi32(a, b);
  const __m256i overflow = _mm256_srai_epi32(_mm256_and_si256(_mm256_xor_si256(a, sum), _mm256_xor_si256(b, sum)), 31);
  const __m256i saturated = _mm256_xor_si256(_mm256_srai_epi32(a, 31), _mm256_set1_epi32(INT32_MAX));
  return _mm256_blendv_epi8(sum, saturated, overflow);
}

/// round_half_to_even(v) as int32, saturating; independent of MXCSR.
QSPARSE_TARGET_AVX2 inline __m256i round_to_int32_half_even(__m256 v) {
  const __m256 rounded = _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256i converted = _mm256_cvttps_epi32(rounded);  // exact for integers; INT32_MIN when out of range
  const __m256i too_big = _mm256_castps_si256(_mm256_cmp_ps(v, _mm256_set1_ps(2147483648.0f), _CMP_GE_OQ));
  return _mm256_blendv_epi8(converted, _mm256_set1_epi32(INT32_MAX), too_big);
}

QSPARSE_TARGET_AVX2 inline __m256i apply_stage(const bias_add& s, __m256i v, std::ptrdiff_t n, __m256i mask) {
  return adds_epi32(v, _mm256_maskload_epi32(s.bias + n, mask));
}
template <class R>
QSPARSE_TARGET_AVX2 inline __m256i apply_stage(const requantize_fixed_point<R>& s, __m256i v, std::ptrdiff_t, __m256i) {
  const __m256i multiplier = _mm256_set1_epi32(s.multiplier.multiplier);
  const __m256i shift = _mm256_set1_epi32(s.multiplier.shift);
  if constexpr (std::is_same_v<R, single_rounding>) {
    return multiply_by_quantized_multiplier_single_rounding(v, multiplier, shift);
  } else {
    return multiply_by_quantized_multiplier(v, multiplier, shift);
  }
}
template <class R>
QSPARSE_TARGET_AVX2 inline __m256i apply_stage(const requantize_fixed_point_per_channel<R>& s, __m256i v,
                                               std::ptrdiff_t n, __m256i mask) {
  const __m256i multiplier = _mm256_maskload_epi32(s.multipliers + n, mask);
  const __m256i shift = _mm256_maskload_epi32(s.shifts + n, mask);
  if constexpr (std::is_same_v<R, single_rounding>) {
    return multiply_by_quantized_multiplier_single_rounding(v, multiplier, shift);
  } else {
    return multiply_by_quantized_multiplier(v, multiplier, shift);
  }
}
QSPARSE_TARGET_AVX2 inline __m256i apply_stage(const requantize_float& s, __m256i v, std::ptrdiff_t, __m256i) {
  return round_to_int32_half_even(_mm256_mul_ps(_mm256_cvtepi32_ps(v), _mm256_set1_ps(s.scale)));
}
QSPARSE_TARGET_AVX2 inline __m256i apply_stage(const requantize_float_per_channel& s, __m256i v, std::ptrdiff_t n,
                                               __m256i mask) {
  return round_to_int32_half_even(_mm256_mul_ps(_mm256_cvtepi32_ps(v), _mm256_maskload_ps(s.scales + n, mask)));
}
QSPARSE_TARGET_AVX2 inline __m256i apply_stage(const add_zero_point& s, __m256i v, std::ptrdiff_t, __m256i) {
  return adds_epi32(v, _mm256_set1_epi32(s.zero_point));
}
QSPARSE_TARGET_AVX2 inline __m256i apply_stage(const clamp& s, __m256i v, std::ptrdiff_t, __m256i) {
  return _mm256_min_epi32(_mm256_max_epi32(v, _mm256_set1_epi32(s.min)), _mm256_set1_epi32(s.max));
}
template <class T>
QSPARSE_TARGET_AVX2 inline __m256i apply_stage(const saturating_cast<T>&, __m256i v, std::ptrdiff_t, __m256i) {
  const __m256i lo = _mm256_set1_epi32(std::numeric_limits<T>::min());
  const __m256i hi = _mm256_set1_epi32(std::numeric_limits<T>::max());
  return _mm256_min_epi32(_mm256_max_epi32(v, lo), hi);
}
QSPARSE_TARGET_AVX2 inline __m256 apply_stage(const dequantize_float& s, __m256i v, std::ptrdiff_t n, __m256i mask) {
  const __m256 product = _mm256_mul_ps(_mm256_cvtepi32_ps(v), _mm256_set1_ps(s.scale));
  return s.bias != nullptr ? _mm256_add_ps(product, _mm256_maskload_ps(s.bias + n, mask)) : product;
}
QSPARSE_TARGET_AVX2 inline __m256 apply_stage(const dequantize_float_per_channel& s, __m256i v, std::ptrdiff_t n,
                                              __m256i mask) {
  const __m256 product = _mm256_mul_ps(_mm256_cvtepi32_ps(v), _mm256_maskload_ps(s.scales + n, mask));
  return s.bias != nullptr ? _mm256_add_ps(product, _mm256_maskload_ps(s.bias + n, mask)) : product;
}
QSPARSE_TARGET_AVX2 inline __m256 apply_stage(const clamp_float& s, __m256 v, std::ptrdiff_t, __m256i) {
  const __m256 below = _mm256_cmp_ps(v, _mm256_set1_ps(s.min), _CMP_LT_OQ);
  const __m256 above = _mm256_cmp_ps(v, _mm256_set1_ps(s.max), _CMP_GT_OQ);
  v = _mm256_blendv_ps(v, _mm256_set1_ps(s.max), above);
  return _mm256_blendv_ps(v, _mm256_set1_ps(s.min), below);
}

template <std::size_t I, class... S, class V>
QSPARSE_TARGET_AVX2 inline auto apply_stages(const output_pipeline<S...>& p, V v, std::ptrdiff_t n, __m256i mask) {
  if constexpr (I == sizeof...(S)) {
    return v;
  } else {
    return apply_stages<I + 1>(p, apply_stage(std::get<I>(p.stages), v, n, mask), n, mask);
  }
}

/// Applies `p` to the accumulators of columns n .. n+count-1 of one row and stores `count` outputs.
template <class... S>
QSPARSE_TARGET_AVX2 inline void store_row(const output_pipeline<S...>& p, __m256i acc, std::ptrdiff_t n, int count,
                                          typename output_pipeline<S...>::output_type* dst) {
  using out_t = typename output_pipeline<S...>::output_type;
  const __m256i mask = lane_mask(count);
  const auto v = apply_stages<0>(p, acc, n, mask);
  if constexpr (std::is_same_v<out_t, float>) {
    _mm256_maskstore_ps(dst, mask, v);
  } else if constexpr (std::is_same_v<out_t, std::int32_t>) {
    _mm256_maskstore_epi32(dst, mask, v);
  } else {
    // Values are in out_t's range: pack without changing them, then store `count` elements.
    const __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    if constexpr (sizeof(out_t) == 2) {
      if (count == 8) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), words);
      } else {
        alignas(16) std::int16_t tmp[8];
        _mm_store_si128(reinterpret_cast<__m128i*>(tmp), words);
        std::memcpy(dst, tmp, static_cast<std::size_t>(count) * 2);
      }
    } else {
      const __m128i bytes = std::is_same_v<out_t, std::uint8_t> ? _mm_packus_epi16(words, words)
                                                                 : _mm_packs_epi16(words, words);
      if (count == 8) {
        _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), bytes);
      } else {
        alignas(16) std::uint8_t tmp[16];
        _mm_store_si128(reinterpret_cast<__m128i*>(tmp), bytes);
        std::memcpy(dst, tmp, static_cast<std::size_t>(count));
      }
    }
  }
}

}  // namespace avx2
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
