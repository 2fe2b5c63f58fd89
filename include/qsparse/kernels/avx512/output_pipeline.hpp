// qsparse/kernels/avx512/output_pipeline.hpp — the GEMM output stages (qsparse/spec/output_stages.hpp)
// on 16 int32 accumulators of one output row, bit-exact with their scalar definition `evaluate`.
//
//   auto prepared = prepare(pipeline, n, mask)  loads the stages' parameters of columns n .. n+15 once
//                                               (lanes outside `mask` are not read)
//   store_prepared(prepared, acc, mask, dst)    applies them to the 16 accumulators of one row and
//                                               stores the lanes in `mask` as the pipeline's output type
//   store_row(pipeline, acc, n, mask, dst)      both at once
//   store_prepared_at(prepared, acc, m, mask, dst)  store_prepared for row m: the evaluator of a pipeline
//                                               with a stage that reads its row (dequantize_rows_float,
//                                               qsparse/spec/hybrid_output_stage.hpp; has_row_stage)
//   prepare(pipeline, n, mask, bound)           as prepare, for accumulators known to satisfy |acc| <= bound:
//   fast_path_exact(prepared)                   true when the fast evaluator gives the same bits here
//   store_prepared<true>(prepared, acc, mask, dst)  (or store_prepared_fast) the shorter sequence (below),
//                                               for the kernels' epilogues, chosen once per block of rows
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
#include "qsparse/kernels/avx512/fixed_point.hpp"
#include "qsparse/spec/hybrid_output_stage.hpp"
#include "qsparse/spec/output_stages.hpp"

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
//
// Every struct that holds __m512 values says alignas(64): GCC gives __m512 an alignment of 16 in a
// translation unit built without -mavx512f (the flag-free host), so without it such a struct, placed by
// host code or in a caller's frame, may sit off the 64 bytes that the target functions' aligned moves
// assume.
struct alignas(64) prepared_add_constant {  // add_zero_point: clamp to where the add cannot overflow, then add
  __m512i lo, hi, value;
};
struct alignas(64) prepared_bias {  // bias_add: as prepared_add_constant; `plain` when the accumulators' bound rules out overflow
  __m512i lo, hi, value;
  bool plain;
};
template <class R>
struct alignas(64) prepared_fixed_point {
  __m512i multiplier, shift;
  // Double rounding, from shift once: the left and right shifts and RoundingDivideByPOT's mask and
  // threshold. plain: no lane shifts left and no multiplier is INT32_MIN, so neither the left shift nor
  // the doubling high multiply can saturate (the fast evaluator then skips both checks).
  __m512i left, right, round_mask, round_threshold;
  bool plain;
};
struct alignas(64) prepared_round_scale {  // requantize_float(_per_channel)
  __m512 scale;
};
struct alignas(64) prepared_clamp {  // clamp, saturating_cast
  __m512i lo, hi;
};
struct alignas(64) prepared_dequantize {
  __m512 scale, bias;
  bool has_bias;
};
struct alignas(64) prepared_clamp_float {
  __m512 lo, hi;
};
struct alignas(64) prepared_dequantize_rows {  // dequantize_rows_float: the columns' part; the row's at apply
  __m512i column_sums;
  __m512 weight_scales, bias, lo, hi;
  const hybrid_row_quantization* rows;
  float tensor_scale;  // weight_scales[0] when not per_channel
  bool per_channel, has_bias, clamped;
};

QSPARSE_TARGET_AVX512 inline prepared_bias prepare_stage(const bias_add& s, std::ptrdiff_t n, __mmask16 mask) {
  // Per lane, as for add_zero_point: clamp to [INT32_MIN - min(b, 0), INT32_MAX - max(b, 0)], then add.
  const auto bias = _mm512_maskz_loadu_epi32(mask, s.bias + n);
  const auto zero = _mm512_setzero_si512();
  return {_mm512_sub_epi32(_mm512_set1_epi32(INT32_MIN), _mm512_min_epi32(bias, zero)),
          _mm512_sub_epi32(_mm512_set1_epi32(INT32_MAX), _mm512_max_epi32(bias, zero)), bias, false};
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
QSPARSE_TARGET_AVX512 inline prepared_fixed_point<R> prepare_fixed_point(__m512i multiplier, __m512i shift) {
  prepared_fixed_point<R> p;
  p.multiplier = multiplier;
  p.shift = shift;
  const __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi32(1);
  p.left = _mm512_max_epi32(shift, zero);
  p.right = _mm512_max_epi32(_mm512_sub_epi32(zero, shift), zero);
  p.round_mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, p.right), one);
  p.round_threshold = _mm512_srli_epi32(p.round_mask, 1);
  p.plain = _mm512_test_epi32_mask(p.left, p.left) == 0 &&
            _mm512_cmpeq_epi32_mask(multiplier, _mm512_set1_epi32(INT32_MIN)) == 0;
  return p;
}
template <class R>
QSPARSE_TARGET_AVX512 inline prepared_fixed_point<R> prepare_stage(const requantize_fixed_point<R>& s, std::ptrdiff_t,
                                                                   __mmask16) {
  return prepare_fixed_point<R>(_mm512_set1_epi32(s.multiplier.multiplier), _mm512_set1_epi32(s.multiplier.shift));
}
template <class R>
QSPARSE_TARGET_AVX512 inline prepared_fixed_point<R> prepare_stage(const requantize_fixed_point_per_channel<R>& s,
                                                                   std::ptrdiff_t n, __mmask16 mask) {
  return prepare_fixed_point<R>(_mm512_maskz_loadu_epi32(mask, s.multipliers + n),
                                _mm512_maskz_loadu_epi32(mask, s.shifts + n));
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
QSPARSE_TARGET_AVX512 inline prepared_dequantize_rows prepare_stage(const dequantize_rows_float& s, std::ptrdiff_t n,
                                                                    __mmask16 mask) {
  prepared_dequantize_rows p;
  p.column_sums = _mm512_maskz_loadu_epi32(mask, s.column_sums + n);
  p.per_channel = s.per_channel;
  p.weight_scales = s.per_channel ? _mm512_maskz_loadu_ps(mask, s.weight_scales + n) : _mm512_set1_ps(s.weight_scales[0]);
  p.tensor_scale = s.weight_scales[0];
  p.has_bias = s.bias != nullptr;
  p.bias = p.has_bias ? _mm512_maskz_loadu_ps(mask, s.bias + n) : _mm512_setzero_ps();
  // Without bounds (the defaults, -inf and +inf) the clamp below is the identity, NaN included: skipped.
  p.clamped = s.min > -std::numeric_limits<float>::infinity() || s.max < std::numeric_limits<float>::infinity();
  p.lo = _mm512_set1_ps(s.min);
  p.hi = _mm512_set1_ps(s.max);
  p.rows = s.rows;
  return p;
}

QSPARSE_TARGET_AVX512 inline __m512i apply_prepared(const prepared_add_constant& p, __m512i v) {
  return _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(v, p.lo), p.hi), p.value);
}
QSPARSE_TARGET_AVX512 inline __m512i apply_prepared(const prepared_bias& p, __m512i v) {
  return _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(v, p.lo), p.hi), p.value);
}
template <class R>
QSPARSE_TARGET_AVX512 inline __m512i apply_prepared(const prepared_fixed_point<R>& p, __m512i v) {
  if constexpr (std::is_same_v<R, single_rounding>) {
    return multiply_by_quantized_multiplier_single_rounding(v, p.multiplier, p.shift);
  } else if constexpr (std::is_same_v<R, single_rounding_away>) {
    return multiply_by_quantized_multiplier_single_rounding_away(v, p.multiplier, p.shift);
  } else if constexpr (std::is_same_v<R, double_rounding_up>) {
    return rounding_right_shift_up(saturating_rounding_doubling_high_mul(saturating_left_shift(v, p.left), p.multiplier),
                                   p.right);
  } else {  // multiply_by_quantized_multiplier with the shift's parts prepared
    static_assert(std::is_same_v<R, double_rounding>, "qsparse: a fixed-point rounding without an AVX-512 evaluator");
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(saturating_left_shift(v, p.left), p.multiplier),
                                  p.right, p.round_mask, p.round_threshold);
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
  QSPARSE_KEEP_ROUNDED(product);
  return p.has_bias ? _mm512_add_ps(product, p.bias) : product;
}
QSPARSE_TARGET_AVX512 inline __m512 apply_prepared(const prepared_clamp_float& p, __m512 v) {
  // Ordered as the scalar v < min ? min : (v > max ? max : v): NaN passes through.
  const __mmask16 below = _mm512_cmp_ps_mask(v, p.lo, _CMP_LT_OQ);
  const __mmask16 above = _mm512_cmp_ps_mask(v, p.hi, _CMP_GT_OQ);
  v = _mm512_mask_mov_ps(v, above, p.hi);
  return _mm512_mask_mov_ps(v, below, p.lo);
}

/// dequantize_rows_float on 16 accumulators of row m: the scalar definition's operations per lane (vpmulld /
/// vpsubd wrap as its uint32 arithmetic, both products kept from FMA contraction, the bias added last, the
/// clamp as max(lo, min(hi, v)) with the bounds first, which passes NaN and keeps -0 as the scalar clamp).
QSPARSE_TARGET_AVX512 inline __m512 apply_prepared_row(const prepared_dequantize_rows& p, __m512i v, std::ptrdiff_t m) {
  const hybrid_row_quantization r = p.rows[m];
  const __m512i corrected = _mm512_sub_epi32(v, _mm512_mullo_epi32(_mm512_set1_epi32(r.zero_point), p.column_sums));
  __m512 scale;
  if (p.per_channel) {
    scale = _mm512_mul_ps(_mm512_set1_ps(r.scale), p.weight_scales);
    QSPARSE_KEEP_ROUNDED(scale);
  } else {
    scale = _mm512_set1_ps(qsparse::detail::product_not_fused(r.scale, p.tensor_scale));
  }
  __m512 out = _mm512_mul_ps(_mm512_cvtepi32_ps(corrected), scale);
  QSPARSE_KEEP_ROUNDED(out);
  if (p.has_bias) out = _mm512_add_ps(p.bias, out);
  if (p.clamped) out = _mm512_max_ps(p.lo, _mm512_min_ps(p.hi, out));
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

/// The folded tail's bounds: clamp to [lo, hi], then add zero_point (wrapping).
struct offset_clamp_bounds {
  std::int32_t lo, hi, zero_point;
};

/// Stage Z is the add_zero_point; the clamps follow it.
template <std::size_t Z, class... S, std::size_t... I>
inline offset_clamp_bounds fold_offset_clamp(const output_pipeline<S...>& p, std::index_sequence<I...>) {
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
  return {l, h, static_cast<std::int32_t>(zp)};
}

QSPARSE_TARGET_AVX512 inline prepared_add_constant prepare_offset_clamp(const offset_clamp_bounds& b) {
  return {_mm512_set1_epi32(b.lo), _mm512_set1_epi32(b.hi), _mm512_set1_epi32(b.zero_point)};
}

// ---- the fast epilogue --------------------------------------------------------------------------------
// More folds, exact only for some parameter values, so they are a second evaluator the kernels pick
// once per block of rows (fast_path_exact) rather than a branch per vector:
//  - bias_add saturates; when the kernel knows |acc| <= bound and bound + |bias[n]| fits int32 for every
//    lane, the saturation never happens and the stage is one vpaddd instead of three instructions;
//  - requantize_float followed by the folded tail: round_half_even(x) clamped to the integers [l, h] is
//    round_half_even(x clamped to [l, h]) (rounding is monotone and maps integers to themselves), so the
//    clamp moves before the conversion, in float, and also bounds x below 2^31 (no overflow fix-up);
//    exact when l and h are floats, |l|, |h| <= 2^24: always for int8 / uint8 / int16 outputs with
//    |zero point| <= 2^24 - 2^16. Six instructions per 16 outputs instead of eight;
//  - requantize_fixed_point (double rounding, or double_rounding_up) whose shifts are all <= 0 (every multiplier below 1, as
//    requantization multipliers are) and no multiplier is INT32_MIN: the saturating left shift is the
//    identity and SaturatingRoundingDoublingHighMul cannot saturate, so both checks go (9 instructions
//    fewer per 16 outputs; the shifts' parts are prepared once for both evaluators).
struct alignas(64) prepared_round_scale_offset_clamp {  // requantize_float(_per_channel), add_zero_point, clamps
  prepared_round_scale scale;
  prepared_add_constant tail;
  __m512 lo, hi;  // the tail's lo and hi as floats (meaningful when float_exact)
  bool float_exact;
};

QSPARSE_TARGET_AVX512 inline __m512i apply_prepared(const prepared_round_scale_offset_clamp& p, __m512i v) {
  return apply_prepared(p.tail, apply_prepared(p.scale, v));
}

template <class P>
QSPARSE_TARGET_AVX512 inline auto apply_fast(const P& p, __m512i v) {
  return apply_prepared(p, v);
}
template <class P>
QSPARSE_TARGET_AVX512 inline auto apply_fast(const P& p, __m512 v) {
  return apply_prepared(p, v);
}
QSPARSE_TARGET_AVX512 inline __m512i apply_fast(const prepared_bias& p, __m512i v) { return _mm512_add_epi32(v, p.value); }
/// apply_fast of a prepared_round_scale_offset_clamp from its parts (scale, the float bounds lo and hi, the
/// offset tail.value), for kernels that keep them in registers across pixels.
QSPARSE_TARGET_AVX512 inline __m512i round_scale_offset_clamp_fast(__m512i v, __m512 scale, __m512 lo, __m512 hi,
                                                                   __m512i offset) {
  __m512 x = _mm512_mul_ps(_mm512_cvtepi32_ps(v), scale);
  x = _mm512_min_ps(_mm512_max_ps(x, lo), hi);  // no NaN: the scales are finite and positive
  const __m512i r = _mm512_cvt_roundps_epi32(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  return _mm512_add_epi32(r, offset);
}
QSPARSE_TARGET_AVX512 inline __m512i apply_fast(const prepared_round_scale_offset_clamp& p, __m512i v) {
  return round_scale_offset_clamp_fast(v, p.scale.scale, p.lo, p.hi, p.tail.value);
}

/// Double rounding where fast_exact (plain): no left shift, no saturation in the high multiply.
QSPARSE_TARGET_AVX512 inline __m512i apply_fast(const prepared_fixed_point<double_rounding>& p, __m512i v) {
  return rounding_divide_by_pot(rounding_doubling_high_mul(v, p.multiplier), p.right, p.round_mask, p.round_threshold);
}

/// double_rounding_up where fast_exact (plain), as above.
QSPARSE_TARGET_AVX512 inline __m512i apply_fast(const prepared_fixed_point<double_rounding_up>& p, __m512i v) {
  return rounding_right_shift_up(rounding_doubling_high_mul(v, p.multiplier), p.right);
}

template <class P>
inline bool fast_exact(const P&) {
  return true;
}
inline bool fast_exact(const prepared_bias& p) { return p.plain; }
inline bool fast_exact(const prepared_round_scale_offset_clamp& p) { return p.float_exact; }
inline bool fast_exact(const prepared_fixed_point<double_rounding>& p) { return p.plain; }
inline bool fast_exact(const prepared_fixed_point<double_rounding_up>& p) { return p.plain; }

template <class P>
struct has_fast_stage : std::false_type {};
template <>
struct has_fast_stage<prepared_bias> : std::true_type {};
template <>
struct has_fast_stage<prepared_round_scale_offset_clamp> : std::true_type {};
template <>
struct has_fast_stage<prepared_fixed_point<double_rounding>> : std::true_type {};
template <>
struct has_fast_stage<prepared_fixed_point<double_rounding_up>> : std::true_type {};

/// Whether store_prepared_fast differs from store_prepared for this prepared pipeline type at all.
template <class Prepared>
struct has_fast_path;
template <class... P>
struct has_fast_path<std::tuple<P...>> : std::bool_constant<(has_fast_stage<P>::value || ...)> {};

/// Whether store_prepared_fast gives store_prepared's bits for accumulators within the prepare bound.
template <class... P>
inline bool fast_path_exact(const std::tuple<P...>& prepared) {
  return std::apply([](const auto&... p) { return (fast_exact(p) && ...); }, prepared);
}

inline constexpr std::int32_t float_exact_limit = 1 << 24;

template <class Stage>
QSPARSE_TARGET_AVX512 inline prepared_round_scale_offset_clamp prepare_round_scale_offset_clamp(
    const Stage& requantize, std::ptrdiff_t n, __mmask16 mask, const offset_clamp_bounds& b) {
  prepared_round_scale_offset_clamp r;
  r.scale = prepare_stage(requantize, n, mask);
  r.tail = prepare_offset_clamp(b);
  r.float_exact = b.lo >= -float_exact_limit && b.lo <= float_exact_limit && b.hi >= -float_exact_limit &&
                  b.hi <= float_exact_limit;
  r.lo = _mm512_set1_ps(static_cast<float>(b.lo));
  r.hi = _mm512_set1_ps(static_cast<float>(b.hi));
  return r;
}

template <class T>
struct is_requantize_float : std::false_type {};
template <>
struct is_requantize_float<requantize_float> : std::true_type {};
template <>
struct is_requantize_float<requantize_float_per_channel> : std::true_type {};

/// Whether stage Z - 1 of S... exists and is requantize_float(_per_channel).
template <std::size_t Z, class... S>
constexpr bool requantize_float_before() {
  if constexpr (Z == 0) {
    return false;
  } else {
    return is_requantize_float<std::tuple_element_t<Z - 1, std::tuple<S...>>>::value;
  }
}

template <class... S>
QSPARSE_TARGET_AVX512 inline auto prepare_folded(const output_pipeline<S...>& p, std::ptrdiff_t n, __mmask16 mask) {
  constexpr std::size_t tail = offset_clamp_tail<S...>();
  if constexpr (tail == 0) {
    return prepare_all(p, n, mask, std::index_sequence_for<S...>{});
  } else {
    constexpr std::size_t z = sizeof...(S) - tail;
    const offset_clamp_bounds b = fold_offset_clamp<z>(p, std::make_index_sequence<tail - 1>{});
    if constexpr (requantize_float_before<z, S...>()) {
      return std::tuple_cat(prepare_all(p, n, mask, std::make_index_sequence<z - 1>{}),
                            std::make_tuple(prepare_round_scale_offset_clamp(std::get<z - 1>(p.stages), n, mask, b)));
    } else {
      return std::tuple_cat(prepare_all(p, n, mask, std::make_index_sequence<z>{}),
                            std::make_tuple(prepare_offset_clamp(b)));
    }
  }
}

/// The pipeline's stages prepared for columns n .. n+15 (lanes outside `mask` are not read), with a
/// trailing add_zero_point and clamps folded into one stage (above), together with a requantize_float
/// before them. `bound` (>= 0) promises |acc| <= bound for the accumulators the result is applied to
/// (it lets store_prepared_fast add the bias without saturation); -1 promises nothing.
template <class... S>
QSPARSE_TARGET_AVX512 inline auto prepare(const output_pipeline<S...>& p, std::ptrdiff_t n, __mmask16 mask,
                                          std::int64_t bound = -1) {
  auto prepared = prepare_folded(p, n, mask);
  if constexpr (sizeof...(S) > 0) {
    if constexpr (std::is_same_v<std::tuple_element_t<0, std::tuple<S...>>, bias_add>) {
      auto& b = std::get<0>(prepared);
      if (bound >= 0) {
        const std::int64_t most = _mm512_mask_reduce_max_epi32(mask, b.value);
        const std::int64_t least = _mm512_mask_reduce_min_epi32(mask, b.value);
        b.plain = bound + std::max<std::int64_t>(most, 0) <= INT32_MAX &&
                  -bound + std::min<std::int64_t>(least, 0) >= INT32_MIN;
      }
    }
  }
  return prepared;
}

/// The first prepared stage a kernel applies after the accumulators: 1 when the fast evaluator runs and
/// stage 0 is the bias, which the kernel then adds to the accumulators' initial value (exact: the fast
/// path is only taken when |acc| + |bias| fits int32, and int32 addition wraps associatively), else 0.
template <bool Fast, class Prepared>
constexpr std::size_t first_stage_after_bias_fold() {
  if constexpr (Fast && std::tuple_size_v<Prepared> > 0) {
    return std::is_same_v<std::tuple_element_t<0, Prepared>, prepared_bias> ? 1 : 0;
  } else {
    return 0;
  }
}

/// The prepared stages I.. applied to v, by the fast evaluator when Fast.
template <std::size_t I, bool Fast = false, class Prepared, class V>
QSPARSE_TARGET_AVX512 inline auto apply_all(const Prepared& prepared, V v) {
  if constexpr (I == std::tuple_size_v<Prepared>) {
    return v;
  } else if constexpr (Fast) {
    return apply_all<I + 1, Fast>(prepared, apply_fast(std::get<I>(prepared), v));
  } else {
    return apply_all<I + 1, Fast>(prepared, apply_prepared(std::get<I>(prepared), v));
  }
}

/// The prepared stages I.. applied to v, an accumulator vector of row m (the generic evaluator).
template <std::size_t I, class Prepared, class V>
QSPARSE_TARGET_AVX512 inline auto apply_all_at(const Prepared& prepared, V v, std::ptrdiff_t m) {
  if constexpr (I == std::tuple_size_v<Prepared>) {
    return v;
  } else if constexpr (is_row_prepared<std::tuple_element_t<I, Prepared>>::value) {
    return apply_all_at<I + 1>(prepared, apply_prepared_row(std::get<I>(prepared), v, m), m);
  } else {
    return apply_all_at<I + 1>(prepared, apply_prepared(std::get<I>(prepared), v), m);
  }
}

template <class Out, class V>
QSPARSE_TARGET_AVX512 inline void store_lanes(V v, __mmask16 mask, Out* dst) {
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

/// Two rows of 32 int16 values (wa: vpackssdw of the first row's columns 0-15 and 16-31, wb of the
/// second's) narrowed with saturation to Out (int8 or uint8: vpacksswb or vpackuswb) and stored as 32 bytes
/// at dst_a and, when dst_b is not null, at dst_b. After the packs, 128-bit lane L holds 4 bytes of each
/// packed vector (their columns 4L .. 4L+3): one vpermd restores the order.
template <class Out>
QSPARSE_TARGET_AVX512 inline __attribute__((always_inline)) void store_word_rows_as_bytes(__m512i wa, __m512i wb, Out* dst_a, Out* dst_b) {
  static_assert(sizeof(Out) == 1, "store_word_rows_as_bytes stores int8 or uint8 values");
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  const __m512i bytes = std::is_same_v<Out, std::int8_t> ? _mm512_packs_epi16(wa, wb) : _mm512_packus_epi16(wa, wb);
  const __m512i rows = _mm512_permutexvar_epi32(order, bytes);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst_a), _mm512_castsi512_si256(rows));
  if (dst_b != nullptr) _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst_b), _mm512_extracti64x4_epi64(rows, 1));
}

/// Two rows of 32 values already within Out's range (int8 or uint8: a0, a1 the columns 0-15 and 16-31
/// of the first row, b0, b1 of the second) stored as 32 bytes at dst_a and, when dst_b is not null, at
/// dst_b: vpackssdw twice, vpacksswb (vpackuswb for uint8) and one vpermd, exact for such values, in
/// place of four narrowing stores (vpmovdb to memory, the dearest part of a short epilogue).
template <class Out>
QSPARSE_TARGET_AVX512 inline __attribute__((always_inline)) void store_rows_as_bytes(__m512i a0, __m512i a1, __m512i b0, __m512i b1, Out* dst_a,
                                                      Out* dst_b) {
  store_word_rows_as_bytes(_mm512_packs_epi32(a0, a1), _mm512_packs_epi32(b0, b1), dst_a, dst_b);
}

// ---- the packs as the clamp ---------------------------------------------------------------------------
// An 8-bit output whose fast epilogue (after the bias fold) is one round_scale_offset_clamp stage clamping
// to all of Out's range [L, H] can let the narrowing packs clamp. With |acc| <= bound (the bias included)
// and bound * scale <= 2^30, r = round_half_even(acc * scale) converts without overflow, and the
// reference's clamp(r + zp, L, H) is sat8(sat16(sat16(r) + zp)) (vpackssdw, vpaddsw, vpacksswb or
// vpackuswb) for |zp| <= 32767 - 256: when r fits int16 the inner saturations only ever move a value that
// the outer one moves to the same end, and when it does not, sat16(r) + zp is still beyond [L, H] on r's
// side. Three instructions per 16 outputs instead of six, and one vpaddsw per 32 for the zero point.

/// Whether the fast evaluator of Prepared, after the bias fold, is one round_scale_offset_clamp stage and
/// Out is 8-bit: the pipelines whose kernels may store through packs_clamp_exact's packs.
template <class Prepared, class Out>
constexpr bool has_packs_epilogue() {
  constexpr std::size_t s = first_stage_after_bias_fold<true, Prepared>();
  if constexpr (sizeof(Out) == 1 && std::tuple_size_v<Prepared> == s + 1) {
    return std::is_same_v<std::tuple_element_t<s, Prepared>, prepared_round_scale_offset_clamp>;
  } else {
    return false;
  }
}

/// The largest |zero point| for which the packs are the clamp.
inline constexpr std::int64_t packs_zero_point_limit = 32767 - 256;

/// Whether the packs are the clamp (above) for stage p of an Out pipeline, when every lane's |acc + bias|
/// is at most `bound` and every lane's scale at most `max_scale`.
template <class Out>
QSPARSE_TARGET_AVX512 inline bool packs_clamp_exact(const prepared_round_scale_offset_clamp& p, float max_scale,
                                                    std::int64_t bound) {
  // The clamp bounds are L - zp and H - zp for the output range [L, H] (prepare_offset_clamp), per tensor.
  const std::int64_t zp = _mm512_cvtsi512_si32(p.tail.value);
  const std::int64_t low = _mm512_cvtsi512_si32(p.tail.lo) + zp, high = _mm512_cvtsi512_si32(p.tail.hi) + zp;
  return p.float_exact && zp >= -packs_zero_point_limit && zp <= packs_zero_point_limit &&
         low == std::numeric_limits<Out>::min() && high == std::numeric_limits<Out>::max() &&
         static_cast<double>(bound) * static_cast<double>(max_scale) <= 0x1p30;
}

/// The largest |lane| of v (lanes are int32).
QSPARSE_TARGET_AVX512 inline std::int64_t max_magnitude(__m512i v) {
  return std::max(std::int64_t{_mm512_reduce_max_epi32(v)}, -std::int64_t{_mm512_reduce_min_epi32(v)});
}

/// round_half_even(v * scale), unclamped: the stage before packs that clamp.
QSPARSE_TARGET_AVX512 inline __m512i round_scale(__m512i v, __m512 scale) {
  return _mm512_cvt_roundps_epi32(_mm512_mul_ps(_mm512_cvtepi32_ps(v), scale),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

/// store_rows_as_bytes of round_scale values, the packs being the clamp (packs_clamp_exact): offset16 is
/// the output zero point in int16 lanes, added between the two packs with saturation.
template <class Out>
QSPARSE_TARGET_AVX512 inline void store_rows_as_bytes_clamped(__m512i a0, __m512i a1, __m512i b0, __m512i b1,
                                                              __m512i offset16, Out* dst_a, Out* dst_b) {
  store_word_rows_as_bytes(_mm512_adds_epi16(_mm512_packs_epi32(a0, a1), offset16),
                           _mm512_adds_epi16(_mm512_packs_epi32(b0, b1), offset16), dst_a, dst_b);
}

// ---- TFLite's fixed point in 64-bit lanes, zero point folded in -------------------------------------------
// Each of TFLite's roundings (no left shift: right shift r = -shift, multiplier M, S = 31 + r) and the folded
// zero point zp of an 8-bit output are one floor division of the 64-bit product p = x M:
//   result + zp = floor((p + A - [c] E) / 2^S),   A = R + zp 2^S
//   double_rounding       R = 2^30 + h 2^31, E = e 2^31, c: p < -2^30   (h = 2^(r-1), e = 1 for r > 0,
//   double_rounding_up    R = 2^30 + h 2^31, E = 0                        h = e = 0 for r = 0)
//   single_rounding       R = 2^(S-1),       E = 0
//   single_rounding_away  R = 2^(S-1),       E = 1,       c: p < 0
// For the double roundings, SRDHM(x, M) = y = floor((p + 2^30) / 2^31) (rounding_doubling_high_mul), the
// last shift is floor((y + h - [y < 0] e) / 2^r) (ties away) or floor((y + h) / 2^r) (ties up), y < 0
// exactly when p < -2^30, and floor((floor(a / m) + c) / k) = floor((a + c m) / (m k)) for an integer c and
// m, k > 0; the single roundings are their definition. In int64 this is exact when |x| <= 2^30 (|p| < 2^61)
// and |zp| 2^S <= 2^61, and the result fits int32.
// With S >= 32 (r >= 1) the division is two steps, floor(floor(Z / 2^32) / 2^(S-32)): the high halves of
// the even and odd products Z (one vpermt2d gathers them into their lanes) shifted right by S - 32 in
// 32-bit lanes (vpsravd). The correction [c] E then moves into the 32-bit lanes too, from the low halves
// l of Z0 = p + A (a second vpermt2d) and the sign of x: floor((Z0 - 2^31) / 2^32) = hi(Z0) - [l < 2^31]
// and floor((Z0 - 1) / 2^32) = hi(Z0) - [l == 0]; c is x < 0 where M > 2^30 (double_rounding) or M > 0
// (single_rounding_away). Per 16 outputs: 7 instructions (two vpmuldq) for the roundings without a
// correction and 11 with one, where the 32-bit form takes 15 and then 3 for the zero point and the
// clamp. The clamp to [L, H] is the packs where [L, H] is all of int8 / uint8, else vpmaxsd / vpminsd.
struct alignas(64) fixed_point_packs {
  __m512i multiplier;      // M per lane (vpmuldq reads the even lanes)
  __m512i multiplier_odd;  // the odd lanes' M in the even lanes
  __m512i add_even;        // A of the even lanes, in 64-bit lanes
  __m512i add_odd;         // A of the odd lanes
  __m512i shift;           // S - 32 per lane
  __m512i lo, hi;          // the clamp [L, H] after the zero point
  bool full_range;         // [L, H] is all of Out's range: the packs clamp
};

template <class P>
struct fixed_point_stage_rounding {
  using type = void;
};
template <class R>
struct fixed_point_stage_rounding<prepared_fixed_point<R>> {
  using type = R;
};

template <class R>
inline constexpr bool has_fixed_point_packs_form_v =
    std::is_same_v<R, double_rounding> || std::is_same_v<R, double_rounding_up> ||
    std::is_same_v<R, single_rounding> || std::is_same_v<R, single_rounding_away>;

/// Whether the fast evaluator of Prepared, after the bias fold, is a TFLite fixed point then the folded
/// zero point and clamps, and Out is 8-bit: the pipelines whose kernels may store through
/// prepare_fixed_point_packs's form.
template <class Prepared, class Out>
constexpr bool has_fixed_point_packs_epilogue() {
  constexpr std::size_t s = first_stage_after_bias_fold<true, Prepared>();
  if constexpr (sizeof(Out) == 1 && std::tuple_size_v<Prepared> == s + 2) {
    using R = typename fixed_point_stage_rounding<std::tuple_element_t<s, Prepared>>::type;
    if constexpr (!std::is_void_v<R>) {
      return has_fixed_point_packs_form_v<R> && std::is_same_v<std::tuple_element_t<s + 1, Prepared>, prepared_add_constant>;
    } else {
      return false;
    }
  } else {
    return false;
  }
}

/// The rounding of stage s of Prepared (for has_fixed_point_packs_epilogue pipelines).
template <class Prepared, std::size_t S>
using fixed_point_rounding_t = typename fixed_point_stage_rounding<std::tuple_element_t<S, Prepared>>::type;

/// The form's constants from the multipliers M, the right shifts r (lanes in [1, 31]), the zero point and
/// the clamp [low, high] after it, for a pipeline where the form is exact.
template <class R>
QSPARSE_TARGET_AVX512 inline void fill_fixed_point_packs(__m512i multiplier, __m512i r, std::int64_t zp, std::int64_t low,
                                                         std::int64_t high, bool full_range, fixed_point_packs& k) {
  constexpr bool doubled = std::is_same_v<R, double_rounding> || std::is_same_v<R, double_rounding_up>;
  // A = [2^30] + 2^(30+r) + zp 2^(31+r) per 64-bit lane.
  const __m512i one = _mm512_set1_epi64(1), two_zp = _mm512_set1_epi64(2 * zp), thirty = _mm512_set1_epi64(30);
  const __m512i base = _mm512_set1_epi64(doubled ? std::int64_t{1} << 30 : 0);
  const __m512i count_even = _mm512_add_epi64(_mm512_and_si512(r, _mm512_set1_epi64(0xFFFFFFFF)), thirty);
  const __m512i count_odd = _mm512_add_epi64(_mm512_srli_epi64(r, 32), thirty);
  k.multiplier = multiplier;
  k.multiplier_odd = _mm512_srli_epi64(multiplier, 32);
  k.add_even = _mm512_add_epi64(_mm512_add_epi64(base, _mm512_sllv_epi64(one, count_even)),
                                _mm512_sllv_epi64(two_zp, count_even));
  k.add_odd = _mm512_add_epi64(_mm512_add_epi64(base, _mm512_sllv_epi64(one, count_odd)),
                               _mm512_sllv_epi64(two_zp, count_odd));
  k.shift = _mm512_sub_epi32(r, _mm512_set1_epi32(1));
  k.lo = _mm512_set1_epi32(static_cast<std::int32_t>(low));
  k.hi = _mm512_set1_epi32(static_cast<std::int32_t>(high));
  k.full_range = full_range;
}

/// The largest right shift r with |zp| 2^(31+r) <= 2^61: 30 - b for the least b with |zp| <= 2^b.
inline int fixed_point_packs_max_right_shift(std::int64_t zp) {
  const auto magnitude = static_cast<std::uint64_t>(zp < 0 ? -zp : zp);
  return magnitude == 0 ? 31 : (magnitude == 1 ? 30 : 30 - (64 - __builtin_clzll(magnitude - 1)));
}

/// The constants of the 64-bit form (above) for stages fp, tail of an Out pipeline whose accumulators
/// (the bias included) are at most `bound` in magnitude; false, leaving k unspecified, where the form is
/// not exact: fp not plain, a right shift of 0, bound > 2^30, |zp| 2^S > 2^61, a multiplier without the
/// correction's sign condition, or a clamp outside Out's range.
template <class Out, class R>
QSPARSE_TARGET_AVX512 inline bool prepare_fixed_point_packs(const prepared_fixed_point<R>& fp,
                                                            const prepared_add_constant& tail, std::int64_t bound,
                                                            fixed_point_packs& k) {
  static_assert(has_fixed_point_packs_form_v<R>, "qsparse: a rounding without the 64-bit form");
  const std::int64_t zp = _mm512_cvtsi512_si32(tail.value);
  const std::int64_t low = _mm512_cvtsi512_si32(tail.lo) + zp, high = _mm512_cvtsi512_si32(tail.hi) + zp;
  if (!fp.plain || low < std::numeric_limits<Out>::min() || high > std::numeric_limits<Out>::max() || low > high ||
      bound > (std::int64_t{1} << 30))
    return false;
  // Vector code: kernels prepare this once per panel, for deep K once per tile.
  const int r_max = fixed_point_packs_max_right_shift(zp);
  const __m512i r = fp.right;  // in [0, 31]
  __mmask16 ok = _mm512_cmpgt_epi32_mask(r, _mm512_setzero_si512()) &
                 _mm512_cmpgt_epi32_mask(_mm512_set1_epi32(r_max + 1), r);
  if constexpr (std::is_same_v<R, double_rounding>) {
    ok &= _mm512_cmpgt_epi32_mask(fp.multiplier, _mm512_set1_epi32(1 << 30));
  } else if constexpr (std::is_same_v<R, single_rounding_away>) {
    ok &= _mm512_cmpgt_epi32_mask(fp.multiplier, _mm512_setzero_si512());
  }
  if (ok != 0xFFFF) return false;
  fill_fixed_point_packs<R>(fp.multiplier, r, zp, low, high,
                            low == std::numeric_limits<Out>::min() && high == std::numeric_limits<Out>::max(), k);
  return true;
}

/// The fixed point of rounding R plus zp per lane by the 64-bit form, unclamped (k from
/// prepare_fixed_point_packs).
template <class R>
QSPARSE_TARGET_AVX512 inline __attribute__((always_inline)) __m512i fixed_point_offset(__m512i x,
                                                                                      const fixed_point_packs& k) {
  const __m512i high_halves = _mm512_setr_epi32(1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31);
  const __m512i even = _mm512_add_epi64(_mm512_mul_epi32(x, k.multiplier), k.add_even);
  const __m512i odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), k.multiplier_odd), k.add_odd);
  __m512i h = _mm512_permutex2var_epi32(even, high_halves, odd);
  if constexpr (std::is_same_v<R, double_rounding> || std::is_same_v<R, single_rounding_away>) {
    const __m512i low_halves = _mm512_setr_epi32(0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30);
    const __m512i l = _mm512_permutex2var_epi32(even, low_halves, odd);
    __mmask16 fix;
    if constexpr (std::is_same_v<R, double_rounding>) {
      fix = _mm512_movepi32_mask(_mm512_andnot_si512(l, x));  // x < 0 and l < 2^31
    } else {
      fix = _mm512_mask_testn_epi32_mask(_mm512_movepi32_mask(x), l, l);  // x < 0 and l == 0
    }
    h = _mm512_mask_sub_epi32(h, fix, h, _mm512_set1_epi32(1));
  }
  return _mm512_srav_epi32(h, k.shift);
}

/// fixed_point_offset clamped to [L, H] (when Clamp; the packs clamp all of Out's range).
template <class R, bool Clamp>
QSPARSE_TARGET_AVX512 inline __attribute__((always_inline)) __m512i fixed_point_offset_clamp(__m512i x, const fixed_point_packs& k) {
  const __m512i v = fixed_point_offset<R>(x, k);
  if constexpr (Clamp) {
    return _mm512_min_epi32(_mm512_max_epi32(v, k.lo), k.hi);
  } else {
    return v;
  }
}

// ---- the 64-bit form straight from the pipeline's arrays ------------------------------------------------------
// For the pipelines TFLite's int8 layers use, the form's constants come from the bias, multiplier and shift
// arrays directly: what the call fixes (the composed clamp, the zero point, the largest right shift it allows,
// the accumulators' bound) once per call (plan_fixed_point_packs), then per 16 columns the masked loads, the
// form's conditions per lane and its constants (prepare_fixed_point_packs_direct), without the generic
// prepared stages that prepare() and prepare_fixed_point_packs build on the way (bias bounds and reductions,
// the 32-bit form's shift parts, the folded tail): for shallow K and few rows a panel's epilogue is mostly
// its preparation.

/// The pipelines with that preparation: bias_add, requantize_fixed_point(_per_channel)<R> (R with the 64-bit
/// form), add_zero_point, then clamps / saturating casts, with an 8-bit output.
template <class Pipeline>
struct fixed_point_packs_pipeline : std::false_type {};
template <class R, class Q, class... C>
struct fixed_point_packs_pipeline_of
    : std::bool_constant<sizeof...(C) >= 1 && (is_int_clamp<C>::value && ...) && has_fixed_point_packs_form_v<R> &&
                         sizeof(typename output_pipeline<bias_add, Q, add_zero_point, C...>::output_type) == 1> {
  using rounding = R;
};
template <class R, class... C>
struct fixed_point_packs_pipeline<output_pipeline<bias_add, requantize_fixed_point_per_channel<R>, add_zero_point, C...>>
    : fixed_point_packs_pipeline_of<R, requantize_fixed_point_per_channel<R>, C...> {};
template <class R, class... C>
struct fixed_point_packs_pipeline<output_pipeline<bias_add, requantize_fixed_point<R>, add_zero_point, C...>>
    : fixed_point_packs_pipeline_of<R, requantize_fixed_point<R>, C...> {};

/// What one call fixes for every panel of a fixed_point_packs_pipeline: usable is false where the form
/// cannot be exact for any column (a clamp outside Out's range, accumulators' bound beyond 2^30).
struct fixed_point_packs_plan {
  std::int64_t zero_point = 0, low = 0, high = 0, bias_limit = 0;  // bias_limit = 2^30 - bound
  int r_max = 0;
  bool usable = false, full_range = false;
};

template <class T>
inline void compose_clamp_stage(const T& s, std::int64_t& lo, std::int64_t& hi) {
  if constexpr (is_int_clamp<T>::value) compose_clamp(s, lo, hi);
}

/// The plan of pipeline p (a fixed_point_packs_pipeline) for accumulators |acc| <= bound.
template <class... S>
inline fixed_point_packs_plan plan_fixed_point_packs(const output_pipeline<S...>& p, std::int64_t bound) {
  using Out = typename output_pipeline<S...>::output_type;
  fixed_point_packs_plan plan;
  std::int64_t lo = INT32_MIN, hi = INT32_MAX;
  std::apply([&](const auto&... s) { (compose_clamp_stage(s, lo, hi), ...); }, p.stages);
  plan.zero_point = std::get<2>(p.stages).zero_point;
  plan.low = lo;
  plan.high = hi;
  plan.bias_limit = (std::int64_t{1} << 30) - bound;
  plan.r_max = fixed_point_packs_max_right_shift(plan.zero_point);
  plan.usable = lo >= std::numeric_limits<Out>::min() && hi <= std::numeric_limits<Out>::max() && lo <= hi &&
                bound >= 0 && bound <= (std::int64_t{1} << 30);
  plan.full_range = lo == std::numeric_limits<Out>::min() && hi == std::numeric_limits<Out>::max();
  return plan;
}

/// The form of columns n .. n+15 (lanes outside `mask` are not read) of p under `plan` (usable): the bias in
/// `bias` (0 outside the mask), the constants in k; false, leaving both unspecified, where some lane is not
/// exact: a right shift outside [1, r_max] (no left shift), |bias| > 2^30 - bound, or a multiplier without
/// the rounding's condition (double_rounding: M > 2^30, single_rounding_away: M > 0, the others:
/// M != INT32_MIN). Lanes outside the mask get harmless parameters and never reach the output.
template <class... S>
QSPARSE_TARGET_AVX512 inline bool prepare_fixed_point_packs_direct(const output_pipeline<S...>& p,
                                                                   const fixed_point_packs_plan& plan, std::ptrdiff_t n,
                                                                   __mmask16 mask, __m512i& bias, fixed_point_packs& k) {
  using Q = std::decay_t<decltype(std::get<1>(p.stages))>;
  using R = typename fixed_point_packs_pipeline<output_pipeline<S...>>::rounding;
  const auto& rq = std::get<1>(p.stages);
  __m512i multiplier, shift;
  if constexpr (std::is_same_v<Q, requantize_fixed_point<R>>) {
    multiplier = _mm512_set1_epi32(rq.multiplier.multiplier);
    shift = _mm512_set1_epi32(rq.multiplier.shift);
  } else {
    multiplier = _mm512_mask_loadu_epi32(_mm512_set1_epi32((1 << 30) + 1), mask, rq.multipliers + n);
    shift = _mm512_mask_loadu_epi32(_mm512_set1_epi32(-1), mask, rq.shifts + n);
  }
  bias = _mm512_maskz_loadu_epi32(mask, std::get<0>(p.stages).bias + n);
  const __m512i r = _mm512_sub_epi32(_mm512_setzero_si512(), shift);
  __mmask16 ok = _mm512_cmpgt_epi32_mask(r, _mm512_setzero_si512()) &
                 _mm512_cmple_epi32_mask(r, _mm512_set1_epi32(plan.r_max));
  // |INT32_MIN| wraps to 2^31 as unsigned: refused.
  ok &= _mm512_cmple_epu32_mask(_mm512_abs_epi32(bias), _mm512_set1_epi32(static_cast<std::int32_t>(plan.bias_limit)));
  if constexpr (std::is_same_v<R, double_rounding>) {
    ok &= _mm512_cmpgt_epi32_mask(multiplier, _mm512_set1_epi32(1 << 30));
  } else if constexpr (std::is_same_v<R, single_rounding_away>) {
    ok &= _mm512_cmpgt_epi32_mask(multiplier, _mm512_setzero_si512());
  } else {
    ok &= _mm512_cmpneq_epi32_mask(multiplier, _mm512_set1_epi32(INT32_MIN));
  }
  if (ok != 0xFFFF) return false;
  fill_fixed_point_packs<R>(multiplier, r, plan.zero_point, plan.low, plan.high, plan.full_range, k);
  return true;
}

/// Applies prepared stages to 16 accumulators of one row and stores the lanes in `mask` as Out, by the
/// fast evaluator when Fast (the same bits when fast_path_exact(prepared) and the accumulators are
/// within the bound given to prepare).
template <bool Fast = false, class Out, class Prepared>
QSPARSE_TARGET_AVX512 inline void store_prepared(const Prepared& prepared, __m512i acc, __mmask16 mask, Out* dst) {
  store_lanes(apply_all<0, Fast>(prepared, acc), mask, dst);
}

/// store_prepared for 16 accumulators of output row m: the evaluator of pipelines with a row stage
/// (has_row_stage), the generic one for the others.
template <class Out, class Prepared>
QSPARSE_TARGET_AVX512 inline void store_prepared_at(const Prepared& prepared, __m512i acc, std::ptrdiff_t m,
                                                    __mmask16 mask, Out* dst) {
  store_lanes(apply_all_at<0>(prepared, acc, m), mask, dst);
}

/// store_prepared by the fast evaluator.
template <class Out, class Prepared>
QSPARSE_TARGET_AVX512 inline void store_prepared_fast(const Prepared& prepared, __m512i acc, __mmask16 mask, Out* dst) {
  store_prepared<true>(prepared, acc, mask, dst);
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
