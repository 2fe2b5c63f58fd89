// qsparse/kernels/avx2/output_pipeline.hpp — the GEMM output stages (qsparse/spec/output_stages.hpp) on
// 8 int32 accumulators of one output row, bit-exact with their scalar definition `evaluate`.
//
//   auto prepared = prepare(pipeline, n, mask)     loads the stages' parameters of columns n .. n+7 once
//   store_prepared<Out>(prepared, acc, count, mask, dst)   applies them to one row's accumulators and
//                                                  stores `count` (1..8) values; mask = lane_mask(count)
//   store_row(pipeline, acc, n, count, dst)        both at once
// Per-column parameter arrays are read with masked loads (vpmaskmov does not fault on masked lanes),
// so a tail never reads past column N - 1. Every function carries QSPARSE_TARGET_AVX2.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <tuple>
#include <type_traits>
#include <utility>

#include "qsparse/core/config.hpp"
#include "qsparse/kernels/avx2/fixed_point.hpp"
#include "qsparse/spec/output_stages.hpp"

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

/// round_half_to_even(v) as int32, saturating; independent of MXCSR.
QSPARSE_TARGET_AVX2 inline __m256i round_to_int32_half_even(__m256 v) {
  const __m256 rounded = _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256i converted = _mm256_cvttps_epi32(rounded);  // exact for integers; INT32_MIN when out of range
  const __m256i too_big = _mm256_castps_si256(_mm256_cmp_ps(v, _mm256_set1_ps(2147483648.0f), _CMP_GE_OQ));
  return _mm256_blendv_epi8(converted, _mm256_set1_epi32(INT32_MAX), too_big);
}

// Each stage is first *prepared* for a block of 8 columns (its per-column parameters loaded once,
// scalars broadcast), then applied to the accumulators of every row of the block.
//
// alignas(32) on every struct that holds __m256 values: GCC aligns __m256 to 16 bytes in a
// translation unit built without -mavx (see avx512/output_pipeline.hpp).
struct alignas(32) prepared_add_constant {  // bias_add, add_zero_point: clamp to where the add cannot overflow, then add
  __m256i lo, hi, value;
};
template <class R>
struct alignas(32) prepared_fixed_point {
  __m256i multiplier, shift;
};
struct alignas(32) prepared_round_scale {
  __m256 scale;
};
struct alignas(32) prepared_clamp {
  __m256i lo, hi;
};
struct alignas(32) prepared_dequantize {
  __m256 scale, bias;
  bool has_bias;
};
struct alignas(32) prepared_clamp_float {
  __m256 lo, hi;
};

QSPARSE_TARGET_AVX2 inline prepared_add_constant prepare_stage(const bias_add& s, std::ptrdiff_t n, __m256i mask) {
  // Per lane, as for add_zero_point: clamp to [INT32_MIN - min(b, 0), INT32_MAX - max(b, 0)], then add.
  const auto bias = _mm256_maskload_epi32(s.bias + n, mask);
  const auto zero = _mm256_setzero_si256();
  return {_mm256_sub_epi32(_mm256_set1_epi32(INT32_MIN), _mm256_min_epi32(bias, zero)), _mm256_sub_epi32(_mm256_set1_epi32(INT32_MAX), _mm256_max_epi32(bias, zero)), bias};
}
QSPARSE_TARGET_AVX2 inline prepared_add_constant prepare_stage(const add_zero_point& s, std::ptrdiff_t, __m256i) {
  // v + zp saturates exactly when v is beyond INT32_MAX - zp (zp > 0) or INT32_MIN - zp (zp < 0):
  // clamping v first gives the saturated sum with a plain add.
  const std::int32_t zp = s.zero_point;
  const std::int32_t lo = zp < 0 ? INT32_MIN - zp : INT32_MIN;
  const std::int32_t hi = zp > 0 ? INT32_MAX - zp : INT32_MAX;
  return {_mm256_set1_epi32(lo), _mm256_set1_epi32(hi), _mm256_set1_epi32(zp)};
}
template <class R>
QSPARSE_TARGET_AVX2 inline prepared_fixed_point<R> prepare_stage(const requantize_fixed_point<R>& s, std::ptrdiff_t,
                                                                 __m256i) {
  return {_mm256_set1_epi32(s.multiplier.multiplier), _mm256_set1_epi32(s.multiplier.shift)};
}
template <class R>
QSPARSE_TARGET_AVX2 inline prepared_fixed_point<R> prepare_stage(const requantize_fixed_point_per_channel<R>& s,
                                                                 std::ptrdiff_t n, __m256i mask) {
  return {_mm256_maskload_epi32(s.multipliers + n, mask), _mm256_maskload_epi32(s.shifts + n, mask)};
}
QSPARSE_TARGET_AVX2 inline prepared_round_scale prepare_stage(const requantize_float& s, std::ptrdiff_t, __m256i) {
  return {_mm256_set1_ps(s.scale)};
}
QSPARSE_TARGET_AVX2 inline prepared_round_scale prepare_stage(const requantize_float_per_channel& s, std::ptrdiff_t n,
                                                              __m256i mask) {
  return {_mm256_maskload_ps(s.scales + n, mask)};
}
QSPARSE_TARGET_AVX2 inline prepared_clamp prepare_stage(const clamp& s, std::ptrdiff_t, __m256i) {
  return {_mm256_set1_epi32(s.min), _mm256_set1_epi32(s.max)};
}
template <class T>
QSPARSE_TARGET_AVX2 inline prepared_clamp prepare_stage(const saturating_cast<T>&, std::ptrdiff_t, __m256i) {
  return {_mm256_set1_epi32(std::numeric_limits<T>::min()), _mm256_set1_epi32(std::numeric_limits<T>::max())};
}
QSPARSE_TARGET_AVX2 inline prepared_dequantize prepare_stage(const dequantize_float& s, std::ptrdiff_t n, __m256i mask) {
  const bool has_bias = s.bias != nullptr;
  return {_mm256_set1_ps(s.scale), has_bias ? _mm256_maskload_ps(s.bias + n, mask) : _mm256_setzero_ps(), has_bias};
}
QSPARSE_TARGET_AVX2 inline prepared_dequantize prepare_stage(const dequantize_float_per_channel& s, std::ptrdiff_t n,
                                                             __m256i mask) {
  const bool has_bias = s.bias != nullptr;
  return {_mm256_maskload_ps(s.scales + n, mask), has_bias ? _mm256_maskload_ps(s.bias + n, mask) : _mm256_setzero_ps(),
          has_bias};
}
QSPARSE_TARGET_AVX2 inline prepared_clamp_float prepare_stage(const clamp_float& s, std::ptrdiff_t, __m256i) {
  return {_mm256_set1_ps(s.min), _mm256_set1_ps(s.max)};
}

QSPARSE_TARGET_AVX2 inline __m256i apply_prepared(const prepared_add_constant& p, __m256i v) {
  return _mm256_add_epi32(_mm256_min_epi32(_mm256_max_epi32(v, p.lo), p.hi), p.value);
}
template <class R>
QSPARSE_TARGET_AVX2 inline __m256i apply_prepared(const prepared_fixed_point<R>& p, __m256i v) {
  if constexpr (std::is_same_v<R, single_rounding>) {
    return multiply_by_quantized_multiplier_single_rounding(v, p.multiplier, p.shift);
  } else if constexpr (std::is_same_v<R, single_rounding_away>) {
    return multiply_by_quantized_multiplier_single_rounding_away(v, p.multiplier, p.shift);
  } else if constexpr (std::is_same_v<R, double_rounding_up>) {
    return multiply_by_quantized_multiplier_double_rounding_up(v, p.multiplier, p.shift);
  } else {
    static_assert(std::is_same_v<R, double_rounding>, "qsparse: a fixed-point rounding without an AVX2 evaluator");
    return multiply_by_quantized_multiplier(v, p.multiplier, p.shift);
  }
}
QSPARSE_TARGET_AVX2 inline __m256i apply_prepared(const prepared_round_scale& p, __m256i v) {
  return round_to_int32_half_even(_mm256_mul_ps(_mm256_cvtepi32_ps(v), p.scale));
}
QSPARSE_TARGET_AVX2 inline __m256i apply_prepared(const prepared_clamp& p, __m256i v) {
  return _mm256_min_epi32(_mm256_max_epi32(v, p.lo), p.hi);
}
QSPARSE_TARGET_AVX2 inline __m256 apply_prepared(const prepared_dequantize& p, __m256i v) {
  __m256 product = _mm256_mul_ps(_mm256_cvtepi32_ps(v), p.scale);
  // GCC contracts a multiply and an add of intrinsics into an FMA under -ffp-contract=fast (its default
  // outside ISO C); the definition rounds the product first, so keep the two instructions apart.
  __asm__("" : "+v"(product));
  return p.has_bias ? _mm256_add_ps(product, p.bias) : product;
}
QSPARSE_TARGET_AVX2 inline __m256 apply_prepared(const prepared_clamp_float& p, __m256 v) {
  const __m256 below = _mm256_cmp_ps(v, p.lo, _CMP_LT_OQ);
  const __m256 above = _mm256_cmp_ps(v, p.hi, _CMP_GT_OQ);
  v = _mm256_blendv_ps(v, p.hi, above);
  return _mm256_blendv_ps(v, p.lo, below);
}

template <class... S, std::size_t... I>
QSPARSE_TARGET_AVX2 inline auto prepare_all(const output_pipeline<S...>& p, std::ptrdiff_t n, __m256i mask,
                                            std::index_sequence<I...>) {
  (void)n;  // unused by the empty pipeline
  (void)mask;
  return std::make_tuple(prepare_stage(std::get<I>(p.stages), n, mask)...);
}

/// The pipeline's stages prepared for columns n .. n+7 (lanes outside `mask` are not read).
template <class... S>
QSPARSE_TARGET_AVX2 inline auto prepare(const output_pipeline<S...>& p, std::ptrdiff_t n, __m256i mask) {
  return prepare_all(p, n, mask, std::index_sequence_for<S...>{});
}

template <std::size_t I, class Prepared, class V>
QSPARSE_TARGET_AVX2 inline auto apply_all(const Prepared& prepared, V v) {
  if constexpr (I == std::tuple_size_v<Prepared>) {
    return v;
  } else {
    return apply_all<I + 1>(prepared, apply_prepared(std::get<I>(prepared), v));
  }
}

/// Applies prepared stages to the accumulators of one row and stores `count` (1..8) values as Out;
/// `mask` must be lane_mask(count).
template <class Out, class Prepared>
QSPARSE_TARGET_AVX2 inline void store_prepared(const Prepared& prepared, __m256i acc, int count, __m256i mask,
                                               Out* dst) {
  const auto v = apply_all<0>(prepared, acc);
  if constexpr (std::is_same_v<Out, float>) {
    _mm256_maskstore_ps(dst, mask, v);
  } else if constexpr (std::is_same_v<Out, std::int32_t>) {
    _mm256_maskstore_epi32(dst, mask, v);
  } else {
    // Values are in Out's range: pack without changing them, then store `count` elements.
    const __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    if constexpr (sizeof(Out) == 2) {
      if (count == 8) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), words);
      } else {
        alignas(16) std::int16_t tmp[8];
        _mm_store_si128(reinterpret_cast<__m128i*>(tmp), words);
        std::memcpy(dst, tmp, static_cast<std::size_t>(count) * 2);
      }
    } else {
      const __m128i bytes = std::is_same_v<Out, std::uint8_t> ? _mm_packus_epi16(words, words)
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

/// Applies `p` to the accumulators of columns n .. n+count-1 of one row and stores `count` outputs.
template <class... S>
QSPARSE_TARGET_AVX2 inline void store_row(const output_pipeline<S...>& p, __m256i acc, std::ptrdiff_t n, int count,
                                          typename output_pipeline<S...>::output_type* dst) {
  const __m256i mask = lane_mask(count);
  store_prepared(prepare(p, n, mask), acc, count, mask, dst);
}

}  // namespace avx2
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
