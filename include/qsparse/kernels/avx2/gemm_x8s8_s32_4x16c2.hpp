// qsparse/kernels/avx2/gemm_x8s8_s32_4x16c2.hpp — int8 GEMM on AVX2: up to 4 rows × 16 columns per tile,
// 2 consecutive k per vpmaddwd lane (weights layout s16_c2_nr16).
//
// As the AVX-512BW kernel: vpmaddubsw would saturate, so weights are packed as int16 (w - w_zp) and
// activation rows are widened to int16 (a - a_zp) per tile; vpmaddwd pair sums are exact and the int32
// accumulators hold the exact result.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx2/output_pipeline.hpp"
#include "qsparse/kernels/scratch.hpp"
#include "qsparse/spec/gemm_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/packed_weights.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx2 {

/// MR rows (int16, row stride `ld`, K padded even) × 16 columns into tile[r][0..15].
template <int MR>
QSPARSE_TARGET_AVX2 inline void gemm_s16_tile_4x16c2(const std::int16_t* a, std::ptrdiff_t ld, std::ptrdiff_t pairs,
                                                     const std::int16_t* w, std::int32_t* tile) {
  __m256i acc[MR][2];
  #pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
  for (std::ptrdiff_t q = 0; q < pairs; ++q) {
    const __m256i b0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(w));
    const __m256i b1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(w + 16));
    w += 32;
    #pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      std::int32_t pair;
      std::memcpy(&pair, a + r * ld + 2 * q, 4);
      const __m256i av = _mm256_set1_epi32(pair);
      acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(av, b0));
      acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(av, b1));
    }
  }
  #pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(tile + r * 16), acc[r][0]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(tile + r * 16 + 8), acc[r][1]);
  }
}

struct gemm_x8s8_s32_4x16c2 {
  static constexpr int mr = 4;
  static constexpr int nr = 16;
  static constexpr int kr = 2;
  static constexpr isa_level isa = isa_level::avx2;
  static constexpr packed_layout layout = packed_layout::s16_c2_nr16;
  static const char* name() { return "gemm_x8s8_s32_4x16c2__avx2"; }

  template <class A, class... S>
  QSPARSE_TARGET_AVX2 static void run(const gemm_args<A, typename output_pipeline<S...>::output_type>& g,
                                      const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin,
                                      std::ptrdiff_t m_end, std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
    const std::ptrdiff_t kp = g.weights.k_padded();
    std::int16_t* rows16 = thread_scratch<std::int16_t>(static_cast<std::size_t>(mr * kp));
    alignas(32) std::int32_t tile[mr * nr];
    for (std::ptrdiff_t m0 = m_begin; m0 < m_end; m0 += mr) {
      const int rows = static_cast<int>(m_end - m0 < mr ? m_end - m0 : mr);
      for (int r = 0; r < rows; ++r) {
        const A* src = g.a + (m0 + r) * g.lda;
        std::int16_t* out = rows16 + r * kp;
        for (std::ptrdiff_t kk = 0; kk < g.k; ++kk) out[kk] = static_cast<std::int16_t>(src[kk] - g.a_zero_point);
        for (std::ptrdiff_t kk = g.k; kk < kp; ++kk) out[kk] = 0;
      }
      for (std::ptrdiff_t p = panel_begin; p < panel_end; ++p) {
        const auto* w = static_cast<const std::int16_t*>(g.weights.panel(p));
        switch (rows) {
          case 4: gemm_s16_tile_4x16c2<4>(rows16, kp, kp / 2, w, tile); break;
          case 3: gemm_s16_tile_4x16c2<3>(rows16, kp, kp / 2, w, tile); break;
          case 2: gemm_s16_tile_4x16c2<2>(rows16, kp, kp / 2, w, tile); break;
          default: gemm_s16_tile_4x16c2<1>(rows16, kp, kp / 2, w, tile); break;
        }
        const std::ptrdiff_t n0 = p * nr;
        const std::ptrdiff_t columns = g.n - n0 < nr ? g.n - n0 : nr;
        for (int j = 0; j < 2; ++j) {
          const std::ptrdiff_t left = columns - 8 * j;
          if (left <= 0) break;
          const int count = static_cast<int>(left >= 8 ? 8 : left);
          const __m256i mask = lane_mask(count);
          const auto prepared = prepare(pipeline, n0 + 8 * j, mask);
          for (int r = 0; r < rows; ++r) {
            store_prepared(prepared, _mm256_load_si256(reinterpret_cast<const __m256i*>(tile + r * nr + 8 * j)), count,
                           mask, g.dst + (m0 + r) * g.ldd + n0 + 8 * j);
          }
        }
      }
    }
  }
};

}  // namespace avx2
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
