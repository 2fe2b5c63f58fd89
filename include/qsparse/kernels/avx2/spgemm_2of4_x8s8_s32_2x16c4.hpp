// qsparse/kernels/avx2/spgemm_2of4_x8s8_s32_2x16c4.hpp — 2:4-sparse int8 GEMM on AVX2: up to 2 rows × 16
// columns per tile (format two_of_four of qsparse/gemm/packed_sparse_weights.hpp).
//
// Each compressed group (32 value bytes + a 64-bit kept-slot mask for 16 columns × 4 k) is expanded in
// registers to the dense 16 × 4 block and then multiplied as in the block-sparse AVX2 kernel (vpmaddwd
// on sign-extended weights, exact). The expansion is branch-free: the mask's bits are spread to one
// byte each (vpshufb + compare), a byte's rank among its column's kept slots is an OR of three 32-bit
// shifts (a column is one dword), and one vpshufb gathers the values (the packer placed each 128-bit
// lane's columns where vpshufb reaches them: bytes 0-7 for columns 0-7, 8-15 for columns 8-15).
// When a task has more than one row tile (M > 2), each panel is expanded once to int16 in a per-thread
// scratch and every tile reads it, instead of expanding it again per tile.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qsparse/core/config.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/gemm/output_stages.hpp"
#include "qsparse/kernels/avx2/output_pipeline.hpp"
#include "qsparse/kernels/avx2/spgemm_block4_x8s8_s32_2x16c4.hpp"
#include "qsparse/kernels/gemm_args.hpp"
#include "qsparse/kernels/sparse_gemm_args.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx2 {

/// Constants of the 2:4 expansion.
struct spgemm_2of4_constants {
  __m256i spread;     // vpshufb control: byte b of a half takes mask byte b / 8
  __m256i bit;        // 1 << (b % 8)
  __m256i base1[2];   // 1 + source byte of slot 0 of the column of byte b, for halves 0 and 1
  __m256i unused;     // 0x80: vpshufb writes 0
};

QSPARSE_TARGET_AVX2 inline spgemm_2of4_constants spgemm_2of4_make_constants() {
  alignas(32) std::int8_t spread[32], bit[32], base0[32], base1[32];
  for (int b = 0; b < 32; ++b) {
    spread[b] = static_cast<std::int8_t>(b / 8);
    bit[b] = static_cast<std::int8_t>(1u << (b % 8));
    const int column_in_lane = (b % 16) / 4;
    base0[b] = static_cast<std::int8_t>(1 + 2 * column_in_lane);
    base1[b] = static_cast<std::int8_t>(1 + 8 + 2 * column_in_lane);
  }
  spgemm_2of4_constants c;
  c.spread = _mm256_load_si256(reinterpret_cast<const __m256i*>(spread));
  c.bit = _mm256_load_si256(reinterpret_cast<const __m256i*>(bit));
  c.base1[0] = _mm256_load_si256(reinterpret_cast<const __m256i*>(base0));
  c.base1[1] = _mm256_load_si256(reinterpret_cast<const __m256i*>(base1));
  c.unused = _mm256_set1_epi8(static_cast<char>(0x80));
  return c;
}

/// Columns 8h .. 8h+7 of one compressed group as 32 dense bytes (column c, slot i at byte 4(c - 8h) + i).
QSPARSE_TARGET_AVX2 inline __attribute__((always_inline)) __m256i spgemm_2of4_expand_half(
    std::uint32_t kept, __m256i values, const spgemm_2of4_constants& c, int half) {
  // Byte b of the half: bit b of `kept`. vpshufb reads within 128-bit lanes, and every dword of the
  // broadcast holds all four mask bytes, so lane 1 (bytes 16-31) reads mask bytes 2, 3 at indices 2, 3.
  const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<std::int32_t>(kept)), c.spread);
  const __m256i selected = _mm256_cmpeq_epi8(_mm256_and_si256(spread, c.bit), c.bit);
  // Nonzero where an earlier slot of the same column (dword) is kept.
  const __m256i earlier = _mm256_or_si256(_mm256_or_si256(_mm256_slli_epi32(selected, 8), _mm256_slli_epi32(selected, 16)),
                                          _mm256_slli_epi32(selected, 24));
  // base + 1 + (earlier == 0 ? -1 : 0) = base + rank.
  const __m256i index = _mm256_add_epi8(c.base1[half], _mm256_cmpeq_epi8(earlier, _mm256_setzero_si256()));
  return _mm256_shuffle_epi8(values, _mm256_blendv_epi8(c.unused, index, selected));
}

template <int MR>
QSPARSE_TARGET_AVX2 inline void spgemm_2of4_tile_2x16(const std::int16_t* a, std::ptrdiff_t lda,
                                                      const std::uint64_t* masks, const std::int8_t* values,
                                                      std::ptrdiff_t groups, const spgemm_2of4_constants& c,
                                                      std::int32_t* tile) {
  __m256i acc[MR][4];
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) acc[r][j] = _mm256_setzero_si256();
  for (std::ptrdiff_t q = 0; q < groups; ++q) {
    const std::uint64_t kept = masks[q];
    const __m256i v = _mm256_load_si256(reinterpret_cast<const __m256i*>(values + 32 * q));
    const __m256i lo = spgemm_2of4_expand_half(static_cast<std::uint32_t>(kept), v, c, 0);
    const __m256i hi = spgemm_2of4_expand_half(static_cast<std::uint32_t>(kept >> 32), v, c, 1);
    const __m256i w[4] = {_mm256_cvtepi8_epi16(_mm256_castsi256_si128(lo)),
                          _mm256_cvtepi8_epi16(_mm256_extracti128_si256(lo, 1)),
                          _mm256_cvtepi8_epi16(_mm256_castsi256_si128(hi)),
                          _mm256_cvtepi8_epi16(_mm256_extracti128_si256(hi, 1))};
    spgemm_madd_block<MR>(acc, a, lda, 4 * q, w);
  }
  spgemm_store_pairs<MR>(acc, tile);
}

/// MR rows × 16 columns over `groups` pre-expanded groups (4 int16 vectors of 4 columns × 4 k each).
template <int MR>
QSPARSE_TARGET_AVX2 inline void spgemm_2of4_expanded_tile_2x16(const std::int16_t* a, std::ptrdiff_t lda,
                                                               const std::uint16_t* expanded, std::ptrdiff_t groups,
                                                               std::int32_t* tile) {
  __m256i acc[MR][4];
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) acc[r][j] = _mm256_setzero_si256();
  for (std::ptrdiff_t q = 0; q < groups; ++q) {
    __m256i w[4];
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      w[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(expanded + 64 * q + 16 * j));
    }
    spgemm_madd_block<MR>(acc, a, lda, 4 * q, w);
  }
  spgemm_store_pairs<MR>(acc, tile);
}

/// Expands `groups` compressed groups to int16 (64 per group: 4 vectors of 4 columns × 4 k).
QSPARSE_TARGET_AVX2 inline void spgemm_2of4_expand_panel(const std::uint64_t* masks, const std::int8_t* values,
                                                         std::ptrdiff_t groups, const spgemm_2of4_constants& c,
                                                         std::uint16_t* out) {
  for (std::ptrdiff_t q = 0; q < groups; ++q) {
    const std::uint64_t kept = masks[q];
    const __m256i v = _mm256_load_si256(reinterpret_cast<const __m256i*>(values + 32 * q));
    const __m256i lo = spgemm_2of4_expand_half(static_cast<std::uint32_t>(kept), v, c, 0);
    const __m256i hi = spgemm_2of4_expand_half(static_cast<std::uint32_t>(kept >> 32), v, c, 1);
    __m256i* dst = reinterpret_cast<__m256i*>(out + 64 * q);
    _mm256_storeu_si256(dst, _mm256_cvtepi8_epi16(_mm256_castsi256_si128(lo)));
    _mm256_storeu_si256(dst + 1, _mm256_cvtepi8_epi16(_mm256_extracti128_si256(lo, 1)));
    _mm256_storeu_si256(dst + 2, _mm256_cvtepi8_epi16(_mm256_castsi256_si128(hi)));
    _mm256_storeu_si256(dst + 3, _mm256_cvtepi8_epi16(_mm256_extracti128_si256(hi, 1)));
  }
}

struct spgemm_2of4_x8s8_s32_2x16c4 {
  static constexpr int mr = 2;
  static constexpr int nb = 16;
  static constexpr isa_level isa = isa_level::avx2;
  static const char* name() { return "spgemm_2of4_x8s8_s32_2x16c4__avx2"; }

  template <class A, class... S>
  QSPARSE_TARGET_AVX2 static void run(const sparse_gemm_args<A, typename output_pipeline<S...>::output_type>& g,
                                      const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin,
                                      std::ptrdiff_t m_end, std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
    const std::ptrdiff_t kp = g.weights.k_padded();
    const std::ptrdiff_t groups = g.weights.groups();
    // Rows in blocks of up to 8 tiles. A block of one tile expands each group in registers; a block of
    // several expands each panel once to int16 (an L2-resident scratch of 32 bytes per k) and reuses it.
    constexpr int max_block_tiles = 8;
    std::int16_t* rows16 = thread_scratch<std::int16_t>(static_cast<std::size_t>(mr * max_block_tiles * kp));
    const spgemm_2of4_constants constants = spgemm_2of4_make_constants();
    alignas(32) std::int32_t tile[mr * 16];
    for (std::ptrdiff_t mb = m_begin; mb < m_end; mb += mr * max_block_tiles) {
      const std::ptrdiff_t block_rows = m_end - mb < mr * max_block_tiles ? m_end - mb : mr * max_block_tiles;
      spgemm_widen_rows(g.a + mb * g.lda, g.lda, g.a_zero_point, static_cast<int>(block_rows), g.k, kp, rows16);
      std::uint16_t* expanded =
          block_rows > mr ? thread_scratch<std::uint16_t>(static_cast<std::size_t>(groups * 64)) : nullptr;
      for (std::ptrdiff_t p = panel_begin; p < panel_end; ++p) {
        const std::uint64_t* masks = g.weights.masks() + p * groups;
        const std::int8_t* values = g.weights.values(p * groups);
        if (expanded != nullptr) spgemm_2of4_expand_panel(masks, values, groups, constants, expanded);
        const std::ptrdiff_t n0 = p * 16;
        for (std::ptrdiff_t t0 = 0; t0 < block_rows; t0 += mr) {
          const int rows = static_cast<int>(block_rows - t0 < mr ? block_rows - t0 : mr);
          const std::int16_t* a_tile = rows16 + t0 * kp;
          if (expanded != nullptr) {
            if (rows == 2) {
              spgemm_2of4_expanded_tile_2x16<2>(a_tile, kp, expanded, groups, tile);
            } else {
              spgemm_2of4_expanded_tile_2x16<1>(a_tile, kp, expanded, groups, tile);
            }
          } else if (rows == 2) {
            spgemm_2of4_tile_2x16<2>(a_tile, kp, masks, values, groups, constants, tile);
          } else {
            spgemm_2of4_tile_2x16<1>(a_tile, kp, masks, values, groups, constants, tile);
          }
          spgemm_store_tile(pipeline, tile, rows, g.n - n0 < 16 ? g.n - n0 : 16, n0, g.dst + (mb + t0) * g.ldd,
                            g.ldd);
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
