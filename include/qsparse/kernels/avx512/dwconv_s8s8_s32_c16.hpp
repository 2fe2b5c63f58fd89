// qsparse/kernels/avx512/dwconv_s8s8_s32_c16.hpp — depthwise convolution on AVX-512BW: 16 channels
// per vector over an output row's indirection table (qsparse/kernels/dwconv_args.hpp).
//
// Per tap and 16 channels: vpmovsxbd loads the int8 inputs sign-extended to int32, vpmaddwd multiplies
// them by the packed weights (int16 in the low half of each int32 lane, 0 in the high half, so the
// pair sum is exactly x * w) and vpaddd accumulates. Depthwise is memory-bound: the weights of a
// channel block (tap_count vectors) stay in L1 while the block walks the row's pixels; the output
// pipeline is prepared once per channel block and row (kernels/avx512/output_pipeline.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/config.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/gemm/output_stages.hpp"
#include "qsparse/kernels/avx512/output_pipeline.hpp"
#include "qsparse/kernels/dwconv_args.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx512 {

struct dwconv_s8s8_s32_c16 {
  static constexpr int channel_block = 16;
  static constexpr isa_level isa = isa_level::avx512;
  static const char* name() { return "dwconv_s8s8_s32_c16__avx512"; }

  template <class... S>
  QSPARSE_TARGET_AVX512 static void run(const dwconv_args<typename output_pipeline<S...>::output_type>& g,
                                        const output_pipeline<S...>& pipeline) {
    const std::ptrdiff_t taps = g.tap_count;
    for (std::ptrdiff_t c0 = 0; c0 < g.channels; c0 += 16) {
      const std::ptrdiff_t left = g.channels - c0;
      const auto mask = static_cast<__mmask16>(left >= 16 ? 0xFFFF : (1u << left) - 1u);
      const auto prepared = prepare(pipeline, c0, mask);
      const __m512i init = _mm512_loadu_si512(g.init + c0);  // padded to 16: in bounds
      const std::int32_t* w = g.weights + c0;
      const std::ptrdiff_t ws = g.channels_padded;
      std::ptrdiff_t p = 0;
      // Two pixels at a time: two independent accumulator chains share each weight load.
      for (; p + 2 <= g.pixels; p += 2) {
        const std::int8_t* const* t0 = g.taps + p * taps;
        const std::int8_t* const* t1 = t0 + taps;
        __m512i acc0 = init, acc1 = init;
        for (std::ptrdiff_t t = 0; t < taps; ++t) {
          const __m512i wv = _mm512_loadu_si512(w + t * ws);
          const __m512i x0 = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, t0[t] + c0));
          const __m512i x1 = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, t1[t] + c0));
          acc0 = _mm512_add_epi32(acc0, _mm512_madd_epi16(x0, wv));
          acc1 = _mm512_add_epi32(acc1, _mm512_madd_epi16(x1, wv));
        }
        store_prepared(prepared, acc0, mask, g.dst + p * g.channels + c0);
        store_prepared(prepared, acc1, mask, g.dst + (p + 1) * g.channels + c0);
      }
      for (; p < g.pixels; ++p) {
        const std::int8_t* const* t0 = g.taps + p * taps;
        __m512i acc0 = init;
        for (std::ptrdiff_t t = 0; t < taps; ++t) {
          const __m512i wv = _mm512_loadu_si512(w + t * ws);
          const __m512i x0 = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, t0[t] + c0));
          acc0 = _mm512_add_epi32(acc0, _mm512_madd_epi16(x0, wv));
        }
        store_prepared(prepared, acc0, mask, g.dst + p * g.channels + c0);
      }
    }
  }
};

}  // namespace avx512
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
