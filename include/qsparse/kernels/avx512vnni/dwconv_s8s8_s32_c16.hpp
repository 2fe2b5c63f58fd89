// qsparse/kernels/avx512vnni/dwconv_s8s8_s32_c16.hpp — depthwise convolution on AVX-512 VNNI.
//
// Whole blocks of 64 channels, when the weights fit int8 (g.interleaved): 4 taps per vpdpbusd. For each
// group of 4 taps the kernel loads 64 channels of each tap (4 zmm), flips them unsigned (x + 128) and
// interleaves their bytes with two rounds of in-lane unpacks (8 instructions), which leaves vector q
// holding, in 128-bit lane L and dword i, the 4 taps of channel 16L + 4q + i. The weights are packed in
// that order, so one vpdpbusd per vector adds 4 taps × 16 channels. After the last group one 4 × 4
// transpose of 128-bit blocks (8 vshufi32x4) puts the channels back in order for the output pipeline.
// The flip adds 128 Σ_t w per channel, taken back by the initial value (init + flip_terms). Per pixel
// and 64 channels (3 × 3): 9 loads and flips, 22 unpacks, 12 vpdpbusd, 8 shuffles and the pipeline,
// against 36 vpmovsxbd and 36 vpdpwssd below.
//
// Other channels (and weights beyond int8): the AVX-512BW loops (kernels/avx512/dwconv_s8s8_s32_c16.hpp)
// with vpdpwssd as their multiply-add, which multiplies the int16 halves and accumulates in one instruction: per tap and 16
// channels a vpmovsxbd from memory and a vpdpwssd (the input's high halves, sign bits, meet weight
// halves that are 0).
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx512/dwconv_s8s8_s32_c16.hpp"
#include "qsparse/kernels/avx512/output_pipeline.hpp"
#include "qsparse/kernels/avx512vnni/madd_pairs.hpp"
#include "qsparse/spec/dwconv_args.hpp"
#include "qsparse/spec/output_stages.hpp"

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

  /// a[G] = the old a[q] with 128-bit blocks G and q exchanged (an involution): between the unpacked
  /// order (vector q, lane L: channels 16L + 4q ..) and the contiguous one (vector G: 16G ..).
  QSPARSE_TARGET_AVX512_VNNI static inline __attribute__((always_inline)) void transpose_blocks(__m512i (&a)[4]) {
    const __m512i t0 = _mm512_shuffle_i32x4(a[0], a[1], 0x44);  // a0.b0 a0.b1 a1.b0 a1.b1
    const __m512i t1 = _mm512_shuffle_i32x4(a[0], a[1], 0xEE);  // a0.b2 a0.b3 a1.b2 a1.b3
    const __m512i t2 = _mm512_shuffle_i32x4(a[2], a[3], 0x44);
    const __m512i t3 = _mm512_shuffle_i32x4(a[2], a[3], 0xEE);
    a[0] = _mm512_shuffle_i32x4(t0, t2, 0x88);  // a0.b0 a1.b0 a2.b0 a3.b0
    a[1] = _mm512_shuffle_i32x4(t0, t2, 0xDD);  // a0.b1 a1.b1 a2.b1 a3.b1
    a[2] = _mm512_shuffle_i32x4(t1, t3, 0x88);
    a[3] = _mm512_shuffle_i32x4(t1, t3, 0xDD);
  }

  /// The 64 channels from c0 (a whole block) of every pixel, 4 taps per vpdpbusd (see the top).
  /// Taps: 9 (compile-time, unrolled) or 0 for g.tap_count.
  template <int Taps, bool Fast, class Prepared, class Out>
  QSPARSE_TARGET_AVX512_VNNI static void block64(const dwconv_args<Out>& g, const Prepared (&prepared)[4],
                                                 std::ptrdiff_t c0) {
    const std::ptrdiff_t taps = Taps != 0 ? Taps : g.tap_count;
    const std::ptrdiff_t groups = (taps + 3) / 4;
    const std::int8_t* w = g.interleaved + (c0 / 64) * groups * 256;
    __m512i init[4];
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j)
      init[j] = _mm512_add_epi32(_mm512_loadu_si512(g.init + c0 + 16 * j), _mm512_loadu_si512(g.flip_terms + c0 + 16 * j));
    transpose_blocks(init);
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
    for (std::ptrdiff_t p = 0; p < g.pixels; ++p) {
      const std::int8_t* const* t = g.taps + p * taps;
      __m512i acc[4] = {init[0], init[1], init[2], init[3]};
#pragma GCC unroll 4
      for (std::ptrdiff_t j = 0; j < groups; ++j) {
        __m512i x[4];
#pragma GCC unroll 4
        for (int tt = 0; tt < 4; ++tt)
          x[tt] = 4 * j + tt < taps ? _mm512_xor_si512(_mm512_loadu_si512(t[4 * j + tt] + c0), flip)
                                    : _mm512_setzero_si512();  // meets zero weights
        const __m512i lo01 = _mm512_unpacklo_epi8(x[0], x[1]);
        const __m512i hi01 = _mm512_unpackhi_epi8(x[0], x[1]);
        const __m512i lo23 = _mm512_unpacklo_epi8(x[2], x[3]);
        const __m512i hi23 = _mm512_unpackhi_epi8(x[2], x[3]);
        const std::int8_t* wj = w + j * 256;
        acc[0] = _mm512_dpbusd_epi32(acc[0], _mm512_unpacklo_epi16(lo01, lo23), _mm512_loadu_si512(wj));
        acc[1] = _mm512_dpbusd_epi32(acc[1], _mm512_unpackhi_epi16(lo01, lo23), _mm512_loadu_si512(wj + 64));
        acc[2] = _mm512_dpbusd_epi32(acc[2], _mm512_unpacklo_epi16(hi01, hi23), _mm512_loadu_si512(wj + 128));
        acc[3] = _mm512_dpbusd_epi32(acc[3], _mm512_unpackhi_epi16(hi01, hi23), _mm512_loadu_si512(wj + 192));
      }
      transpose_blocks(acc);
      Out* dst = g.dst + p * g.channels + c0;
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        avx512::store_prepared<Fast>(prepared[j], acc[j], 0xFFFF, dst + 16 * j);
      }
    }
  }

  /// The pipeline prepared for the 4 × 16 channels from c0 (accumulators within bound); returns whether
  /// the fast evaluator is exact for all of them.
  template <class Prepared, class... S>
  QSPARSE_TARGET_AVX512_VNNI static bool prepare_block64(const output_pipeline<S...>& pipeline, std::ptrdiff_t c0,
                                                         std::int64_t bound, Prepared (&prepared)[4]) {
    bool fast = true;
    for (int j = 0; j < 4; ++j) {
      prepared[j] = avx512::prepare(pipeline, c0 + 16 * j, 0xFFFF, bound);
      fast = fast && avx512::fast_path_exact(prepared[j]);
    }
    return fast;
  }

  /// The whole 64-channel blocks: returns the first channel left for the 16-channel path.
  template <class... S>
  QSPARSE_TARGET_AVX512_VNNI static std::ptrdiff_t run_blocks64(const dwconv_args<typename output_pipeline<S...>::output_type>& g,
                                                                const output_pipeline<S...>& pipeline) {
    if (g.interleaved == nullptr) return 0;
    using prepared_type = decltype(avx512::prepare(pipeline, std::ptrdiff_t{0}, __mmask16{0}, std::int64_t{0}));
    std::ptrdiff_t c0 = 0;
    for (; c0 + 64 <= g.channels; c0 += 64) {
      prepared_type prepared[4];
      const bool fast = prepare_block64(pipeline, c0, g.accumulator_bound, prepared);
      if constexpr (avx512::has_fast_path<prepared_type>::value) {
        if (fast) {
          if (g.tap_count == 9) {
            block64<9, true>(g, prepared, c0);
          } else {
            block64<0, true>(g, prepared, c0);
          }
          continue;
        }
      }
      if (g.tap_count == 9) {
        block64<9, false>(g, prepared, c0);
      } else {
        block64<0, false>(g, prepared, c0);
      }
    }
    return c0;
  }

  template <class... S>
  QSPARSE_TARGET_AVX512_VNNI static void run(const dwconv_args<typename output_pipeline<S...>::output_type>& g,
                                             const output_pipeline<S...>& pipeline) {
    avx512::dwconv_c16_loops<madd_pairs>::run(g, pipeline, run_blocks64(g, pipeline));
  }
};

}  // namespace avx512_vnni
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
