// qsparse/kernels/avx2/dwconv_s8s8_s32_c8.hpp — depthwise convolution on AVX2: 8 channels per vector
// over an output row's indirection table (qsparse/spec/dwconv_args.hpp).
//
// Per tap and 8 channels: vpmovsxbd widens the int8 inputs to int32, vpmaddwd multiplies them by the
// packed weights (int16 in the low half of each int32 lane, 0 in the high half: the pair sum is
// exactly x * w), vpaddd accumulates. A channel tail (< 8) is read through a zero-padded copy of the
// 8 bytes, so no load passes the end of an input row.
//
// TFLite's fixed point (fixed_point_form_pipeline: bias, requantize_fixed_point(_per_channel), zero point,
// clamps, 8-bit output) stores through avx2::fixed_point_form where prepare_fixed_point_form says it is
// exact for the 8 channels: 13 instructions per 8 outputs (17 with the correction) instead of about 40 of
// saturating 32-bit stages; elsewhere the stages run one by one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx2/output_pipeline.hpp"
#include "qsparse/spec/dwconv_args.hpp"
#include "qsparse/spec/output_stages.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx2 {

/// 8 int8 at p (only `count` < 8 of them readable when Tail) sign-extended to int32.
template <bool Tail>
QSPARSE_TARGET_AVX2 inline __m256i load_s8x8_epi32(const std::int8_t* p, int count) {
  if constexpr (Tail) {
    std::int64_t word = 0;
    std::memcpy(&word, p, static_cast<std::size_t>(count));
    return _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(word));
  } else {
    (void)count;
    return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  }
}

struct dwconv_s8s8_s32_c8 {
  static constexpr int channel_block = 8;
  static constexpr isa_level isa = isa_level::avx2;
  static const char* name() { return "dwconv_s8s8_s32_c8__avx2"; }

  /// The epilogue of block by the prepared stages.
  template <class Prepared>
  struct prepared_store {
    const Prepared& prepared;
    __m256i mask;
    template <class Out>
    QSPARSE_TARGET_AVX2 inline __attribute__((always_inline)) void operator()(__m256i acc, int count, Out* dst) const {
      store_prepared(prepared, acc, count, mask, dst);
    }
  };

  /// The epilogue of block by avx2::fixed_point_form of rounding R (clamped there, in Out's range).
  template <class R>
  struct form_store {
    fixed_point_form form;
    template <class Out>
    QSPARSE_TARGET_AVX2 inline __attribute__((always_inline)) void operator()(__m256i acc, int count, Out* dst) const {
      store_bytes(fixed_point_form_apply<R>(acc, form), count, dst);
    }
  };

  /// Taps: the tap count when known at compile time (9, a 3x3 kernel: the loop unrolls and the
  /// accumulators stay in registers), 0 for g.tap_count. Store: prepared_store or form_store.
  template <bool Tail, int Taps, class Store, class Out>
  QSPARSE_TARGET_AVX2 static void block(const dwconv_args<Out>& g, const Store& store_arg, std::ptrdiff_t c0,
                                        int count) {
    const Store store = store_arg;
    const std::ptrdiff_t taps = Taps != 0 ? Taps : g.tap_count;
    const __m256i init = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(g.init + c0));
    const std::int32_t* w = g.weights + c0;
    const std::ptrdiff_t ws = g.channels_padded;
    std::ptrdiff_t p = 0;
    for (; p + 2 <= g.pixels; p += 2) {
      const std::int8_t* const* t0 = g.taps + p * taps;
      const std::int8_t* const* t1 = t0 + taps;
      __m256i acc0 = init, acc1 = init;
#pragma GCC unroll 9
      for (std::ptrdiff_t t = 0; t < taps; ++t) {
        const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + t * ws));
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(load_s8x8_epi32<Tail>(t0[t] + c0, count), wv));
        acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(load_s8x8_epi32<Tail>(t1[t] + c0, count), wv));
      }
      store(acc0, count, g.dst + p * g.channels + c0);
      store(acc1, count, g.dst + (p + 1) * g.channels + c0);
    }
    for (; p < g.pixels; ++p) {
      const std::int8_t* const* t0 = g.taps + p * taps;
      __m256i acc0 = init;
#pragma GCC unroll 9
      for (std::ptrdiff_t t = 0; t < taps; ++t) {
        const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + t * ws));
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(load_s8x8_epi32<Tail>(t0[t] + c0, count), wv));
      }
      store(acc0, count, g.dst + p * g.channels + c0);
    }
  }

  /// The 8 channels from c0 (count of them) with `store`.
  template <class Store, class Out>
  QSPARSE_TARGET_AVX2 static void channels8(const dwconv_args<Out>& g, const Store& store, std::ptrdiff_t c0, int count) {
    if (count == 8) {
      if (g.tap_count == 9) {
        block<false, 9>(g, store, c0, count);
      } else {
        block<false, 0>(g, store, c0, count);
      }
    } else {
      block<true, 0>(g, store, c0, count);
    }
  }

  template <class... S>
  QSPARSE_TARGET_AVX2 static void run(const dwconv_args<typename output_pipeline<S...>::output_type>& g,
                                      const output_pipeline<S...>& pipeline) {
    using pipeline_type = output_pipeline<S...>;
    for (std::ptrdiff_t c0 = 0; c0 < g.channels; c0 += 8) {
      const int count = static_cast<int>(g.channels - c0 < 8 ? g.channels - c0 : 8);
      const __m256i mask = lane_mask(count);
      if constexpr (fixed_point_form_pipeline<pipeline_type>::value) {
        form_store<typename fixed_point_form_pipeline<pipeline_type>::rounding> store;
        if (prepare_fixed_point_form(pipeline, c0, mask, g.accumulator_bound, store.form)) {
          channels8(g, store, c0, count);
          continue;
        }
      }
      const auto prepared = prepare(pipeline, c0, mask);
      channels8(g, prepared_store<decltype(prepared)>{prepared, mask}, c0, count);
    }
  }
};

}  // namespace avx2
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
