// qsparse/kernels/avx512/output_pipeline.hpp — the GEMM output stages (qsparse/gemm/output_stages.hpp)
// on 16 int32 accumulators of one output row, bit-exact with their scalar definition `evaluate`.
//
//   auto prepared = prepare(pipeline, n, mask)  loads the stages' parameters of columns n .. n+15 once
//                                               (lanes outside `mask` are not read)
//   store_prepared<Out>(prepared, acc, mask, dst)  applies them to the 16 accumulators of one row and
//                                               stores the lanes in `mask` as the pipeline's output type
//   store_row(pipeline, acc, n, mask, dst)      both at once
// Per-column parameter arrays are read with masked loads, so a tail never reads past column N - 1.
// Every function carries QSPARSE_TARGET_AVX512; kernels with a superset target (avx512_vnni) inline them.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <tuple>
#include <type_traits>
#include <utility>

#include "qsparse/core/config.hpp"
#include "qsparse/gemm/output_stages.hpp"
#include "qsparse/kernels/avx512/fixed_point.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx512 {

/// round_half_to_even(v) as int32, saturating (v >= 2^31 → INT32_MAX; below -2^31 the conversion
/// already yields INT32_MIN). Independent of MXCSR.
QSPARSE_TARGET_AVX512 inline __m512i round_to_int32_half_even(__m512 v) {
  const __m512i converted = _mm512_cvt_roundps_epi32(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __mmask16 too_big = _mm512_cmp_ps_mask(v, _mm512_set1_ps(2147483648.0f), _CMP_GE_OQ);
  return _mm512_mask_mov_epi32(converted, too_big, _mm512_set1_epi32(INT32_MAX));
}

// Each stage is first *prepared* for a block of 16 columns (its per-column parameters loaded once,
// scalars broadcast), then applied to the accumulators of every row of the block.
struct prepared_add_constant {  // bias_add, add_zero_point: clamp to where the add cannot overflow, then add
  __m512i lo, hi, value;
};
template <class R>
struct prepared_fixed_point {
  __m512i multiplier, shift;
};
struct prepared_round_scale {  // requantize_float(_per_channel)
  __m512 scale;
};
struct prepared_clamp {  // clamp, saturating_cast
  __m512i lo, hi;
};
struct prepared_dequantize {
  __m512 scale, bias;
  bool has_bias;
};
struct prepared_clamp_float {
  __m512 lo, hi;
};

QSPARSE_TARGET_AVX512 inline prepared_add_constant prepare_stage(const bias_add& s, std::ptrdiff_t n, __mmask16 mask) {
  // Per lane, as for add_zero_point: clamp to [INT32_MIN - min(b, 0), INT32_MAX - max(b, 0)], then add.
  const auto bias = _mm512_maskz_loadu_epi32(mask, s.bias + n);
  const auto zero = _mm512_setzero_si512();
  return {_mm512_sub_epi32(_mm512_set1_epi32(INT32_MIN), _mm512_min_epi32(bias, zero)), _mm512_sub_epi32(_mm512_set1_epi32(INT32_MAX), _mm512_max_epi32(bias, zero)), bias};
}
QSPARSE_TARGET_AVX512 inline prepared_add_constant prepare_stage(const add_zero_point& s, std::ptrdiff_t, __mmask16) {
  // v + zp saturates exactly when v is beyond INT32_MAX - zp (zp > 0) or INT32_MIN - zp (zp < 0):
  // clamping v first gives the saturated sum with a plain add.
  const std::int32_t zp = s.zero_point;
  const std::int32_t lo = zp < 0 ? INT32_MIN - zp : INT32_MIN;
  const std::int32_t hi = zp > 0 ? INT32_MAX - zp : INT32_MAX;
  return {_mm512_set1_epi32(lo), _mm512_set1_epi32(hi), _mm512_set1_epi32(zp)};
}
template <class R>
QSPARSE_TARGET_AVX512 inline prepared_fixed_point<R> prepare_stage(const requantize_fixed_point<R>& s, std::ptrdiff_t,
                                                                   __mmask16) {
  return {_mm512_set1_epi32(s.multiplier.multiplier), _mm512_set1_epi32(s.multiplier.shift)};
}
template <class R>
QSPARSE_TARGET_AVX512 inline prepared_fixed_point<R> prepare_stage(const requantize_fixed_point_per_channel<R>& s,
                                                                   std::ptrdiff_t n, __mmask16 mask) {
  return {_mm512_maskz_loadu_epi32(mask, s.multipliers + n), _mm512_maskz_loadu_epi32(mask, s.shifts + n)};
}
QSPARSE_TARGET_AVX512 inline prepared_round_scale prepare_stage(const requantize_float& s, std::ptrdiff_t, __mmask16) {
  return {_mm512_set1_ps(s.scale)};
}
QSPARSE_TARGET_AVX512 inline prepared_round_scale prepare_stage(const requantize_float_per_channel& s, std::ptrdiff_t n,
                                                                __mmask16 mask) {
  return {_mm512_maskz_loadu_ps(mask, s.scales + n)};
}
QSPARSE_TARGET_AVX512 inline prepared_clamp prepare_stage(const clamp& s, std::ptrdiff_t, __mmask16) {
  return {_mm512_set1_epi32(s.min), _mm512_set1_epi32(s.max)};
}
template <class T>
QSPARSE_TARGET_AVX512 inline prepared_clamp prepare_stage(const saturating_cast<T>&, std::ptrdiff_t, __mmask16) {
  return {_mm512_set1_epi32(std::numeric_limits<T>::min()), _mm512_set1_epi32(std::numeric_limits<T>::max())};
}
QSPARSE_TARGET_AVX512 inline prepared_dequantize prepare_stage(const dequantize_float& s, std::ptrdiff_t n,
                                                               __mmask16 mask) {
  const bool has_bias = s.bias != nullptr;
  return {_mm512_set1_ps(s.scale), has_bias ? _mm512_maskz_loadu_ps(mask, s.bias + n) : _mm512_setzero_ps(), has_bias};
}
QSPARSE_TARGET_AVX512 inline prepared_dequantize prepare_stage(const dequantize_float_per_channel& s, std::ptrdiff_t n,
                                                               __mmask16 mask) {
  const bool has_bias = s.bias != nullptr;
  return {_mm512_maskz_loadu_ps(mask, s.scales + n),
          has_bias ? _mm512_maskz_loadu_ps(mask, s.bias + n) : _mm512_setzero_ps(), has_bias};
}
QSPARSE_TARGET_AVX512 inline prepared_clamp_float prepare_stage(const clamp_float& s, std::ptrdiff_t, __mmask16) {
  return {_mm512_set1_ps(s.min), _mm512_set1_ps(s.max)};
}

QSPARSE_TARGET_AVX512 inline __m512i apply_prepared(const prepared_add_constant& p, __m512i v) {
  return _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(v, p.lo), p.hi), p.value);
}
template <class R>
QSPARSE_TARGET_AVX512 inline __m512i apply_prepared(const prepared_fixed_point<R>& p, __m512i v) {
  if constexpr (std::is_same_v<R, single_rounding>) {
    return multiply_by_quantized_multiplier_single_rounding(v, p.multiplier, p.shift);
  } else {
    return multiply_by_quantized_multiplier(v, p.multiplier, p.shift);
  }
}
QSPARSE_TARGET_AVX512 inline __m512i apply_prepared(const prepared_round_scale& p, __m512i v) {
  return round_to_int32_half_even(_mm512_mul_ps(_mm512_cvtepi32_ps(v), p.scale));
}
QSPARSE_TARGET_AVX512 inline __m512i apply_prepared(const prepared_clamp& p, __m512i v) {
  return _mm512_min_epi32(_mm512_max_epi32(v, p.lo), p.hi);
}
QSPARSE_TARGET_AVX512 inline __m512 apply_prepared(const prepared_dequantize& p, __m512i v) {
  __m512 product = _mm512_mul_ps(_mm512_cvtepi32_ps(v), p.scale);
  // GCC contracts a multiply and an add of intrinsics into an FMA under -ffp-contract=fast (its default
  // outside ISO C); the definition rounds the product first, so keep the two instructions apart.
  __asm__("" : "+v"(product));
  return p.has_bias ? _mm512_add_ps(product, p.bias) : product;
}
QSPARSE_TARGET_AVX512 inline __m512 apply_prepared(const prepared_clamp_float& p, __m512 v) {
  // Ordered as the scalar v < min ? min : (v > max ? max : v): NaN passes through.
  const __mmask16 below = _mm512_cmp_ps_mask(v, p.lo, _CMP_LT_OQ);
  const __mmask16 above = _mm512_cmp_ps_mask(v, p.hi, _CMP_GT_OQ);
  v = _mm512_mask_mov_ps(v, above, p.hi);
  return _mm512_mask_mov_ps(v, below, p.lo);
}

template <class... S, std::size_t... I>
QSPARSE_TARGET_AVX512 inline auto prepare_all(const output_pipeline<S...>& p, std::ptrdiff_t n, __mmask16 mask,
                                              std::index_sequence<I...>) {
  (void)n;  // unused by the empty pipeline
  (void)mask;
  return std::make_tuple(prepare_stage(std::get<I>(p.stages), n, mask)...);
}

// ---- folding add_zero_point and the clamps after it ---------------------------------------------------
// The tail `add_zero_point, (clamp | saturating_cast<T>)+` of a pipeline (every int8 / uint8 / int16
// output pipeline ends so) is prepared as one prepared_add_constant: clamp to [lo', hi'], then add zp.
// Two clamps compose into the clamp to [c2(lo1), c2(hi1)] (min <= max is validated); then, with
// [L, H] the composed bounds, clamp(saturating(v + zp), L, H) == clamp(v, L - zp, H - zp) + zp when
// L - zp and H - zp are int32 (saturate them to int32 otherwise: the add then cannot overflow and the
// bound that left the range never binds), and is the constant L (or H) when L - zp > INT32_MAX
// (H - zp < INT32_MIN): every v + zp saturates below L (above H). The constant is lo' = hi' =
// L - zp wrapped to int32, which the wrapping vpaddd brings back to L. Four instructions fewer per
// 16 outputs than the stages one by one, with the same bits.

template <class T>
struct is_int_clamp : std::false_type {};
template <>
struct is_int_clamp<clamp> : std::true_type {};
template <class T>
struct is_int_clamp<saturating_cast<T>> : std::true_type {};

/// How many trailing stages fold (0: the pipeline does not end with add_zero_point and clamps).
template <class... S>
constexpr std::size_t offset_clamp_tail() {
  constexpr std::size_t n = sizeof...(S);
  constexpr bool clamps[] = {is_int_clamp<S>::value..., false};
  constexpr bool offsets[] = {std::is_same_v<S, add_zero_point>..., false};
  std::size_t c = 0;
  while (c < n && clamps[n - 1 - c]) ++c;
  if (c == 0 || c == n || !offsets[n - 1 - c]) return 0;
  return c + 1;
}

inline void compose_clamp(const clamp& s, std::int64_t& lo, std::int64_t& hi) {
  lo = std::min<std::int64_t>(std::max<std::int64_t>(lo, s.min), s.max);
  hi = std::min<std::int64_t>(std::max<std::int64_t>(hi, s.min), s.max);
}
template <class T>
inline void compose_clamp(const saturating_cast<T>&, std::int64_t& lo, std::int64_t& hi) {
  compose_clamp(clamp{std::numeric_limits<T>::min(), std::numeric_limits<T>::max()}, lo, hi);
}

inline std::int32_t wrap_to_int32(std::int64_t v) { return static_cast<std::int32_t>(static_cast<std::uint32_t>(v)); }

/// Stage Z is the add_zero_point; the clamps follow it.
template <std::size_t Z, class... S, std::size_t... I>
QSPARSE_TARGET_AVX512 inline prepared_add_constant prepare_offset_clamp(const output_pipeline<S...>& p,
                                                                        std::index_sequence<I...>) {
  std::int64_t lo = INT32_MIN, hi = INT32_MAX;
  (compose_clamp(std::get<Z + 1 + I>(p.stages), lo, hi), ...);
  const std::int64_t zp = std::get<Z>(p.stages).zero_point;
  std::int32_t l = 0, h = 0;
  if (lo - zp > INT32_MAX) {
    l = h = wrap_to_int32(lo - zp);
  } else if (hi - zp < INT32_MIN) {
    l = h = wrap_to_int32(hi - zp);
  } else {
    l = static_cast<std::int32_t>(std::max<std::int64_t>(lo - zp, INT32_MIN));
    h = static_cast<std::int32_t>(std::min<std::int64_t>(hi - zp, INT32_MAX));
  }
  return {_mm512_set1_epi32(l), _mm512_set1_epi32(h), _mm512_set1_epi32(static_cast<std::int32_t>(zp))};
}

/// The pipeline's stages prepared for columns n .. n+15 (lanes outside `mask` are not read), with a
/// trailing add_zero_point and clamps folded into one stage (above).
template <class... S>
QSPARSE_TARGET_AVX512 inline auto prepare(const output_pipeline<S...>& p, std::ptrdiff_t n, __mmask16 mask) {
  constexpr std::size_t tail = offset_clamp_tail<S...>();
  if constexpr (tail == 0) {
    return prepare_all(p, n, mask, std::index_sequence_for<S...>{});
  } else {
    constexpr std::size_t z = sizeof...(S) - tail;
    return std::tuple_cat(prepare_all(p, n, mask, std::make_index_sequence<z>{}),
                          std::make_tuple(prepare_offset_clamp<z>(p, std::make_index_sequence<tail - 1>{})));
  }
}

template <std::size_t I, class Prepared, class V>
QSPARSE_TARGET_AVX512 inline auto apply_all(const Prepared& prepared, V v) {
  if constexpr (I == std::tuple_size_v<Prepared>) {
    return v;
  } else {
    return apply_all<I + 1>(prepared, apply_prepared(std::get<I>(prepared), v));
  }
}

/// Applies prepared stages to 16 accumulators of one row and stores the lanes in `mask` as Out.
template <class Out, class Prepared>
QSPARSE_TARGET_AVX512 inline void store_prepared(const Prepared& prepared, __m512i acc, __mmask16 mask, Out* dst) {
  const auto v = apply_all<0>(prepared, acc);
  if constexpr (std::is_same_v<Out, float>) {
    _mm512_mask_storeu_ps(dst, mask, v);
  } else if constexpr (std::is_same_v<Out, std::int32_t>) {
    _mm512_mask_storeu_epi32(dst, mask, v);
  } else if constexpr (sizeof(Out) == 1) {
    _mm512_mask_cvtepi32_storeu_epi8(dst, mask, v);  // values are already in range: truncation is exact
  } else {
    _mm512_mask_cvtepi32_storeu_epi16(dst, mask, v);
  }
}

/// Applies `p` to 16 accumulators (columns n .. n+15 of one row) and stores the lanes in `mask`.
template <class... S>
QSPARSE_TARGET_AVX512 inline void store_row(const output_pipeline<S...>& p, __m512i acc, std::ptrdiff_t n,
                                            __mmask16 mask, typename output_pipeline<S...>::output_type* dst) {
  store_prepared(prepare(p, n, mask), acc, mask, dst);
}

}  // namespace avx512
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
