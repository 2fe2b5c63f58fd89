// qsparse/kernels/avx2/shallow_epilogue.hpp — the epilogue of the 256-bit shallow-K GEMM tiles (AVX2
// avx2/gemm_x8s8_s32_6x16c2.hpp, AVX-VNNI avxvnni/gemm_u8s8_s32_6x16c4.hpp): 16 columns of a panel prepared
// once (shallow_half), applied to the accumulators of a tile's rows in registers.
//
// At K <= 32 a tile's multiply-adds are 14 (AVX2) or 7 (AVX-VNNI) instructions per 8 outputs, so the
// epilogue's share decides the speed. Three forms, chosen once per panel half:
//   * packs: an 8-bit pipeline bias_add, requantize_float(_per_channel), add_zero_point, clamps whose clamp is
//     all of the output's range. The bias starts the accumulators (exact when bound + |bias| fits int32:
//     int32 adds then never saturate, and they wrap associatively), then round_half_even(acc * scale)
//     (vcvtdq2ps, vmulps, vroundps, vcvttps2dq: no overflow when (bound + |bias|) * scale <= 2^30) and the
//     narrowing packs as the clamp: clamp(r + zp, L, H) = sat8(sat16(sat16(r) + zp)) for |zp| <= 32767 - 256
//     (the argument of avx512::packs_clamp_exact); two rows of 16 leave in one vpacksswb and one vpermd.
//   * fixed_point: TFLite's fixed point by avx2::fixed_point_form, the bias starting the accumulators (the
//     form holds only where |acc| + |bias| <= 2^30), then the same packs, which are the clamp when it is all
//     of Out's range (sat8(sat16(v)) = clamp(v, L, H) for any int32 v; a narrower clamp is applied first).
//   * generic: avx2::prepare / store_prepared on 8 columns at a time (any pipeline, partial columns).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <tuple>
#include <type_traits>

#include "qsparse/core/config.hpp"
#include "qsparse/kernels/avx2/output_pipeline.hpp"
#include "qsparse/spec/output_stages.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx2 {

/// packs_nearest is packs with one vcvtps2dq in place of vroundps + vcvttps2dq, taken where MXCSR rounds to
/// nearest (checked once per panel half): the same round_half_even, 2 instructions fewer per 8 outputs.
enum class shallow_epilogue { generic, packs, packs_nearest, fixed_point };

template <class T>
struct is_float_requantize : std::false_type {};
template <>
struct is_float_requantize<requantize_float> : std::true_type {};
template <>
struct is_float_requantize<requantize_float_per_channel> : std::true_type {};

/// The pipelines the packs form may take: bias_add, requantize_float(_per_channel), add_zero_point, clamps,
/// an 8-bit output.
template <class Pipeline>
struct float_packs_pipeline : std::false_type {};
template <class RQ, class... C>
struct float_packs_pipeline<output_pipeline<bias_add, RQ, add_zero_point, C...>>
    : std::bool_constant<is_float_requantize<RQ>::value && (is_clamp_stage<C>::value && ...) &&
                         sizeof(typename output_pipeline<bias_add, RQ, add_zero_point, C...>::output_type) == 1> {};

/// 16 columns of a panel, prepared once for every tile that meets them.
template <class Pipeline>
struct alignas(32) shallow_half {
  using prepared_type = decltype(prepare(std::declval<const Pipeline&>(), std::ptrdiff_t{0}, _mm256_setzero_si256()));
  __m256i init[2];  // the accumulators' start: the zero-point term, plus the bias on the packs form
  __m256i mask[2];
  __m256 scale[2];   // packs
  __m256i offset16;  // packs: the output zero point in int16 lanes
  fixed_point_form form[2];
  prepared_type prepared[2];
  int count[2];
  bool clamp;  // fixed point: the composed clamp is narrower than Out's range
  shallow_epilogue form_kind;
};

/// The largest |lane| of v.
QSPARSE_TARGET_AVX2 inline std::int64_t max_magnitude(__m256i v) {
  alignas(32) std::int32_t lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), v);
  std::int64_t most = 0;
  for (std::int32_t x : lanes) most = std::max<std::int64_t>(most, x < 0 ? -std::int64_t{x} : std::int64_t{x});
  return most;
}

/// Columns n0 .. n0 + columns - 1 (1 <= columns <= 16) of `pipeline`; term0 / term1 are the accumulators'
/// start for columns 0-7 and 8-15; `bound` bounds |Σ (a - a_zp)(w - w_zp)| (the accumulators less their start).
template <class... S>
QSPARSE_TARGET_AVX2 inline void prepare_shallow_half(const output_pipeline<S...>& pipeline, std::ptrdiff_t n0,
                                                     std::ptrdiff_t columns, __m256i term0, __m256i term1,
                                                     std::int64_t bound, shallow_half<output_pipeline<S...>>& h) {
  using P = output_pipeline<S...>;
  using out_type = typename P::output_type;
  h.init[0] = term0;
  h.init[1] = term1;
  h.form_kind = shallow_epilogue::generic;
  h.clamp = true;
  for (int j = 0; j < 2; ++j) {
    const std::ptrdiff_t left = columns - 8 * j;
    h.count[j] = static_cast<int>(left >= 8 ? 8 : (left > 0 ? left : 0));
    h.mask[j] = lane_mask(h.count[j]);
    h.prepared[j] = prepare(pipeline, n0 + 8 * j, h.mask[j]);
  }
  if (columns != 16) return;
  if constexpr (float_packs_pipeline<P>::value) {
    const std::int64_t zp = std::get<2>(pipeline.stages).zero_point;
    std::int64_t lo = INT32_MIN, hi = INT32_MAX;
    std::apply([&](const auto&... s) { (compose_clamp_bounds_tail(s, lo, hi), ...); }, pipeline.stages);
    const __m256i bias0 = std::get<0>(h.prepared[0]).value, bias1 = std::get<0>(h.prepared[1]).value;
    const std::int64_t with_bias = bound + std::max(max_magnitude(bias0), max_magnitude(bias1));
    const __m256 magnitude = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), _mm256_max_ps(
        _mm256_andnot_ps(_mm256_set1_ps(-0.0f), std::get<1>(h.prepared[0]).scale), std::get<1>(h.prepared[1]).scale));
    alignas(32) float scales[8];
    _mm256_store_ps(scales, magnitude);
    float max_scale = 0;
    for (float s : scales) max_scale = std::max(max_scale, s);  // NaN scales fail the test below
    if (zp >= -(32767 - 256) && zp <= 32767 - 256 && lo == std::numeric_limits<out_type>::min() &&
        hi == std::numeric_limits<out_type>::max() && with_bias <= INT32_MAX &&
        static_cast<double>(with_bias) * static_cast<double>(max_scale) <= 0x1p30) {
      h.init[0] = _mm256_add_epi32(term0, bias0);
      h.init[1] = _mm256_add_epi32(term1, bias1);
      h.scale[0] = std::get<1>(h.prepared[0]).scale;
      h.scale[1] = std::get<1>(h.prepared[1]).scale;
      h.offset16 = _mm256_set1_epi16(static_cast<short>(zp));
      h.form_kind = (_mm_getcsr() & 0x6000u) == 0 ? shallow_epilogue::packs_nearest : shallow_epilogue::packs;
    }
  }
  if constexpr (fixed_point_form_pipeline<P>::value) {
    if (prepare_fixed_point_form(pipeline, n0, h.mask[0], bound, h.form[0]) &&
        prepare_fixed_point_form(pipeline, n0 + 8, h.mask[1], bound, h.form[1])) {
      // The form holds only where |acc| + |bias| <= 2^30: the bias starts the accumulators exactly.
      h.init[0] = _mm256_add_epi32(term0, h.form[0].bias);
      h.init[1] = _mm256_add_epi32(term1, h.form[1].bias);
      // The packs saturate: sat8(sat16(v)) is the clamp to all of Out's range, exact for any int32 v.
      const std::int32_t lo = _mm256_cvtsi256_si32(h.form[0].lo), hi = _mm256_cvtsi256_si32(h.form[0].hi);
      h.clamp = lo != std::numeric_limits<out_type>::min() || hi != std::numeric_limits<out_type>::max();
      h.form_kind = shallow_epilogue::fixed_point;
    }
  }
}

/// Calls run(std::integral_constant<shallow_epilogue, F>{}) once, F the form h.form_kind names among those
/// Pipeline can take (generic for the rest): each shallow tile's one choice of epilogue per panel half.
template <class Pipeline, class Run>
inline void with_shallow_form(const shallow_half<Pipeline>& h, Run&& run) {
  using form = shallow_epilogue;
  if constexpr (float_packs_pipeline<Pipeline>::value) {
    if (h.form_kind == form::packs_nearest) return run(std::integral_constant<form, form::packs_nearest>{});
    if (h.form_kind == form::packs) return run(std::integral_constant<form, form::packs>{});
  }
  if constexpr (fixed_point_form_pipeline<Pipeline>::value) {
    if (h.form_kind == form::fixed_point) return run(std::integral_constant<form, form::fixed_point>{});
  }
  run(std::integral_constant<form, form::generic>{});
}

/// Two rows of 16 int16 values (wa, wb: vpackssdw of columns 0-7 and 8-15) narrowed with saturation to Out
/// and stored as 16 bytes at dst_a and, when dst_b is not null, at dst_b. After the packs, 128-bit lane L
/// holds 4 bytes of each packed vector (columns 4L .. 4L+3 of each half): one vpermd restores the order.
template <class Out>
QSPARSE_TARGET_AVX2 inline __attribute__((always_inline)) void store_word_rows16(__m256i wa, __m256i wb, Out* dst_a,
                                                                               Out* dst_b) {
  static_assert(sizeof(Out) == 1, "store_word_rows16 stores int8 or uint8 values");
  const __m256i bytes = std::is_same_v<Out, std::int8_t> ? _mm256_packs_epi16(wa, wb) : _mm256_packus_epi16(wa, wb);
  const __m256i rows = _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(dst_a), _mm256_castsi256_si128(rows));
  if (dst_b != nullptr) _mm_storeu_si128(reinterpret_cast<__m128i*>(dst_b), _mm256_extracti128_si256(rows, 1));
}

/// round_half_even(v * scale) without overflow handling (the packs form's bound excludes it), independent
/// of MXCSR's rounding mode.
QSPARSE_TARGET_AVX2 inline __attribute__((always_inline)) __m256i round_scale(__m256i v, __m256 scale) {
  return _mm256_cvttps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(v), scale),
                                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

/// MR rows of 16 accumulators (acc[r][0]: columns 0-7, acc[r][1]: 8-15) through the half's epilogue E,
/// stored at dst + r * ldd. Through is true where the sums must go through memory for every E (below).
template <int MR, shallow_epilogue E, bool Through = false, class Pipeline, class Out>
QSPARSE_TARGET_AVX2 inline __attribute__((always_inline)) void store_shallow_rows(
    const shallow_half<Pipeline>& h, const __m256i (&sums)[std::size_t{MR}][2], Out* dst, std::ptrdiff_t ldd) {
  // The long epilogues (fixed point, generic) take the sums through an L1 tile behind a compiler barrier:
  // otherwise GCC 12 keeps their constants in registers across the k loop and spills accumulators there.
  // So does every epilogue after vpdpbusd (Through): GCC 12 copies each accumulator to a scratch
  // register, to the stack and back around every vpdpbusd when the sums flow into any epilogue.
  constexpr bool through = Through || E == shallow_epilogue::generic || E == shallow_epilogue::fixed_point;
  alignas(32) __m256i tile[std::size_t{MR}][2];
  if constexpr (through) {
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      tile[r][0] = sums[r][0];
      tile[r][1] = sums[r][1];
    }
    __asm__ volatile("" : : "r"(&tile[0][0]) : "memory");
  }
  const __m256i(&acc)[std::size_t{MR}][2] = through ? tile : sums;
  if constexpr (E == shallow_epilogue::generic) {
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      store_prepared(h.prepared[0], acc[r][0], h.count[0], h.mask[0], dst + r * ldd);
      if (h.count[1] > 0) store_prepared(h.prepared[1], acc[r][1], h.count[1], h.mask[1], dst + r * ldd + 8);
    }
  } else {
    __m256i words[std::size_t{MR}];
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      if constexpr (E == shallow_epilogue::packs) {
        words[r] = _mm256_adds_epi16(
            _mm256_packs_epi32(round_scale(acc[r][0], h.scale[0]), round_scale(acc[r][1], h.scale[1])), h.offset16);
      } else if constexpr (E == shallow_epilogue::packs_nearest) {
        words[r] = _mm256_adds_epi16(
            _mm256_packs_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_cvtepi32_ps(acc[r][0]), h.scale[0])),
                               _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_cvtepi32_ps(acc[r][1]), h.scale[1]))),
            h.offset16);
      } else {
        using R = typename fixed_point_form_pipeline<Pipeline>::rounding;
        __m256i v0 = fixed_point_form_unclamped<R>(acc[r][0], h.form[0]);
        __m256i v1 = fixed_point_form_unclamped<R>(acc[r][1], h.form[1]);
        if (h.clamp) {
          v0 = _mm256_min_epi32(_mm256_max_epi32(v0, h.form[0].lo), h.form[0].hi);
          v1 = _mm256_min_epi32(_mm256_max_epi32(v1, h.form[1].lo), h.form[1].hi);
        }
        words[r] = _mm256_packs_epi32(v0, v1);
      }
    }
#pragma GCC unroll 3
    for (int r = 0; r < MR; r += 2) {
      const int r1 = r + 1 < MR ? r + 1 : r;
      store_word_rows16(words[r], words[r1], dst + r * ldd, r1 != r ? dst + r1 * ldd : nullptr);
    }
  }
}

}  // namespace avx2
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
