// qsparse/kernels/avx2/output_pipeline.hpp — the GEMM output stages (qsparse/spec/output_stages.hpp) on
// 8 int32 accumulators of one output row, bit-exact with their scalar definition `evaluate`.
//
//   auto prepared = prepare(pipeline, n, mask)     loads the stages' parameters of columns n .. n+7 once
//   store_prepared<Out>(prepared, acc, count, mask, dst)   applies them to one row's accumulators and
//                                                  stores `count` (1..8) values; mask = lane_mask(count)
//   store_row(pipeline, acc, n, count, dst)        both at once
//   store_prepared_at(prepared, acc, m, mask, dst)  store_prepared of 8 float values of output row m, for a
//                                                  pipeline with a stage that reads its row
//                                                  (dequantize_rows_float; has_row_stage_v)
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
#include "qsparse/spec/hybrid_output_stage.hpp"
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
struct alignas(32) prepared_dequantize_rows {  // dequantize_rows_float: the columns' part; the row's at apply
  __m256i column_sums;
  __m256 weight_scales, bias, lo, hi;
  const hybrid_row_quantization* rows;
  float tensor_scale;  // weight_scales[0] when not per_channel
  bool per_channel, has_bias, clamped;
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
QSPARSE_TARGET_AVX2 inline prepared_dequantize_rows prepare_stage(const dequantize_rows_float& s, std::ptrdiff_t n,
                                                                  __m256i mask) {
  prepared_dequantize_rows p;
  p.column_sums = _mm256_maskload_epi32(s.column_sums + n, mask);
  p.per_channel = s.per_channel;
  p.weight_scales = s.per_channel ? _mm256_maskload_ps(s.weight_scales + n, mask) : _mm256_set1_ps(s.weight_scales[0]);
  p.tensor_scale = s.weight_scales[0];
  p.has_bias = s.bias != nullptr;
  p.bias = p.has_bias ? _mm256_maskload_ps(s.bias + n, mask) : _mm256_setzero_ps();
  // Without bounds (the defaults, -inf and +inf) the clamp below is the identity, NaN included: skipped.
  p.clamped = s.min > -std::numeric_limits<float>::infinity() || s.max < std::numeric_limits<float>::infinity();
  p.lo = _mm256_set1_ps(s.min);
  p.hi = _mm256_set1_ps(s.max);
  p.rows = s.rows;
  return p;
}

/// dequantize_rows_float on 8 accumulators of row m, as kernels/avx2/hybrid_output.hpp computes it (vpmulld /
/// vpsubd wrap as the definition's uint32 arithmetic, both products kept from FMA contraction, the bias
/// added last, the clamp as max(lo, min(hi, v)) with the bounds first: NaN passes, -0 stays).
QSPARSE_TARGET_AVX2 inline __m256 apply_prepared_row(const prepared_dequantize_rows& p, __m256i v, std::ptrdiff_t m) {
  const hybrid_row_quantization r = p.rows[m];
  const __m256i corrected = _mm256_sub_epi32(v, _mm256_mullo_epi32(_mm256_set1_epi32(r.zero_point), p.column_sums));
  __m256 scale;
  if (p.per_channel) {
    scale = _mm256_mul_ps(_mm256_set1_ps(r.scale), p.weight_scales);
    QSPARSE_KEEP_ROUNDED(scale);
  } else {
    scale = _mm256_set1_ps(qsparse::detail::product_not_fused(r.scale, p.tensor_scale));
  }
  __m256 out = _mm256_mul_ps(_mm256_cvtepi32_ps(corrected), scale);
  QSPARSE_KEEP_ROUNDED(out);
  if (p.has_bias) out = _mm256_add_ps(p.bias, out);
  if (p.clamped) out = _mm256_max_ps(p.lo, _mm256_min_ps(p.hi, out));
  return out;
}

/// Whether a prepared stage reads its row (only through apply_all_at / store_prepared_at).
template <class P>
struct is_row_prepared : std::false_type {};
template <>
struct is_row_prepared<prepared_dequantize_rows> : std::true_type {};

/// Whether a prepared pipeline holds a stage that reads its row.
template <class Prepared>
struct has_row_stage : std::false_type {};
template <class... P>
struct has_row_stage<std::tuple<P...>> : std::bool_constant<(is_row_prepared<P>::value || ...)> {};
template <class Prepared>
inline constexpr bool has_row_stage_v = has_row_stage<Prepared>::value;

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
  QSPARSE_KEEP_ROUNDED(product);
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

/// The prepared stages I.. applied to v, an accumulator vector of row m.
template <std::size_t I, class Prepared, class V>
QSPARSE_TARGET_AVX2 inline auto apply_all_at(const Prepared& prepared, V v, std::ptrdiff_t m) {
  if constexpr (I == std::tuple_size_v<Prepared>) {
    return v;
  } else if constexpr (is_row_prepared<std::tuple_element_t<I, Prepared>>::value) {
    return apply_all_at<I + 1>(prepared, apply_prepared_row(std::get<I>(prepared), v, m), m);
  } else {
    return apply_all_at<I + 1>(prepared, apply_prepared(std::get<I>(prepared), v), m);
  }
}

/// Applies prepared stages with a row stage (float output) to the accumulators of row m and stores the
/// lanes of `mask` (lane_mask of their count).
template <class Prepared>
QSPARSE_TARGET_AVX2 inline void store_prepared_at(const Prepared& prepared, __m256i acc, std::ptrdiff_t m, __m256i mask,
                                                  float* dst) {
  _mm256_maskstore_ps(dst, mask, apply_all_at<0>(prepared, acc, m));
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

// ---- TFLite's fixed point in 64-bit lanes, zero point folded in -------------------------------------------
// The form of kernels/avx512/output_pipeline.hpp ("TFLite's fixed point in 64-bit lanes") on 8 lanes, for the
// pipelines bias_add, requantize_fixed_point(_per_channel)<R>, add_zero_point, clamps and saturating casts
// with an 8-bit output: result + zp = floor((x M + A - [c] E) / 2^S) from the 64-bit products of the even
// and odd lanes, their high halves blended into the lanes (vpsrlq, vpblendd) and shifted right by S - 32
// (vpsravd), the correction from the low halves and the sign of x, then the composed clamp. x = acc + bias
// is added plainly: the form is prepared only where |acc| + |bias| <= 2^30. Per 8 outputs 13 instructions
// (two vpmuldq) where the 32-bit form with the saturating bias and zero-point adds and the clamps takes
// about 40, or 17 with the correction (double_rounding, single_rounding_away).
struct alignas(32) fixed_point_form {
  __m256i bias;
  __m256i multiplier, multiplier_odd;  // M, and the odd lanes' M in the even lanes
  __m256i add_even, add_odd;           // A per 64-bit lane
  __m256i shift;                       // S - 32 per lane
  __m256i lo, hi;                      // the composed clamp after the zero point
};

template <class T>
struct is_clamp_stage : std::false_type {};
template <>
struct is_clamp_stage<clamp> : std::true_type {};
template <class T>
struct is_clamp_stage<saturating_cast<T>> : std::true_type {};

template <class R>
inline constexpr bool has_fixed_point_form_rounding_v =
    std::is_same_v<R, double_rounding> || std::is_same_v<R, double_rounding_up> ||
    std::is_same_v<R, single_rounding> || std::is_same_v<R, single_rounding_away>;

/// Which pipelines have the form: bias, TFLite's fixed point (per channel or per tensor), zero point,
/// clamps, an 8-bit output.
template <class Pipeline>
struct fixed_point_form_pipeline : std::false_type {};
template <class R, class... C>
struct fixed_point_form_pipeline<output_pipeline<bias_add, requantize_fixed_point_per_channel<R>, add_zero_point, C...>>
    : std::bool_constant<sizeof...(C) >= 1 && (is_clamp_stage<C>::value && ...) && has_fixed_point_form_rounding_v<R> &&
                         sizeof(typename output_pipeline<bias_add, requantize_fixed_point_per_channel<R>, add_zero_point,
                                                         C...>::output_type) == 1> {
  using rounding = R;
};
template <class R, class... C>
struct fixed_point_form_pipeline<output_pipeline<bias_add, requantize_fixed_point<R>, add_zero_point, C...>>
    : std::bool_constant<sizeof...(C) >= 1 && (is_clamp_stage<C>::value && ...) && has_fixed_point_form_rounding_v<R> &&
                         sizeof(typename output_pipeline<bias_add, requantize_fixed_point<R>, add_zero_point,
                                                         C...>::output_type) == 1> {
  using rounding = R;
};

inline void compose_clamp_bounds(const clamp& s, std::int64_t& lo, std::int64_t& hi) {
  lo = lo < s.min ? s.min : (lo > s.max ? s.max : lo);
  hi = hi < s.min ? s.min : (hi > s.max ? s.max : hi);
}
template <class T>
inline void compose_clamp_bounds(const saturating_cast<T>&, std::int64_t& lo, std::int64_t& hi) {
  compose_clamp_bounds(clamp{std::numeric_limits<T>::min(), std::numeric_limits<T>::max()}, lo, hi);
}

template <class T>
inline void compose_clamp_bounds_tail(const T& s, std::int64_t& lo, std::int64_t& hi) {
  if constexpr (is_clamp_stage<T>::value) compose_clamp_bounds(s, lo, hi);
}

/// The form's constants for columns n .. n+7 (lanes outside `mask` are not read) of a fixed_point_form_pipeline
/// whose accumulators are at most `bound` in magnitude; false where the form is not exact for some lane
/// (then the stages run one by one): a shift >= 0, |zp| 2^S > 2^61, |acc| + |bias| > 2^30, a multiplier
/// without the correction's sign condition (double_rounding: M > 2^30, single_rounding_away: M > 0).
template <class... S>
QSPARSE_TARGET_AVX2 inline bool prepare_fixed_point_form(const output_pipeline<S...>& p, std::ptrdiff_t n, __m256i mask,
                                                         std::int64_t bound, fixed_point_form& f) {
  using R = typename fixed_point_form_pipeline<output_pipeline<S...>>::rounding;
  const auto& rq = std::get<1>(p.stages);
  const std::int64_t zp = std::get<2>(p.stages).zero_point;
  std::int64_t lo = INT32_MIN, hi = INT32_MAX;
  std::apply([&](const auto&... s) { (compose_clamp_bounds_tail(s, lo, hi), ...); }, p.stages);
  if (lo > hi || bound > (std::int64_t{1} << 30)) return false;
  // Lanes outside the mask get harmless parameters (M = 2^30 + 1, shift -1, bias 0).
  __m256i multiplier, shift;
  if constexpr (std::is_same_v<std::decay_t<decltype(rq)>, requantize_fixed_point<R>>) {
    multiplier = _mm256_set1_epi32(rq.multiplier.multiplier);
    shift = _mm256_set1_epi32(rq.multiplier.shift);
  } else {
    multiplier = _mm256_blendv_epi8(_mm256_set1_epi32((1 << 30) + 1), _mm256_maskload_epi32(rq.multipliers + n, mask), mask);
    shift = _mm256_blendv_epi8(_mm256_set1_epi32(-1), _mm256_maskload_epi32(rq.shifts + n, mask), mask);
  }
  f.bias = _mm256_maskload_epi32(std::get<0>(p.stages).bias + n, mask);
  const __m256i r = _mm256_sub_epi32(_mm256_setzero_si256(), shift);
  // The largest right shift with |zp| 2^(31+r) <= 2^61.
  const auto magnitude = static_cast<std::uint64_t>(zp < 0 ? -zp : zp);  // 30 - b for the least b, |zp| <= 2^b
  const int r_max = magnitude == 0 ? 31 : (magnitude == 1 ? 30 : 30 - (64 - __builtin_clzll(magnitude - 1)));
  __m256i ok = _mm256_and_si256(_mm256_cmpgt_epi32(r, _mm256_setzero_si256()),
                                _mm256_cmpgt_epi32(_mm256_set1_epi32(r_max + 1), r));
  ok = _mm256_and_si256(ok, _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<std::int32_t>((std::int64_t{1} << 30) - bound) + 1),
                                               _mm256_abs_epi32(f.bias)));
  ok = _mm256_and_si256(ok, _mm256_cmpgt_epi32(f.bias, _mm256_set1_epi32(INT32_MIN)));  // |INT32_MIN| wraps
  if constexpr (std::is_same_v<R, double_rounding>) {
    ok = _mm256_and_si256(ok, _mm256_cmpgt_epi32(multiplier, _mm256_set1_epi32(1 << 30)));
  } else if constexpr (std::is_same_v<R, single_rounding_away>) {
    ok = _mm256_and_si256(ok, _mm256_cmpgt_epi32(multiplier, _mm256_setzero_si256()));
  }
  if (_mm256_movemask_epi8(ok) != -1) return false;
  constexpr bool doubled = std::is_same_v<R, double_rounding> || std::is_same_v<R, double_rounding_up>;
  const __m256i one = _mm256_set1_epi64x(1), two_zp = _mm256_set1_epi64x(2 * zp);
  const __m256i base = _mm256_set1_epi64x(doubled ? std::int64_t{1} << 30 : 0);
  const __m256i count_even = _mm256_add_epi64(_mm256_and_si256(r, _mm256_set1_epi64x(0xFFFFFFFF)), _mm256_set1_epi64x(30));
  const __m256i count_odd = _mm256_add_epi64(_mm256_srli_epi64(r, 32), _mm256_set1_epi64x(30));
  // A = [2^30] + 2^(30+r) + zp 2^(31+r)
  f.add_even = _mm256_add_epi64(_mm256_add_epi64(base, _mm256_sllv_epi64(one, count_even)), _mm256_sllv_epi64(two_zp, count_even));
  f.add_odd = _mm256_add_epi64(_mm256_add_epi64(base, _mm256_sllv_epi64(one, count_odd)), _mm256_sllv_epi64(two_zp, count_odd));
  f.multiplier = multiplier;
  f.multiplier_odd = _mm256_srli_epi64(multiplier, 32);
  f.shift = _mm256_sub_epi32(r, _mm256_set1_epi32(1));
  f.lo = _mm256_set1_epi32(static_cast<std::int32_t>(lo));
  f.hi = _mm256_set1_epi32(static_cast<std::int32_t>(hi));
  return true;
}

/// The form on x = acc + bias without the clamp: result + zp (f from prepare_fixed_point_form).
template <class R>
QSPARSE_TARGET_AVX2 inline __m256i fixed_point_form_unclamped(__m256i x, const fixed_point_form& f) {
  const __m256i even = _mm256_add_epi64(_mm256_mul_epi32(x, f.multiplier), f.add_even);
  const __m256i odd = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), f.multiplier_odd), f.add_odd);
  __m256i h = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
  if constexpr (std::is_same_v<R, double_rounding> || std::is_same_v<R, single_rounding_away>) {
    const __m256i l = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
    if constexpr (std::is_same_v<R, double_rounding>) {
      h = _mm256_add_epi32(h, _mm256_srai_epi32(_mm256_andnot_si256(l, x), 31));  // -1 where x < 0, l < 2^31
    } else {
      h = _mm256_add_epi32(h, _mm256_and_si256(_mm256_cmpeq_epi32(l, _mm256_setzero_si256()),
                                               _mm256_srai_epi32(x, 31)));  // -1 where x < 0, l == 0
    }
  }
  return _mm256_srav_epi32(h, f.shift);
}

/// The pipeline by the form on 8 accumulators (f from prepare_fixed_point_form): clamped, in Out's range.
template <class R>
QSPARSE_TARGET_AVX2 inline __m256i fixed_point_form_apply(__m256i acc, const fixed_point_form& f) {
  return _mm256_min_epi32(_mm256_max_epi32(fixed_point_form_unclamped<R>(_mm256_add_epi32(acc, f.bias), f), f.lo), f.hi);
}

/// Stores `count` (1..8) int32 values already within Out's range (8-bit) as Out.
template <class Out>
QSPARSE_TARGET_AVX2 inline void store_bytes(__m256i v, int count, Out* dst) {
  const __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  const __m128i bytes = std::is_same_v<Out, std::uint8_t> ? _mm_packus_epi16(words, words) : _mm_packs_epi16(words, words);
  if (count == 8) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), bytes);
  } else {
    alignas(16) std::uint8_t tmp[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(tmp), bytes);
    std::memcpy(dst, tmp, static_cast<std::size_t>(count));
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
