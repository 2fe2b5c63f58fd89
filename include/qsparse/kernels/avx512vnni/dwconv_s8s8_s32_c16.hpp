// qsparse/kernels/avx512vnni/dwconv_s8s8_s32_c16.hpp — depthwise convolution on AVX-512 VNNI: the
// AVX-512BW kernel (kernels/avx512/dwconv_s8s8_s32_c16.hpp) with vpdpwssd, which multiplies the int16
// halves and accumulates in one instruction: per tap and 16 channels a vpmovsxbd from memory and a
// vpdpwssd (the input's high halves, sign bits, meet weight halves that are 0).
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/config.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/gemm/output_stages.hpp"
#include "qsparse/kernels/avx512/dwconv_s8s8_s32_c16.hpp"
#include "qsparse/kernels/avx512/output_pipeline.hpp"
#include "qsparse/kernels/dwconv_args.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx512_vnni {

struct dwconv_s8s8_s32_c16 {
  static constexpr int channel_block = 16;
  static constexpr isa_level isa = isa_level::avx512_vnni;
  static const char* name() { return "dwconv_s8s8_s32_c16__avx512vnni"; }

  /// Taps: the tap count when known at compile time (9, a 3x3 kernel: the loop unrolls and the
  /// accumulators stay in registers), 0 for g.tap_count.
  template <bool Tail, int Taps, class Prepared, class Out>
  QSPARSE_TARGET_AVX512_VNNI static void block(const dwconv_args<Out>& g, const Prepared& prepared, std::ptrdiff_t c0,
                                          __mmask16 mask) {
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
        acc0 = _mm512_dpwssd_epi32(acc0, avx512::load_s8x16_epi32<Tail>(t0[t] + c0, mask), wv);
        acc1 = _mm512_dpwssd_epi32(acc1, avx512::load_s8x16_epi32<Tail>(t1[t] + c0, mask), wv);
      }
      avx512::store_prepared(prepared, acc0, mask, g.dst + p * g.channels + c0);
      avx512::store_prepared(prepared, acc1, mask, g.dst + (p + 1) * g.channels + c0);
    }
    for (; p < g.pixels; ++p) {
      const std::int8_t* const* t0 = g.taps + p * taps;
      __m512i acc0 = init;
#pragma GCC unroll 9
      for (std::ptrdiff_t t = 0; t < taps; ++t) {
        const __m512i wv = _mm512_loadu_si512(w + t * ws);
        acc0 = _mm512_dpwssd_epi32(acc0, avx512::load_s8x16_epi32<Tail>(t0[t] + c0, mask), wv);
      }
      avx512::store_prepared(prepared, acc0, mask, g.dst + p * g.channels + c0);
    }
  }

  template <class... S>
  QSPARSE_TARGET_AVX512_VNNI static void run(const dwconv_args<typename output_pipeline<S...>::output_type>& g,
                                        const output_pipeline<S...>& pipeline) {
    for (std::ptrdiff_t c0 = 0; c0 < g.channels; c0 += 16) {
      const std::ptrdiff_t left = g.channels - c0;
      const auto mask = static_cast<__mmask16>(left >= 16 ? 0xFFFF : (1u << left) - 1u);
      const auto prepared = avx512::prepare(pipeline, c0, mask);
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

}  // namespace avx512_vnni
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
