// qsparse/kernels/avx2/dwconv_s8s8_s32_c8.hpp — depthwise convolution on AVX2: 8 channels per vector
// over an output row's indirection table (qsparse/spec/dwconv_args.hpp).
//
// Per tap and 8 channels: vpmovsxbd widens the int8 inputs to int32, vpmaddwd multiplies them by the
// packed weights (int16 in the low half of each int32 lane, 0 in the high half: the pair sum is
// exactly x * w), vpaddd accumulates. A channel tail (< 8) is read through a zero-padded copy of the
// 8 bytes, so no load passes the end of an input row.
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

  /// Taps: the tap count when known at compile time (9, a 3x3 kernel: the loop unrolls and the
  /// accumulators stay in registers), 0 for g.tap_count.
  template <bool Tail, int Taps, class Prepared, class Out>
  QSPARSE_TARGET_AVX2 static void block(const dwconv_args<Out>& g, const Prepared& prepared, std::ptrdiff_t c0,
                                        int count, __m256i mask) {
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
      store_prepared(prepared, acc0, count, mask, g.dst + p * g.channels + c0);
      store_prepared(prepared, acc1, count, mask, g.dst + (p + 1) * g.channels + c0);
    }
    for (; p < g.pixels; ++p) {
      const std::int8_t* const* t0 = g.taps + p * taps;
      __m256i acc0 = init;
#pragma GCC unroll 9
      for (std::ptrdiff_t t = 0; t < taps; ++t) {
        const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + t * ws));
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(load_s8x8_epi32<Tail>(t0[t] + c0, count), wv));
      }
      store_prepared(prepared, acc0, count, mask, g.dst + p * g.channels + c0);
    }
  }

  template <class... S>
  QSPARSE_TARGET_AVX2 static void run(const dwconv_args<typename output_pipeline<S...>::output_type>& g,
                                      const output_pipeline<S...>& pipeline) {
    for (std::ptrdiff_t c0 = 0; c0 < g.channels; c0 += 8) {
      const int count = static_cast<int>(g.channels - c0 < 8 ? g.channels - c0 : 8);
      const __m256i mask = lane_mask(count);
      const auto prepared = prepare(pipeline, c0, mask);
      if (count == 8) {
        if (g.tap_count == 9) {
          block<false, 9>(g, prepared, c0, count, mask);
        } else {
          block<false, 0>(g, prepared, c0, count, mask);
        }
      } else {
        block<true, 0>(g, prepared, c0, count, mask);
      }
    }
  }
};

}  // namespace avx2
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
