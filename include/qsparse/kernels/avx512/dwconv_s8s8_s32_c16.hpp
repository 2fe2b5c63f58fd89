// qsparse/kernels/avx512/dwconv_s8s8_s32_c16.hpp — depthwise convolution on AVX-512BW: 16 channels
// per vector over an output row's indirection table (qsparse/spec/dwconv_args.hpp).
//
// Per tap and 16 channels: vpmovsxbd loads the int8 inputs sign-extended to int32 (straight from memory;
// a masked load only for a channel tail), vpmaddwd multiplies them by the packed weights (int16 in the
// low half of each int32 lane, 0 in the high half, so the pair sum is exactly x * w) and vpaddd
// accumulates. Two pixels share each weight load. Depthwise is memory-bound: a channel block's weights
// (tap_count vectors) stay in L1 while the block walks the row's pixels; the output pipeline is
// prepared once per channel block and row (kernels/avx512/output_pipeline.hpp).
// The AVX-512 VNNI kernel (kernels/avx512vnni/dwconv_s8s8_s32_c16.hpp) runs these loops with vpdpwssd as
// their multiply-add policy.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx512/madd_pairs.hpp"
#include "qsparse/kernels/avx512/output_pipeline.hpp"
#include "qsparse/spec/dwconv_args.hpp"
#include "qsparse/spec/output_stages.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx512 {

/// 16 int8 at p sign-extended to int32; only the lanes in `mask` are read when Tail.
template <bool Tail>
QSPARSE_TARGET_AVX512 inline __m512i load_s8x16_epi32(const std::int8_t* p, __mmask16 mask) {
  if constexpr (Tail) {
    return _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, p));
  } else {
    (void)mask;
    return _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
}

/// The 16-channel loops, on the int16 pair multiply-add Madd (madd_pairs here, vpdpwssd on AVX-512 VNNI):
/// always inlined into the kernel's run, whose target covers Madd.
template <class Madd>
struct dwconv_c16_loops {
  /// Taps: the tap count when known at compile time (9, a 3x3 kernel: the loop unrolls and the
  /// accumulators stay in registers), 0 for g.tap_count.
  template <bool Tail, int Taps, class Prepared, class Out>
  QSPARSE_TARGET_AVX512 QSPARSE_ALWAYS_INLINE static void block(const dwconv_args<Out>& g, const Prepared& prepared,
                                                                std::ptrdiff_t c0, __mmask16 mask) {
    const std::ptrdiff_t taps = Taps != 0 ? Taps : g.tap_count;
    const __m512i init = _mm512_loadu_si512(g.init + c0);  // padded to 16: in bounds
    const std::int32_t* w = g.weights + c0;
    const std::ptrdiff_t ws = g.channels_padded;
    std::ptrdiff_t p = 0;
    for (; p + 2 <= g.pixels; p += 2) {
      const std::int8_t* const* t0 = g.taps + p * taps;
      const std::int8_t* const* t1 = t0 + taps;
      __m512i acc0 = init, acc1 = init;
#pragma GCC unroll 9
      for (std::ptrdiff_t t = 0; t < taps; ++t) {
        const __m512i wv = _mm512_loadu_si512(w + t * ws);
        acc0 = Madd::apply(acc0, load_s8x16_epi32<Tail>(t0[t] + c0, mask), wv);
        acc1 = Madd::apply(acc1, load_s8x16_epi32<Tail>(t1[t] + c0, mask), wv);
      }
      store_prepared(prepared, acc0, mask, g.dst + p * g.channels + c0);
      store_prepared(prepared, acc1, mask, g.dst + (p + 1) * g.channels + c0);
    }
    for (; p < g.pixels; ++p) {
      const std::int8_t* const* t0 = g.taps + p * taps;
      __m512i acc0 = init;
#pragma GCC unroll 9
      for (std::ptrdiff_t t = 0; t < taps; ++t) {
        const __m512i wv = _mm512_loadu_si512(w + t * ws);
        acc0 = Madd::apply(acc0, load_s8x16_epi32<Tail>(t0[t] + c0, mask), wv);
      }
      store_prepared(prepared, acc0, mask, g.dst + p * g.channels + c0);
    }
  }

  /// Channels [c_begin, g.channels), 16 at a time, the pipeline prepared once per block.
  template <class... S>
  QSPARSE_TARGET_AVX512 QSPARSE_ALWAYS_INLINE static void run(
      const dwconv_args<typename output_pipeline<S...>::output_type>& g, const output_pipeline<S...>& pipeline,
      std::ptrdiff_t c_begin) {
    for (std::ptrdiff_t c0 = c_begin; c0 < g.channels; c0 += 16) {
      const std::ptrdiff_t left = g.channels - c0;
      const auto mask = static_cast<__mmask16>(left >= 16 ? 0xFFFF : (1u << left) - 1u);
      const auto prepared = prepare(pipeline, c0, mask);
      if (left >= 16) {
        if (g.tap_count == 9) {
          block<false, 9>(g, prepared, c0, mask);
        } else {
          block<false, 0>(g, prepared, c0, mask);
        }
      } else {
        block<true, 0>(g, prepared, c0, mask);
      }
    }
  }
};

struct dwconv_s8s8_s32_c16 {
  static constexpr int channel_block = 16;
  static constexpr isa_level isa = isa_level::avx512;
  static const char* name() { return "dwconv_s8s8_s32_c16__avx512"; }

  template <class... S>
  QSPARSE_TARGET_AVX512 static void run(const dwconv_args<typename output_pipeline<S...>::output_type>& g,
                                        const output_pipeline<S...>& pipeline) {
    dwconv_c16_loops<madd_pairs>::run(g, pipeline, 0);
  }
};

}  // namespace avx512
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
