// qsparse/kernels/avx512/gemm_x8s8_s32_8x32c2.hpp — int8 GEMM on AVX-512BW without VNNI: up to 8 rows ×
// 32 columns per tile, 2 consecutive k per vpmaddwd lane (weights layout s16_c2_nr32).
//
// vpmaddubsw would saturate its int16 pair sums (255 * -128 * 2 < -32768), so this kernel multiplies
// int16 by int16 with vpmaddwd instead: the weights are packed as int16 (w - w_zp) and each tile's
// activation rows are first widened to int16 (a - a_zp) in a per-thread scratch buffer (zero padded
// to an even K). Both factors are in [-255, 255], so a pair sum (< 2^17) is exact and the int32
// accumulator holds the exact result; no zero-point compensation is needed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx512/output_pipeline.hpp"
#include "qsparse/kernels/scratch.hpp"
#include "qsparse/spec/gemm_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/packed_weights.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx512 {

/// MR rows (int16, row stride `ld`, K padded even) × 32 columns into tile[r][0..31].
template <int MR>
QSPARSE_TARGET_AVX512 inline void gemm_s16_tile_8x32c2(const std::int16_t* a, std::ptrdiff_t ld,
                                                       std::ptrdiff_t pairs, const std::int16_t* w,
                                                       std::int32_t* tile) {
  __m512i acc[MR][2];
  #pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_si512();
  for (std::ptrdiff_t q = 0; q < pairs; ++q) {
    const __m512i b0 = _mm512_load_si512(w);
    const __m512i b1 = _mm512_load_si512(w + 32);
    w += 64;
    #pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      std::int32_t pair;
      std::memcpy(&pair, a + r * ld + 2 * q, 4);
      const __m512i av = _mm512_set1_epi32(pair);
      acc[r][0] = _mm512_add_epi32(acc[r][0], _mm512_madd_epi16(av, b0));
      acc[r][1] = _mm512_add_epi32(acc[r][1], _mm512_madd_epi16(av, b1));
    }
  }
  #pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    _mm512_storeu_si512(tile + r * 32, acc[r][0]);
    _mm512_storeu_si512(tile + r * 32 + 16, acc[r][1]);
  }
}

/// out[0, kp) = src[0, k) - zero_point as int16, then zeros.
template <class A>
QSPARSE_TARGET_AVX512 inline void widen_row(const A* src, std::ptrdiff_t k, std::ptrdiff_t kp, std::int32_t zero_point,
                                            std::int16_t* out) {
  const __m512i zp = _mm512_set1_epi16(static_cast<short>(zero_point));
  for (std::ptrdiff_t kk = 0; kk < kp; kk += 32) {
    const std::ptrdiff_t loaded = k - kk < 32 ? (k - kk > 0 ? k - kk : 0) : 32;
    const std::ptrdiff_t stored = kp - kk < 32 ? kp - kk : 32;
    const __mmask32 load_mask = loaded == 32 ? ~__mmask32{0} : (__mmask32{1} << loaded) - 1;
    const __mmask32 store_mask = stored == 32 ? ~__mmask32{0} : (__mmask32{1} << stored) - 1;
    const __m256i bytes = _mm256_maskz_loadu_epi8(load_mask, src + kk);
    const __m512i wide = std::is_same_v<A, std::int8_t> ? _mm512_cvtepi8_epi16(bytes) : _mm512_cvtepu8_epi16(bytes);
    _mm512_mask_storeu_epi16(out + kk, store_mask, _mm512_maskz_sub_epi16(load_mask, wide, zp));
  }
}

struct gemm_x8s8_s32_8x32c2 {
  static constexpr int mr = 8;
  static constexpr int nr = 32;
  static constexpr int kr = 2;
  static constexpr isa_level isa = isa_level::avx512;
  static constexpr packed_layout layout = packed_layout::s16_c2_nr32;
  static const char* name() { return "gemm_x8s8_s32_8x32c2__avx512"; }

  template <class A, class... S>
  QSPARSE_TARGET_AVX512 static void run(const gemm_args<A, typename output_pipeline<S...>::output_type>& g,
                                        const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin,
                                        std::ptrdiff_t m_end, std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
    const std::ptrdiff_t kp = g.weights.k_padded();
    std::int16_t* rows16 = thread_scratch<std::int16_t>(static_cast<std::size_t>(mr * kp));
    alignas(64) std::int32_t tile[mr * nr];
    for (std::ptrdiff_t m0 = m_begin; m0 < m_end; m0 += mr) {
      const int rows = static_cast<int>(m_end - m0 < mr ? m_end - m0 : mr);
      for (int r = 0; r < rows; ++r) {
        const A* src = g.a + (m0 + r) * g.lda;
        std::int16_t* out = rows16 + r * kp;
        widen_row(src, g.k, kp, g.a_zero_point, out);
      }
      for (std::ptrdiff_t p = panel_begin; p < panel_end; ++p) {
        const auto* w = static_cast<const std::int16_t*>(g.weights.panel(p));
        switch (rows) {
          case 8: gemm_s16_tile_8x32c2<8>(rows16, kp, kp / 2, w, tile); break;
          case 7: gemm_s16_tile_8x32c2<7>(rows16, kp, kp / 2, w, tile); break;
          case 6: gemm_s16_tile_8x32c2<6>(rows16, kp, kp / 2, w, tile); break;
          case 5: gemm_s16_tile_8x32c2<5>(rows16, kp, kp / 2, w, tile); break;
          case 4: gemm_s16_tile_8x32c2<4>(rows16, kp, kp / 2, w, tile); break;
          case 3: gemm_s16_tile_8x32c2<3>(rows16, kp, kp / 2, w, tile); break;
          case 2: gemm_s16_tile_8x32c2<2>(rows16, kp, kp / 2, w, tile); break;
          default: gemm_s16_tile_8x32c2<1>(rows16, kp, kp / 2, w, tile); break;
        }
        const std::ptrdiff_t n0 = p * nr;
        const std::ptrdiff_t columns = g.n - n0 < nr ? g.n - n0 : nr;
        for (int j = 0; j < 2; ++j) {
          const std::ptrdiff_t left = columns - 16 * j;
          if (left <= 0) break;
          const auto mask = static_cast<__mmask16>(left >= 16 ? 0xFFFF : (1u << left) - 1u);
          const auto prepared = prepare(pipeline, n0 + 16 * j, mask);
          for (int r = 0; r < rows; ++r) {
            store_prepared(prepared, _mm512_load_si512(tile + r * nr + 16 * j), mask,
                           g.dst + (m0 + r) * g.ldd + n0 + 16 * j);
          }
        }
      }
    }
  }
};

}  // namespace avx512
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
