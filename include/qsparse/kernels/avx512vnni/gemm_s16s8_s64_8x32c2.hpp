// qsparse/kernels/avx512vnni/gemm_s16s8_s64_8x32c2.hpp — the 16x8 GEMM on AVX-512 VNNI (int16 activations ×
// int8 weights, exact int64 sums): up to 8 rows × 32 columns per tile, 2 consecutive k per vpdpwssd lane
// (weights packed as int16, NR = 32, KR = 2; qsparse/spec/packed_weights_16x8.hpp).
//
// vpdpwssd adds the pair sums a[2q]*w[2q] + a[2q+1]*w[2q+1] (each at most 2 * 32768 * 128 = 2^23 in
// magnitude) into int32 lanes without saturating, replacing vpmaddwd + vpaddd; the 16 zmm of int32
// accumulators are exact over blocks of block_pairs = 255 pairs (255 * 2^23 < 2^31). After each block the
// int32 sums are stored to a stack array and added (sign-extended, vpmovsxdq + vpaddq) into the tile's
// int64 accumulators, one pass per 255 pairs; keeping the widening out of the block function lets GCC and
// Clang keep every int32 accumulator in a register with no copies in the inner loop (checked with objdump).
// The int64 sums are exact for any K the packing accepts. Each tile's activation rows are first copied to a
// per-thread scratch, zero padded to an even K. The output stages run per element with the scalar
// definition `evaluate` (the int64 MultiplyByQuantizedMultiplier).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/scratch.hpp"
#include "qsparse/spec/gemm_args.hpp"
#include "qsparse/spec/gemm_panel_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/packed_weights_16x8.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx512_vnni {

/// Pairs [q_begin, q_end) (at most 255) of MR rows (int16, row stride ld) × 32 columns (w points at pair
/// q_begin of the panel), stored as int32 to sums[r][0..31].
template <int MR>
QSPARSE_TARGET_AVX512_VNNI inline void gemm_s16s8_block_8x32c2(const std::int16_t* a, std::ptrdiff_t ld,
                                                               std::ptrdiff_t q_begin, std::ptrdiff_t q_end,
                                                               const std::int16_t* w, std::int32_t* sums) {
  __m512i acc[MR][2];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_si512();
  for (std::ptrdiff_t q = q_begin; q < q_end; ++q) {
    const __m512i b0 = _mm512_load_si512(w);
    const __m512i b1 = _mm512_load_si512(w + 32);
    w += 64;
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      std::int32_t pair;
      std::memcpy(&pair, a + r * ld + 2 * q, 4);
      const __m512i av = _mm512_set1_epi32(pair);
      acc[r][0] = _mm512_dpwssd_epi32(acc[r][0], av, b0);
      acc[r][1] = _mm512_dpwssd_epi32(acc[r][1], av, b1);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    _mm512_store_si512(sums + r * 32, acc[r][0]);
    _mm512_store_si512(sums + r * 32 + 16, acc[r][1]);
  }
}

/// MR rows × 32 columns of exact int64 sums over `pairs` pairs into tile[r][0..31].
template <int MR>
QSPARSE_TARGET_AVX512_VNNI inline void gemm_s16s8_tile_8x32c2(const std::int16_t* a, std::ptrdiff_t ld,
                                                              std::ptrdiff_t pairs, const std::int16_t* w,
                                                              std::int64_t* tile) {
  constexpr std::ptrdiff_t block_pairs = 255;  // 255 * 2^23 < 2^31
  for (int i = 0; i < MR * 32; ++i) tile[i] = 0;
  alignas(64) std::int32_t sums[MR * 32];
  for (std::ptrdiff_t q0 = 0; q0 < pairs; q0 += block_pairs) {
    const std::ptrdiff_t q1 = pairs - q0 < block_pairs ? pairs : q0 + block_pairs;
    gemm_s16s8_block_8x32c2<MR>(a, ld, q0, q1, w + q0 * 64, sums);
    for (int i = 0; i < MR * 32; ++i) tile[i] += sums[i];  // sign-extended into the int64 sums
  }
}

struct gemm_s16s8_s64_8x32c2 {
  static constexpr int mr = 8;
  static constexpr int nr = 32;
  static constexpr int kr = 2;
  static constexpr isa_level isa = isa_level::avx512_vnni;
  static const char* name() { return "gemm_s16s8_s64_8x32c2__avx512vnni"; }

  template <class Out, class... S>
  QSPARSE_TARGET_AVX512_VNNI static void run(const gemm_panel_args<std::int16_t, packed_weights_16x8_view, Out>& g,
                                             const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin,
                                             std::ptrdiff_t m_end, std::ptrdiff_t panel_begin,
                                             std::ptrdiff_t panel_end) {
    const std::ptrdiff_t kp = g.weights.k_padded();
    std::int16_t* rows16 = thread_scratch<std::int16_t>(static_cast<std::size_t>(mr * kp));
    alignas(64) std::int64_t tile[mr * nr];
    for (std::ptrdiff_t m0 = m_begin; m0 < m_end; m0 += mr) {
      const int rows = static_cast<int>(m_end - m0 < mr ? m_end - m0 : mr);
      for (int r = 0; r < rows; ++r) {
        std::memcpy(rows16 + r * kp, g.a + (m0 + r) * g.lda, static_cast<std::size_t>(g.k) * 2);
        for (std::ptrdiff_t kk = g.k; kk < kp; ++kk) rows16[r * kp + kk] = 0;
      }
      for (std::ptrdiff_t p = panel_begin; p < panel_end; ++p) {
        const auto* w = static_cast<const std::int16_t*>(g.weights.panel(p));
        switch (rows) {
          case 8:
            gemm_s16s8_tile_8x32c2<8>(rows16, kp, kp / 2, w, tile);
            break;
          case 7:
            gemm_s16s8_tile_8x32c2<7>(rows16, kp, kp / 2, w, tile);
            break;
          case 6:
            gemm_s16s8_tile_8x32c2<6>(rows16, kp, kp / 2, w, tile);
            break;
          case 5:
            gemm_s16s8_tile_8x32c2<5>(rows16, kp, kp / 2, w, tile);
            break;
          case 4:
            gemm_s16s8_tile_8x32c2<4>(rows16, kp, kp / 2, w, tile);
            break;
          case 3:
            gemm_s16s8_tile_8x32c2<3>(rows16, kp, kp / 2, w, tile);
            break;
          case 2:
            gemm_s16s8_tile_8x32c2<2>(rows16, kp, kp / 2, w, tile);
            break;
          default:
            gemm_s16s8_tile_8x32c2<1>(rows16, kp, kp / 2, w, tile);
            break;
        }
        const std::ptrdiff_t n0 = p * nr;
        const std::ptrdiff_t columns = g.n - n0 < nr ? g.n - n0 : nr;
        for (int r = 0; r < rows; ++r) {
          Out* dst = g.dst + (m0 + r) * g.ldd + n0;
          for (std::ptrdiff_t j = 0; j < columns; ++j) dst[j] = evaluate(pipeline, tile[r * nr + j], m0 + r, n0 + j);
        }
      }
    }
  }
};

}  // namespace avx512_vnni
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
